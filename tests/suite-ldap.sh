# SPDX-License-Identifier: BSD-3-Clause
# LDAP suite: a real slapd with tests/fixtures, driven through tests/ldapcheck
# (the very dbnl_ldap_lookup() the module runs). Sourced by tests/run-tests.sh.
. "$S/tests/slapd.sh"

LDAPCHECK="$B/tests/ldapcheck"

# lconf NAME [key=value...]: write $T/ldapconf/NAME.conf from defaults, with
# the given keys added or replacing the defaults (the parser refuses
# duplicates). Prints the path.
lconf() {
	local name=$1 f kv k
	shift
	local -a keys=(issuer ldap_uri ldap_base ldap_timeout)
	local -A val=([issuer]="https://dbnl.test" [ldap_uri]="$LDAP_URI"
		[ldap_base]="$LDAP_BASE" [ldap_timeout]="5s")
	for kv in "$@"; do
		k=${kv%%=*}
		[ -n "${val[$k]+x}" ] || keys+=("$k")
		val[$k]=${kv#*=}
	done
	mkdir -p "$T/ldapconf"
	f="$T/ldapconf/$name.conf"
	for k in "${keys[@]}"; do printf '%s = %s\n' "$k" "${val[$k]}"; done > "$f"
	chmod 644 "$f"
	echo "$f"
}

# lcheck CONF USER: sets LC_OUT (stdout), LC_RC (exit), LC_ERR (stderr),
# and LC_rc / LC_groups / LC_dn (the lines).
lcheck() {
	LC_OUT=$("$LDAPCHECK" "$1" "$2" 2>"$T/ldapcheck.err"); LC_RC=$?
	LC_ERR=$(cat "$T/ldapcheck.err")
	LC_rc=$(printf '%s\n' "$LC_OUT" | grep '^rc=')
	LC_groups=$(printf '%s\n' "$LC_OUT" | grep '^groups=')
	LC_dn=$(printf '%s\n' "$LC_OUT" | grep '^dn=')
}

if [ ! -x "$LDAPCHECK" ]; then
	fail "tests/ldapcheck built"
elif ! slapd_start; then
	fail "slapd starts with the fixtures"
else
	pass "slapd starts with the fixtures"
	POSIX_BASE="ou=posixgroups,$LDAP_BASE"
	GROUP_BASE="ou=groups,$LDAP_BASE"

	# --- group modes ------------------------------------------------------
	c=$(lconf memberof)
	lcheck "$c" alice
	check_eq "memberof: alice accepted" "rc=accepted" "$LC_rc"
	check_eq "memberof: alice groups" "groups=devs staff" "$LC_groups"
	check_eq "memberof: alice dn" "dn=uid=alice,ou=people,$LDAP_BASE" "$LC_dn"
	check_eq "memberof: exit code is DBNL_OK" "0" "$LC_RC"

	c=$(lconf member ldap_group_mode=member ldap_group_base="$GROUP_BASE")
	lcheck "$c" alice
	check_eq "member: alice accepted" "rc=accepted" "$LC_rc"
	check_eq "member: alice groups" "groups=devs staff" "$LC_groups"

	c=$(lconf memberuid ldap_group_mode=memberuid ldap_group_base="$POSIX_BASE")
	lcheck "$c" alice
	check_eq "memberuid: alice accepted" "rc=accepted" "$LC_rc"
	check_eq "memberuid: alice groups" "groups=devs staff" "$LC_groups"
	lcheck "$c" bob
	check_eq "memberuid: bob groups" "groups=banned staff" "$LC_groups"

	# --- nesting ----------------------------------------------------------
	for mode in memberof member; do
		c=$(lconf "nest-off-$mode" ldap_group_mode=$mode ldap_group_base="$GROUP_BASE")
		lcheck "$c" erin
		check_eq "$mode, nesting off: erin in inner only" "groups=inner" "$LC_groups"
		c=$(lconf "nest-on-$mode" ldap_group_mode=$mode ldap_group_base="$GROUP_BASE" \
			ldap_nested_groups=yes)
		lcheck "$c" erin
		check_eq "$mode, nesting on: erin in inner and staff" "groups=inner staff" "$LC_groups"
		lcheck "$c" gina
		check_eq "$mode, nesting on: cycle ends (rc)" "rc=accepted" "$LC_rc"
		check_eq "$mode, nesting on: cycle ends (groups)" "groups=loop1 loop2" "$LC_groups"
		lcheck "$c" alice
		check_eq "$mode, nesting on: alice unchanged" "groups=devs staff" "$LC_groups"
	done
	# The depth bound, the same in both modes: user deep in d0, d0 in d1, ...
	# d10 (10 levels of nesting) resolves; one level more is refused.
	{
		printf 'dn: uid=deep,ou=people,%s\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: deep\ncn: Deep\nsn: Deep\nuidNumber: 10077\ngidNumber: 10000\nhomeDirectory: /home/deep\n\n' "$LDAP_BASE"
		prev="uid=deep,ou=people,$LDAP_BASE"
		for i in $(seq 0 10); do
			printf 'dn: cn=d%s,%s\nchangetype: add\nobjectClass: groupOfNames\ncn: d%s\nmember: %s\n\n' \
				"$i" "$GROUP_BASE" "$i" "$prev"
			prev="cn=d$i,$GROUP_BASE"
		done
	} | ldap_admin_modify >/dev/null 2>&1
	for mode in memberof member; do
		c=$(lconf "deep-$mode" ldap_group_mode=$mode ldap_group_base="$GROUP_BASE" \
			ldap_nested_groups=yes)
		lcheck "$c" deep
		check_eq "$mode: groups nested 10 levels deep resolve" \
			"rc=accepted groups=d0 d1 d10 d2 d3 d4 d5 d6 d7 d8 d9" "$LC_rc $LC_groups"
	done
	printf 'dn: cn=d11,%s\nchangetype: add\nobjectClass: groupOfNames\ncn: d11\nmember: cn=d10,%s\n' \
		"$GROUP_BASE" "$GROUP_BASE" | ldap_admin_modify >/dev/null 2>&1
	for mode in memberof member; do
		lcheck "$T/ldapconf/deep-$mode.conf" deep
		check_eq "$mode: 11 levels are refused (bounded)" \
			"rc=denied groups=" "$LC_rc $LC_groups"
	done
	c=$(lconf nest-memberuid ldap_group_mode=memberuid ldap_group_base="$POSIX_BASE" \
		ldap_nested_groups=yes)
	lcheck "$c" alice
	check_eq "memberuid ignores nesting" "groups=devs staff" "$LC_groups"

	# --- users --------------------------------------------------------------
	c=$(lconf users ldap_disabled_filter="(employeeType=disabled)")
	lcheck "$c" dave
	check_eq "dave: accepted" "rc=accepted" "$LC_rc"
	check_eq "dave: no groups" "groups=" "$LC_groups"
	lcheck "$c" nosuchuser
	check_eq "unknown user" "rc=user_unknown" "$LC_rc"
	check_eq "unknown user: exit code is DBNL_USER_UNKNOWN" "3" "$LC_RC"
	for u in 'al*' '*' 'alice)(uid=*' '\' 'alice)' '(uid=alice)' 'alice\2a'; do
		lcheck "$c" "$u"
		check_eq "filter metacharacters: '$u' is not a user" "rc=user_unknown" "$LC_rc"
	done
	lcheck "$c" "$(printf 'alice\tx')"
	check_eq "control character in user name refused" "rc=user_unknown" "$LC_rc"
	lcheck "$c" ""
	check_eq "empty user name refused" "rc=user_unknown" "$LC_rc"
	lcheck "$c" carol
	check_eq "disabled carol: denied" "rc=denied" "$LC_rc"
	check_match "disabled carol: reason" "^reason=account disabled" "$LC_OUT"
	c=$(lconf users-nodis)
	lcheck "$c" carol
	check_eq "carol without a disabled filter: accepted" "rc=accepted" "$LC_rc"
	c=$(lconf ambiguous ldap_user_filter="(objectClass=posixAccount)" ldap_user_attr=sn)
	lcheck "$c" Test
	check_eq "ambiguous user (sn=Test): denied" "rc=denied" "$LC_rc"

	# --- group changes take effect at the next lookup -------------------------
	c=$(lconf frank)
	lcheck "$c" frank
	check_eq "frank in staff before removal" "groups=staff" "$LC_groups"
	printf '%s\n' "dn: cn=staff,ou=groups,$LDAP_BASE" "changetype: modify" \
		"delete: member" "member: uid=frank,ou=people,$LDAP_BASE" | ldap_admin_modify >/dev/null 2>&1
	lcheck "$c" frank
	check_eq "frank out of staff after removal" "groups=" "$LC_groups"
	printf '%s\n' "dn: cn=staff,ou=groups,$LDAP_BASE" "changetype: modify" \
		"add: member" "member: uid=frank,ou=people,$LDAP_BASE" | ldap_admin_modify >/dev/null 2>&1

	# --- TLS ----------------------------------------------------------------
	c=$(lconf ldaps ldap_uri="$LDAPS_URI" ldap_ca_file="$LDAP_CA")
	lcheck "$c" alice
	check_eq "ldaps with the right CA: accepted" "rc=accepted" "$LC_rc"
	c=$(lconf ldaps-wrong ldap_uri="$LDAPS_URI" ldap_ca_file="$LDAP_WRONG_CA")
	lcheck "$c" alice
	check_eq "ldaps with the wrong CA: unavailable" "rc=unavailable" "$LC_rc"
	check_eq "ldaps with the wrong CA: exit code is DBNL_UNAVAIL" "5" "$LC_RC"
	c=$(lconf starttls ldap_starttls=yes ldap_ca_file="$LDAP_CA")
	lcheck "$c" alice
	check_eq "StartTLS with the right CA: accepted" "rc=accepted" "$LC_rc"
	c=$(lconf starttls-wrong ldap_starttls=yes ldap_ca_file="$LDAP_WRONG_CA")
	lcheck "$c" alice
	check_eq "StartTLS with the wrong CA: unavailable" "rc=unavailable" "$LC_rc"

	# Without ldap_ca_file the system bundle is used (and only it): the test CA
	# is not in it, so the server is refused; with the test CA bind-mounted over
	# the bundle in a private mount namespace, the same configuration works.
	c=$(lconf ldaps-system ldap_uri="$LDAPS_URI")
	lcheck "$c" alice
	check_eq "ldaps, no ldap_ca_file, CA not in the system bundle: unavailable" \
		"rc=unavailable" "$LC_rc"
	if unshare -m true 2>/dev/null; then
		out=$(unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt &&
			"$2" "$3" alice' sh "$LDAP_CA" "$LDAPCHECK" "$c" 2>&1 | grep '^rc=')
		check_eq "ldaps, no ldap_ca_file: the system bundle is the trust anchor" \
			"rc=accepted" "$out"
		c=$(lconf starttls-system ldap_starttls=yes)
		out=$(unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt &&
			"$2" "$3" alice' sh "$LDAP_CA" "$LDAPCHECK" "$c" 2>&1 | grep '^rc=')
		check_eq "StartTLS, no ldap_ca_file: the system bundle is the trust anchor" \
			"rc=accepted" "$out"
	else
		skip "ldaps with the system bundle" "unshare -m (a private mount namespace) is not permitted here"
	fi
	c=$(lconf ldaps-env ldap_uri="$LDAPS_URI")
	out=$(LDAPTLS_CACERT="$LDAP_CA" LDAPTLS_REQCERT=never "$LDAPCHECK" "$c" alice 2>&1 | grep '^rc=')
	check_eq "ldaps: LDAPTLS_CACERT / LDAPTLS_REQCERT in the environment change nothing" \
		"rc=unavailable" "$out"

	# --- availability -------------------------------------------------------
	dead=$(free_port)
	c=$(lconf down ldap_uri="ldap://127.0.0.1:$dead")
	lcheck "$c" alice
	check_eq "LDAP down: unavailable" "rc=unavailable" "$LC_rc"
	c=$(lconf failover ldap_uri="ldap://127.0.0.1:$dead $LDAP_URI")
	lcheck "$c" alice
	check_eq "first URI dead, second alive: accepted" "rc=accepted" "$LC_rc"
	check_eq "first URI dead, second alive: groups" "groups=devs staff" "$LC_groups"

	hp=$(free_port)
	"$B/tests/blackhole" "$hp" 60 &
	bh=$!
	on_exit "kill $bh"
	if wait_port "$hp" 5; then
		c=$(lconf blackhole ldap_uri="ldap://127.0.0.1:$hp" ldap_timeout=2s)
		t0=$(date +%s%N)
		lcheck "$c" alice
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "      blackhole lookup took ${ms} ms (ldap_timeout=2s)"
		check_eq "blackhole server: unavailable" "rc=unavailable" "$LC_rc"
		if [ "$ms" -lt 4000 ]; then pass "blackhole server: gave up in ${ms} ms (< 4000)"
		else fail "blackhole server: gave up in ${ms} ms (< 4000)"; fi
		c=$(lconf blackhole-then-alive ldap_uri="ldap://127.0.0.1:$hp $LDAP_URI" ldap_timeout=2s)
		lcheck "$c" alice
		check_eq "blackhole first: the deadline covers all URIs" "rc=unavailable" "$LC_rc"
		c=$(lconf blackhole-tls ldap_uri="ldaps://127.0.0.1:$hp" ldap_ca_file="$LDAP_CA" \
			ldap_timeout=2s)
		t0=$(date +%s%N)
		lcheck "$c" alice
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		check_eq "blackhole ldaps server: unavailable" "rc=unavailable" "$LC_rc"
		if [ "$ms" -lt 4000 ]; then pass "blackhole ldaps server: gave up in ${ms} ms (< 4000)"
		else fail "blackhole ldaps server: gave up in ${ms} ms (< 4000)"; fi
	else
		fail "blackhole listens"
	fi
	kill "$bh" 2>/dev/null; wait "$bh" 2>/dev/null

	# --- service account ------------------------------------------------------
	c=$(lconf bind ldap_starttls=yes ldap_ca_file="$LDAP_CA" ldap_bind_dn="$LDAP_READER_DN" ldap_bind_password_file="$LDAP_READER_PWFILE")
	lcheck "$c" alice
	check_eq "service bind: accepted" "rc=accepted" "$LC_rc"
	check_eq "service bind: groups" "groups=devs staff" "$LC_groups"
	check_nomatch "service bind: password never logged" "reader-secret" "$LC_OUT$LC_ERR"
	wrongpw="$T/ldap/wrong.pw"
	(umask 077 && printf 'not-the-password\n' > "$wrongpw")
	c=$(lconf bind-wrong ldap_starttls=yes ldap_ca_file="$LDAP_CA" ldap_bind_dn="$LDAP_READER_DN" ldap_bind_password_file="$wrongpw")
	lcheck "$c" alice
	check_eq "service bind, wrong password: unavailable" "rc=unavailable" "$LC_rc"
	check_match "service bind, wrong password: logged" "Invalid credentials" "$LC_ERR"
	check_nomatch "service bind, wrong password: never logged" "not-the-password" "$LC_OUT$LC_ERR"
	openpw="$T/ldap/open.pw"
	printf 'reader-secret\n' > "$openpw"; chmod 644 "$openpw"
	c=$(lconf bind-open ldap_starttls=yes ldap_ca_file="$LDAP_CA" ldap_bind_dn="$LDAP_READER_DN" ldap_bind_password_file="$openpw")
	lcheck "$c" alice
	check_eq "service bind, password file 0644: configuration error" \
		"rc=config_error" "$LC_rc"
	c=$(lconf bind-clear ldap_bind_dn="$LDAP_READER_DN" ldap_bind_password_file="$LDAP_READER_PWFILE")
	lcheck "$c" alice
	check_eq "service bind over ldap:// without StartTLS: configuration error" \
		"rc=config_error" "$LC_rc"
	check_match "service bind in clear text: reason logged" "would send the bind password in clear text" "$LC_ERR"
	c=$(lconf bind-missing ldap_starttls=yes ldap_ca_file="$LDAP_CA" ldap_bind_dn="$LDAP_READER_DN" \
		ldap_bind_password_file="$T/ldap/no-such.pw")
	lcheck "$c" alice
	check_eq "service bind, missing password file: configuration error" \
		"rc=config_error" "$LC_rc"

	# --- no leaks -------------------------------------------------------------
	if command -v valgrind >/dev/null 2>&1; then
		c=$(lconf valgrind ldap_uri="ldap://127.0.0.1:$dead $LDAPS_URI" ldap_ca_file="$LDAP_CA" \
			ldap_group_mode=member ldap_group_base="$GROUP_BASE" ldap_nested_groups=yes \
			ldap_starttls=yes ldap_ca_file="$LDAP_CA" ldap_bind_dn="$LDAP_READER_DN" ldap_bind_password_file="$LDAP_READER_PWFILE" \
			ldap_disabled_filter="(employeeType=disabled)")
		vg="$T/ldap/valgrind.log"
		out=$(valgrind --leak-check=full --error-exitcode=99 \
			--errors-for-leak-kinds=definite --log-file="$vg" "$LDAPCHECK" "$c" erin 2>&1)
		rc=$?
		[ "$rc" -eq 99 ] && sed -n '1,60p' "$vg"
		check_eq "valgrind: ldapcheck exits cleanly (not 99)" "0" "$rc"
		check_match "valgrind: lookup ran" "^groups=inner staff" "$out"
		for u in alice nosuchuser carol; do
			out=$(valgrind --leak-check=full --error-exitcode=99 \
				--errors-for-leak-kinds=definite --log-file="$vg" "$LDAPCHECK" "$c" "$u" 2>&1)
			rc=$?
			[ "$rc" -eq 99 ] && sed -n '1,60p' "$vg"
			if [ "$rc" -ne 99 ]; then pass "valgrind: $u path has no errors or leaks"
			else fail "valgrind: $u path has no errors or leaks"; fi
		done
	else
		skip "valgrind: ldapcheck" "valgrind not installed"
	fi
	slapd_stop
fi
