/* SPDX-License-Identifier: BSD-3-Clause */
/* The whole verification, the group policy and the one map to PAM codes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_modules.h>

#include "dbnl.h"

const char *dbnl_rc_name(enum dbnl_rc rc)
{
	switch (rc) {
	/* one word each: log lines are key=value */
	case DBNL_OK: return "accepted";
	case DBNL_NOT_TOKEN: return "not_token";
	case DBNL_INVALID: return "invalid";
	case DBNL_USER_UNKNOWN: return "user_unknown";
	case DBNL_DENIED: return "denied";
	case DBNL_UNAVAIL: return "unavailable";
	case DBNL_CONFIG: return "config_error";
	case DBNL_NOMEM: return "no_memory";
	}
	return "refused";
}

int dbnl_to_pam(enum dbnl_rc rc, int acct)
{
	switch (rc) {
	case DBNL_OK: return PAM_SUCCESS;
	case DBNL_NOT_TOKEN: return PAM_AUTH_ERR; /* PAM_IGNORE only by the caller's choice */
	case DBNL_INVALID: return PAM_AUTH_ERR;
	case DBNL_USER_UNKNOWN: return PAM_USER_UNKNOWN;
	case DBNL_DENIED: return acct ? PAM_PERM_DENIED : PAM_AUTH_ERR;
	case DBNL_UNAVAIL: return PAM_AUTHINFO_UNAVAIL;
	case DBNL_CONFIG: return PAM_AUTHINFO_UNAVAIL;
	case DBNL_NOMEM: return PAM_BUF_ERR;
	}
	return acct ? PAM_PERM_DENIED : PAM_AUTH_ERR; /* never success */
}

enum dbnl_rc dbnl_policy_check(const struct dbnl_strlist *allow, int allow_set,
			       const struct dbnl_strlist *deny, const struct dbnl_strlist *groups,
			       char *why, size_t whylen)
{
	for (size_t i = 0; i < groups->n; i++) {
		if (dbnl_strlist_has_ci(deny, groups->v[i])) {
			snprintf(why, whylen, "member of denied group '%s'", groups->v[i]);
			return DBNL_DENIED;
		}
	}
	if (!allow_set)
		return DBNL_OK;
	for (size_t i = 0; i < groups->n; i++)
		if (dbnl_strlist_has_ci(allow, groups->v[i]))
			return DBNL_OK;
	snprintf(why, whylen, "not a member of any allowed group");
	return DBNL_DENIED;
}

void dbnl_verdict_free(struct dbnl_verdict *v)
{
	dbnl_claims_free(&v->claims);
	dbnl_strlist_free(&v->groups);
	free(v->dn);
	v->dn = NULL;
}

enum dbnl_rc dbnl_verify(const struct dbnl_conf *c, const struct dbnl_logger *lg,
			 const char *user, const char *token, time_t now,
			 struct dbnl_verdict *v)
{
	struct dbnl_keystore ks = { 0 };
	struct dbnl_ldap_result lr = { 0 };
	enum dbnl_rc rc;

	memset(v, 0, sizeof(*v));
	if (!dbnl_token_shaped(token)) {
		snprintf(v->reason, sizeof(v->reason), "not token-shaped");
		rc = DBNL_NOT_TOKEN;
		goto out;
	}
	rc = dbnl_keystore_load(&ks, c->keys_dir, c->trusted_owner, lg);
	if (rc != DBNL_OK) {
		snprintf(v->reason, sizeof(v->reason), "key store %s unusable", c->keys_dir);
		goto out;
	}
	rc = dbnl_token_verify(c, &ks, token, user, now, &v->claims, v->reason,
			       sizeof(v->reason));
	if (rc != DBNL_OK)
		goto out;
	rc = dbnl_ldap_lookup(c, lg, user, &lr, v->reason, sizeof(v->reason));
	if (rc != DBNL_OK)
		goto out;
	v->dn = lr.dn;
	lr.dn = NULL;
	v->groups = lr.groups;
	lr.groups.v = NULL;
	lr.groups.n = 0;
	rc = dbnl_policy_check(&c->allow_groups, c->allow_groups_set, &c->deny_groups, &v->groups,
			       v->reason, sizeof(v->reason));
	if (rc != DBNL_OK)
		goto out;
	/* Revocation (watermark, jti denylist) slots in here; see doc/admin-guide.md. */
	snprintf(v->reason, sizeof(v->reason), "all checks passed");
out:
	dbnl_ldap_result_free(&lr);
	dbnl_keystore_free(&ks);
	v->rc = rc;
	return rc;
}
