/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by dbnl-pat (keygen) and dbnl-patd (mint): the signing key, its
 * safe opening, and minting one ES256 token with the claims of DESIGN.md.
 */
#ifndef DBNL_MINT_H
#define DBNL_MINT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "dbnl.h"

#define MINT_TOKEN_LIMIT 512 /* sudo refuses a password of 512 characters or more */
#define MINT_LABEL_MAX 64    /* longest `name` label */
#define MINT_KEY_MAX (16 * 1024)

/* The loaded signing key. */
struct mint_signer {
	struct evp_pkey_st *pkey; /* EC P-256 private key */
	char *kid;                /* RFC 7638 thumbprint of its public half */
};

/*
 * Open PATH like sshd's StrictModes: O_NOFOLLOW, then fstat: a regular file,
 * owned by OWNER (exactly), no group/other bits, and every directory above
 * it owned by root or OWNER and not writable by group/other (unless sticky).
 * OWNER_NAME is only for messages. WHY gets the exact refusal.
 */
enum dbnl_rc mint_signer_load(struct mint_signer *s, const char *path, uid_t owner,
			      const char *owner_name, char *why, size_t whylen);
void mint_signer_free(struct mint_signer *s);

/* What goes into one token. */
struct mint_req {
	const char *iss;
	const char *aud;
	const char *sub;        /* the user name */
	const char *user_claim; /* also set to sub when not "sub" */
	const char *name;       /* optional label, NULL for none */
	time_t now;
	long long ttl;          /* seconds, > 0 */
};

/*
 * Mint one token. On DBNL_OK *TOKEN (wipe with dbnl_free_secret) and JTI
 * (MINT_JTI_LEN bytes) are set. DBNL_INVALID with WHY when it would be
 * MINT_TOKEN_LIMIT characters or longer.
 */
#define MINT_JTI_LEN 23 /* 22 base64url characters + NUL */
enum dbnl_rc mint_token(const struct mint_signer *s, const struct mint_req *r, char **token,
			char jti[MINT_JTI_LEN], char *why, size_t whylen);

/* A label the daemon accepts: 1..64 of [A-Za-z0-9 ._-]. */
int mint_label_ok(const char *name);
/* A user name the daemon accepts from root: 1..64 of [A-Za-z0-9._-], no leading '-'. */
int mint_username_ok(const char *name);

/*
 * Make DIR/signing.key (0600) and DIR/keys/<kid>.pem (0644); never
 * overwrites. *KID is malloc'd on success. Returns 0 or -1 with WHY.
 */
int mint_keygen(const char *dir, char **kid, char *why, size_t whylen);

#endif
