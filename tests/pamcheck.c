/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Drives the real module through the real libpam (pam_wrapper + libpamtest):
 *   pamcheck SERVICE USER TOKENFILE AUTH_EXPECT [ACCT_EXPECT]
 * Expectations are PAM code names (PAM_SUCCESS, PAM_AUTH_ERR, ...). Prints
 * "auth=CODE", then "acct=CODE" and "groups=..." where they ran. The token is
 * read from a file so it never shows in argv.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

static const struct {
	const char *name;
	int code;
} codes[] = {
	{ "PAM_SUCCESS", PAM_SUCCESS },
	{ "PAM_AUTH_ERR", PAM_AUTH_ERR },
	{ "PAM_IGNORE", PAM_IGNORE },
	{ "PAM_USER_UNKNOWN", PAM_USER_UNKNOWN },
	{ "PAM_PERM_DENIED", PAM_PERM_DENIED },
	{ "PAM_AUTHINFO_UNAVAIL", PAM_AUTHINFO_UNAVAIL },
	{ "PAM_BUF_ERR", PAM_BUF_ERR },
	{ "PAM_SYSTEM_ERR", PAM_SYSTEM_ERR },
	{ "PAM_AUTHTOK_ERR", PAM_AUTHTOK_ERR },
	{ "PAM_CRED_INSUFFICIENT", PAM_CRED_INSUFFICIENT },
	{ "PAM_MAXTRIES", PAM_MAXTRIES },
	{ "PAM_ABORT", PAM_ABORT },
	{ "PAM_SERVICE_ERR", PAM_SERVICE_ERR },
	{ "PAM_CONV_ERR", PAM_CONV_ERR },
};

static int code_of(const char *name)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].name, name) == 0)
			return codes[i].code;
	fprintf(stderr, "pamcheck: unknown code %s\n", name);
	exit(2);
}

static const char *name_of(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	return "PAM_OTHER";
}

int main(int argc, char **argv)
{
	struct pam_testcase tests[3];
	struct pamtest_conv_data conv;
	const char *answers[] = { NULL, NULL };
	const char *const *envlist;
	const struct pam_testcase *failed;
	size_t ntests = 1, n = 0;
	char *token = NULL;
	enum pamtest_err perr;
	FILE *f;
	int auth_expect;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: pamcheck SERVICE USER TOKENFILE AUTH_EXPECT [ACCT_EXPECT]\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (f == NULL) {
		perror(argv[3]);
		return 2;
	}
	if (getdelim(&token, &n, '\0', f) < 0)
		token = strdup("");
	fclose(f);
	/* a trailing newline from `echo` is not part of what is typed */
	n = strlen(token);
	if (n > 0 && token[n - 1] == '\n')
		token[n - 1] = '\0';
	answers[0] = token;
	memset(&conv, 0, sizeof(conv));
	conv.in_echo_off = answers;
	memset(tests, 0, sizeof(tests));
	auth_expect = code_of(argv[4]);
	tests[0] = (struct pam_testcase)pam_test(PAMTEST_AUTHENTICATE, auth_expect);
	if (argc == 6)
		tests[ntests++] = (struct pam_testcase)pam_test(PAMTEST_ACCOUNT, code_of(argv[5]));
	if (auth_expect == PAM_SUCCESS)
		tests[ntests++] = (struct pam_testcase)pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS);
	perr = _pamtest(argv[1], argv[2], &conv, tests, ntests, NULL);
	failed = perr == PAMTEST_ERR_CASE ? _pamtest_failed_case(tests, ntests) : NULL;
	for (size_t i = 0; i < ntests; i++) {
		const struct pam_testcase *t = &tests[i];

		if (t->pam_operation == PAMTEST_AUTHENTICATE)
			printf("auth=%s\n", name_of(t->op_rv));
		else if (t->pam_operation == PAMTEST_ACCOUNT)
			printf("acct=%s\n", name_of(t->op_rv));
		else if (t->pam_operation == PAMTEST_GETENVLIST) {
			envlist = (const char *const *)t->case_out.envlist;
			for (size_t k = 0; envlist != NULL && envlist[k] != NULL; k++)
				if (strncmp(envlist[k], "DBNL_PAT_GROUPS=", 16) == 0)
					printf("groups=%s\n", envlist[k] + 16);
			pamtest_free_env(t->case_out.envlist);
		}
		if (t == failed)
			break;
	}
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
		printf("pamtest error %d\n", (int)perr);
	memset(token, 0, strlen(token));
	free(token);
	return perr == PAMTEST_ERR_OK ? 0 : 1;
}
