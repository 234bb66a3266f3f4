/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire protocol between dbnl-pat and dbnl-patd (doc/protocol.md).
 * One request line, one response line, each a compact JSON object
 * terminated by '\n', on the Unix stream socket; then the server closes.
 */
#ifndef DBNL_PROTO_H
#define DBNL_PROTO_H

#define PROTO_VERSION 1
#define PROTO_REQUEST_MAX 4096  /* bytes, including the '\n' */
#define PROTO_RESPONSE_MAX 4096 /* bytes, including the '\n' */
#define PROTO_REQUEST_TIMEOUT 5 /* seconds from connect to a complete request */

/* Response codes ("code" when "ok" is false). */
#define PROTO_E_BAD_REQUEST "bad_request"   /* malformed, oversized, too slow */
#define PROTO_E_VERSION "unsupported_version"
#define PROTO_E_DENIED "denied"             /* policy: group, disabled, other user */
#define PROTO_E_UNKNOWN_USER "unknown_user" /* no such user (locally or in LDAP) */
#define PROTO_E_BAD_TTL "bad_ttl"           /* ttl <= 0 or over max_ttl */
#define PROTO_E_TOO_LONG "too_long"         /* token would be >= 512 characters */
#define PROTO_E_RATE_LIMITED "rate_limited"
#define PROTO_E_BUSY "busy"                 /* too many connections; retry */
#define PROTO_E_UNAVAILABLE "unavailable"   /* LDAP or configuration */
#define PROTO_E_INTERNAL "internal"

#endif
