# SPDX-License-Identifier: BSD-3-Clause
# End to end: real sshd, sudo and su with a token minted by the real dbnl-patd
# for a real local user, verified by the built module against a real slapd.
# Sourced by tests/run-tests.sh (S, B, T); needs root. The exact PAM stacks are
# those of doc/pam-stacks.md. Everything added to the system (users, /etc/pam.d
# and /etc/sudoers.d files, /run/sshd) is removed at exit (tests/e2e/lib.sh).
# Tokens stay in files under $E/tok (0700) and are never printed.

E="$T/e2e"
PAT="$B/dbnl-pat"
SVCU=dbnle2esvc                 # the mint service's user
SSHD_TP=sshd-dbnltest           # token or password
SSHD_TO=sshd-dbnltest-tok       # token only
SSHD_AC=sshd-dbnltest-acct      # token only, account line stricter (devs)
SUDO_SVC=sudo-dbnltest
SUDOERS=/etc/sudoers.d/dbnl-e2e-test
LONGU=dbnle2elong$(printf 'x%.0s' $(seq 1 21))  # 32 characters: useradd's limit
LABEL64=$(printf 'L%.0s' $(seq 1 64))           # MINT_LABEL_MAX (helper/mint.h)
ISS="https://dbnl.test"

if [ "$(id -u)" != 0 ]; then
	skip "suite e2e" "needs root (local users, sshd, sudo)"
	return 0
fi
for x in /usr/sbin/sshd ssh sshpass sudo visudo su expect runuser; do
	if ! command -v "$x" >/dev/null 2>&1; then
		fail "suite e2e: $x is installed (scripts/deps.sh)"
		return 0
	fi
done
if [ ! -x "$B/dbnl-patd" ] || [ ! -x "$PAT" ] || [ ! -f "$B/.libs/pam_dbnl_pat.so" ]; then
	fail "suite e2e: module, dbnl-pat and dbnl-patd are built in $B"
	return 0
fi
# shellcheck source=tests/e2e/lib.sh
. "$S/tests/e2e/lib.sh"
# shellcheck source=tests/slapd.sh
. "$S/tests/slapd.sh"
if ! slapd_start; then
	fail "suite e2e: slapd starts"
	return 0
fi
E2E_T0=$(date +%s)

# ---- files: module, keys, configuration (root-owned) ----------------------
mkdir -p "$E/lib" "$E/etc" "$E/run" "$E/tok" "$E/ssh"
chmod 755 "$E" "$E/lib" "$E/etc" "$E/run" "$E/ssh"
chmod 700 "$E/tok"
MOD="$E/lib/pam_dbnl_pat.so"
install -m 0644 -o root -g root "$B/.libs/pam_dbnl_pat.so" "$MOD"
PAMDIR=$(e2e_pam_dir)
CONF="$E/etc/dbnl-pat.conf"

for u in "$SVCU"; do
	id -u "$u" >/dev/null 2>&1 || { useradd -r -M -N -d /nonexistent -s /usr/sbin/nologin \
		-c "$E2E_MARK" "$u" && on_exit "userdel $u"; }
done
KID=$("$PAT" keygen --dir "$E/etc" 2>"$E/keygen.err")
check_match "e2e: dbnl-pat keygen makes the site key" '^[A-Za-z0-9_-]{43}$' "$KID"
chown "$SVCU" "$E/etc/signing.key"
chmod 755 "$E/etc/keys"
cat > "$CONF" <<CONF
issuer = $ISS
keys_dir = $E/etc/keys
ldap_uri = $LDAP_URI
ldap_base = $LDAP_BASE
ldap_disabled_filter = (employeeType=disabled)
allow_groups = staff
deny_groups = banned
mint_groups = staff
signing_key = $E/etc/signing.key
socket = $E/run/mint.sock
default_ttl = 1d
max_ttl = 7d
service_user = $SVCU
CONF
chmod 644 "$CONF"

# ---- local users matching the LDAP fixtures -----------------------------
# alice: tokens and a local password (pam_unix); frank: removed from staff at
# run time; bob: for "another user's token"; LONGU: the longest name.
LDIF_LONG="dn: uid=$LONGU,ou=people,$LDAP_BASE
changetype: add
objectClass: inetOrgPerson
objectClass: posixAccount
uid: $LONGU
cn: Long Name
sn: Test
uidNumber: 10099
gidNumber: 10000
homeDirectory: /home/$LONGU

dn: cn=staff,ou=groups,$LDAP_BASE
changetype: modify
add: member
member: uid=$LONGU,ou=people,$LDAP_BASE
"
printf '%s' "$LDIF_LONG" | ldap_admin_modify >/dev/null 2>&1 ||
	fail "e2e: add $LONGU to the directory"
ALICE_PW="e2e-Alice-local-pw-7"
printf '%s\n' "$ALICE_PW" > "$E/tok/alice.pw"
# A name taken by a real account (or by another suite running right now) stops
# the suite: its logins would test someone else's account.
taken=""
for u in alice bob frank "$LONGU"; do
	pw="e2e-$u-pw-9"; [ "$u" = alice ] && pw=$ALICE_PW
	e2e_user "$u" "$pw" || taken="$taken $u"
done
if [ -n "$taken" ]; then
	fail "e2e: local users are free for the test" \
		"taken by accounts that are not ours:$taken (run on a scratch machine)"
	return 0
fi

# ---- PAM services --------------------------------------------------------
# Token or password (the doc's recommended sshd stack), and token only.
e2e_etc_file "/etc/pam.d/$SSHD_TP" 0644 <<PAM
auth     [success=done default=ignore]  $MOD config=$CONF
auth     required   $PAMDIR/pam_unix.so try_first_pass
account  required   $PAMDIR/pam_unix.so
account  required   $MOD config=$CONF
session  required   $PAMDIR/pam_unix.so
PAM
e2e_etc_file "/etc/pam.d/$SSHD_TO" 0644 <<PAM
auth     required   $MOD config=$CONF
account  required   $PAMDIR/pam_unix.so
account  required   $MOD config=$CONF
session  required   $PAMDIR/pam_unix.so
PAM
e2e_etc_file "/etc/pam.d/$SSHD_AC" 0644 <<PAM
auth     required   $MOD config=$CONF
account  required   $PAMDIR/pam_unix.so
account  required   $MOD config=$CONF allow_groups=devs
session  required   $PAMDIR/pam_unix.so
PAM
e2e_etc_file "/etc/pam.d/$SUDO_SVC" 0644 <<PAM
auth     [success=done default=ignore]  $MOD config=$CONF
auth     required   $PAMDIR/pam_unix.so try_first_pass
account  required   $PAMDIR/pam_unix.so
account  required   $MOD config=$CONF
session  required   $PAMDIR/pam_limits.so
session  required   $PAMDIR/pam_unix.so
PAM

# ---- the mint service and real tokens ------------------------------------
if ! e2e_mintd_start "$CONF" "$E/run/mint.sock" "$E/mintd.log"; then
	fail "e2e: dbnl-patd starts" "$(tail -5 "$E/mintd.log")"
	return 0
fi
pass "e2e: dbnl-patd starts"
# mint USER FILE [ARGS...]: as that user, through the socket (SO_PEERCRED).
mint() {
	local u=$1 f=$2
	shift 2
	runuser -u "$u" -- "$PAT" -c "$CONF" mint "$@" > "$f" 2>>"$E/mint.err"
}
mint alice "$E/tok/alice"; check_eq "e2e: alice mints a token (dbnl-pat mint)" 0 "$?"
mint frank "$E/tok/frank"; check_eq "e2e: frank mints a token" 0 "$?"
# On a terminal (script(1) gives dbnl-pat a pty for stdout): the token line on
# stdout, and one hint line on stderr.
script -q -e -c "runuser -u alice -- $PAT -c $CONF mint 2>$E/tok/tty.err" /dev/null \
	> "$E/tok/tty.out" < /dev/null; rc=$?
check_eq "e2e: mint on a terminal exits 0" 0 "$rc"
check_eq "e2e: mint on a terminal prints one token line" "1 yes" \
	"$(tr -d '\r' < "$E/tok/tty.out" | grep -c .) $(tr -d '\r' < "$E/tok/tty.out" |
		grep -Eq '^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' && echo yes)"
check_eq "e2e: mint on a terminal adds the paste hint on stderr" \
	"dbnl-pat: paste this token at the password prompt (ssh, sudo, su); it is shown only once and cannot be recovered" \
	"$(cat "$E/tok/tty.err")"
out=$(runuser -u bob -- "$PAT" -c "$CONF" mint 2>&1); rc=$?
check_eq "e2e: mint refuses bob (deny_groups = banned)" \
	"1 dbnl-pat mint: refused (denied): may not mint: member of denied group 'banned'" "$rc $out"
# Tokens the mint never issues, signed with the site key by tests/tokentool:
# an expired one (issued 2 h ago, expired 1 h ago: beyond clock_skew 60 s) and
# one for bob, who may not mint (banned), to show the login refuses him too.
NOW=$(date +%s)
"$B/tests/tokentool" sign --alg ES256 --key "$E/etc/signing.key" --kid "$KID" --claims \
	"{\"iss\":\"$ISS\",\"sub\":\"bob\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"nbf\":$NOW,\"exp\":$((NOW + 3600)),\"jti\":\"e2e-bob\"}" \
	> "$E/tok/bob"
"$B/tests/tokentool" sign --alg ES256 --key "$E/etc/signing.key" --kid "$KID" --claims \
	"{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$((NOW - 7200)),\"nbf\":$((NOW - 7200)),\"exp\":$((NOW - 3600)),\"jti\":\"e2e-expired\"}" \
	> "$E/tok/expired"
# A forgery: alice's claims signed with a key nobody trusts, under the site kid.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$E/tok/evil.key" 2>/dev/null
"$B/tests/tokentool" sign --alg ES256 --key "$E/tok/evil.key" --kid "$KID" \
	--claims "$(e2e_claims "$E/tok/alice")" > "$E/tok/forged"
# alice's own token with one signature character changed.
awk -F. '{ s = $3; c = substr(s, 20, 1); r = (c == "A") ? "B" : "A";
	print $1 "." $2 "." substr(s, 1, 19) r substr(s, 21) }' "$E/tok/alice" > "$E/tok/tampered"

# ---- sshd ------------------------------------------------------------------
# ssh_case NAME PORT METHOD USER SECRETFILE EXPECTED: EXPECTED is "rc=0 out=USER"
# for a login that ran `id -un`, "rc=5 out=" for a refused secret.
ssh_case() {
	local out rc
	e2e_ssh "$2" "$3" "$4" "$5" > "$E/ssh.out"; rc=$?
	out=$(tr '\n' ' ' < "$E/ssh.out" | sed 's/ $//')
	check_eq "ssh $3: $1" "$6" "rc=$rc out=$out"
}
if ! e2e_sshd_start "$E/ssh" "$SSHD_TP"; then
	fail "e2e: sshd ($SSHD_TP) starts on 127.0.0.1" "$(tail -5 "$E/ssh/$SSHD_TP.log")"
	return 0
fi
PORT_TP=$E2E_SSHD_PORT
if ! e2e_sshd_start "$E/ssh" "$SSHD_TO"; then
	fail "e2e: sshd ($SSHD_TO) starts on 127.0.0.1" "$(tail -5 "$E/ssh/$SSHD_TO.log")"
	return 0
fi
PORT_TO=$E2E_SSHD_PORT
if ! e2e_sshd_start "$E/ssh" "$SSHD_AC"; then
	fail "e2e: sshd ($SSHD_AC) starts on 127.0.0.1" "$(tail -5 "$E/ssh/$SSHD_AC.log")"
	return 0
fi
PORT_AC=$E2E_SSHD_PORT
check_eq "e2e: the test sshds listen on 127.0.0.1 only" \
	"127.0.0.1:$PORT_TP 127.0.0.1:$PORT_TO 127.0.0.1:$PORT_AC" \
	"$(for p in "$PORT_TP" "$PORT_TO" "$PORT_AC"; do ss -Htln "sport = :$p" | awk '{print $4}'; done | xargs)"

for m in keyboard-interactive password; do
	t0=$(date +%s%N)
	ssh_case "alice's minted token logs alice in (token-or-password)" "$PORT_TP" $m alice \
		"$E/tok/alice" "rc=0 out=alice"
	t1=$(date +%s%N)
	echo "      (login took $(( (t1 - t0) / 1000000 )) ms)"
	ssh_case "alice's minted token logs alice in (token only)" "$PORT_TO" $m alice \
		"$E/tok/alice" "rc=0 out=alice"
	ssh_case "a token with a changed signature is refused" "$PORT_TO" $m alice \
		"$E/tok/tampered" "rc=5 out="
	ssh_case "a token signed by an untrusted key is refused" "$PORT_TO" $m alice \
		"$E/tok/forged" "rc=5 out="
	ssh_case "frank's token does not log alice in" "$PORT_TO" $m alice "$E/tok/frank" "rc=5 out="
	ssh_case "an expired token is refused" "$PORT_TO" $m alice "$E/tok/expired" "rc=5 out="
	ssh_case "bob's token is refused (deny_groups = banned)" "$PORT_TO" $m bob \
		"$E/tok/bob" "rc=5 out="
	ssh_case "a wrong token then falls to pam_unix and is refused (token-or-password)" \
		"$PORT_TP" $m alice "$E/tok/forged" "rc=5 out="
	ssh_case "alice's local password works (token-or-password)" "$PORT_TP" $m alice \
		"$E/tok/alice.pw" "rc=0 out=alice"
	ssh_case "alice's local password is refused (token only)" "$PORT_TO" $m alice \
		"$E/tok/alice.pw" "rc=5 out="
done
# The account line's own policy (allow_groups=devs) holds for both methods:
# for keyboard-interactive sshd runs pam_acct_mgmt in the same child process
# that authenticated. A refusal in the account phase ends ssh with 255.
for m in keyboard-interactive password; do
	ssh_case "account line allow_groups=devs: alice (devs) logs in" "$PORT_AC" $m alice \
		"$E/tok/alice" "rc=0 out=alice"
	ssh_case "account line allow_groups=devs: frank (staff only) is refused" "$PORT_AC" $m \
		frank "$E/tok/frank" "rc=255 out="
done
check_match "sshd log: frank refused in the account phase (keyboard-interactive)" \
	"PAM: User account has expired for frank from 127\.0\.0\.1" "$(cat "$E/ssh/$SSHD_AC.log")"
check_match "sshd log: frank refused in the account phase (password)" \
	"Access denied for user frank by PAM account configuration" "$(cat "$E/ssh/$SSHD_AC.log")"
check_match "sshd log: a token login is an ordinary PAM login to sshd" \
	"Accepted keyboard-interactive/pam for alice from 127\.0\.0\.1" "$(cat "$E/ssh/$SSHD_TO.log")"
check_match "sshd log: ... for both methods" \
	"Accepted password for alice from 127\.0\.0\.1" "$(cat "$E/ssh/$SSHD_TO.log")"

# Group membership is resolved at every login: take frank out of staff.
ssh_case "frank's token logs frank in while he is in staff" "$PORT_TO" keyboard-interactive \
	frank "$E/tok/frank" "rc=0 out=frank"
printf 'dn: cn=staff,ou=groups,%s\nchangetype: modify\ndelete: member\nmember: uid=frank,ou=people,%s\n' \
	"$LDAP_BASE" "$LDAP_BASE" | ldap_admin_modify >/dev/null 2>&1
check_eq "e2e: frank removed from staff in LDAP" "" \
	"$(ldapsearch -x -LLL -H "$LDAP_URI" -b "$LDAP_BASE" '(uid=frank)' memberOf | grep -i '^memberOf: cn=staff,')"
for m in keyboard-interactive password; do
	ssh_case "the same token is refused once frank left staff" "$PORT_TO" $m frank \
		"$E/tok/frank" "rc=5 out="
done
printf 'dn: cn=staff,ou=groups,%s\nchangetype: modify\nadd: member\nmember: uid=frank,ou=people,%s\n' \
	"$LDAP_BASE" "$LDAP_BASE" | ldap_admin_modify >/dev/null 2>&1
ssh_case "and accepted again once frank is back in staff" "$PORT_TO" password frank \
	"$E/tok/frank" "rc=0 out=frank"

# ---- sudo ------------------------------------------------------------------
e2e_etc_file "$SUDOERS" 0440 <<SUDO
User_Alias DBNLE2E = alice, frank, $LONGU
Defaults:DBNLE2E pam_service=$SUDO_SVC, passwd_tries=1, !lecture, timestamp_timeout=5
DBNLE2E ALL = (root) /usr/bin/id
SUDO
out=$(visudo -c -f "$SUDOERS" 2>&1); rc=$?
check_eq "sudo: visudo -c accepts the test sudoers file" "0 $SUDOERS: parsed OK" "$rc $out"
out=$(visudo -c 2>&1 >/dev/null); check_eq "sudo: visudo -c accepts the whole policy" "0" "$?"
# sudo_case NAME USER SECRETFILE EXPECTED ("rc=0 out=root" or "rc=1 out=")
sudo_case() {
	local out rc
	out=$(runuser -u "$2" -- sudo -S -k -p '' /usr/bin/id -un < "$3" 2>/dev/null); rc=$?
	check_eq "sudo -S: $1" "$4" "rc=$rc out=$out"
}
sudo_case "alice's token (stdin)" alice "$E/tok/alice" "rc=0 out=root"
sudo_case "a token with a changed signature is refused" alice "$E/tok/tampered" "rc=1 out="
sudo_case "a forged token is refused" alice "$E/tok/forged" "rc=1 out="
sudo_case "frank's token is refused for alice" alice "$E/tok/frank" "rc=1 out="
sudo_case "an expired token is refused" alice "$E/tok/expired" "rc=1 out="
sudo_case "alice's local password (token-or-password stack)" alice "$E/tok/alice.pw" \
	"rc=0 out=root"
# sudo reads from the terminal by default: paste the token at its prompt.
TTY="$S/tests/e2e/tty-login.exp"
out=$(expect "$TTY" "PAT: " "$E/tok/alice" runuser -u alice -- sudo -k -p "PAT: " \
	/usr/bin/id -un 2>/dev/null); rc=$?
check_eq "sudo on a terminal: alice's token at the prompt" "rc=0 out=root" "rc=$rc out=$out"
out=$(expect "$TTY" "PAT: " "$E/tok/forged" runuser -u alice -- sudo -k -p "PAT: " \
	/usr/bin/id -un 2>/dev/null); rc=$?
check_eq "sudo on a terminal: a forged token is refused" \
	"rc=1 out=sudo: 1 incorrect password attempt" "rc=$rc out=$out"
# Like a password, an accepted token starts sudo's timestamp: without -k,
# the next sudo in the same session (here: same parent) does not ask.
out=$(runuser -u alice -- sh -c "sudo -K; sudo -S -p '' -v &&
	sudo -n /usr/bin/id -un; sudo -K; sudo -n /usr/bin/id -un" < "$E/tok/alice" 2>/dev/null)
check_eq "sudo: a token caches like a password (timestamp), sudo -K clears it" "root" "$out"

# ---- su ------------------------------------------------------------------
# su always uses the service "su" (or "su-l"): run it under pam_wrapper with a
# test "su" service. Run by root (su is setuid: the loader ignores LD_PRELOAD
# for a caller who is not root); su has no pam_rootok here, so it authenticates.
mkdir -p "$E/pamwrap"
printf 'auth     required   %s config=%s\naccount  required   %s/pam_unix.so\naccount  required   %s config=%s\nsession  required   %s/pam_unix.so\n' \
	"$MOD" "$CONF" "$PAMDIR" "$MOD" "$CONF" "$PAMDIR" > "$E/pamwrap/su"
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' \
	"$PAMDIR" "$PAMDIR" > "$E/pamwrap/other"
PW=(env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$E/pamwrap")
su_case() { # NAME SECRETFILE EXPECTED
	local out rc
	out=$("${PW[@]}" su alice -c 'id -un' < "$2" 2>/dev/null); rc=$?
	check_eq "su (pam_wrapper, stdin): $1" "$3" "rc=$rc out=$out"
}
su_case "alice's token" "$E/tok/alice" "rc=0 out=alice"
su_case "a forged token is refused" "$E/tok/forged" "rc=1 out="
su_case "alice's local password is refused (token only)" "$E/tok/alice.pw" "rc=1 out="
out=$(expect "$TTY" "Password: " "$E/tok/alice" "${PW[@]}" su alice -c 'id -un' 2>/dev/null)
rc=$?
check_eq "su on a terminal: alice's token at the prompt" "rc=0 out=alice" "rc=$rc out=$out"
out=$(expect "$TTY" "Password: " "$E/tok/expired" "${PW[@]}" su alice -c 'id -un' 2>/dev/null)
rc=$?
check_eq "su on a terminal: an expired token is refused" \
	"rc=1 out=su: Authentication failure" "rc=$rc out=$out"

# ---- token sizes: the longest label and user name the mint service allows ----
# useradd allows user names of at most 32 characters; the mint's label at most
# 64 (MINT_LABEL_MAX); the mint refuses a token over 511 characters (sudo's
# limit). b64len N: base64url length of N bytes, no padding.
b64len() { echo $(( ($1 * 4 + 2) / 3 )); }
mint alice "$E/tok/alice-label" --name "$LABEL64"
check_eq "size: alice mints with a 64-character --name" 0 "$?"
out=$(runuser -u alice -- "$PAT" -c "$CONF" mint --name "${LABEL64}L" 2>&1); rc=$?
check_eq "size: mint refuses a 65-character --name" \
	"2 dbnl-pat mint: --name must be 1 to 64 characters of A-Z a-z 0-9 space . _ -" "$rc $out"
mint "$LONGU" "$E/tok/long"
check_eq "size: the 32-character user mints a token" 0 "$?"
# The same claims with "name":"<k characters>" added: predicted length.
plen=$(e2e_claims "$E/tok/long" | tr -d '\n' | wc -c)
base=$(( $(e2e_tok_len "$E/tok/long") - $(b64len "$plen") ))
len_with() { echo $(( base + $(b64len $(( plen + 10 + $1 )) ) )); }
fit=64
while [ "$fit" -gt 0 ] && [ "$(len_with "$fit")" -gt 511 ]; do fit=$((fit - 1)); done
if [ "$fit" -lt 64 ]; then
	out=$(runuser -u "$LONGU" -- "$PAT" -c "$CONF" mint --name "$LABEL64" 2>&1); rc=$?
	check_eq "size: 32-character user, 64-character label: mint refuses a $(len_with 64)-character token" \
		"1 dbnl-pat mint: refused (too_long): token would be $(len_with 64) characters, the limit is 511" \
		"$rc $out"
	out=$(runuser -u "$LONGU" -- "$PAT" -c "$CONF" mint --name "${LABEL64:0:$((fit + 1))}" 2>&1); rc=$?
	check_eq "size: ... and a $((fit + 1))-character label ($(len_with $((fit + 1))) characters)" \
		"1 dbnl-pat mint: refused (too_long): token would be $(len_with $((fit + 1))) characters, the limit is 511" \
		"$rc $out"
fi
mint "$LONGU" "$E/tok/long-label" --name "${LABEL64:0:$fit}"
check_eq "size: 32-character user mints with the longest label that fits ($fit)" 0 "$?"
check_eq "size: that token has the predicted length" "$(len_with "$fit")" \
	"$(e2e_tok_len "$E/tok/long-label")"
for t in alice alice-label long long-label; do
	u=alice; case $t in long*) u=$LONGU ;; esac
	len=$(e2e_tok_len "$E/tok/$t")
	echo "      (token $t: $len characters)"
	check_eq "size: token $t is within sudo's limit (<= 511 characters)" yes \
		"$([ "$len" -le 511 ] && echo yes || echo "no: $len")"
	sudo_case "token $t ($len characters)" "$u" "$E/tok/$t" "rc=0 out=root"
	ssh_case "token $t ($len characters)" "$PORT_TO" keyboard-interactive "$u" "$E/tok/$t" \
		"rc=0 out=$u"
	ssh_case "token $t ($len characters)" "$PORT_TO" password "$u" "$E/tok/$t" "rc=0 out=$u"
done

# sudo's own limit, with valid tokens signed by tokentool: the longest token
# of at most 511 characters passes, the shortest of 512 or more is refused; ssh
# takes both. (base64url makes some lengths impossible: the nearest are used.)
size_sign() { # PADLEN FILE
	"$B/tests/tokentool" sign --alg ES256 --key "$E/etc/signing.key" --kid "$KID" --claims \
		"{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"nbf\":$NOW,\"exp\":$((NOW + 3600)),\"jti\":\"e2e-size\",\"name\":\"$(printf '%*s' "$1" '' | tr ' ' p)\"}" > "$2"
}
size_sign 0 "$E/tok/size"
k=$(( ( 500 - $(e2e_tok_len "$E/tok/size") ) * 3 / 4 ))
under=0 over=0
while [ "$over" = 0 ] && [ "$k" -lt 200 ]; do
	size_sign "$k" "$E/tok/size"
	l=$(e2e_tok_len "$E/tok/size")
	if [ "$l" -le 511 ]; then under=$l; cp "$E/tok/size" "$E/tok/under"
	else over=$l; cp "$E/tok/size" "$E/tok/over"; fi
	k=$((k + 1))
done
echo "      (boundary tokens: $under and $over characters)"
sudo_case "a valid $under-character token passes sudo" alice "$E/tok/under" "rc=0 out=root"
sudo_case "a valid $over-character token is refused by sudo (512 or more)" alice \
	"$E/tok/over" "rc=1 out="
ssh_case "a valid $over-character token passes ssh" "$PORT_TO" password alice \
	"$E/tok/over" "rc=0 out=alice"

# ---- nothing left behind is checked by the runner's cleanups; report time ----
echo "      (e2e suite: $(( $(date +%s) - E2E_T0 )) s after slapd start)"
[ -n "${E2E_DEBUG:-}" ] && { rm -rf "$E2E_DEBUG"; cp -a "$E" "$E2E_DEBUG"; }
