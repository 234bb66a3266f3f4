# SPDX-License-Identifier: BSD-3-Clause
# dbnl-patd and dbnl-pat (mint, keygen, verify) against a real slapd, with
# real clients running as real users. Sourced by tests/run-tests.sh; needs root.
# Tokens stay in files under $MINT_D/tok and are never printed.

MINT_D="$T/mint"
PAT="$B/dbnl-pat"
PATD="$B/dbnl-patd"
SVC=dbnltest-svc   # the daemon's service user
OTH=dbnltest-oth   # owns nothing of ours
NOL=dbnltest-nol   # a local user who is not in LDAP
MINT_PID=

if [ "$(id -u)" != 0 ]; then
	skip "suite mint" "needs root (test users, privilege drop)"
	return 0
fi
if [ ! -x "$PATD" ] || [ ! -x "$PAT" ]; then
	fail "suite mint: $PATD and $PAT are built"
	return 0
fi
if [ -z "${SLAPD_PID:-}" ] || ! kill -0 "$SLAPD_PID" 2>/dev/null; then
	# shellcheck source=tests/slapd.sh
	. "$S/tests/slapd.sh"
	if ! slapd_start; then
		fail "suite mint: slapd starts"
		return 0
	fi
fi

mkdir -p "$MINT_D/etc" "$MINT_D/run" "$MINT_D/tok"
chmod 755 "$MINT_D" "$MINT_D/etc" "$MINT_D/run"
chmod 700 "$MINT_D/tok"

# Local accounts for the LDAP fixtures (created only if missing, removed at exit).
mint_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	useradd -M -N -r -d /nonexistent -s /usr/sbin/nologin "$1" >/dev/null 2>&1 &&
		on_exit "userdel $1"
}
for u in alice bob carol dave erin "$SVC" "$OTH" "$NOL"; do
	mint_user "$u" || fail "create test user $u"
done

# as USER CMD...: run as that real user (uid, gid, no supplementary groups kept).
mint_as() { local u=$1; shift; runuser -u "$u" -- "$@"; }

# The payload of token file $1, as compact JSON.
mint_payload() {
	local p
	p=$(cut -d. -f2 < "$1" | tr '_-' '/+')
	while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d 2>/dev/null
}
mint_claim() { mint_payload "$1" | jq -r ".$2 // empty"; }

# mint_conf FILE KEY [extra lines...]
mint_conf() {
	local f=$1 key=$2; shift 2
	{
		echo "issuer = https://dbnl.test"
		echo "keys_dir = $MINT_D/etc/keys"
		echo "ldap_uri = $LDAP_URI"
		echo "ldap_base = $LDAP_BASE"
		echo "ldap_disabled_filter = (employeeType=disabled)"
		echo "mint_groups = staff"
		echo "signing_key = $key"
		echo "socket = $MINT_D/run/mint.sock"
		echo "default_ttl = 1d"
		echo "max_ttl = 7d"
		echo "service_user = $SVC"
		local l
		for l in "$@"; do echo "$l"; done
	} > "$f"
	chmod 644 "$f"
}

# mint_start_daemon [ARGS...]: the real daemon, as root (it drops to $SVC).
mint_start_daemon() {
	"$PATD" -c "$MINT_D/etc/dbnl-pat.conf" -f "$@" 2>>"$MINT_D/daemon.log" &
	MINT_PID=$!
	wait_socket "$MINT_D/run/mint.sock" "$MINT_PID"
}
mint_stop_daemon() {
	[ -n "$MINT_PID" ] || return 0
	kill "$MINT_PID" 2>/dev/null
	wait "$MINT_PID" 2>/dev/null
	local rc=$?
	MINT_PID=
	rm -f "$MINT_D/run/mint.sock"
	return $rc
}
on_exit mint_stop_daemon
mint_fdcount() { ls "/proc/$MINT_PID/fd" 2>/dev/null | wc -l; }
mint_workers() { pgrep -P "$MINT_PID" 2>/dev/null | wc -l; }

# A raw client: mint_client MODE ARG (send TEXT | big BYTES | idle SECONDS); prints the reply line.
cat > "$MINT_D/client.pl" <<'PERL'
use strict; use warnings; use Socket; use IO::Socket::UNIX;
$SIG{PIPE} = 'IGNORE';
my ($path, $mode, $arg) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or die "connect: $!\n";
if ($mode eq 'send') { print $s $arg; }
elsif ($mode eq 'big') { my $chunk = 'x' x 1024; for (1 .. $arg / 1024) { last unless print $s $chunk; } }
elsif ($mode eq 'idle') { }
$s->flush;
my $line = <$s>;
print defined $line ? $line : "(no reply)\n";
PERL
mint_client() { perl "$MINT_D/client.pl" "$MINT_D/run/mint.sock" "$@"; }

# ---- keygen --------------------------------------------------------------
mint_kid=$("$PAT" keygen --dir "$MINT_D/etc" 2>"$MINT_D/keygen.err"); rc=$?
check_eq "keygen exits 0" 0 "$rc"
check_match "keygen prints an RFC 7638 kid" '^[A-Za-z0-9_-]{43}$' "$mint_kid"
check_eq "keygen: signing.key is 0600" 600 "$(stat -c %a "$MINT_D/etc/signing.key")"
check_eq "keygen: keys/<kid>.pem is 0644" 644 "$(stat -c %a "$MINT_D/etc/keys/$mint_kid.pem" 2>/dev/null)"
check_match "keygen: public key is SPKI PEM" '^-----BEGIN PUBLIC KEY-----' \
	"$(head -1 "$MINT_D/etc/keys/$mint_kid.pem" 2>/dev/null)"
sum1=$(sha256sum < "$MINT_D/etc/signing.key")
out=$("$PAT" keygen --dir "$MINT_D/etc" 2>&1); rc=$?
check_eq "keygen refuses to overwrite (exit 1)" 1 "$rc"
check_match "keygen says it will not overwrite" "signing.key: already exists, not overwriting" "$out"
check_eq "keygen left the key untouched" "$sum1" "$(sha256sum < "$MINT_D/etc/signing.key")"
check_eq "keygen --dir: only one public key" 1 "$(ls "$MINT_D/etc/keys" | wc -l)"
chown "$SVC" "$MINT_D/etc/signing.key"

mint_conf "$MINT_D/etc/dbnl-pat.conf" "$MINT_D/etc/signing.key"

# ---- start-up refusals: exact messages -----------------------------------
# refused NAME KEYPATH EXPECTED-MESSAGE
mint_refused() {
	local out rc
	mint_conf "$MINT_D/etc/bad.conf" "$2"
	out=$(timeout 10 "$PATD" -c "$MINT_D/etc/bad.conf" -f 2>&1); rc=$?
	check_eq "daemon refuses $1 (exit 1)" 1 "$rc"
	check_eq "daemon refuses $1: exact message" "dbnl-patd: refusing to start: $3" "$out"
}
svc_uid=$(id -u "$SVC"); oth_uid=$(id -u "$OTH")
mkdir -p "$MINT_D/bad"; chmod 755 "$MINT_D/bad"
for mode in 0640 0604 0644 0660; do
	install -m "$mode" -o "$SVC" "$MINT_D/etc/signing.key" "$MINT_D/bad/k$mode"
	mint_refused "key mode $mode" "$MINT_D/bad/k$mode" \
		"signing key $MINT_D/bad/k$mode: mode $mode gives access to group or other, must be 0600 or 0400"
done
install -m 0600 -o "$OTH" "$MINT_D/etc/signing.key" "$MINT_D/bad/other"
mint_refused "a key owned by another user" "$MINT_D/bad/other" \
	"signing key $MINT_D/bad/other: owned by uid $oth_uid, must be owned by $SVC (uid $svc_uid)"
install -m 0600 -o root "$MINT_D/etc/signing.key" "$MINT_D/bad/root"
mint_refused "a key owned by root, not the service user" "$MINT_D/bad/root" \
	"signing key $MINT_D/bad/root: owned by uid 0, must be owned by $SVC (uid $svc_uid)"
ln -s "$MINT_D/etc/signing.key" "$MINT_D/bad/link"
mint_refused "a symlinked key" "$MINT_D/bad/link" "signing key $MINT_D/bad/link: is a symbolic link"
mkdir -p "$MINT_D/bad/dir"
mint_refused "a directory as key" "$MINT_D/bad/dir" "signing key $MINT_D/bad/dir: not a regular file"
mint_refused "a missing key" "$MINT_D/bad/none" \
	"signing key $MINT_D/bad/none: cannot open: No such file or directory"
mkdir -p "$MINT_D/open"; chmod 0777 "$MINT_D/open"
install -m 0600 -o "$SVC" "$MINT_D/etc/signing.key" "$MINT_D/open/k"
mint_refused "a key in a world-writable directory" "$MINT_D/open/k" \
	"signing key $MINT_D/open/k: directory $MINT_D/open is writable by group or other"
install -m 0600 -o "$SVC" /dev/null "$MINT_D/bad/empty"
mint_refused "a key that is not a P-256 PEM key" "$MINT_D/bad/empty" \
	"signing key $MINT_D/bad/empty: not a PEM EC P-256 private key"
[ -e "$MINT_D/run/mint.sock" ] && fail "no socket left behind by a refused start"

# ---- the daemon, as root, dropping to the service user --------------------
if ! mint_start_daemon; then
	fail "dbnl-patd starts" "$(tail -5 "$MINT_D/daemon.log")"
	return 0
fi
pass "dbnl-patd starts"
check_eq "daemon runs as the service user" "$svc_uid" \
	"$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$MINT_PID/status" | tr , '\n' | sort -u | tr -d '\n')"
check_eq "daemon has no supplementary groups" "" \
	"$(awk '/^Groups:/ {print $2}' "/proc/$MINT_PID/status")"
check_eq "daemon is not dumpable (core limit 0)" 0 \
	"$(awk '/^Max core file size/ {print $5}' "/proc/$MINT_PID/limits")"
check_eq "socket is world-connectable (0666)" 666 "$(stat -c %a "$MINT_D/run/mint.sock")"
base_fds=$(mint_fdcount)

# ---- every user gets a token for themselves ------------------------------
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/alice" 2>"$MINT_D/alice.err"; rc=$?
check_eq "alice: mint exits 0" 0 "$rc" 
check_eq "alice: stdout is the token line only" 1 "$(wc -l < "$MINT_D/tok/alice")"
check_match "alice: stdout is a JWT" '^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
	"$(sed 's/[A-Za-z0-9_-]/x/g; s/^x\{3\}/eyJ/' "$MINT_D/tok/alice" | sed 's/^/eyJ/; s/^eyJeyJ/eyJ/')"
check_eq "alice: nothing on stderr when stdout is not a tty" "" "$(cat "$MINT_D/alice.err")"
check_eq "alice: sub is alice" alice "$(mint_claim "$MINT_D/tok/alice" sub)"
check_eq "alice: iss" "https://dbnl.test" "$(mint_claim "$MINT_D/tok/alice" iss)"
check_eq "alice: aud" "dbnl-pat" "$(mint_claim "$MINT_D/tok/alice" aud)"
iat=$(mint_claim "$MINT_D/tok/alice" iat); exp=$(mint_claim "$MINT_D/tok/alice" exp)
check_eq "alice: lifetime is default_ttl (1d)" 86400 "$((exp - iat))"
check_eq "alice: nbf = iat" "$iat" "$(mint_claim "$MINT_D/tok/alice" nbf)"
check_match "alice: jti is 128 bits base64url" '^[A-Za-z0-9_-]{22}$' "$(mint_claim "$MINT_D/tok/alice" jti)"
check_eq "alice: no groups or roles in the token" "aud,exp,iat,iss,jti,nbf,sub" \
	"$(mint_payload "$MINT_D/tok/alice" | jq -r 'keys | join(",")')"
hdr=$(cut -d. -f1 < "$MINT_D/tok/alice" | tr '_-' '/+'); while [ $(( ${#hdr} % 4 )) -ne 0 ]; do hdr="$hdr="; done
check_eq "header: alg ES256, typ JWT, kid = thumbprint" "ES256 JWT $mint_kid" \
	"$(printf '%s' "$hdr" | base64 -d | jq -r '[.alg, .typ, .kid] | join(" ")')"
toklen=$(tr -d '\n' < "$MINT_D/tok/alice" | wc -c)
echo "      (default-claims token: $toklen characters)"
[ "$toklen" -lt 400 ] && pass "default token well under 512 characters ($toklen)" ||
	fail "default token well under 512 characters" "$toklen"

# A second token differs (fresh jti).
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --name "laptop ssh-1" --ttl 2d \
	> "$MINT_D/tok/alice2" 2>/dev/null; rc=$?
check_eq "alice: mint --name --ttl exits 0" 0 "$rc"
check_eq "alice: name label in the token" "laptop ssh-1" "$(mint_claim "$MINT_D/tok/alice2" name)"
check_eq "alice: --ttl 2d honoured" 172800 \
	"$(( $(mint_claim "$MINT_D/tok/alice2" exp) - $(mint_claim "$MINT_D/tok/alice2" iat) ))"
[ "$(mint_claim "$MINT_D/tok/alice" jti)" != "$(mint_claim "$MINT_D/tok/alice2" jti)" ] &&
	pass "two tokens, two jti" || fail "two tokens, two jti"

# Config may come after the subcommand, in --config=PATH form too.
out=$(mint_as alice "$PAT" mint --config="$MINT_D/etc/dbnl-pat.conf" --ttl 7d 2>&1 >"$MINT_D/tok/alice3"); rc=$?
check_eq "alice: --config after the subcommand, --ttl = max_ttl" 0 "$rc"

# ---- refusals ------------------------------------------------------------
out=$(mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --user bob 2>&1 >"$MINT_D/tok/x"); rc=$?
check_eq "alice asking for bob's token: exit 1" 1 "$rc"
check_match "alice asking for bob's token: reason" "refused \(denied\): only root may mint a token for another user" "$out"
check_eq "alice asking for bob's token: nothing on stdout" 0 "$(wc -c < "$MINT_D/tok/x")"

out=$(mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --ttl 8d 2>&1 >/dev/null); rc=$?
check_eq "--ttl over max_ttl: exit 1" 1 "$rc"
check_match "--ttl over max_ttl: reason" "refused \(bad_ttl\): ttl 691200s is longer than max_ttl 604800s" "$out"

"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --user bob > "$MINT_D/tok/bob" 2>"$MINT_D/root.err"; rc=$?
check_eq "root --user bob: exit 0" 0 "$rc"
check_eq "root --user bob: sub is bob" bob "$(mint_claim "$MINT_D/tok/bob" sub)"
grep -q "root (pid [0-9]*) asks for a token for bob" "$MINT_D/daemon.log" &&
	pass "root minting for bob is logged" || fail "root minting for bob is logged"

mint_as bob "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/bob2" 2>/dev/null; rc=$?
check_eq "bob: mint for himself" "0 bob" "$rc $(mint_claim "$MINT_D/tok/bob2" sub)"

out=$(mint_as dave "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint 2>&1 >/dev/null); rc=$?
check_eq "dave (outside mint_groups): exit 1" 1 "$rc"
check_match "dave: reason" "refused \(denied\): may not mint: not a member of any allowed group" "$out"

out=$(mint_as erin "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint 2>&1 >/dev/null); rc=$?
check_eq "erin (outside mint_groups): exit 1" 1 "$rc"

out=$(mint_as carol "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint 2>&1 >/dev/null); rc=$?
check_eq "carol (disabled in LDAP): exit 1" 1 "$rc"
check_match "carol: refused as denied" "refused \(denied\)" "$out"

out=$(mint_as "$NOL" "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint 2>&1 >/dev/null); rc=$?
check_eq "a user not in LDAP: exit 1" 1 "$rc"
check_match "a user not in LDAP: reason" "refused \(unknown_user\): user $NOL is not in the directory" "$out"

# A local name the mint does not accept ('$' is legal for useradd): refused
# with a reason, never cut or rewritten into someone else's name.
ODD='dbnlodd$'
if useradd -M -N -r -d /nonexistent -s /usr/sbin/nologin "$ODD" >/dev/null 2>&1; then
	on_exit "userdel '$ODD'"
	out=$(mint_as "$ODD" "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint 2>&1 >/dev/null); rc=$?
	check_eq "a caller whose name the mint does not accept: exit 1 and the reason" \
		"1 dbnl-pat mint: refused (unknown_user): uid $(id -u "$ODD") has a user name the mint does not accept" \
		"$rc $out"
else
	fail "create test user $ODD"
fi

out=$("$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --user nosuchuser 2>&1 >/dev/null); rc=$?
check_eq "root --user for someone not in LDAP: exit 1" 1 "$rc"

# Audit lines: one per mint or refusal, never the token.
grep -q "minted: uid=$(id -u alice) caller=alice user=alice jti=$(mint_claim "$MINT_D/tok/alice" jti) exp=$exp name=\"-\"" "$MINT_D/daemon.log" &&
	pass "audit line for alice's mint" || fail "audit line for alice's mint" "$(grep minted "$MINT_D/daemon.log" | head -2)"
grep -q "refused: uid=$(id -u dave) caller=dave user=dave code=denied" "$MINT_D/daemon.log" &&
	pass "audit line for dave's refusal" || fail "audit line for dave's refusal"
leaked=0
for f in "$MINT_D"/tok/*; do
	[ -s "$f" ] || continue
	grep -qF "$(cut -d. -f3 < "$f")" "$MINT_D/daemon.log" && leaked=1
done
check_eq "no token or signature in the daemon log" 0 "$leaked"

# ---- usage and exit codes of the client ----------------------------------
"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --ttl soon >/dev/null 2>&1
check_eq "mint --ttl soon: usage (2)" 2 "$?"
"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --name 'bad/label' >/dev/null 2>&1
check_eq "mint --name with a slash: usage (2)" 2 "$?"
"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --name "$(printf 'x%.0s' $(seq 1 65))" >/dev/null 2>&1
check_eq "mint --name of 65 characters: usage (2)" 2 "$?"
"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --bogus >/dev/null 2>&1
check_eq "mint --bogus: usage (2)" 2 "$?"
"$PAT" frobnicate >/dev/null 2>&1
check_eq "unknown subcommand: usage (2)" 2 "$?"
"$PAT" >/dev/null 2>&1
check_eq "no subcommand: usage (2)" 2 "$?"
mint_conf "$MINT_D/etc/nodaemon.conf" "$MINT_D/etc/signing.key" 
sed -i "s|^socket = .*|socket = $MINT_D/run/nobody.sock|" "$MINT_D/etc/nodaemon.conf"
out=$(mint_as alice "$PAT" -c "$MINT_D/etc/nodaemon.conf" mint 2>&1 >/dev/null); rc=$?
check_eq "daemon not running: exit 3" 3 "$rc"
check_match "daemon not running: message" "the mint service is not running \(cannot connect to $MINT_D/run/nobody.sock" "$out"
printf 'socket = %s\n' "$MINT_D/run/mint.sock" > "$MINT_D/etc/minimal.conf"; chmod 644 "$MINT_D/etc/minimal.conf"
mint_as alice "$PAT" -c "$MINT_D/etc/minimal.conf" mint > "$MINT_D/tok/alice4" 2>/dev/null; rc=$?
check_eq "mint needs only 'socket' from the configuration" "0 alice" "$rc $(mint_claim "$MINT_D/tok/alice4" sub)"

# ---- rate limit (default 10 per 60 s, every request counts) ------------------
codes=""
for i in $(seq 1 11); do
	mint_as dave "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint >/dev/null 2>"$MINT_D/rate.err"
	codes="$codes$?"
done
# dave made 1 request above, so requests 10 (the 9th here) pass and the 11th+ are limited.
check_eq "rate limit bites after 10 requests per minute (exit 4)" "11111111144" "$codes"
check_match "rate limit: message" "refused \(rate_limited\): rate limit: at most 10 tokens per 60 s; try again in [0-9]+ s" "$(cat "$MINT_D/rate.err")"
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/alice5" 2>/dev/null
check_eq "the rate limit is per user: alice still mints" 0 "$?"

# ---- interop: the PAM module accepts what dbnl-patd minted -------------------
mkdir -p "$MINT_D/svc"
printf 'auth required %s config=%s\naccount required %s config=%s\n' \
	"$B/.libs/pam_dbnl_pat.so" "$MINT_D/etc/dbnl-pat.conf" "$B/.libs/pam_dbnl_pat.so" \
	"$MINT_D/etc/dbnl-pat.conf" > "$MINT_D/svc/mintpam"
out=$(env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$MINT_D/svc" \
	"$B/tests/pamcheck" mintpam alice "$MINT_D/tok/alice" PAM_SUCCESS PAM_SUCCESS 2>/dev/null | grep -E '^(auth|acct)=' | xargs)
check_eq "interop: pam_dbnl_pat.so accepts alice's minted token" "auth=PAM_SUCCESS acct=PAM_SUCCESS" "$out"
out=$(env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$MINT_D/svc" \
	"$B/tests/pamcheck" mintpam bob "$MINT_D/tok/alice" PAM_AUTH_ERR 2>/dev/null | grep -E '^auth=' | xargs)
check_eq "interop: the module refuses alice's minted token for bob" "auth=PAM_AUTH_ERR" "$out"

# ---- verify: the module's own code ---------------------------------------
out=$(mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" verify < "$MINT_D/tok/alice" 2>&1); rc=$?
check_eq "verify (mint_as alice) accepts alice's token: exit 0" 0 "$rc"
check_match "verify prints the verdict" "^verdict +accepted" "$out"
check_match "verify prints the groups" "^groups +.*staff" "$out"
check_match "verify prints the jti" "^jti +$(mint_claim "$MINT_D/tok/alice" jti)" "$out"
check_nomatch "verify never prints the token" "$(cut -d. -f3 < "$MINT_D/tok/alice")" "$out"
out=$("$PAT" -c "$MINT_D/etc/dbnl-pat.conf" verify --user bob < "$MINT_D/tok/alice" 2>&1); rc=$?
check_eq "verify --user bob on alice's token: exit 1" 1 "$rc"
check_match "verify --user bob: refused" "^verdict +refused" "$out"
out=$("$PAT" verify --user alice -c "$MINT_D/etc/dbnl-pat.conf" < "$MINT_D/tok/alice2" 2>&1)
check_eq "verify: named token accepted" 0 "$?"
check_match "verify shows the name" '^name +laptop.ssh-1' "$out"
printf 'not a token\n' | "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" verify --user alice >/dev/null 2>&1
check_eq "verify of a password: exit 1" 1 "$?"
sed "s|^ldap_uri = .*|ldap_uri = ldap://127.0.0.1:$(free_port)|" "$MINT_D/etc/dbnl-pat.conf" > "$MINT_D/etc/noldap.conf"
"$PAT" -c "$MINT_D/etc/noldap.conf" verify --user alice < "$MINT_D/tok/alice" >/dev/null 2>&1
check_eq "verify with LDAP down: exit 3" 3 "$?"
"$PAT" -c "$MINT_D/etc/none.conf" verify --user alice < "$MINT_D/tok/alice" >/dev/null 2>&1
check_eq "verify with a missing configuration: exit 3" 3 "$?"
"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" verify --bogus < /dev/null >/dev/null 2>&1
check_eq "verify --bogus: usage (2)" 2 "$?"

# ---- hostile clients -------------------------------------------------------
out=$(mint_client big 8192)
check_match "oversized request: bad_request" '"code":"bad_request".*longer than 4096 bytes' "$out"
out=$(mint_client send $'hello there\n')
check_match "garbage: bad_request" '"ok":false,"code":"bad_request"' "$out"
out=$(mint_client send $'{"v":2,"op":"mint"}\n')
check_match "unknown protocol version" '"code":"unsupported_version"' "$out"
out=$(mint_client send $'{"v":1,"op":"mint","user":"bob","user":"alice"}\n')
check_match "duplicate keys refused" '"code":"bad_request"' "$out"
out=$(mint_client send $'{"v":1,"op":"mint","admin":true}\n')
check_match "unknown field refused" '"code":"bad_request".*unknown request field' "$out"
out=$(mint_client send $'{"v":1,"op":"mint","ttl":-5}\n')
check_match "negative ttl refused" '"code":"bad_ttl"' "$out"
start=$(date +%s%N)
out=$(mint_client idle 0)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_match "silent client gets a timeout reply" '"code":"bad_request".*timed out' "$out"
[ "$ms" -ge 4000 ] && [ "$ms" -le 8000 ] && pass "silent client cut after ~5 s ($ms ms)" ||
	fail "silent client cut after ~5 s" "$ms ms"

# 40 silent clients from one user do not stall another user.
pids=()
for i in $(seq 1 40); do mint_as erin perl "$MINT_D/client.pl" "$MINT_D/run/mint.sock" idle 0 >/dev/null 2>&1 & pids+=($!); done
sleep 0.5
start=$(date +%s%N)
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --name stall > "$MINT_D/tok/alice6" 2>/dev/null; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "alice mints while erin holds 40 silent connections" 0 "$rc"
[ "$ms" -lt 2000 ] && pass "... without waiting for them ($ms ms)" || fail "... without waiting for them" "$ms ms"
wait "${pids[@]}"

# 200 concurrent clients (root, from a fresh daemon with a high rate limit).
mint_stop_daemon
mint_start_daemon -r 1000 || fail "dbnl-patd restarts with -r 1000"
base_fds=$(mint_fdcount)
echo "      (daemon fds at rest: $base_fds)"
start=$(date +%s%N)
for i in $(seq 1 20); do "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --user alice >/dev/null 2>&1; done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "      (20 sequential mints: $ms ms, $((ms / 20)) ms each, client start-up and LDAP included)"
pids=()
for i in $(seq 1 200); do
	( "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint --user alice > "$MINT_D/tok/c$i" 2>"$MINT_D/tok/c$i.err"
	  echo $? > "$MINT_D/tok/c$i.rc" ) &
	pids+=($!)
done
for i in $(seq 1 30); do mint_client send $'junk\n' >/dev/null & pids+=($!); done
for i in $(seq 1 20); do mint_client big 100000 >/dev/null 2>&1 & pids+=($!); done
wait "${pids[@]}"
ok=0; other=0
for i in $(seq 1 200); do
	r=$(cat "$MINT_D/tok/c$i.rc")
	if [ "$r" = 0 ] && [ "$(mint_claim "$MINT_D/tok/c$i" sub)" = alice ]; then ok=$((ok + 1)); else other=$((other + 1)); fi
done
echo "      (200 concurrent: $ok minted, $other other)"
check_eq "200 concurrent clients all get a token" 200 "$ok"
kill -0 "$MINT_PID" 2>/dev/null && pass "daemon still up after the storm" || fail "daemon still up after the storm"
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/alice7" 2>/dev/null
check_eq "daemon answers afterwards" 0 "$?"
for i in $(seq 1 50); do [ "$(mint_workers)" = 0 ] && break; sleep 0.1; done
check_eq "no worker left behind" 0 "$(mint_workers)"
check_eq "daemon fd count back to baseline ($base_fds)" "$base_fds" "$(mint_fdcount)"

# Clean exit on SIGTERM.
mint_stop_daemon; rc=$?
check_eq "SIGTERM: clean exit 0" 0 "$rc"

# ---- service bind: the password is read as root, before the drop ---------
cp "$MINT_D/etc/dbnl-pat.conf" "$MINT_D/etc/plain.conf"
mint_conf "$MINT_D/etc/dbnl-pat.conf" "$MINT_D/etc/signing.key" "ldap_starttls = yes" \
	"ldap_ca_file = $LDAP_CA" "ldap_bind_dn = $LDAP_READER_DN" \
	"ldap_bind_password_file = $LDAP_READER_PWFILE"
check_eq "service bind: the password file is root's, 0600" "root 600" \
	"$(stat -c '%U %a' "$LDAP_READER_PWFILE")"
if mint_start_daemon; then
	mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/bound" 2>/dev/null
	check_eq "service bind: alice mints through a bound lookup (daemon no longer root)" \
		"0 alice" "$? $(mint_claim "$MINT_D/tok/bound" sub)"
	mint_stop_daemon
else
	fail "service bind: daemon starts" "$(tail -3 "$MINT_D/daemon.log")"
fi
check_nomatch "service bind: the password never reaches the log" "reader-secret" \
	"$(cat "$MINT_D/daemon.log")"
cp "$MINT_D/etc/plain.conf" "$MINT_D/etc/dbnl-pat.conf"

# ---- systemd socket activation -------------------------------------------
if command -v systemd-socket-activate >/dev/null 2>&1; then
	systemd-socket-activate -l "$MINT_D/run/act.sock" \
		"$PATD" -c "$MINT_D/etc/dbnl-pat.conf" -f 2>>"$MINT_D/daemon.log" >/dev/null &
	act=$!
	wait_socket "$MINT_D/run/act.sock"
	sed "s|^socket = .*|socket = $MINT_D/run/act.sock|" "$MINT_D/etc/dbnl-pat.conf" > "$MINT_D/etc/act.conf"
	chmod 666 "$MINT_D/run/act.sock"
	mint_as alice "$PAT" -c "$MINT_D/etc/act.conf" mint > "$MINT_D/tok/act" 2>/dev/null
	check_eq "socket activation: alice mints through an inherited socket" "0 alice" \
		"$? $(mint_claim "$MINT_D/tok/act" sub)"
	kill "$act" 2>/dev/null; wait "$act" 2>/dev/null
else
	skip "socket activation" "systemd-socket-activate not installed"
fi

# A malformed LISTEN_PID ("PID " with a trailing space) is no activation: the
# daemon makes its own socket and does not keep the inherited fd 3 open.
echo hello > "$MINT_D/inherited"
sh -c 'LISTEN_PID="$$ " LISTEN_FDS=1 exec "$1" -c "$2" -f' sh "$PATD" \
	"$MINT_D/etc/dbnl-pat.conf" 3<"$MINT_D/inherited" 2>>"$MINT_D/daemon.log" &
lp_pid=$!
on_exit "stop_pid $lp_pid"
wait_socket "$MINT_D/run/mint.sock"
mint_as alice "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/lp" 2>/dev/null
check_eq "malformed LISTEN_PID: the daemon serves on its own socket" "0 alice" \
	"$? $(mint_claim "$MINT_D/tok/lp" sub)"
check_eq "malformed LISTEN_PID: the inherited fd 3 is closed" "" \
	"$(readlink "/proc/$lp_pid/fd/3" 2>/dev/null | grep -F "$MINT_D/inherited")"
stop_pid "$lp_pid"; rm -f "$MINT_D/run/mint.sock"

# ---- started as systemd's unit does: unprivileged, inherited socket, and the
# bind password as the credential LoadCredential=ldap-bind-password:FILE makes
# (a copy in a directory only the service user reads, owned by it, 0400).
mkdir -p "$MINT_D/unit/run" "$MINT_D/unit/creds"
chown "$SVC" "$MINT_D/unit/run" "$MINT_D/unit/creds"
chmod 755 "$MINT_D/unit" "$MINT_D/unit/run"; chmod 500 "$MINT_D/unit/creds"
install -m 0400 -o "$SVC" "$LDAP_READER_PWFILE" "$MINT_D/unit/creds/ldap-bind-password"
mint_conf "$MINT_D/etc/unit.conf" "$MINT_D/etc/signing.key" "ldap_starttls = yes" \
	"ldap_ca_file = $LDAP_CA" "ldap_bind_dn = $LDAP_READER_DN" \
	"ldap_bind_password_file = $LDAP_READER_PWFILE"
sed -i "s|^socket = .*|socket = $MINT_D/unit/run/mint.sock|" "$MINT_D/etc/unit.conf"
out=$(timeout 10 runuser -u "$SVC" -- "$PATD" -c "$MINT_D/etc/unit.conf" -f 2>&1); rc=$?
check_eq "unprivileged with ldap_bind_dn and no credential: refuses to start" \
	"1 dbnl-patd: refusing to start: ldap_bind_dn needs the bind password: start dbnl-patd as root, or give it LoadCredential=ldap-bind-password:$LDAP_READER_PWFILE (see dbnl-patd(8))" \
	"$rc $(printf '%s\n' "$out" | grep -v '^dbnl-patd: configuration' | head -1)"
# A credential that is not private, and an empty one: refused at start.
mkdir -p "$MINT_D/unit/badcreds"; chown "$SVC" "$MINT_D/unit/badcreds"; chmod 700 "$MINT_D/unit/badcreds"
install -m 0440 -o "$SVC" "$LDAP_READER_PWFILE" "$MINT_D/unit/badcreds/ldap-bind-password"
out=$(timeout 10 runuser -u "$SVC" -- env CREDENTIALS_DIRECTORY="$MINT_D/unit/badcreds" \
	"$PATD" -c "$MINT_D/etc/unit.conf" -f 2>&1); rc=$?
check_eq "a credential readable by group: refuses to start" \
	"1 dbnl-patd: refusing to start: bind password: $MINT_D/unit/badcreds/ldap-bind-password: mode 0440 gives access to group or other" \
	"$rc $(printf '%s\n' "$out" | head -1)"
: > "$MINT_D/unit/badcreds/ldap-bind-password"; chmod 0400 "$MINT_D/unit/badcreds/ldap-bind-password"
out=$(timeout 10 runuser -u "$SVC" -- env CREDENTIALS_DIRECTORY="$MINT_D/unit/badcreds" \
	"$PATD" -c "$MINT_D/etc/unit.conf" -f 2>&1); rc=$?
check_eq "an empty credential: refuses to start" \
	"1 dbnl-patd: refusing to start: bind password file $MINT_D/unit/badcreds/ldap-bind-password is empty" \
	"$rc $(printf '%s\n' "$out" | head -1)"
if command -v systemd-socket-activate >/dev/null 2>&1; then
	runuser -u "$SVC" -- systemd-socket-activate -l "$MINT_D/unit/run/mint.sock" \
		-E CREDENTIALS_DIRECTORY="$MINT_D/unit/creds" \
		"$PATD" -c "$MINT_D/etc/unit.conf" -f 2>>"$MINT_D/unit.log" >/dev/null &
	unit_pid=$!
	on_exit "stop_pid $unit_pid"
	wait_socket "$MINT_D/unit/run/mint.sock"
	chmod 666 "$MINT_D/unit/run/mint.sock"
	mint_as alice "$PAT" -c "$MINT_D/etc/unit.conf" mint > "$MINT_D/tok/unit" 2>"$MINT_D/unit.err"
	check_eq "unit-style start: alice mints through a bound lookup (credential, never root)" \
		"0 alice" "$? $(mint_claim "$MINT_D/tok/unit" sub)"
	check_nomatch "unit-style start: the password never reaches the log" "reader-secret" \
		"$(cat "$MINT_D/unit.log")"
	stop_pid "$unit_pid"
else
	fail "unit-style start: systemd-socket-activate is installed (package systemd)"
fi

# ---- the socket directory: made 0755 if missing (umask 077 is in force), and
# a second daemon does not steal a live socket.
rm -rf "$MINT_D/fresh"
mint_conf "$MINT_D/etc/fresh.conf" "$MINT_D/etc/signing.key"
sed -i "s|^socket = .*|socket = $MINT_D/fresh/sub/mint.sock|" "$MINT_D/etc/fresh.conf"
mkdir -p "$MINT_D/fresh"; chmod 755 "$MINT_D/fresh"
"$PATD" -c "$MINT_D/etc/fresh.conf" -f 2>>"$MINT_D/fresh.log" &
fresh_pid=$!
on_exit "stop_pid $fresh_pid"
wait_socket "$MINT_D/fresh/sub/mint.sock"
check_eq "a socket directory the daemon creates is 0755, root's" "755 root" \
	"$(stat -c '%a %U' "$MINT_D/fresh/sub")"
mint_as alice "$PAT" -c "$MINT_D/etc/fresh.conf" mint > "$MINT_D/tok/fresh" 2>/dev/null
check_eq "... and users reach the socket in it" "0 alice" "$? $(mint_claim "$MINT_D/tok/fresh" sub)"
out=$(timeout 10 "$PATD" -c "$MINT_D/etc/fresh.conf" -f 2>&1); rc=$?
check_eq "a second daemon on a live socket refuses to start" \
	"1 dbnl-patd: refusing to start: another dbnl-patd is listening on $MINT_D/fresh/sub/mint.sock" \
	"$rc $(printf '%s\n' "$out" | head -1)"
mint_as alice "$PAT" -c "$MINT_D/etc/fresh.conf" mint > "$MINT_D/tok/fresh2" 2>/dev/null
check_eq "... and the first one still answers" "0 alice" "$? $(mint_claim "$MINT_D/tok/fresh2" sub)"
stop_pid "$fresh_pid"

# ---- valgrind ---------------------------------------------------------------
if command -v valgrind >/dev/null 2>&1; then
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$PAT" -c "$MINT_D/etc/dbnl-pat.conf" verify --user alice < "$MINT_D/tok/alice" \
		>/dev/null 2>"$MINT_D/vg-verify.log"
	check_eq "valgrind: dbnl-pat verify clean (exit 0)" 0 "$?"
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$PATD" -c "$MINT_D/etc/dbnl-pat.conf" -f 2>"$MINT_D/vg-daemon.log" &
	MINT_PID=$!
	wait_socket "$MINT_D/run/mint.sock" "" 10
	mint_as bob "$PAT" -c "$MINT_D/etc/dbnl-pat.conf" mint > "$MINT_D/tok/vg" 2>/dev/null
	check_eq "valgrind: daemon mints" "0 bob" "$? $(mint_claim "$MINT_D/tok/vg" sub)"
	mint_client send $'garbage\n' >/dev/null
	sleep 0.3
	mint_stop_daemon; rc=$?
	check_eq "valgrind: dbnl-patd clean (exit 0)" 0 "$rc"
	[ "$rc" = 0 ] || sed -n 1,30p "$MINT_D/vg-daemon.log"
else
	skip "valgrind" "not installed"
fi

# ---- make install: no setuid/setgid file, no capabilities --------------------
if make -C "$B" install DESTDIR="$T/inst" >"$MINT_D/install.log" 2>&1; then
	pass "make install DESTDIR"
	check_eq "no installed file is setuid or setgid" "" "$(find "$T/inst" -perm /6000)"
	check_eq "no installed file has a capability" "" "$(getcap -r "$T/inst" 2>/dev/null)"
	check_eq "systemd units installed" 2 \
		"$(find "$T/inst" -name 'dbnl-patd.s*' \( -name '*.service' -o -name '*.socket' \) | wc -l)"
	check_eq "dbnl-pat installed 0755" 755 "$(stat -c %a "$T/inst/usr/bin/dbnl-pat" 2>/dev/null)"
else
	fail "make install DESTDIR" "$(tail -5 "$MINT_D/install.log")"
fi
