/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test tool: makes well-formed and hostile tokens the mint service never would.
 *   tokentool sign  --alg ALG [--key PRIV.pem | --hmac-file F] [--der] [--header JSON]
 *                   [--kid KID] --claims JSON        -> token on stdout
 *   tokentool kid   PUB.pem                           -> RFC 7638 thumbprint
 *   tokentool jwks  PUB.pem [KID]                     -> a one-key JWK set
 * Header and claims are used byte for byte (so duplicates and odd types survive).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "dbnl.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static EVP_PKEY *read_key(const char *path, int priv)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static int do_sign(int argc, char **argv)
{
	const char *alg = "ES256", *keyf = NULL, *hmacf = NULL, *header = NULL, *claims = NULL,
		   *kid = NULL;
	int der = 0;
	char hbuf[1024], *input = NULL, *h64, *p64, *s64 = NULL;
	unsigned char sig[2048];
	size_t siglen = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--der") == 0)
			der = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--alg") == 0)
			alg = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--key") == 0)
			keyf = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--hmac-file") == 0)
			hmacf = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--header") == 0)
			header = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--kid") == 0)
			kid = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--claims") == 0)
			claims = argv[++i];
		else {
			fprintf(stderr, "tokentool: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (claims == NULL)
		return 2;
	if (header == NULL) {
		if (kid != NULL)
			snprintf(hbuf, sizeof(hbuf), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
		else
			snprintf(hbuf, sizeof(hbuf), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
		header = hbuf;
	}
	h64 = dbnl_b64url_encode((const unsigned char *)header, strlen(header));
	p64 = dbnl_b64url_encode((const unsigned char *)claims, strlen(claims));
	if (h64 == NULL || p64 == NULL || asprintf(&input, "%s.%s", h64, p64) < 0)
		return 1;
	if (strncmp(alg, "HS", 2) == 0) {
		size_t klen = 0;
		char *secret = hmacf ? slurp(hmacf, &klen) : NULL;
		unsigned int l = 0;
		const EVP_MD *md = strcmp(alg, "HS384") == 0 ? EVP_sha384() :
				   strcmp(alg, "HS512") == 0 ? EVP_sha512() : EVP_sha256();

		if (secret == NULL)
			return 1;
		HMAC(md, secret, (int)klen, (unsigned char *)input, strlen(input), sig, &l);
		siglen = l;
		free(secret);
	} else if (strcmp(alg, "none") != 0) {
		EVP_PKEY *k = read_key(keyf, 1);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		const EVP_MD *md = strstr(alg, "384") ? EVP_sha384() :
				   strstr(alg, "512") ? EVP_sha512() : EVP_sha256();
		unsigned char dersig[2048];
		size_t dlen = sizeof(dersig);

		if (k == NULL || ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
		    EVP_DigestSign(ctx, dersig, &dlen, (unsigned char *)input, strlen(input)) != 1) {
			fprintf(stderr, "tokentool: signing failed\n");
			return 1;
		}
		if (EVP_PKEY_is_a(k, "EC") && !der) {
			const unsigned char *p = dersig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
			int bits = EVP_PKEY_get_bits(k);
			size_t coord = (size_t)(bits + 7) / 8;

			if (es == NULL)
				return 1;
			BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)coord);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + coord, (int)coord);
			siglen = 2 * coord;
			ECDSA_SIG_free(es);
		} else {
			memcpy(sig, dersig, dlen);
			siglen = dlen;
		}
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_free(k);
	}
	s64 = siglen ? dbnl_b64url_encode(sig, siglen) : strdup("");
	printf("%s.%s\n", input, s64 ? s64 : "");
	free(h64);
	free(p64);
	free(s64);
	free(input);
	return 0;
}

static char *coord_b64(EVP_PKEY *k, const char *which)
{
	BIGNUM *bn = NULL;
	unsigned char buf[600];
	int bytes = (EVP_PKEY_get_bits(k) + 7) / 8;
	char *out = NULL;

	if (EVP_PKEY_is_a(k, "RSA")) {
		if (!EVP_PKEY_get_bn_param(k, which, &bn))
			return NULL;
		bytes = BN_num_bytes(bn);
	} else if (!EVP_PKEY_get_bn_param(k, which, &bn)) {
		return NULL;
	}
	if (BN_bn2binpad(bn, buf, bytes) == bytes)
		out = dbnl_b64url_encode(buf, (size_t)bytes);
	BN_free(bn);
	return out;
}

int main(int argc, char **argv)
{
	EVP_PKEY *k;

	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return do_sign(argc, argv);
	if (argc == 3 && strcmp(argv[1], "kid") == 0) {
		char *t;

		k = read_key(argv[2], 0);
		t = k ? dbnl_jwk_thumbprint(k) : NULL;
		if (t == NULL)
			return 1;
		printf("%s\n", t);
		free(t);
		EVP_PKEY_free(k);
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "jwks") == 0) {
		char *a, *b, *kid;

		k = read_key(argv[2], 0);
		if (k == NULL)
			return 1;
		kid = argc == 4 ? strdup(argv[3]) : dbnl_jwk_thumbprint(k);
		if (EVP_PKEY_is_a(k, "RSA")) {
			a = coord_b64(k, OSSL_PKEY_PARAM_RSA_N);
			b = coord_b64(k, OSSL_PKEY_PARAM_RSA_E);
			printf("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}]}\n",
			       kid, a, b);
		} else {
			int bits = EVP_PKEY_get_bits(k);

			a = coord_b64(k, OSSL_PKEY_PARAM_EC_PUB_X);
			b = coord_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y);
			printf("{\"keys\":[{\"kty\":\"EC\",\"use\":\"sig\",\"kid\":\"%s\",\"crv\":\"P-%d\",\"x\":\"%s\",\"y\":\"%s\"}]}\n",
			       kid, bits, a, b);
		}
		free(a);
		free(b);
		free(kid);
		EVP_PKEY_free(k);
		return 0;
	}
	fprintf(stderr, "usage: tokentool sign|kid|jwks ...\n");
	return 2;
}
