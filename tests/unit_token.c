/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the key store and the token verifier, in process. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dbnl.h"

static char tmpdir[64], keysdir[96];
static EVP_PKEY *signer;
static char *kid;
static struct dbnl_conf conf;
static struct dbnl_keystore ks;
static time_t now;
static const struct dbnl_logger quiet = { .sink = DBNL_LOG_STDERR, .prog = "unit_token" };

static void put(const char *name, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", keysdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, 0644);
}

/* ES256-sign HEADER.CLAIMS (JSON text as given) with the test key. */
static char *sign(const char *header, const char *claims)
{
	char *h = dbnl_b64url_encode((const unsigned char *)header, strlen(header));
	char *p = dbnl_b64url_encode((const unsigned char *)claims, strlen(claims));
	char *input = NULL, *s, *out = NULL;
	unsigned char der[128], raw[64];
	size_t dlen = sizeof(der);
	const unsigned char *q = der;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer), 1);
	assert_int_equal(EVP_DigestSign(md, der, &dlen, (unsigned char *)input, strlen(input)), 1);
	es = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	s = dbnl_b64url_encode(raw, 64);
	assert_true(asprintf(&out, "%s.%s", input, s) > 0);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

static char *hdr(void)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	return buf;
}

static char *claims(const char *sub, long long iat, long long exp)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"iss\":\"https://i.test\",\"sub\":\"%s\",\"aud\":\"dbnl-pat\",\"iat\":%lld,"
		 "\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j1\",\"name\":\"laptop\"}",
		 sub, iat, iat, exp);
	return buf;
}

static enum dbnl_rc verify(const char *token, const char *user, char *why, size_t whylen)
{
	struct dbnl_claims cl;
	enum dbnl_rc rc = dbnl_token_verify(&conf, &ks, token, user, now, &cl, why, whylen);

	dbnl_claims_free(&cl);
	return rc;
}

static void test_valid(void **state)
{
	struct dbnl_claims cl;
	char why[256];
	char *t = sign(hdr(), claims("alice", now, now + 3600));

	(void)state;
	assert_true(dbnl_token_shaped(t));
	assert_int_equal(dbnl_token_verify(&conf, &ks, t, "alice", now, &cl, why, sizeof(why)),
			 DBNL_OK);
	assert_string_equal(cl.jti, "j1");
	assert_string_equal(cl.kid, kid);
	assert_string_equal(cl.alg, "ES256");
	assert_string_equal(cl.name, "laptop");
	assert_string_equal(cl.user, "alice");
	assert_int_equal(cl.exp, now + 3600);
	assert_true(strlen(t) < 512);
	dbnl_claims_free(&cl);
	free(t);
}

static void test_refusals(void **state)
{
	struct {
		const char *what, *header, *claims, *user, *reason;
	} cases[] = {
		{ "wrong user", NULL, NULL, "bob", "token is for another user" },
		{ "expired", NULL, "exp", "alice", "token expired" },
		{ "future nbf and iat", NULL, "iat", "alice", "token not valid yet (nbf)" },
		{ "header typ", "{\"alg\":\"ES256\",\"typ\":\"JWE\",\"kid\":\"%s\"}", NULL, "alice",
		  "header typ is not JWT" },
		{ "crit", "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"kid\":\"%s\"}", NULL, "alice",
		  "header parameter 'crit' is refused" },
		{ "jwk", "{\"alg\":\"ES256\",\"jwk\":{},\"kid\":\"%s\"}", NULL, "alice",
		  "header parameter 'jwk' is refused" },
		{ "unknown kid", "{\"alg\":\"ES256\",\"kid\":\"x%s\"}", NULL, "alice", "unknown kid" },
		{ "alg none", "{\"alg\":\"none\",\"kid\":\"%s\"}", NULL, "alice", "algorithm not allowed" },
		{ "alg HS256", "{\"alg\":\"HS256\",\"kid\":\"%s\"}", NULL, "alice",
		  "algorithm not allowed" },
		{ "kid number", "{\"alg\":\"ES256\",\"kid\":5}", NULL, "alice",
		  "header has no usable kid" },
	};
	char why[256], h[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c = claims("alice", now, now + 3600);
		char *t;

		if (cases[i].claims != NULL && strcmp(cases[i].claims, "exp") == 0)
			c = claims("alice", now - 7200, now - 3600);
		else if (cases[i].claims != NULL && strcmp(cases[i].claims, "iat") == 0)
			c = claims("alice", now + 3600, now + 7200);
		if (cases[i].header == NULL) {
			snprintf(h, sizeof(h), "%s", hdr());
		} else {
			/* "%s" in the template marks where the kid goes */
			const char *at = strstr(cases[i].header, "%s");

			if (at == NULL)
				snprintf(h, sizeof(h), "%s", cases[i].header);
			else
				snprintf(h, sizeof(h), "%.*s%s%s", (int)(at - cases[i].header),
					 cases[i].header, kid, at + 2);
		}
		t = sign(h, c);
		why[0] = '\0';
		if (verify(t, cases[i].user, why, sizeof(why)) != DBNL_INVALID ||
		    strcmp(why, cases[i].reason) != 0)
			fail_msg("%s: got reason '%s'", cases[i].what, why);
		free(t);
	}
}

static void test_shape_and_size(void **state)
{
	char why[256];
	char *big = malloc(DBNL_TOKEN_MAX + 100);

	(void)state;
	assert_false(dbnl_token_shaped("hunter2"));
	assert_false(dbnl_token_shaped("eyJhbGciOiJub25lIn0"));
	assert_false(dbnl_token_shaped(""));
	assert_true(dbnl_token_shaped("eyJ.x.y"));
	memset(big, 'A', DBNL_TOKEN_MAX + 99);
	memcpy(big, "eyJ.", 4);
	big[DBNL_TOKEN_MAX + 99] = '\0';
	assert_int_equal(verify(big, "alice", why, sizeof(why)), DBNL_INVALID);
	assert_string_equal(why, "longer than 2048 characters");
	free(big);
	assert_int_equal(verify("eyJ.eyJ", "alice", why, sizeof(why)), DBNL_INVALID);
	assert_string_equal(why, "not three dot-separated segments");
	assert_int_equal(verify("eyJ=.eyJ.AAAA", "alice", why, sizeof(why)), DBNL_INVALID);
	assert_string_equal(why, "a segment is not canonical base64url");
}

static void test_rfc7638_thumbprint(void **state)
{
	/* The RSA example key of RFC 7638, section 3.1, in a JWKS without kid. */
	struct dbnl_keystore two;

	(void)state;
	put("rfc.jwks",
	    "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWh"
	    "M78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}]}");
	assert_int_equal(dbnl_keystore_load(&two, keysdir, geteuid(), &quiet), DBNL_OK);
	assert_int_equal(two.n, 2);
	assert_non_null(dbnl_keystore_find(&two, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
	assert_non_null(dbnl_keystore_find(&two, kid));
	assert_null(dbnl_keystore_find(&two, "../keys/x"));
	dbnl_keystore_free(&two);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/rfc.jwks", keysdir);
		unlink(path);
	}
}

static void test_keystore_refusals(void **state)
{
	struct dbnl_keystore bad;
	char path[256];

	(void)state;
	put("junk.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	assert_int_equal(dbnl_keystore_load(&bad, keysdir, geteuid(), &quiet), DBNL_CONFIG);
	snprintf(path, sizeof(path), "%s/junk.pem", keysdir);
	unlink(path);
	put("priv.jwks", "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}]}");
	assert_int_equal(dbnl_keystore_load(&bad, keysdir, geteuid(), &quiet), DBNL_CONFIG);
	snprintf(path, sizeof(path), "%s/priv.jwks", keysdir);
	unlink(path);
	chmod(keysdir, 0777);
	assert_int_equal(dbnl_keystore_load(&bad, keysdir, geteuid(), &quiet), DBNL_CONFIG);
	chmod(keysdir, 0755);
	assert_int_equal(dbnl_keystore_load(&bad, keysdir, geteuid(), &quiet), DBNL_OK);
	dbnl_keystore_free(&bad);
}

static int setup(void **state)
{
	char why[128];
	BIO *bio;
	char *pem = NULL, name[200];
	long n;

	(void)state;
	now = time(NULL);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbnl-unit.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	chmod(tmpdir, 0755);
	snprintf(keysdir, sizeof(keysdir), "%s/keys", tmpdir);
	mkdir(keysdir, 0755);
	signer = EVP_EC_gen("P-256");
	kid = dbnl_jwk_thumbprint(signer);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, signer);
	n = BIO_get_mem_data(bio, &pem);
	snprintf(name, sizeof(name), "%s.pem", kid);
	{
		char *copy = strndup(pem, (size_t)n);

		put(name, copy);
		free(copy);
	}
	BIO_free(bio);
	dbnl_conf_init(&conf);
	if (dbnl_conf_set(&conf, "issuer", "https://i.test", 0, why, sizeof(why)) != 0 ||
	    dbnl_conf_set(&conf, "keys_dir", keysdir, 0, why, sizeof(why)) != 0)
		return -1;
	return dbnl_keystore_load(&ks, keysdir, geteuid(), &quiet) == DBNL_OK ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	dbnl_keystore_free(&ks);
	dbnl_conf_free(&conf);
	EVP_PKEY_free(signer);
	free(kid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_shape_and_size),
		cmocka_unit_test(test_rfc7638_thumbprint),
		cmocka_unit_test(test_keystore_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
