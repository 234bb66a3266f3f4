/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"
#include <stdlib.h>
#include "dbnl.h"
enum dbnl_rc dbnl_keystore_load(struct dbnl_keystore *ks, const char *dir, uid_t owner,
				const struct dbnl_logger *lg)
{ (void)ks; (void)dir; (void)owner; (void)lg; return DBNL_CONFIG; }
const struct dbnl_key *dbnl_keystore_find(const struct dbnl_keystore *ks, const char *kid)
{ (void)ks; (void)kid; return NULL; }
void dbnl_keystore_free(struct dbnl_keystore *ks) { (void)ks; }
char *dbnl_jwk_thumbprint(struct evp_pkey_st *pkey) { (void)pkey; return NULL; }
