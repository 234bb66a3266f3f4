/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The trusted public keys: <kid>.pem (SPKI PEM) and *.jwks (RFC 7517) files in
 * keys_dir. A kid is only ever compared with the names found here, never used
 * to build a path. Any unsafe or malformed file makes the whole store
 * unusable (fail closed): an admin must see the error, not half a store.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "dbnl.h"

#define KEYFILE_MAX (64 * 1024)
#define KEYS_MAX 256
#define KID_MAX 128

static int kid_ok(const char *kid, size_t len)
{
	if (len == 0 || len > KID_MAX || kid[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = kid[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

/* Which algorithms a key may verify; 0 if the key is not acceptable. */
static unsigned key_algs(EVP_PKEY *pkey, char *why, size_t whylen)
{
	char group[64] = "";

	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL)) {
			snprintf(why, whylen, "EC key without a named curve");
			return 0;
		}
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return DBNL_ALG_ES256;
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			return DBNL_ALG_ES384;
		if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
			return DBNL_ALG_ES512;
		snprintf(why, whylen, "EC curve %s not supported (P-256, P-384, P-521)", group);
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);
		BIGNUM *e = NULL;
		int e_ok;

		if (bits < 2048) {
			snprintf(why, whylen, "RSA key of %d bits (at least 2048 required)", bits);
			return 0;
		}
		/* e = 1 (or any even or tiny e) makes signatures forgeable by anyone. */
		e_ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
		       BN_is_odd(e) && BN_num_bits(e) > 16;
		BN_free(e);
		if (!e_ok) {
			snprintf(why, whylen, "RSA key with a public exponent that is even or below 65537");
			return 0;
		}
		return DBNL_ALG_RS256 | DBNL_ALG_RS384 | DBNL_ALG_RS512;
	}
	snprintf(why, whylen, "key type not supported (EC or RSA only)");
	return 0;
}

static char *pkey_to_pem(EVP_PKEY *pkey, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, pkey) == 1) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
			*len = (size_t)n;
		}
	}
	BIO_free(bio);
	return out;
}

static int add_key(struct dbnl_keystore *ks, const char *kid, EVP_PKEY *pkey, unsigned algs,
		   const char *source, char *why, size_t whylen)
{
	struct dbnl_key *k, *nk;

	if (dbnl_keystore_find(ks, kid) != NULL) {
		snprintf(why, whylen, "kid '%s' defined twice", kid);
		return -1;
	}
	if (ks->n >= KEYS_MAX) {
		snprintf(why, whylen, "more than %d keys", KEYS_MAX);
		return -1;
	}
	nk = realloc(ks->keys, (ks->n + 1) * sizeof(*nk));
	if (nk == NULL)
		goto nomem;
	ks->keys = nk;
	k = &ks->keys[ks->n];
	memset(k, 0, sizeof(*k));
	k->kid = strdup(kid);
	k->source = strdup(source);
	k->pem = pkey_to_pem(pkey, &k->pem_len);
	if (k->kid == NULL || k->source == NULL || k->pem == NULL) {
		free(k->kid);
		free(k->source);
		free(k->pem);
		goto nomem;
	}
	k->pkey = pkey;
	k->algs = algs;
	ks->n++;
	return 0;
nomem:
	snprintf(why, whylen, "out of memory");
	return -1;
}

static EVP_PKEY *pem_to_pkey(const char *text, size_t len)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pkey = NULL;

	if (bio == NULL)
		return NULL;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

static int load_pem(struct dbnl_keystore *ks, const char *path, const char *kid,
		    const char *text, size_t len, char *why, size_t whylen)
{
	EVP_PKEY *pkey = pem_to_pkey(text, len);
	unsigned algs;

	if (pkey == NULL) {
		snprintf(why, whylen, "%s: not an SPKI PEM public key", path);
		return -1;
	}
	algs = key_algs(pkey, why, whylen);
	if (algs == 0 || add_key(ks, kid, pkey, algs, path, why, whylen) != 0) {
		char inner[200];

		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, whylen, "%s: %s", path, inner);
		EVP_PKEY_free(pkey);
		return -1;
	}
	return 0;
}

static unsigned char *jwk_bytes(json_t *jwk, const char *member, size_t *len)
{
	json_t *v = json_object_get(jwk, member);

	if (!json_is_string(v))
		return NULL;
	return dbnl_b64url_decode(json_string_value(v), json_string_length(v), len);
}

static EVP_PKEY *jwk_to_pkey(json_t *jwk, char *why, size_t whylen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	unsigned char *a = NULL, *b = NULL, *point = NULL;
	size_t alen = 0, blen = 0;
	BIGNUM *n = NULL, *e = NULL;

	if (bld == NULL || kty == NULL) {
		snprintf(why, whylen, "JWK without kty");
		goto out;
	}
	if (strcmp(kty, "EC") == 0) {
		const char *crv = json_string_value(json_object_get(jwk, "crv"));
		const char *group = NULL;
		size_t coord = 0;

		if (crv != NULL && strcmp(crv, "P-256") == 0) {
			group = "prime256v1";
			coord = 32;
		} else if (crv != NULL && strcmp(crv, "P-384") == 0) {
			group = "secp384r1";
			coord = 48;
		} else if (crv != NULL && strcmp(crv, "P-521") == 0) {
			group = "secp521r1";
			coord = 66;
		} else {
			snprintf(why, whylen, "JWK curve not supported");
			goto out;
		}
		a = jwk_bytes(jwk, "x", &alen);
		b = jwk_bytes(jwk, "y", &blen);
		if (a == NULL || b == NULL || alen != coord || blen != coord) {
			snprintf(why, whylen, "JWK EC key with bad x/y");
			goto out;
		}
		if (json_object_get(jwk, "d") != NULL) {
			snprintf(why, whylen, "JWK holds a private key; only public keys belong here");
			goto out;
		}
		point = malloc(1 + 2 * coord);
		if (point == NULL)
			goto out;
		point[0] = 0x04;
		memcpy(point + 1, a, coord);
		memcpy(point + 1 + coord, b, coord);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						      1 + 2 * coord))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (strcmp(kty, "RSA") == 0) {
		a = jwk_bytes(jwk, "n", &alen);
		b = jwk_bytes(jwk, "e", &blen);
		if (a == NULL || b == NULL || alen == 0 || blen == 0 || blen > 8) {
			snprintf(why, whylen, "JWK RSA key with bad n/e");
			goto out;
		}
		if (json_object_get(jwk, "d") != NULL) {
			snprintf(why, whylen, "JWK holds a private key; only public keys belong here");
			goto out;
		}
		n = BN_bin2bn(a, (int)alen, NULL);
		e = BN_bin2bn(b, (int)blen, NULL);
		if (n == NULL || e == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		snprintf(why, whylen, "JWK kty '%.16s' not supported", kty);
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (ctx == NULL || params == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		snprintf(why, whylen, "JWK is not a valid public key");
		pkey = NULL;
		goto out;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		/* Reject points not on the curve. */
		EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

		if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
			snprintf(why, whylen, "JWK EC point is not on the curve");
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		EVP_PKEY_CTX_free(chk);
	}
out:
	free(a);
	free(b);
	free(point);
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int load_jwks(struct dbnl_keystore *ks, const char *path, const char *text, size_t len,
		     char *why, size_t whylen)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *keys, *jwk;
	size_t i;
	int rc = -1;

	if (!json_is_object(root) || !json_is_array(keys = json_object_get(root, "keys"))) {
		snprintf(why, whylen, "%s: not a JWK set (an object with a \"keys\" array)", path);
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		json_t *kidv, *use, *algv;
		char inner[200] = "";
		char *kid = NULL;
		EVP_PKEY *pkey;
		unsigned algs;

		if (!json_is_object(jwk)) {
			snprintf(why, whylen, "%s: key %zu is not an object", path, i);
			goto out;
		}
		use = json_object_get(jwk, "use");
		if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig"))) {
			dbnl_log(NULL, LOG_DEBUG, "%s: key %zu skipped (use is not sig)", path, i);
			continue;
		}
		pkey = jwk_to_pkey(jwk, inner, sizeof(inner));
		if (pkey == NULL) {
			snprintf(why, whylen, "%s: key %zu: %s", path, i,
				 inner[0] ? inner : "out of memory");
			goto out;
		}
		algs = key_algs(pkey, inner, sizeof(inner));
		algv = json_object_get(jwk, "alg");
		if (algs != 0 && algv != NULL) {
			unsigned one = json_is_string(algv) ?
					       dbnl_alg_from_name(json_string_value(algv)) : 0;

			algs &= one;
			if (algs == 0)
				snprintf(inner, sizeof(inner), "alg does not fit the key");
		}
		if (algs == 0) {
			snprintf(why, whylen, "%s: key %zu: %s", path, i, inner);
			EVP_PKEY_free(pkey);
			goto out;
		}
		kidv = json_object_get(jwk, "kid");
		if (kidv != NULL) {
			if (!json_is_string(kidv) ||
			    !kid_ok(json_string_value(kidv), json_string_length(kidv))) {
				snprintf(why, whylen, "%s: key %zu: bad kid", path, i);
				EVP_PKEY_free(pkey);
				goto out;
			}
			kid = strdup(json_string_value(kidv));
		} else {
			kid = dbnl_jwk_thumbprint(pkey);
		}
		if (kid == NULL || add_key(ks, kid, pkey, algs, path, inner, sizeof(inner)) != 0) {
			snprintf(why, whylen, "%s: key %zu: %s", path, i,
				 inner[0] ? inner : "out of memory");
			free(kid);
			EVP_PKEY_free(pkey);
			goto out;
		}
		free(kid);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && strcmp(s + a - b, suffix) == 0;
}

enum dbnl_rc dbnl_keystore_load(struct dbnl_keystore *ks, const char *dir, uid_t owner,
				const struct dbnl_logger *lg)
{
	char why[512] = "";
	char path[4096];
	struct dirent *de;
	enum dbnl_rc rc = DBNL_CONFIG;
	DIR *d = NULL;
	int fd;

	memset(ks, 0, sizeof(*ks));
	fd = dbnl_open_trusted_dir(dir, owner, why, sizeof(why));
	if (fd < 0)
		goto out;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		snprintf(why, sizeof(why), "%s: %s", dir, strerror(errno));
		goto out;
	}
	/* The directories above it too: a writable parent could swap it out. */
	if (dbnl_dirs_secure(dir, owner, why, sizeof(why)) != 0)
		goto out;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) { /* a partial key store is not a key store */
				snprintf(why, sizeof(why), "%s: readdir: %s", dir, strerror(errno));
				goto out;
			}
			break;
		}
		const char *name = de->d_name;
		int is_pem = ends_with(name, ".pem"), is_jwks = ends_with(name, ".jwks");
		char *text = NULL;
		size_t len = 0;
		int bad;

		if (name[0] == '.' || (!is_pem && !is_jwks))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			snprintf(why, sizeof(why), "%s: path too long", dir);
			goto out;
		}
		if (is_pem && !kid_ok(name, strlen(name) - 4)) {
			snprintf(why, sizeof(why), "%s: file name is not a valid kid", path);
			goto out;
		}
		/* By name inside the directory already checked, never by path again. */
		rc = dbnl_read_trusted_at(dirfd(d), name, path, owner, 0, KEYFILE_MAX, &text, &len,
					  why, sizeof(why));
		if (rc != DBNL_OK) {
			rc = DBNL_CONFIG;
			goto out;
		}
		rc = DBNL_CONFIG;
		if (is_pem) {
			char kid[KID_MAX + 1];

			memcpy(kid, name, strlen(name) - 4);
			kid[strlen(name) - 4] = '\0';
			bad = load_pem(ks, path, kid, text, len, why, sizeof(why));
		} else {
			bad = load_jwks(ks, path, text, len, why, sizeof(why));
		}
		free(text);
		if (bad)
			goto out;
	}
	if (ks->n == 0) {
		snprintf(why, sizeof(why), "%s: no keys (<kid>.pem or *.jwks)", dir);
		goto out;
	}
	dbnl_log(lg, LOG_DEBUG, "key store %s: %zu key(s)", dir, ks->n);
	rc = DBNL_OK;
out:
	if (d != NULL)
		closedir(d);
	if (rc != DBNL_OK) {
		dbnl_log(lg, LOG_ERR, "key store: %s", why);
		dbnl_keystore_free(ks);
	}
	return rc;
}

const struct dbnl_key *dbnl_keystore_find(const struct dbnl_keystore *ks, const char *kid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

void dbnl_keystore_free(struct dbnl_keystore *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->keys[i].kid);
		free(ks->keys[i].pem);
		free(ks->keys[i].source);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks->keys);
	ks->keys = NULL;
	ks->n = 0;
}

static char *bn_param_b64(EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	char *out = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return NULL;
	n = BN_num_bytes(bn);
	buf = malloc((size_t)(n > 0 ? n : 1));
	if (buf != NULL && BN_bn2bin(bn, buf) == n)
		out = dbnl_b64url_encode(buf, (size_t)n);
	free(buf);
	BN_free(bn);
	return out;
}

char *dbnl_jwk_thumbprint(struct evp_pkey_st *pkey)
{
	char json[2048];
	unsigned char digest[32];
	unsigned int dlen = 0;
	char *a = NULL, *b = NULL, *out = NULL;
	int n = -1;

	if (EVP_PKEY_is_a(pkey, "EC")) {
		unsigned char point[1 + 2 * 66];
		size_t plen = 0, coord;
		const char *crv;
		unsigned algs;
		char why[64];

		algs = key_algs(pkey, why, sizeof(why));
		crv = algs == DBNL_ALG_ES256 ? "P-256" : algs == DBNL_ALG_ES384 ? "P-384" :
			algs == DBNL_ALG_ES512 ? "P-521" : NULL;
		EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					       "uncompressed");
		if (crv == NULL ||
		    !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
						     sizeof(point), &plen) ||
		    plen < 3 || point[0] != 0x04 || (plen - 1) % 2 != 0)
			return NULL;
		coord = (plen - 1) / 2;
		a = dbnl_b64url_encode(point + 1, coord);
		b = dbnl_b64url_encode(point + 1 + coord, coord);
		if (a != NULL && b != NULL)
			n = snprintf(json, sizeof(json), "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				     crv, a, b);
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		a = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E);
		b = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N);
		if (a != NULL && b != NULL)
			n = snprintf(json, sizeof(json), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a,
				     b);
	}
	if (n > 0 && (size_t)n < sizeof(json) &&
	    EVP_Digest(json, (size_t)n, digest, &dlen, EVP_sha256(), NULL) == 1)
		out = dbnl_b64url_encode(digest, dlen);
	free(a);
	free(b);
	return out;
}
