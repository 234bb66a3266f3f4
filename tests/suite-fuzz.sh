# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer over the token verifier and the configuration parser (ASan+UBSan),
# FUZZ_SECONDS each (default 30). A crash, a sanitizer report or a forged
# token that verifies stops the fuzzer with a non-zero exit.
secs=${FUZZ_SECONDS:-30}
if "$S/fuzz/run.sh" "$T/fuzz" "$secs" > "$T/fuzz.out" 2>&1; then rc=0; else rc=$?; fi
for t in token config; do
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz/fuzz_$t.log" 2>/dev/null)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 1000 ]; then
		pass "fuzz: $t parser, $runs inputs in ${secs}s, no crash, no sanitizer report"
	else
		fail "fuzz: $t parser (exit $rc)" "$(tail -30 "$T/fuzz/fuzz_$t.log" 2>/dev/null || tail -30 "$T/fuzz.out")"
	fi
done
