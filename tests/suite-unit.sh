# SPDX-License-Identifier: BSD-3-Clause
# Unit tests (cmocka) and the export check.
for t in unit_util unit_config unit_token; do
	if [ -x "$B/tests/$t" ]; then run_cmocka "$B/tests/$t"; else fail "$t built"; fi
done
out=$("$B/tests/dlsym_check" 2>&1); rc=$?
check_eq "module exports exactly the pam_sm_* symbols" "0" "$rc"
[ "$rc" -ne 0 ] && echo "$out"
