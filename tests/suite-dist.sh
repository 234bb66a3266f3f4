# SPDX-License-Identifier: BSD-3-Clause
# Packaging: man pages lint clean, the PAM module directory is detected,
# and `make distcheck` passes (tarball builds, its unit tests pass, installs
# and uninstalls cleanly).
for page in pam_dbnl_pat.8 dbnl-pat.conf.5 dbnl-pat.1 dbnl-patd.8; do
	make -C "$B" -s "doc/$page" >/dev/null 2>&1
	if [ ! -s "$B/doc/$page" ]; then fail "man page $page generated"; continue; fi
	lint=$(mandoc -Tlint -Wwarning "$B/doc/$page" 2>&1)
	check_eq "man page $page: mandoc -Tlint -Wwarning clean" "" "$lint"
	check_nomatch "man page $page: configured paths substituted" '@(sysconfdir|runstatedir|sbindir|bindir|pamdir)@' "$(cat "$B/doc/$page")"
done
want=$(dirname "$(find /usr/lib /lib -name pam_unix.so -path '*security*' 2>/dev/null | head -1)")
got=$(sed -n 's/^pamdir = //p' "$B/Makefile")
case "$got" in
/usr/lib/*/security|/lib/*/security) want=$(readlink -f "$want"); got=$(readlink -f "$got") ;;
esac
check_eq "configure --prefix=/usr detects the system's PAM module directory" "$want" "$got"
if make -C "$B" distcheck > "$T/distcheck.log" 2>&1; then
	pass "make distcheck"
else
	fail "make distcheck" "$(grep -E 'rror|FAIL' "$T/distcheck.log" | head -20)"
fi
