/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token verification, defended around libjwt 1.10.2 (see FIELD-NOTES): before
 * libjwt sees anything we cap the length, require three canonical base64url
 * segments, parse header and claims ourselves (duplicate keys rejected),
 * enforce the alg allowlist and key type, and verify the signature with
 * OpenSSL. libjwt then gives a second opinion, and every claim is checked
 * here with strict types. libjwt is never handed an empty key.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dbnl.h"

#define NUMERIC_DATE_MAX 253402300799.0 /* 9999-12-31: anything later is not a date */

void dbnl_claims_free(struct dbnl_claims *cl)
{
	free(cl->alg);
	free(cl->kid);
	free(cl->iss);
	free(cl->sub);
	free(cl->jti);
	free(cl->name);
	free(cl->user);
	free(cl->payload_json);
	memset(cl, 0, sizeof(*cl));
}

int dbnl_token_shaped(const char *text)
{
	/* A JWS compact token starts with base64url('{"') and has dots. */
	return text != NULL && strncmp(text, "eyJ", 3) == 0 &&
	       strchr(text, '.') != NULL;
}

/* Copy for logging and display: printable ASCII only, bounded; spaces kept
 * only where asked (a label), never in fields logged as key=value. */
static char *safe_copy_sp(const char *s, int spaces)
{
	size_t n = strnlen(s, 256);
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = ((s[i] >= 0x21 || (spaces && s[i] == ' ')) && s[i] < 0x7f) ? s[i] : '?';
	out[n] = '\0';
	return out;
}

static char *safe_copy(const char *s)
{
	return safe_copy_sp(s, 0);
}

static json_t *parse_object(const unsigned char *buf, size_t len)
{
	json_error_t err;
	json_t *j;

	/* No NUL inside, no duplicate keys, an object at the top. */
	if (memchr(buf, '\0', len) != NULL)
		return NULL;
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *const forbidden_headers[] = { "crit", "jku", "jwk", "x5u", "x5c", "x5t",
						  "x5t#S256", "b64", "zip", "enc", "epk" };

static int header_ok(json_t *hdr, char *why, size_t whylen)
{
	const char *key;
	json_t *val;

	json_object_foreach(hdr, key, val) {
		if (strcmp(key, "alg") == 0 || strcmp(key, "kid") == 0)
			continue;
		if (strcmp(key, "typ") == 0) {
			if (!json_is_string(val) || strcasecmp(json_string_value(val), "JWT") != 0) {
				snprintf(why, whylen, "header typ is not JWT");
				return 0;
			}
			continue;
		}
		for (size_t i = 0; i < sizeof(forbidden_headers) / sizeof(forbidden_headers[0]); i++) {
			if (strcmp(key, forbidden_headers[i]) == 0) {
				snprintf(why, whylen, "header parameter '%s' is refused", key);
				return 0;
			}
		}
		snprintf(why, whylen, "unknown header parameter refused");
		return 0;
	}
	return 1;
}

static const EVP_MD *alg_md(unsigned alg)
{
	switch (alg) {
	case DBNL_ALG_ES256:
	case DBNL_ALG_RS256:
		return EVP_sha256();
	case DBNL_ALG_ES384:
	case DBNL_ALG_RS384:
		return EVP_sha384();
	default:
		return EVP_sha512();
	}
}

static jwt_alg_t alg_jwt(unsigned alg)
{
	switch (alg) {
	case DBNL_ALG_ES256: return JWT_ALG_ES256;
	case DBNL_ALG_ES384: return JWT_ALG_ES384;
	case DBNL_ALG_ES512: return JWT_ALG_ES512;
	case DBNL_ALG_RS256: return JWT_ALG_RS256;
	case DBNL_ALG_RS384: return JWT_ALG_RS384;
	default: return JWT_ALG_RS512;
	}
}

/* OpenSSL verification of SIG over the signing input, JOSE signature format. */
static int sig_ok(const struct dbnl_key *key, unsigned alg, const char *input, size_t inlen,
		  const unsigned char *sig, size_t siglen, char *why, size_t whylen)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int dlen = 0;
	const unsigned char *check = sig;
	size_t checklen = siglen;
	int ok = 0;

	if (alg & (DBNL_ALG_ES256 | DBNL_ALG_ES384 | DBNL_ALG_ES512)) {
		size_t coord = alg == DBNL_ALG_ES256 ? 32 : alg == DBNL_ALG_ES384 ? 48 : 66;

		if (siglen != 2 * coord) {
			snprintf(why, whylen, "ECDSA signature is not %zu raw bytes (R||S)", 2 * coord);
			goto out;
		}
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, (int)coord, NULL);
		s = BN_bin2bn(sig + coord, (int)coord, NULL);
		if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		r = s = NULL;
		dlen = i2d_ECDSA_SIG(es, &der);
		if (dlen <= 0) {
			snprintf(why, whylen, "bad signature");
			goto out;
		}
		check = der;
		checklen = (size_t)dlen;
	} else {
		if ((int)siglen != EVP_PKEY_get_size(key->pkey)) {
			snprintf(why, whylen, "RSA signature has the wrong length");
			goto out;
		}
	}
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, alg_md(alg), NULL, key->pkey) != 1) {
		snprintf(why, whylen, "cannot set up verification");
		goto out;
	}
	if (EVP_PKEY_is_a(key->pkey, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(EVP_MD_CTX_get_pkey_ctx(md), RSA_PKCS1_PADDING) != 1) {
		snprintf(why, whylen, "cannot set up verification");
		goto out;
	}
	if (EVP_DigestVerify(md, check, checklen, (const unsigned char *)input, inlen) != 1) {
		snprintf(why, whylen, "bad signature");
		goto out;
	}
	ok = 1;
out:
	/* The signature's copies are wiped like the token: BN_clear_free for R
	 * and S, and the DER form cleared before it is freed. */
	EVP_MD_CTX_free(md);
	if (es != NULL) {
		const BIGNUM *er = NULL, *esv = NULL;

		ECDSA_SIG_get0(es, &er, &esv);
		BN_clear((BIGNUM *)(uintptr_t)er);
		BN_clear((BIGNUM *)(uintptr_t)esv);
		ECDSA_SIG_free(es);
	}
	BN_clear_free(r);
	BN_clear_free(s);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)dlen);
	return ok;
}

/* libjwt's opinion, with a non-empty key and the algorithm we expect. */
static int libjwt_ok(const struct dbnl_key *key, unsigned alg, const char *token)
{
	jwt_t *jwt = NULL;
	int ok;

	if (key->pem == NULL || key->pem_len == 0)
		return 0;
	ok = jwt_decode(&jwt, token, (const unsigned char *)key->pem, (int)key->pem_len) == 0 &&
	     jwt != NULL && jwt_get_alg(jwt) == alg_jwt(alg);
	jwt_free(jwt);
	return ok;
}

/* A NumericDate: a JSON number (integer or real), finite, 0 .. year 9999. */
static int numeric_date(json_t *v, long long *out)
{
	double d;

	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > NUMERIC_DATE_MAX)
		return 0;
	*out = (long long)floor(d);
	return 1;
}

static int audience_ok(json_t *aud, const char *want)
{
	size_t i;
	json_t *v;
	int found = 0;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud) || json_array_size(aud) == 0)
		return 0;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return 0; /* every member must be a string */
		if (strcmp(json_string_value(v), want) == 0)
			found = 1;
	}
	return found;
}

static int opt_string(json_t *claims, const char *name, size_t max, char **out, char *why,
		      size_t whylen)
{
	json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return 1;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, whylen, "claim '%s' is not a string of at most %zu characters", name, max);
		return 0;
	}
	*out = safe_copy_sp(json_string_value(v), strcmp(name, "name") == 0);
	return 1;
}

static enum dbnl_rc check_claims(const struct dbnl_conf *c, json_t *claims, const char *user,
				 time_t now, struct dbnl_claims *cl, char *why, size_t whylen)
{
	json_t *v;
	long long skew = c->clock_skew;

	if (!opt_string(claims, "jti", 128, &cl->jti, why, whylen) ||
	    !opt_string(claims, "name", 256, &cl->name, why, whylen) ||
	    !opt_string(claims, "sub", 256, &cl->sub, why, whylen))
		return DBNL_INVALID;
	v = json_object_get(claims, "iss");
	if (!json_is_string(v)) {
		snprintf(why, whylen, "claim 'iss' missing or not a string");
		return DBNL_INVALID;
	}
	cl->iss = safe_copy(json_string_value(v));
	if (strcmp(json_string_value(v), c->issuer) != 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, whylen, "wrong issuer");
		return DBNL_INVALID;
	}
	v = json_object_get(claims, "aud");
	if (v == NULL || !audience_ok(v, c->audience)) {
		snprintf(why, whylen, "audience '%s' not in 'aud'", c->audience);
		return DBNL_INVALID;
	}
	if (!numeric_date(json_object_get(claims, "exp"), &cl->exp)) {
		snprintf(why, whylen, "claim 'exp' missing or not a NumericDate");
		return DBNL_INVALID;
	}
	if (!numeric_date(json_object_get(claims, "iat"), &cl->iat)) {
		snprintf(why, whylen, "claim 'iat' missing or not a NumericDate");
		return DBNL_INVALID;
	}
	v = json_object_get(claims, "nbf");
	if (v != NULL) {
		if (!numeric_date(v, &cl->nbf)) {
			snprintf(why, whylen, "claim 'nbf' is not a NumericDate");
			return DBNL_INVALID;
		}
		cl->has_nbf = 1;
	}
	if ((long long)now >= cl->exp + skew) {
		snprintf(why, whylen, "token expired");
		return DBNL_INVALID;
	}
	if (cl->has_nbf && cl->nbf > (long long)now + skew) {
		snprintf(why, whylen, "token not valid yet (nbf)");
		return DBNL_INVALID;
	}
	if (cl->iat > (long long)now + skew) {
		snprintf(why, whylen, "token issued in the future (iat)");
		return DBNL_INVALID;
	}
	if (cl->exp <= cl->iat) {
		snprintf(why, whylen, "exp is not after iat");
		return DBNL_INVALID;
	}
	if (cl->exp - cl->iat > c->max_lifetime) {
		snprintf(why, whylen, "lifetime longer than max_lifetime");
		return DBNL_INVALID;
	}
	v = json_object_get(claims, c->user_claim);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, whylen, "user claim '%s' missing or not a string", c->user_claim);
		return DBNL_INVALID;
	}
	cl->user = safe_copy(json_string_value(v));
	if (strcmp(json_string_value(v), user) != 0) {
		snprintf(why, whylen, "token is for another user");
		return DBNL_INVALID;
	}
	return DBNL_OK;
}

enum dbnl_rc dbnl_token_verify(const struct dbnl_conf *c, const struct dbnl_keystore *ks,
			       const char *token, const char *user, time_t now,
			       struct dbnl_claims *cl, char *why, size_t whylen)
{
	enum dbnl_rc rc = DBNL_INVALID;
	const char *dot1, *dot2;
	unsigned char *hbuf = NULL, *pbuf = NULL, *sbuf = NULL;
	size_t hlen = 0, plen = 0, slen = 0, len;
	json_t *hdr = NULL, *claims = NULL, *v;
	const struct dbnl_key *key;
	unsigned alg;

	memset(cl, 0, sizeof(*cl));
	len = strnlen(token, DBNL_TOKEN_MAX + 1);
	if (len > DBNL_TOKEN_MAX) {
		snprintf(why, whylen, "longer than %d characters", DBNL_TOKEN_MAX);
		goto out;
	}
	dot1 = strchr(token, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
		snprintf(why, whylen, "not three dot-separated segments");
		goto out;
	}
	hbuf = dbnl_b64url_decode(token, (size_t)(dot1 - token), &hlen);
	pbuf = dbnl_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
	sbuf = dbnl_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &slen);
	if (hbuf == NULL || pbuf == NULL || sbuf == NULL) {
		snprintf(why, whylen, "a segment is not canonical base64url");
		goto out;
	}
	hdr = parse_object(hbuf, hlen);
	if (hdr == NULL) {
		snprintf(why, whylen, "header is not a JSON object (or has duplicate keys)");
		goto out;
	}
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v)) {
		snprintf(why, whylen, "header has no alg");
		goto out;
	}
	cl->alg = safe_copy(json_string_value(v));
	alg = dbnl_alg_from_name(json_string_value(v));
	if (alg == 0 || !(alg & c->algorithms)) {
		snprintf(why, whylen, "algorithm not allowed");
		goto out;
	}
	v = json_object_get(hdr, "kid");
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, whylen, "header has no usable kid");
		goto out;
	}
	cl->kid = safe_copy(json_string_value(v));
	if (!header_ok(hdr, why, whylen))
		goto out;
	key = dbnl_keystore_find(ks, json_string_value(v));
	if (key == NULL) {
		snprintf(why, whylen, "unknown kid");
		goto out;
	}
	if (!(key->algs & alg)) {
		snprintf(why, whylen, "algorithm does not match the key's type");
		goto out;
	}
	claims = parse_object(pbuf, plen);
	if (claims == NULL) {
		snprintf(why, whylen, "claims are not a JSON object (or have duplicate keys)");
		goto out;
	}
	/* jti/kid for the log line even if the signature turns out bad. */
	{
		json_t *j = json_object_get(claims, "jti");

		if (json_is_string(j))
			cl->jti = safe_copy(json_string_value(j));
	}
	if (!sig_ok(key, alg, token, (size_t)(dot2 - token), sbuf, slen, why, whylen))
		goto out;
	if (!libjwt_ok(key, alg, token)) {
		snprintf(why, whylen, "signature refused by libjwt");
		goto out;
	}
	free(cl->jti);
	cl->jti = NULL;
	rc = check_claims(c, claims, user, now, cl, why, whylen);
	if (rc == DBNL_OK) {
		cl->payload_json = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(why, whylen, "signature and claims valid");
	}
out:
	if (sbuf != NULL)
		dbnl_wipe(sbuf, slen);
	free(hbuf);
	free(pbuf);
	free(sbuf);
	json_decref(hdr);
	json_decref(claims);
	return rc;
}
