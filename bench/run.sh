#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs the benchmarks against a built tree: bench/run.sh [BUILD_DIR]
# Local verification (bench_verify) for ES256 and RS256, then whole PAM logins
# (pam_wrapper + libpamtest + a real slapd) timed over N runs.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$S/_build}
make -C "$B" bench/bench_verify tests/tokentool >/dev/null
export B
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/keys"; chmod 755 "$T" "$T/keys"
NOW=$(date +%s)
for alg in ES256 RS256; do
	if [ $alg = ES256 ]; then opts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
	else opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); fi
	openssl genpkey "${opts[@]}" -out "$T/$alg.key" 2>/dev/null
	openssl pkey -in "$T/$alg.key" -pubout -out "$T/$alg.pub"
	kid=$("$B/tests/tokentool" kid "$T/$alg.pub")
	rm -f "$T/keys/"*; cp "$T/$alg.pub" "$T/keys/$kid.pem"; chmod 644 "$T/keys/"*
	"$B/tests/tokentool" sign --alg $alg --key "$T/$alg.key" --kid "$kid" --claims \
		"{\"iss\":\"https://bench.test\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"nbf\":$NOW,\"exp\":$((NOW + 2592000)),\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"}" \
		> "$T/$alg.tok"
	printf '%s: ' $alg
	"$B/bench/bench_verify" "$T/keys" "$T/$alg.tok" alice https://bench.test 2000
done

# Whole verification (token + LDAP user/groups + policy) against a real slapd.
export S B T
. "$S/tests/lib.sh"
. "$S/tests/slapd.sh"
slapd_start
trap 'run_cleanups; rm -rf "$T"' EXIT
kid=$("$B/tests/tokentool" kid "$T/ES256.pub"); rm -f "$T/keys/"*; cp "$T/ES256.pub" "$T/keys/$kid.pem"; chmod 644 "$T/keys/"*
"$B/tests/tokentool" sign --alg ES256 --key "$T/ES256.key" --kid "$kid" --claims \
	"{\"iss\":\"https://bench.test\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"nbf\":$NOW,\"exp\":$((NOW + 2592000)),\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"}" > "$T/full.tok"
for mode in memberof member memberuid; do
	base=""; [ $mode = memberuid ] && base="ldap_group_base = ou=posixgroups,$LDAP_BASE"
	printf 'issuer = https://bench.test\nkeys_dir = %s\nldap_uri = %s\nldap_base = %s\nallow_groups = staff\nldap_group_mode = %s\n%s\n' \
		"$T/keys" "$LDAP_URI" "$LDAP_BASE" "$mode" "$base" > "$T/$mode.conf"
	chmod 644 "$T/$mode.conf"
	printf 'full login, ldap_group_mode=%s: ' $mode
	"$B/bench/bench_verify" --full "$T/$mode.conf" "$T/full.tok" alice 300
done
# The same over TLS (ldaps://, one small CA file): the handshake per login.
printf 'issuer = https://bench.test\nkeys_dir = %s\nldap_uri = %s\nldap_base = %s\nallow_groups = staff\nldap_ca_file = %s\n' \
	"$T/keys" "$LDAPS_URI" "$LDAP_BASE" "$LDAP_CA" > "$T/ldaps.conf"
chmod 644 "$T/ldaps.conf"
printf 'full login, ldaps:// with ldap_ca_file (memberof): '
"$B/bench/bench_verify" --full "$T/ldaps.conf" "$T/full.tok" alice 300
# Without ldap_ca_file: the ~145-certificate system bundle is parsed per login.
# (The test CA is appended to a copy of it, bind-mounted in a private mount
# namespace, so the server verifies; skipped where unshare is not allowed.)
if [ -f /etc/ssl/certs/ca-certificates.crt ] && unshare -m true 2>/dev/null; then
	cat /etc/ssl/certs/ca-certificates.crt "$LDAP_CA" > "$T/bundle.pem"
	grep -v '^ldap_ca_file' "$T/ldaps.conf" > "$T/ldaps-system.conf"; chmod 644 "$T/ldaps-system.conf"
	printf 'full login, ldaps:// with the system bundle (%s certificates): ' \
		"$(grep -c 'BEGIN CERTIFICATE' "$T/bundle.pem")"
	unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt &&
		"$2" --full "$3" "$4" alice 100' sh "$T/bundle.pem" "$B/bench/bench_verify" \
		"$T/ldaps-system.conf" "$T/full.tok"
fi
