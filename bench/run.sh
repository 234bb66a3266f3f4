#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs the benchmarks against a built tree: bench/run.sh [BUILD_DIR]
# Local verification (bench_verify) for ES256 and RS256, then whole PAM logins
# (pam_wrapper + libpamtest + a real slapd) timed over N runs.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$S/_build}
make -C "$B" bench/bench_verify tests/tokentool >/dev/null
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
