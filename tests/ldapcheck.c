/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ldapcheck CONFIG USER: run dbnl_ldap_lookup() as the module would and
 * print rc=, dn=, groups= (sorted, space-separated) and reason= lines. The
 * exit code is the numeric enum dbnl_rc. Test tool: LDAPCHECK_DEBUG in the
 * environment turns on debug logging (the module itself never reads it).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbnl.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "ldapcheck" };
	struct dbnl_conf c;
	struct dbnl_ldap_result r = { 0 };
	char why[512] = "";
	char *groups = NULL;
	enum dbnl_rc rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ldapcheck CONFIG USER\n");
		return 64;
	}
	lg.debug = getenv("LDAPCHECK_DEBUG") != NULL;
	dbnl_conf_init(&c);
	rc = dbnl_conf_load(&c, argv[1], &lg);
	if (rc == DBNL_OK)
		rc = dbnl_conf_finish(&c, &lg);
	if (rc == DBNL_OK) {
		rc = dbnl_ldap_lookup(&c, &lg, argv[2], &r, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "configuration could not be loaded");
	}
	if (r.groups.n > 1)
		qsort(r.groups.v, r.groups.n, sizeof(r.groups.v[0]), cmp_str);
	groups = dbnl_strlist_join(&r.groups, ' ');
	printf("rc=%s\n", dbnl_rc_name(rc));
	printf("dn=%s\n", r.dn != NULL ? r.dn : "");
	printf("groups=%s\n", groups != NULL ? groups : "");
	printf("reason=%s\n", why);
	free(groups);
	dbnl_ldap_result_free(&r);
	dbnl_conf_free(&c);
	return (int)rc;
}
