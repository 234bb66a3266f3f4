/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one configuration parser, shared by the module, dbnl-pat and dbnl-patd.
 * Defaults are set in code, then the file, then PAM arguments, all through
 * dbnl_conf_set(). Unknown keys, bad values and duplicates are errors.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "dbnl.h"

#define CONF_MAX_SIZE (64 * 1024)
#define VALUE_MAX 4096

enum opt_type { T_STR, T_PATH, T_OPTSTR, T_DURATION, T_BOOL, T_LIST, T_ALGS, T_GROUPMODE,
		T_URIS, T_FILTER };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;       /* offset in struct dbnl_conf */
	size_t set_off;   /* offset of an "is set" flag, or 0 */
};

#define O(n, t) { #n, t, offsetof(struct dbnl_conf, n), 0 }
#define OS(n, t) { #n, t, offsetof(struct dbnl_conf, n), offsetof(struct dbnl_conf, n##_set) }

static const struct opt opts[] = {
	O(issuer, T_STR),
	O(audience, T_STR),
	O(keys_dir, T_PATH),
	O(algorithms, T_ALGS),
	O(user_claim, T_STR),
	O(clock_skew, T_DURATION),
	O(max_lifetime, T_DURATION),
	O(ldap_uri, T_URIS),
	O(ldap_starttls, T_BOOL),
	O(ldap_ca_file, T_PATH),
	O(ldap_bind_dn, T_OPTSTR),
	O(ldap_bind_password_file, T_PATH),
	O(ldap_base, T_STR),
	O(ldap_user_filter, T_FILTER),
	O(ldap_user_attr, T_STR),
	O(ldap_group_mode, T_GROUPMODE),
	O(ldap_group_base, T_STR),
	O(ldap_group_name_attr, T_STR),
	O(ldap_nested_groups, T_BOOL),
	O(ldap_disabled_filter, T_FILTER),
	O(ldap_timeout, T_DURATION),
	OS(allow_groups, T_LIST),
	O(deny_groups, T_LIST),
	O(signing_key, T_PATH),
	O(socket, T_PATH),
	O(default_ttl, T_DURATION),
	O(max_ttl, T_DURATION),
	OS(mint_groups, T_LIST),
	O(service_user, T_STR),
};

static const struct {
	const char *name;
	unsigned bit;
} algs[] = {
	{ "ES256", DBNL_ALG_ES256 }, { "ES384", DBNL_ALG_ES384 }, { "ES512", DBNL_ALG_ES512 },
	{ "RS256", DBNL_ALG_RS256 }, { "RS384", DBNL_ALG_RS384 }, { "RS512", DBNL_ALG_RS512 },
};

const char *dbnl_alg_name(unsigned alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].bit == alg)
			return algs[i].name;
	return "?";
}

unsigned dbnl_alg_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0) /* case matters in JOSE */
			return algs[i].bit;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

void dbnl_conf_init(struct dbnl_conf *c)
{
	memset(c, 0, sizeof(*c));
	/* Defaults from DESIGN.md. strdup failures leave NULL: finish() refuses. */
	c->audience = strdup("dbnl-pat");
	c->keys_dir = strdup(SYSCONFDIR "/dbnl-pat/keys");
	c->algorithms = DBNL_ALG_ES256;
	c->user_claim = strdup("sub");
	c->clock_skew = 60;
	c->max_lifetime = 365LL * 86400;
	c->ldap_user_filter = strdup("(objectClass=posixAccount)");
	c->ldap_user_attr = strdup("uid");
	c->ldap_group_mode = DBNL_GROUPS_MEMBEROF;
	c->ldap_group_name_attr = strdup("cn");
	c->ldap_timeout = 5;
	c->signing_key = strdup(SYSCONFDIR "/dbnl-pat/signing.key");
	c->socket = strdup(RUNSTATEDIR "/dbnl-pat/mint.sock");
	c->default_ttl = 30LL * 86400;
	c->max_ttl = 90LL * 86400;
	c->service_user = strdup("dbnl-pat");
	c->trusted_owner = geteuid();
}

void dbnl_conf_free(struct dbnl_conf *c)
{
	free(c->path);
	free(c->issuer);
	free(c->audience);
	free(c->keys_dir);
	free(c->user_claim);
	dbnl_strlist_free(&c->ldap_uri);
	free(c->ldap_ca_file);
	free(c->ldap_bind_dn);
	free(c->ldap_bind_password_file);
	dbnl_free_secret(c->ldap_bind_password);
	free(c->ldap_base);
	free(c->ldap_user_filter);
	free(c->ldap_user_attr);
	free(c->ldap_group_base);
	free(c->ldap_group_name_attr);
	free(c->ldap_disabled_filter);
	dbnl_strlist_free(&c->allow_groups);
	dbnl_strlist_free(&c->deny_groups);
	free(c->signing_key);
	free(c->socket);
	dbnl_strlist_free(&c->mint_groups);
	free(c->service_user);
	memset(c, 0, sizeof(*c));
}

/* Split on spaces (and, for PAM arguments, commas) into a fresh list. */
static int parse_list(struct dbnl_strlist *dst, const char *v, char *why, size_t whylen)
{
	struct dbnl_strlist l = { 0 };
	char *copy = strdup(v), *save = NULL, *tok;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL; tok = strtok_r(NULL, " \t,", &save)) {
		if (strlen(tok) > 256) {
			snprintf(why, whylen, "list item longer than 256 characters");
			goto fail;
		}
		if (dbnl_strlist_add(&l, tok) != 0)
			goto fail;
	}
	free(copy);
	dbnl_strlist_free(dst);
	*dst = l;
	return 0;
fail:
	free(copy);
	dbnl_strlist_free(&l);
	return -1;
}

static int balanced_filter(const char *f)
{
	int depth = 0;

	if (f[0] != '(')
		return 0;
	for (const char *p = f; *p; p++) {
		if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth < 0)
				return 0;
		} else if (depth == 0) {
			return 0; /* text outside the outer parentheses */
		}
	}
	return depth == 0;
}

int dbnl_conf_set(struct dbnl_conf *c, const char *name, const char *value, int from_file,
		  char *why, size_t whylen)
{
	const struct opt *o = NULL;
	size_t idx;
	char *base = (char *)c;
	long long d;

	for (idx = 0; idx < sizeof(opts) / sizeof(opts[0]); idx++) {
		if (strcmp(opts[idx].name, name) == 0) {
			o = &opts[idx];
			break;
		}
	}
	if (o == NULL) {
		snprintf(why, whylen, "unknown key '%.64s'", name);
		return -1;
	}
	if (from_file) {
		if (c->seen[idx]) {
			snprintf(why, whylen, "duplicate key '%s'", name);
			return -1;
		}
		c->seen[idx] = 1;
	}
	if (strlen(value) > VALUE_MAX) {
		snprintf(why, whylen, "value of '%s' too long", name);
		return -1;
	}
	if (value[0] == '\0' && o->type != T_LIST && o->type != T_OPTSTR &&
	    o->type != T_FILTER) {
		snprintf(why, whylen, "empty value for '%s'", name);
		return -1;
	}
	switch (o->type) {
	case T_STR:
	case T_OPTSTR:
		for (const char *p = value; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(why, whylen, "control character in '%s'", name);
				return -1;
			}
		}
		if (o->type == T_OPTSTR && value[0] == '\0') {
			free(*(char **)(base + o->off));
			*(char **)(base + o->off) = NULL;
			return 0;
		}
		return set_str((char **)(base + o->off), value);
	case T_PATH:
		if (value[0] != '/') {
			snprintf(why, whylen, "'%s' must be an absolute path", name);
			return -1;
		}
		if (value[1] != '\0' && value[strlen(value) - 1] == '/') {
			/* "dir/" would let O_NOFOLLOW follow a symbolic link */
			snprintf(why, whylen, "'%s' must not end in '/'", name);
			return -1;
		}
		return set_str((char **)(base + o->off), value);
	case T_FILTER:
		if (value[0] == '\0' && strcmp(name, "ldap_user_filter") == 0) {
			snprintf(why, whylen, "'ldap_user_filter' must not be empty");
			return -1;
		}
		if (value[0] == '\0') {
			free(*(char **)(base + o->off));
			*(char **)(base + o->off) = NULL;
			return 0;
		}
		if (!balanced_filter(value)) {
			snprintf(why, whylen, "'%s' is not a parenthesised LDAP filter", name);
			return -1;
		}
		return set_str((char **)(base + o->off), value);
	case T_DURATION:
		d = dbnl_parse_duration(value);
		if (d < 0) {
			snprintf(why, whylen, "bad duration '%.64s' for '%s' (use N, Ns, Nm, Nh or Nd)",
				 value, name);
			return -1;
		}
		if ((strcmp(name, "ldap_timeout") == 0 || strcmp(name, "default_ttl") == 0 ||
		     strcmp(name, "max_ttl") == 0 || strcmp(name, "max_lifetime") == 0) && d == 0) {
			snprintf(why, whylen, "'%s' must be more than 0", name);
			return -1;
		}
		if (strcmp(name, "ldap_timeout") == 0 && d > 300) {
			snprintf(why, whylen, "'ldap_timeout' must be at most 300s");
			return -1;
		}
		if (strcmp(name, "clock_skew") == 0 && d > 3600) {
			snprintf(why, whylen, "'clock_skew' must be at most 1h");
			return -1;
		}
		*(long long *)(base + o->off) = d;
		return 0;
	case T_BOOL:
		if (strcmp(value, "yes") == 0)
			*(int *)(base + o->off) = 1;
		else if (strcmp(value, "no") == 0)
			*(int *)(base + o->off) = 0;
		else {
			snprintf(why, whylen, "'%s' must be yes or no", name);
			return -1;
		}
		return 0;
	case T_LIST:
		if (parse_list((struct dbnl_strlist *)(base + o->off), value, why, whylen) != 0) {
			if (why[0] == '\0')
				snprintf(why, whylen, "out of memory");
			return -1;
		}
		/* An empty list is the same as not setting the key. */
		if (o->set_off)
			*(int *)(base + o->set_off) =
				((struct dbnl_strlist *)(base + o->off))->n > 0;
		return 0;
	case T_URIS: {
		struct dbnl_strlist l = { 0 };

		if (parse_list(&l, value, why, whylen) != 0)
			return -1;
		for (size_t i = 0; i < l.n; i++) {
			if (strncasecmp(l.v[i], "ldap://", 7) != 0 &&
			    strncasecmp(l.v[i], "ldaps://", 8) != 0) {
				snprintf(why, whylen, "ldap_uri '%.64s' is not ldap:// or ldaps://",
					 l.v[i]);
				dbnl_strlist_free(&l);
				return -1;
			}
		}
		if (l.n == 0) {
			snprintf(why, whylen, "empty ldap_uri");
			return -1;
		}
		dbnl_strlist_free(&c->ldap_uri);
		c->ldap_uri = l;
		return 0;
	}
	case T_ALGS: {
		struct dbnl_strlist l = { 0 };
		unsigned mask = 0;

		if (parse_list(&l, value, why, whylen) != 0)
			return -1;
		for (size_t i = 0; i < l.n; i++) {
			unsigned bit = dbnl_alg_from_name(l.v[i]);

			if (bit == 0) {
				snprintf(why, whylen,
					 "algorithm '%.32s' not allowed (ES256 ES384 ES512 RS256 RS384 RS512)",
					 l.v[i]);
				dbnl_strlist_free(&l);
				return -1;
			}
			mask |= bit;
		}
		dbnl_strlist_free(&l);
		if (mask == 0) {
			snprintf(why, whylen, "empty algorithms");
			return -1;
		}
		c->algorithms = mask;
		return 0;
	}
	case T_GROUPMODE:
		if (strcmp(value, "memberof") == 0)
			c->ldap_group_mode = DBNL_GROUPS_MEMBEROF;
		else if (strcmp(value, "member") == 0)
			c->ldap_group_mode = DBNL_GROUPS_MEMBER;
		else if (strcmp(value, "memberuid") == 0)
			c->ldap_group_mode = DBNL_GROUPS_MEMBERUID;
		else {
			snprintf(why, whylen, "ldap_group_mode must be memberof, member or memberuid");
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "internal error");
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

enum dbnl_rc dbnl_conf_load(struct dbnl_conf *c, const char *path, const struct dbnl_logger *lg)
{
	char why[512] = "";
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	unsigned lineno = 0;
	enum dbnl_rc rc;

	free(c->path);
	c->path = strdup(path);
	rc = dbnl_read_trusted(path, c->trusted_owner, 0, CONF_MAX_SIZE, &text, &len, why,
			       sizeof(why));
	if (rc != DBNL_OK) {
		dbnl_log(lg, LOG_ERR, "configuration: %s", why);
		return DBNL_CONFIG;
	}
	if (memchr(text, '\0', len) != NULL) {
		dbnl_log(lg, LOG_ERR, "%s: contains a NUL byte", path);
		rc = DBNL_CONFIG;
		goto out;
	}
	/* strtok_r would merge empty lines and lose line numbers: walk by hand. */
	line = text;
	while (line != NULL && *line != '\0') {
		char *nl = strchr(line, '\n'), *eq, *key, *val, *hash;

		(void)save;
		if (nl != NULL)
			*nl = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		key = trim(line);
		if (*key != '\0') {
			eq = strchr(key, '=');
			if (eq == NULL) {
				dbnl_log(lg, LOG_ERR, "%s:%u: expected 'key = value'", path, lineno);
				rc = DBNL_CONFIG;
				goto out;
			}
			*eq = '\0';
			key = trim(key);
			val = trim(eq + 1);
			why[0] = '\0';
			if (dbnl_conf_set(c, key, val, 1, why, sizeof(why)) != 0) {
				dbnl_log(lg, LOG_ERR, "%s:%u: %s", path, lineno,
					 why[0] ? why : "out of memory");
				rc = DBNL_CONFIG;
				goto out;
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	rc = DBNL_OK;
out:
	free(text);
	return rc;
}

enum dbnl_rc dbnl_conf_finish(struct dbnl_conf *c, const struct dbnl_logger *lg)
{
	const char *p = c->path != NULL ? c->path : "configuration";

	if (c->audience == NULL || c->keys_dir == NULL || c->user_claim == NULL ||
	    c->ldap_user_filter == NULL || c->ldap_user_attr == NULL ||
	    c->ldap_group_name_attr == NULL || c->signing_key == NULL || c->socket == NULL ||
	    c->service_user == NULL) {
		dbnl_log(lg, LOG_ERR, "%s: out of memory", p);
		return DBNL_CONFIG;
	}
	if (c->issuer == NULL) {
		dbnl_log(lg, LOG_ERR, "%s: required key 'issuer' is missing", p);
		return DBNL_CONFIG;
	}
	if (c->ldap_uri.n == 0) {
		dbnl_log(lg, LOG_ERR, "%s: required key 'ldap_uri' is missing", p);
		return DBNL_CONFIG;
	}
	if (c->ldap_base == NULL) {
		dbnl_log(lg, LOG_ERR, "%s: required key 'ldap_base' is missing", p);
		return DBNL_CONFIG;
	}
	if (c->ldap_bind_dn != NULL && c->ldap_bind_password_file == NULL) {
		dbnl_log(lg, LOG_ERR, "%s: ldap_bind_dn is set but ldap_bind_password_file is not", p);
		return DBNL_CONFIG;
	}
	if (c->ldap_bind_dn != NULL && !c->ldap_starttls) {
		for (size_t i = 0; i < c->ldap_uri.n; i++) {
			if (strncasecmp(c->ldap_uri.v[i], "ldap://", 7) == 0) {
				dbnl_log(lg, LOG_ERR,
					 "%s: ldap_bind_dn over %s without ldap_starttls would send the "
					 "bind password in clear text",
					 p, c->ldap_uri.v[i]);
				return DBNL_CONFIG;
			}
		}
	}
	{
		/* The user claim must be one the mint sets to the user and nothing else
		 * sets: "name" is the caller's free label, the rest are fixed claims. */
		static const char *const reserved[] = { "iss", "aud", "iat", "nbf", "exp",
							"jti", "name" };

		for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			if (strcmp(c->user_claim, reserved[i]) == 0) {
				dbnl_log(lg, LOG_ERR,
					 "%s: user_claim must not be '%s' (a claim that does not name the user)",
					 p, reserved[i]);
				return DBNL_CONFIG;
			}
		}
	}
	if (c->default_ttl > c->max_ttl) {
		dbnl_log(lg, LOG_ERR, "%s: default_ttl is longer than max_ttl", p);
		return DBNL_CONFIG;
	}
	if (!c->mint_groups_set && c->allow_groups_set) {
		if (dbnl_strlist_copy(&c->mint_groups, &c->allow_groups) != 0)
			return DBNL_CONFIG;
	}
	return DBNL_OK;
}
