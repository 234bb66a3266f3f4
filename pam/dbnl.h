/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_dbnl_pat: the verification core shared by the PAM module, dbnl-pat,
 * dbnl-patd and the tests (libdbnlcore.la). Nothing here reads the
 * environment: sudo and su run the module in an environment the caller owns.
 */
#ifndef DBNL_H
#define DBNL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <security/pam_appl.h>

#define DBNL_INTERNAL __attribute__((visibility("hidden")))

/* Internal results; dbnl_to_pam() is the one place they become PAM codes. */
enum dbnl_rc {
	DBNL_OK = 0,
	DBNL_NOT_TOKEN,    /* the text is not token-shaped (a plain password) */
	DBNL_INVALID,      /* token-shaped but invalid: format, alg, kid, sig, claim */
	DBNL_USER_UNKNOWN, /* token valid, user not in LDAP */
	DBNL_DENIED,       /* disabled, group policy, revoked, ambiguous entry */
	DBNL_UNAVAIL,      /* LDAP unreachable, timed out, TLS or bind failure */
	DBNL_CONFIG,       /* configuration or key store broken */
	DBNL_NOMEM,        /* out of memory (fails closed) */
};

/* ---- logging ---------------------------------------------------------- */

enum dbnl_log_sink {
	DBNL_LOG_PAM = 0, /* pam_syslog on pamh (module) */
	DBNL_LOG_STDERR,  /* "prog: message" on stderr (CLI, daemon -d) */
	DBNL_LOG_SYSLOG,  /* syslog(3), LOG_AUTHPRIV (daemon) */
};

struct dbnl_logger {
	pam_handle_t *pamh;     /* for DBNL_LOG_PAM */
	enum dbnl_log_sink sink;
	int debug;              /* emit LOG_DEBUG lines */
	const char *prog;       /* prefix for DBNL_LOG_STDERR */
};

void dbnl_log(const struct dbnl_logger *lg, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4))) DBNL_INTERNAL;

/* ---- small utilities -------------------------------------------------- */

struct dbnl_strlist {
	char **v;   /* NUL-terminated strings, owned */
	size_t n;
};

void dbnl_wipe(void *p, size_t n) DBNL_INTERNAL;          /* explicit_bzero */
void dbnl_free_secret(char *s) DBNL_INTERNAL;             /* wipe + free */
int dbnl_strlist_add(struct dbnl_strlist *l, const char *s) DBNL_INTERNAL;
int dbnl_strlist_has(const struct dbnl_strlist *l, const char *s) DBNL_INTERNAL;
int dbnl_strlist_has_ci(const struct dbnl_strlist *l, const char *s) DBNL_INTERNAL;
void dbnl_strlist_free(struct dbnl_strlist *l) DBNL_INTERNAL;
/* Space-joined copy of the list, or NULL on no memory. */
char *dbnl_strlist_join(const struct dbnl_strlist *l, char sep) DBNL_INTERNAL;
int dbnl_strlist_copy(struct dbnl_strlist *dst, const struct dbnl_strlist *src) DBNL_INTERNAL;

/* Trusted-file checks used for the configuration, keys and secrets. */
#define DBNL_F_PRIVATE 0x1 /* no group/other bits at all */
#define DBNL_F_NOFOLLOW 0x2 /* refuse a symbolic link (always on today) */
/*
 * Open PATH with O_NOFOLLOW, then fstat: a regular file, owned by
 * OWNER or by root, not writable by group/other (and with DBNL_F_PRIVATE
 * no group/other bits at all), at most MAX bytes. On success *OUT is a
 * NUL-terminated malloc'd copy and *LEN its length; wipe it if secret.
 * WHY gets a human reason on failure.
 */
enum dbnl_rc dbnl_read_trusted(const char *path, uid_t owner, int flags, size_t max,
			       char **out, size_t *len, char *why, size_t whylen) DBNL_INTERNAL;
/* The same, for NAME relative to the open directory DIRFD (AT_FDCWD: NAME is a
 * path); PATH names the file in messages. */
enum dbnl_rc dbnl_read_trusted_at(int dirfd, const char *name, const char *path, uid_t owner,
				  int flags, size_t max, char **out, size_t *len, char *why,
				  size_t whylen) DBNL_INTERNAL;
/* Read all of FD, at most MAX bytes (errno EFBIG beyond), into a malloc'd
 * NUL-terminated buffer of MAX + 1 bytes; wipe it if secret. */
enum dbnl_rc dbnl_read_all(int fd, size_t max, char **out, size_t *len) DBNL_INTERNAL;
/* The same checks for a directory (fd is returned open, O_DIRECTORY). */
int dbnl_open_trusted_dir(const char *path, uid_t owner, char *why, size_t whylen) DBNL_INTERNAL;
/* DIR and every directory above it (resolved): owned by root or OWNER, not
 * writable by group or other unless sticky (like /tmp). 0 if so. */
int dbnl_dirs_secure(const char *dir, uid_t owner, char *why, size_t whylen) DBNL_INTERNAL;

/* base64url without padding; canonical check on decode. */
char *dbnl_b64url_encode(const unsigned char *in, size_t len) DBNL_INTERNAL;
/* Returns malloc'd bytes (NUL-terminated for convenience) or NULL if not canonical. */
unsigned char *dbnl_b64url_decode(const char *in, size_t inlen, size_t *outlen) DBNL_INTERNAL;

/* Parse a duration ("90", "30s", "5m", "2h", "30d") into seconds; -1 if bad. */
long long dbnl_parse_duration(const char *s) DBNL_INTERNAL;

/* ---- configuration ---------------------------------------------------- */

#define DBNL_DEFAULT_CONFIG SYSCONFDIR "/dbnl-pat/dbnl-pat.conf"

enum dbnl_alg {
	DBNL_ALG_ES256 = 1 << 0,
	DBNL_ALG_ES384 = 1 << 1,
	DBNL_ALG_ES512 = 1 << 2,
	DBNL_ALG_RS256 = 1 << 3,
	DBNL_ALG_RS384 = 1 << 4,
	DBNL_ALG_RS512 = 1 << 5,
};

enum dbnl_group_mode {
	DBNL_GROUPS_MEMBEROF = 0,
	DBNL_GROUPS_MEMBER,
	DBNL_GROUPS_MEMBERUID,
};

struct dbnl_conf {
	char *path;                 /* the file this came from (for messages) */
	char *issuer;               /* required */
	char *audience;
	char *keys_dir;
	unsigned algorithms;        /* bitmask of enum dbnl_alg */
	char *user_claim;
	long long clock_skew;       /* seconds */
	long long max_lifetime;     /* seconds */
	struct dbnl_strlist ldap_uri;  /* tried in order */
	int ldap_starttls;
	char *ldap_ca_file;         /* NULL: DBNL_DEFAULT_CA_FILE (configure --with-ca-file) */
	char *ldap_bind_dn;         /* NULL: anonymous */
	char *ldap_bind_password_file;
	char *ldap_bind_password;   /* preloaded by dbnl-patd before dropping root; wiped on free */
	char *ldap_base;            /* required */
	char *ldap_user_filter;
	char *ldap_user_attr;
	enum dbnl_group_mode ldap_group_mode;
	char *ldap_group_base;      /* NULL: ldap_base */
	char *ldap_group_name_attr;
	int ldap_nested_groups;
	char *ldap_disabled_filter; /* NULL: none */
	long long ldap_timeout;     /* seconds, whole LDAP part of one login */
	struct dbnl_strlist allow_groups;
	int allow_groups_set;
	struct dbnl_strlist deny_groups;
	char *signing_key;
	char *socket;
	long long default_ttl;
	long long max_ttl;
	struct dbnl_strlist mint_groups;
	int mint_groups_set;        /* else mint_groups follows allow_groups */
	char *service_user;
	uid_t trusted_owner;        /* besides root, who may own trusted files (euid) */
	unsigned char seen[64];     /* keys already set from the file (duplicates) */
};

void dbnl_conf_init(struct dbnl_conf *c) DBNL_INTERNAL;
void dbnl_conf_free(struct dbnl_conf *c) DBNL_INTERNAL;
/*
 * Set one option by name. FROM_FILE makes a second setting of the same key an
 * error. Returns 0 or -1 with WHY set.
 */
int dbnl_conf_set(struct dbnl_conf *c, const char *name, const char *value, int from_file,
		  char *why, size_t whylen) DBNL_INTERNAL;
/* Load the file: errors name file:line and are logged; DBNL_CONFIG on any. */
enum dbnl_rc dbnl_conf_load(struct dbnl_conf *c, const char *path,
			    const struct dbnl_logger *lg) DBNL_INTERNAL;
/* Checks required keys after file + arguments. */
enum dbnl_rc dbnl_conf_finish(struct dbnl_conf *c, const struct dbnl_logger *lg) DBNL_INTERNAL;
const char *dbnl_alg_name(unsigned alg) DBNL_INTERNAL;
unsigned dbnl_alg_from_name(const char *name) DBNL_INTERNAL;

/* ---- key store -------------------------------------------------------- */

struct evp_pkey_st;

struct dbnl_key {
	char *kid;                /* lookup name only, never a path */
	struct evp_pkey_st *pkey; /* EVP_PKEY */
	unsigned algs;            /* algorithms this key can verify */
	char *pem;                /* SPKI PEM, for libjwt's second check */
	size_t pem_len;
	char *source;             /* file it came from (messages) */
};

struct dbnl_keystore {
	struct dbnl_key *keys;
	size_t n;
};

enum dbnl_rc dbnl_keystore_load(struct dbnl_keystore *ks, const char *dir, uid_t owner,
				const struct dbnl_logger *lg) DBNL_INTERNAL;
const struct dbnl_key *dbnl_keystore_find(const struct dbnl_keystore *ks,
					  const char *kid) DBNL_INTERNAL;
void dbnl_keystore_free(struct dbnl_keystore *ks) DBNL_INTERNAL;
/* RFC 7638 thumbprint (base64url SHA-256) of a public key; malloc'd. */
char *dbnl_jwk_thumbprint(struct evp_pkey_st *pkey) DBNL_INTERNAL;

/* ---- tokens ------------------------------------------------------------ */

#define DBNL_TOKEN_MAX 2048 /* longest text we even look at */

struct dbnl_claims {
	char *alg, *kid, *iss, *sub, *jti, *name;
	char *user;          /* value of the user claim */
	long long iat, nbf, exp;
	int has_nbf;
	char *payload_json;  /* compact claims, for `dbnl-pat verify` */
};

void dbnl_claims_free(struct dbnl_claims *cl) DBNL_INTERNAL;
/* Cheap shape test: three dot-separated base64url segments, header starts "eyJ". */
int dbnl_token_shaped(const char *text) DBNL_INTERNAL;
/*
 * Full local verification: shape, header, key, signature (OpenSSL, then libjwt
 * as a second opinion), claims, user claim == USER. Claims are filled as far
 * as they were read, even on refusal (for logging jti/kid).
 */
enum dbnl_rc dbnl_token_verify(const struct dbnl_conf *c, const struct dbnl_keystore *ks,
			       const char *token, const char *user, time_t now,
			       struct dbnl_claims *cl, char *why, size_t whylen) DBNL_INTERNAL;

/* ---- LDAP ---------------------------------------------------------------- */

struct dbnl_ldap_result {
	char *dn;                   /* the user's entry */
	struct dbnl_strlist groups; /* group names (ldap_group_name_attr) */
};

/*
 * Everything LDAP for one login, within c->ldap_timeout overall: connect
 * (URIs in order), TLS, bind, find the user, apply ldap_disabled_filter,
 * resolve groups. DBNL_OK, DBNL_USER_UNKNOWN, DBNL_DENIED (disabled,
 * ambiguous), DBNL_UNAVAIL, DBNL_CONFIG.
 */
enum dbnl_rc dbnl_ldap_lookup(const struct dbnl_conf *c, const struct dbnl_logger *lg,
			      const char *user, struct dbnl_ldap_result *out, char *why,
			      size_t whylen) DBNL_INTERNAL;
void dbnl_ldap_result_free(struct dbnl_ldap_result *r) DBNL_INTERNAL;

/* ---- policy and the whole verification ----------------------------------- */

/* allow/deny; deny wins. DBNL_OK or DBNL_DENIED with WHY. */
enum dbnl_rc dbnl_policy_check(const struct dbnl_strlist *allow, int allow_set,
			       const struct dbnl_strlist *deny, const struct dbnl_strlist *groups,
			       char *why, size_t whylen) DBNL_INTERNAL;

struct dbnl_verdict {
	enum dbnl_rc rc;
	char reason[256];
	struct dbnl_claims claims;
	struct dbnl_strlist groups;
	char *dn;
};

/* The one routine the module and `dbnl-pat verify` both run. */
enum dbnl_rc dbnl_verify(const struct dbnl_conf *c, const struct dbnl_logger *lg,
			 const char *user, const char *token, time_t now,
			 struct dbnl_verdict *v) DBNL_INTERNAL;
void dbnl_verdict_free(struct dbnl_verdict *v) DBNL_INTERNAL;

const char *dbnl_rc_name(enum dbnl_rc rc) DBNL_INTERNAL;
/* The single mapping to PAM codes; anything unknown is a refusal. */
int dbnl_to_pam(enum dbnl_rc rc, int acct) DBNL_INTERNAL;

#endif
