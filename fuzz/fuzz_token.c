/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the token verifier on arbitrary input, against a key store
 * with one EC and one RSA key. Anything but DBNL_INVALID (or a crash) fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dbnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dbnl_conf conf;
static struct dbnl_keystore ks;
static int ready;

static void add_key(const char *dir, EVP_PKEY *k)
{
	char *kid = dbnl_jwk_thumbprint(k), path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	f = fopen(path, "w");
	PEM_write_PUBKEY(f, k);
	fclose(f);
	chmod(path, 0644);
	free(kid);
	EVP_PKEY_free(k);
}

static void setup(void)
{
	char dir[] = "/tmp/dbnl-fuzz.XXXXXX", why[128];
	const struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "fuzz" };

	if (mkdtemp(dir) == NULL)
		abort();
	chmod(dir, 0755);
	add_key(dir, EVP_EC_gen("P-256"));
	add_key(dir, EVP_RSA_gen(2048));
	dbnl_conf_init(&conf);
	if (dbnl_conf_set(&conf, "issuer", "https://fuzz.test", 0, why, sizeof(why)) ||
	    dbnl_conf_set(&conf, "algorithms", "ES256 RS256", 0, why, sizeof(why)) ||
	    dbnl_keystore_load(&ks, dir, geteuid(), &lg) != DBNL_OK)
		abort();
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbnl_claims cl;
	char why[256];
	char *text;
	enum dbnl_rc rc;

	if (!ready)
		setup();
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = dbnl_token_verify(&conf, &ks, text, "alice", 1800000000, &cl, why, sizeof(why));
	if (rc != DBNL_INVALID)
		abort(); /* no input forged without the private keys may pass */
	dbnl_claims_free(&cl);
	free(text);
	return 0;
}
