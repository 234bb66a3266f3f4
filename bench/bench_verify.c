/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark of the local part of a login: key store load, then token
 * verification (our checks + OpenSSL + libjwt's second opinion).
 *   bench_verify KEYS_DIR TOKEN_FILE USER ISSUER [ITERATIONS]
 *   bench_verify --full CONFIG TOKEN_FILE USER [ITERATIONS]   (token + LDAP + policy)
 * Prints microseconds per operation. Numbers go to doc/performance.md.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dbnl.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *read_token(const char *path, char *tok, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(tok, 1, cap - 1, f);
	fclose(f);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	return tok;
}

/* The whole of dbnl_verify(): what one login costs in the module. */
static int full(const char *config, const char *tokfile, const char *user, int iters)
{
	const struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "bench" };
	struct dbnl_conf c;
	struct dbnl_verdict v;
	char tok[4096];
	double t0;

	if (read_token(tokfile, tok, sizeof(tok)) == NULL)
		return 2;
	dbnl_conf_init(&c);
	if (dbnl_conf_load(&c, config, &lg) != DBNL_OK || dbnl_conf_finish(&c, &lg) != DBNL_OK)
		return 2;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		if (dbnl_verify(&c, &lg, user, tok, time(NULL), &v) != DBNL_OK) {
			fprintf(stderr, "bench: refused: %s\n", v.reason);
			return 1;
		}
		dbnl_verdict_free(&v);
	}
	printf("full_verify_us=%.1f iterations=%d\n", (now_us() - t0) / iters, iters);
	dbnl_conf_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	const struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "bench" };
	struct dbnl_conf c;
	struct dbnl_keystore ks;
	struct dbnl_claims cl;
	char why[256], tok[4096];
	int iters = argc > 5 ? atoi(argv[5]) : 2000;
	double t0, load_us, verify_us;
	FILE *f;
	size_t n;

	if (argc >= 5 && strcmp(argv[1], "--full") == 0)
		return full(argv[2], argv[3], argv[4], argc > 5 ? atoi(argv[5]) : 200);
	if (argc < 5)
		return 2;
	f = fopen(argv[2], "r");
	if (f == NULL)
		return 2;
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	dbnl_conf_init(&c);
	if (dbnl_conf_set(&c, "issuer", argv[4], 0, why, sizeof(why)) ||
	    dbnl_conf_set(&c, "algorithms", "ES256 ES384 ES512 RS256 RS384 RS512", 0, why, sizeof(why)))
		return 2;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		if (dbnl_keystore_load(&ks, argv[1], geteuid(), &lg) != DBNL_OK)
			return 1;
		dbnl_keystore_free(&ks);
	}
	load_us = (now_us() - t0) / iters;
	if (dbnl_keystore_load(&ks, argv[1], geteuid(), &lg) != DBNL_OK)
		return 1;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		if (dbnl_token_verify(&c, &ks, tok, argv[3], time(NULL), &cl, why, sizeof(why)) !=
		    DBNL_OK) {
			fprintf(stderr, "bench: refused: %s\n", why);
			return 1;
		}
		dbnl_claims_free(&cl);
	}
	verify_us = (now_us() - t0) / iters;
	printf("keystore_load_us=%.1f verify_us=%.1f token_chars=%zu iterations=%d keys=%zu\n",
	       load_us, verify_us, n, iters, ks.n);
	dbnl_keystore_free(&ks);
	dbnl_conf_free(&c);
	return 0;
}
