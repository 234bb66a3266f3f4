/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DBNL_MINT_H
#define DBNL_MINT_H
#endif
