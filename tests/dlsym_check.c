/* SPDX-License-Identifier: BSD-3-Clause */
/* dlopen the built module: the pam_sm_* entry points, and nothing else, are exported. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : MODULE_PATH;
	static const char *const want[] = { "pam_sm_authenticate", "pam_sm_setcred",
					    "pam_sm_acct_mgmt" };
	static const char *const hidden[] = { "dbnl_verify", "dbnl_conf_load", "dbnl_log",
					      "dbnl_token_verify", "dbnl_ldap_lookup",
					      "dbnl_keystore_load", "dbnl_wipe" };
	int bad = 0;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (dlsym(h, want[i]) == NULL) {
			fprintf(stderr, "missing export %s\n", want[i]);
			bad = 1;
		}
	}
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		if (dlsym(h, hidden[i]) != NULL) {
			fprintf(stderr, "internal symbol %s is exported\n", hidden[i]);
			bad = 1;
		}
	}
	dlclose(h);
	return bad;
}
