/* SPDX-License-Identifier: BSD-3-Clause */
/* LDAP lookups (placeholder until the real implementation lands). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "dbnl.h"

enum dbnl_rc dbnl_ldap_lookup(const struct dbnl_conf *c, const struct dbnl_logger *lg,
			      const char *user, struct dbnl_ldap_result *out, char *why,
			      size_t whylen)
{
	(void)c; (void)lg; (void)user; (void)out;
	snprintf(why, whylen, "LDAP not implemented");
	return DBNL_UNAVAIL;
}

void dbnl_ldap_result_free(struct dbnl_ldap_result *r)
{
	free(r->dn);
	r->dn = NULL;
	dbnl_strlist_free(&r->groups);
}
