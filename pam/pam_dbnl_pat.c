/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_dbnl_pat: entry points only. The flow of DESIGN.md, in order:
 * user -> authtok -> token-shaped? -> header/key -> signature -> claims ->
 * LDAP user, disabled, groups -> allow/deny -> success. The work is done by
 * dbnl_verify() in the core library, the same code `dbnl-pat verify` runs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "dbnl.h"

#define PAM_EXPORT __attribute__((visibility("default")))
#define DATA_AUTHED "dbnl_pat_groups" /* set when this module authenticated the user */

struct args {
	const char *config;     /* config=PATH */
	int debug;
	int use_first_pass;
	int try_first_pass;
	int ignore_non_token;
	const char *allow;      /* allow_groups=a,b */
	const char *deny;       /* deny_groups=a,b */
};

static int parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->config = DBNL_DEFAULT_CONFIG;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "config=", 7) == 0 && s[7] == '/')
			a->config = s + 7;
		else if (strcmp(s, "debug") == 0)
			a->debug = 1;
		else if (strcmp(s, "use_first_pass") == 0)
			a->use_first_pass = 1;
		else if (strcmp(s, "try_first_pass") == 0)
			a->try_first_pass = 1;
		else if (strcmp(s, "ignore_non_token") == 0)
			a->ignore_non_token = 1;
		else if (strncmp(s, "allow_groups=", 13) == 0)
			a->allow = s + 13;
		else if (strncmp(s, "deny_groups=", 12) == 0)
			a->deny = s + 12;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown or malformed module argument '%.64s'", s);
			return -1;
		}
	}
	return 0;
}

/* Defaults, then the file, then this PAM line's arguments (which win). */
static enum dbnl_rc load_config(const struct args *a, const struct dbnl_logger *lg,
				struct dbnl_conf *c)
{
	char why[256] = "";

	dbnl_conf_init(c);
	if (dbnl_conf_load(c, a->config, lg) != DBNL_OK)
		return DBNL_CONFIG;
	if ((a->allow != NULL && dbnl_conf_set(c, "allow_groups", a->allow, 0, why, sizeof(why))) ||
	    (a->deny != NULL && dbnl_conf_set(c, "deny_groups", a->deny, 0, why, sizeof(why)))) {
		dbnl_log(lg, LOG_ERR, "module argument: %s", why);
		return DBNL_CONFIG;
	}
	return dbnl_conf_finish(c, lg);
}

static const char *item_str(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL)
		return "-";
	return v;
}

/* For the log line: printable characters only. */
static void printable(char *dst, size_t n, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int get_token(pam_handle_t *pamh, const struct args *a, const char **tok)
{
	const void *item = NULL;

	*tok = NULL;
	if (a->use_first_pass || a->try_first_pass) {
		if (pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL) {
			*tok = item;
			return PAM_SUCCESS;
		}
		if (a->use_first_pass)
			return PAM_AUTH_ERR;
	}
	return pam_get_authtok(pamh, PAM_AUTHTOK, tok, NULL);
}

/* The groups resolved at authentication, kept for pam_sm_acct_mgmt. */
static void free_groups(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	dbnl_strlist_free(data);
	free(data);
}

/* DBNL_PAT_GROUPS for the session, and the list itself for the account phase. */
static int record_groups(pam_handle_t *pamh, const struct dbnl_strlist *groups)
{
	struct dbnl_strlist *keep = calloc(1, sizeof(*keep));
	char *joined = dbnl_strlist_join(groups, ' '), *env = NULL;
	int ok = keep != NULL && joined != NULL && dbnl_strlist_copy(keep, groups) == 0 &&
		 asprintf(&env, "DBNL_PAT_GROUPS=%s", joined) >= 0 &&
		 pam_putenv(pamh, env) == PAM_SUCCESS &&
		 pam_set_data(pamh, DATA_AUTHED, keep, free_groups) == PAM_SUCCESS;

	if (!ok && keep != NULL) {
		dbnl_strlist_free(keep);
		free(keep);
	}
	free(joined);
	free(env);
	return ok ? PAM_SUCCESS : PAM_BUF_ERR;
}

PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct dbnl_logger lg = { .pamh = pamh, .sink = DBNL_LOG_PAM };
	struct dbnl_conf conf;
	struct dbnl_verdict v;
	struct args a;
	const char *user = NULL, *tok = NULL;
	char u[128], rhost[128];
	int pr;

	(void)flags;
	memset(&v, 0, sizeof(v));
	if (parse_args(pamh, argc, argv, &a) != 0)
		return PAM_AUTHINFO_UNAVAIL;
	lg.debug = a.debug;
	pr = pam_get_user(pamh, &user, NULL);
	if (pr != PAM_SUCCESS || user == NULL || user[0] == '\0')
		return pr == PAM_SUCCESS ? PAM_USER_UNKNOWN : pr;
	printable(u, sizeof(u), user);
	printable(rhost, sizeof(rhost), item_str(pamh, PAM_RHOST));
	pr = get_token(pamh, &a, &tok);
	if (pr != PAM_SUCCESS || tok == NULL) {
		pam_syslog(pamh, LOG_NOTICE, "user=%s jti=- kid=- rhost=%s result=refused reason=no token given",
			   u, rhost);
		return pr == PAM_SUCCESS ? PAM_AUTH_ERR : pr;
	}
	if (!dbnl_token_shaped(tok)) {
		/* Not ours: say so once, without reading configuration or LDAP. */
		pam_syslog(pamh, LOG_INFO, "user=%s jti=- kid=- rhost=%s result=%s reason=not token-shaped",
			   u, rhost, a.ignore_non_token ? "ignored" : "refused");
		return a.ignore_non_token ? PAM_IGNORE : PAM_AUTH_ERR;
	}
	if (load_config(&a, &lg, &conf) != DBNL_OK) {
		dbnl_conf_free(&conf);
		pam_syslog(pamh, LOG_ERR,
			   "user=%s jti=- kid=- rhost=%s result=config_error reason=configuration %s unusable",
			   u, rhost, a.config);
		return dbnl_to_pam(DBNL_CONFIG, 0);
	}
	dbnl_verify(&conf, &lg, user, tok, time(NULL), &v);
	pam_syslog(pamh, v.rc == DBNL_OK ? LOG_INFO : LOG_NOTICE,
		   "user=%s jti=%s kid=%s rhost=%s result=%s reason=%s", u,
		   v.claims.jti ? v.claims.jti : "-", v.claims.kid ? v.claims.kid : "-", rhost,
		   dbnl_rc_name(v.rc), v.reason);
	pr = (v.rc == DBNL_NOT_TOKEN && a.ignore_non_token) ? PAM_IGNORE : dbnl_to_pam(v.rc, 0);
	if (v.rc == DBNL_OK && record_groups(pamh, &v.groups) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_CRIT, "user=%s: cannot record the session's groups", u);
		pr = PAM_BUF_ERR;
	}
	dbnl_verdict_free(&v);
	dbnl_conf_free(&conf);
	return pr;
}

/*
 * No credentials to set. PAM_SUCCESS for every caller: sshd's keyboard-
 * interactive method authenticates (and runs the account phase) in a child
 * process but calls pam_setcred in the parent, whose handle lacks this
 * module's data; a PAM_IGNORE from the only auth module would turn
 * pam_setcred into PAM_PERM_DENIED. setcred follows a successful auth stack.
 */
PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* Re-apply this line's group policy to the groups resolved at authentication. */
PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct dbnl_logger lg = { .pamh = pamh, .sink = DBNL_LOG_PAM };
	struct dbnl_conf conf;
	struct args a;
	const void *data = NULL;
	const char *user = NULL;
	char why[256] = "", u[128], rhost[128];
	enum dbnl_rc rc;

	(void)flags;
	if (pam_get_data(pamh, DATA_AUTHED, &data) != PAM_SUCCESS || data == NULL)
		return PAM_IGNORE; /* not a login this module authenticated */
	if (parse_args(pamh, argc, argv, &a) != 0)
		return PAM_AUTHINFO_UNAVAIL;
	lg.debug = a.debug;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || user == NULL)
		return PAM_USER_UNKNOWN;
	printable(u, sizeof(u), user);
	printable(rhost, sizeof(rhost), item_str(pamh, PAM_RHOST));
	if (load_config(&a, &lg, &conf) != DBNL_OK) {
		dbnl_conf_free(&conf);
		pam_syslog(pamh, LOG_ERR,
			   "account: user=%s rhost=%s result=config_error reason=configuration %s unusable",
			   u, rhost, a.config);
		return dbnl_to_pam(DBNL_CONFIG, 1);
	}
	rc = dbnl_policy_check(&conf.allow_groups, conf.allow_groups_set, &conf.deny_groups, data,
			       why, sizeof(why));
	pam_syslog(pamh, rc == DBNL_OK ? LOG_INFO : LOG_NOTICE,
		   "account: user=%s rhost=%s result=%s reason=%s", u, rhost, dbnl_rc_name(rc),
		   rc == DBNL_OK ? "group policy allows" : why);
	dbnl_conf_free(&conf);
	return dbnl_to_pam(rc, 1);
}
