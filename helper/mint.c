/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The signing key and minting, shared by dbnl-patd (mint) and dbnl-pat
 * (keygen). Open, then check; private key bytes are wiped after use.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "mint.h"

/* The directory holding PATH and all above it (dbnl_dirs_secure). */
static int dirs_ok(const char *path, uid_t owner, char *why, size_t whylen)
{
	char *copy = strdup(path), *slash, reason[512];
	int ret;

	if (copy == NULL) {
		snprintf(why, whylen, "signing key %s: out of memory", path);
		return -1;
	}
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	ret = dbnl_dirs_secure(slash != NULL ? copy : ".", owner, reason, sizeof(reason));
	if (ret != 0)
		snprintf(why, whylen, "signing key %s: %s", path, reason);
	free(copy);
	return ret;
}

static int is_p256(EVP_PKEY *pk)
{
	char group[64] = "";
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pk, "EC"))
		return 0;
	if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen))
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

enum dbnl_rc mint_signer_load(struct mint_signer *s, const char *path, uid_t owner,
			      const char *owner_name, char *why, size_t whylen)
{
	enum dbnl_rc rc = DBNL_CONFIG;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	BIO *bio = NULL;
	int fd;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(why, whylen, "signing key %s: is a symbolic link", path);
		else
			snprintf(why, whylen, "signing key %s: cannot open: %s", path,
				 strerror(errno));
		return DBNL_CONFIG;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "signing key %s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "signing key %s: not a regular file", path);
		goto out;
	}
	if (st.st_uid != owner) {
		snprintf(why, whylen, "signing key %s: owned by uid %u, must be owned by %s (uid %u)",
			 path, (unsigned)st.st_uid, owner_name, (unsigned)owner);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(why, whylen,
			 "signing key %s: mode %04o gives access to group or other, must be 0600 or 0400",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (dirs_ok(path, owner, why, whylen) != 0)
		goto out;
	if (st.st_size > MINT_KEY_MAX) {
		snprintf(why, whylen, "signing key %s: larger than %d bytes", path, MINT_KEY_MAX);
		goto out;
	}
	rc = dbnl_read_all(fd, MINT_KEY_MAX, &buf, &got);
	if (rc != DBNL_OK) {
		if (rc == DBNL_NOMEM)
			snprintf(why, whylen, "out of memory");
		else if (errno == EFBIG)
			snprintf(why, whylen, "signing key %s: larger than %d bytes", path,
				 MINT_KEY_MAX);
		else
			snprintf(why, whylen, "signing key %s: read: %s", path, strerror(errno));
		goto out;
	}
	rc = DBNL_CONFIG;
	bio = BIO_new_mem_buf(buf, (int)got);
	if (bio != NULL)
		s->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (s->pkey == NULL || !is_p256(s->pkey)) {
		snprintf(why, whylen, "signing key %s: not a PEM EC P-256 private key", path);
		goto out;
	}
	s->kid = dbnl_jwk_thumbprint(s->pkey);
	if (s->kid == NULL) {
		snprintf(why, whylen, "signing key %s: cannot compute its key id", path);
		goto out;
	}
	rc = DBNL_OK;
out:
	BIO_free(bio);
	if (buf != NULL) {
		dbnl_wipe(buf, MINT_KEY_MAX + 1);
		free(buf);
	}
	close(fd);
	if (rc != DBNL_OK)
		mint_signer_free(s);
	return rc;
}

void mint_signer_free(struct mint_signer *s)
{
	EVP_PKEY_free(s->pkey); /* OpenSSL clears the private scalar on free */
	free(s->kid);
	s->pkey = NULL;
	s->kid = NULL;
}

int mint_label_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MINT_LABEL_MAX)
		return 0;
	for (const char *p = name; *p; p++) {
		char ch = *p;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == ' ' || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

int mint_username_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++) {
		char ch = *p;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* base64url(compact JSON of J). */
static char *b64_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	char *out;

	if (s == NULL)
		return NULL;
	out = dbnl_b64url_encode((const unsigned char *)s, strlen(s));
	free(s);
	return out;
}

/* ES256 over IN: JOSE raw R||S, base64url. */
static char *sign_es256(EVP_PKEY *pk, const char *in, size_t inlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL, raw[64];
	const unsigned char *p;
	size_t derlen = 0;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r = NULL, *s = NULL;
	char *out = NULL;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, NULL, &derlen, (const unsigned char *)in, inlen) != 1)
		goto out;
	der = malloc(derlen);
	if (der == NULL ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)in, inlen) != 1)
		goto out;
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (es == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
		goto out;
	out = dbnl_b64url_encode(raw, sizeof(raw));
out:
	ECDSA_SIG_free(es);
	free(der);
	dbnl_wipe(raw, sizeof(raw));
	EVP_MD_CTX_free(md);
	return out;
}

enum dbnl_rc mint_token(const struct mint_signer *s, const struct mint_req *r, char **token,
			char jti[MINT_JTI_LEN], char *why, size_t whylen)
{
	enum dbnl_rc rc = DBNL_NOMEM;
	json_t *hdr = NULL, *cl = NULL;
	char *h64 = NULL, *c64 = NULL, *sig = NULL, *id = NULL, *input = NULL, *tok = NULL;
	unsigned char rnd[16];
	size_t ilen;

	*token = NULL;
	jti[0] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(why, whylen, "no randomness for jti");
		return DBNL_CONFIG;
	}
	id = dbnl_b64url_encode(rnd, sizeof(rnd));
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", s->kid);
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", r->iss, "sub", r->sub, "aud",
		       r->aud, "iat", (json_int_t)r->now, "nbf", (json_int_t)r->now, "exp",
		       (json_int_t)(r->now + r->ttl), "jti", id != NULL ? id : "");
	if (id == NULL || hdr == NULL || cl == NULL)
		goto out;
	/* Never overwrite a claim already set: the user claim is one of ours. */
	if (r->user_claim != NULL && strcmp(r->user_claim, "sub") != 0 &&
	    (json_object_get(cl, r->user_claim) != NULL ||
	     json_object_set_new(cl, r->user_claim, json_string(r->sub)) != 0)) {
		snprintf(why, whylen, "user_claim '%s' collides with a fixed claim", r->user_claim);
		rc = DBNL_CONFIG;
		goto out;
	}
	if (r->name != NULL &&
	    (json_object_get(cl, "name") != NULL ||
	     json_object_set_new(cl, "name", json_string(r->name)) != 0)) {
		snprintf(why, whylen, "the name label collides with the user claim");
		rc = DBNL_CONFIG;
		goto out;
	}
	h64 = b64_json(hdr);
	c64 = b64_json(cl);
	if (h64 == NULL || c64 == NULL)
		goto out;
	ilen = strlen(h64) + 1 + strlen(c64);
	input = malloc(ilen + 1);
	if (input == NULL)
		goto out;
	snprintf(input, ilen + 1, "%s.%s", h64, c64);
	sig = sign_es256(s->pkey, input, ilen);
	if (sig == NULL) {
		snprintf(why, whylen, "signing failed");
		rc = DBNL_CONFIG;
		goto out;
	}
	if (ilen + 1 + strlen(sig) >= MINT_TOKEN_LIMIT) {
		snprintf(why, whylen, "token would be %zu characters, the limit is %d",
			 ilen + 1 + strlen(sig), MINT_TOKEN_LIMIT - 1);
		rc = DBNL_INVALID;
		goto out;
	}
	tok = malloc(ilen + 1 + strlen(sig) + 1);
	if (tok == NULL)
		goto out;
	sprintf(tok, "%s.%s", input, sig);
	snprintf(jti, MINT_JTI_LEN, "%s", id);
	*token = tok;
	rc = DBNL_OK;
out:
	dbnl_wipe(rnd, sizeof(rnd));
	dbnl_free_secret(sig);
	dbnl_free_secret(input);
	free(h64);
	dbnl_free_secret(c64);
	free(id);
	json_decref(hdr);
	json_decref(cl);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the PEM that WRITE_FN puts in a BIO to a new file AT/NAME with MODE. */
static int write_new(int at, const char *name, mode_t mode, BIO *bio, char *why, size_t whylen,
		     const char *shown)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	int fd = openat(at, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", shown,
			 errno == EEXIST ? "already exists, not overwriting" : strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0 || n <= 0 || write_all(fd, data, (size_t)n) != 0 ||
	    fsync(fd) != 0) {
		snprintf(why, whylen, "%s: write: %s", shown, strerror(errno));
		close(fd);
		unlinkat(at, name, 0);
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(why, whylen, "%s: close: %s", shown, strerror(errno));
		unlinkat(at, name, 0);
		return -1;
	}
	return 0;
}

int mint_keygen(const char *dir, char **kid, char *why, size_t whylen)
{
	EVP_PKEY *pk = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *id = NULL, name[128], shown[PATH_MAX + 160];
	int dfd = -1, kfd = -1, ret = -1, made_priv = 0;

	*kid = NULL;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, whylen, "%s: cannot open directory: %s", dir, strerror(errno));
		goto out;
	}
	if (mkdirat(dfd, "keys", 0755) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s/keys: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	kfd = openat(dfd, "keys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (kfd < 0) {
		snprintf(why, whylen, "%s/keys: cannot open directory: %s", dir, strerror(errno));
		goto out;
	}
	pk = EVP_EC_gen("P-256");
	priv = BIO_new(BIO_s_secmem());
	pub = BIO_new(BIO_s_mem());
	if (pk == NULL || priv == NULL || pub == NULL ||
	    PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, pk) != 1) {
		snprintf(why, whylen, "cannot generate an EC P-256 key");
		goto out;
	}
	id = dbnl_jwk_thumbprint(pk);
	if (id == NULL) {
		snprintf(why, whylen, "cannot compute the key id");
		goto out;
	}
	snprintf(shown, sizeof(shown), "%s/signing.key", dir);
	if (write_new(dfd, "signing.key", 0600, priv, why, whylen, shown) != 0)
		goto out;
	made_priv = 1;
	snprintf(name, sizeof(name), "%s.pem", id);
	snprintf(shown, sizeof(shown), "%s/keys/%s", dir, name);
	if (write_new(kfd, name, 0644, pub, why, whylen, shown) != 0)
		goto out;
	*kid = id;
	id = NULL;
	ret = 0;
out:
	if (ret != 0 && made_priv)
		unlinkat(dfd, "signing.key", 0); /* ours, made a moment ago */
	free(id);
	BIO_free(priv); /* secure heap: cleared on free */
	BIO_free(pub);
	EVP_PKEY_free(pk);
	if (kfd >= 0)
		close(kfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}
