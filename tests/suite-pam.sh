# SPDX-License-Identifier: BSD-3-Clause
# The built module through the real libpam (pam_wrapper + libpamtest), against
# a real slapd on 127.0.0.1 with the fixture directory (tests/fixtures).
# Every case asserts the exact PAM code.

. "$S/tests/slapd.sh"
[ -n "${LDAP_URI:-}" ] || slapd_start

MOD="$B/.libs/pam_dbnl_pat.so"
PAMDIR=$(dirname "$(find /usr/lib /lib -name pam_unix.so -path '*security*' 2>/dev/null | head -1)")
P="$T/pam"
mkdir -p "$P/keys" "$P/svc" "$P/tok"
chmod 755 "$P" "$P/keys"
NOW=$(date +%s)
ISS="https://dbnl.test"

# --- keys: ES256 and RS256 as <kid>.pem, ES384 in a JWKS file, one untrusted ---
mkkey() { # NAME ALG-OPTS...
	openssl genpkey "${@:2}" -out "$P/$1.key" 2>/dev/null &&
		openssl pkey -in "$P/$1.key" -pubout -out "$P/$1.pub" 2>/dev/null
}
mkkey es256 -algorithm EC -pkeyopt ec_paramgen_curve:P-256
mkkey es384 -algorithm EC -pkeyopt ec_paramgen_curve:P-384
mkkey rs256 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
mkkey evil -algorithm EC -pkeyopt ec_paramgen_curve:P-256
K1=$("$B/tests/tokentool" kid "$P/es256.pub")
K2=$("$B/tests/tokentool" kid "$P/rs256.pub")
K3=$("$B/tests/tokentool" kid "$P/es384.pub")
cp "$P/es256.pub" "$P/keys/$K1.pem"
cp "$P/rs256.pub" "$P/keys/$K2.pem"
"$B/tests/tokentool" jwks "$P/es384.pub" > "$P/keys/site.jwks"
chmod 644 "$P/keys/"*

# --- configuration and services ---
# conf NAME [LINE...]: a config file with the common keys. "key = v" replaces the
# default of that key (or is appended), "+key = v" is appended as is (duplicates),
# "-key" drops the default.
conf() {
	local f="$P/$1.conf"; shift
	local d k l skip
	local defaults=("issuer = $ISS" "keys_dir = $P/keys" "algorithms = ES256 ES384 RS256"
		"ldap_uri = $LDAP_URI" "ldap_base = $LDAP_BASE"
		"ldap_disabled_filter = (employeeType=disabled)" "allow_groups = staff"
		"deny_groups = banned" "ldap_timeout = 5s")
	{
		for d in "${defaults[@]}"; do
			k=${d%% =*}; skip=0
			for l in "$@"; do
				[ "${l%% =*}" = "$k" ] || [ "$l" = "-$k" ] && skip=1
			done
			[ "$skip" = 1 ] || echo "$d"
		done
		for l in "$@"; do
			case "$l" in -*) ;; +*) echo "${l#+}" ;; *) echo "$l" ;; esac
		done
	} > "$f"
	chmod 644 "$f"
}
# svc NAME CONF [MODULE ARGS...]: auth + account lines using CONF.
svc() {
	local name=$1 cf=$2; shift 2
	printf 'auth required %s config=%s %s\naccount required %s config=%s %s\n' \
		"$MOD" "$P/$cf.conf" "$*" "$MOD" "$P/$cf.conf" "$*" > "$P/svc/$name"
}
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' "$PAMDIR" "$PAMDIR" > "$P/svc/other"
conf main
svc main main

# claims USER [json-members...]: default claims for USER, extra members appended.
claims() {
	local u=$1; shift
	local extra=""
	for m in "$@"; do extra="$extra,$m"; done
	printf '{"iss":"%s","sub":"%s","aud":"dbnl-pat","iat":%d,"nbf":%d,"exp":%d,"jti":"t-%s-%d"%s}' \
		"$ISS" "$u" "$NOW" "$NOW" $((NOW + 3600)) "$u" "$RANDOM" "$extra"
}
# tok NAME ALG KEY KID CLAIMS [extra tokentool args]: sign into $P/tok/NAME.
tok() {
	"$B/tests/tokentool" sign --alg "$2" --key "$P/$3.key" --kid "$4" --claims "$5" "${@:6}" \
		> "$P/tok/$1"
}
PAMENV=(env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$P/svc"
	PAM_WRAPPER_DEBUGLEVEL=2 PAM_WRAPPER_DISABLE_DEEPBIND=1
	UID_WRAPPER_DISABLE_DEEPBIND=1) # pam_wrapper 1.1.4 reads the UID_ name
LASTLOG="$P/last.log"
# pamcase NAME SERVICE USER TOKENFILE AUTH [ACCT]: asserts the exact code(s).
pamcase() {
	local name=$1 service=$2 user=$3 tf=$4 auth=$5 acct=${6:-}
	local out want
	out=$("${PAMENV[@]}" "$B/tests/pamcheck" "$service" "$user" "$tf" "$auth" $acct 2>"$LASTLOG")
	want="auth=$auth"
	[ -n "$acct" ] && [ "$auth" = PAM_SUCCESS ] && want="$want acct=$acct"
	check_eq "pam: $name" "$want" "$(printf '%s\n' "$out" | grep -E '^(auth|acct)=' | tr '\n' ' ' | sed 's/ $//')"
	PAMOUT=$out
}
groups_of() { printf '%s\n' "$PAMOUT" | sed -n 's/^groups=//p' | tr ' ' '\n' | sort | xargs; }

# ---------------------------------------------------------------- valid tokens
tok alice ES256 es256 "$K1" "$(claims alice)"
pamcase "valid ES256 token" main alice "$P/tok/alice" PAM_SUCCESS PAM_SUCCESS
check_eq "pam: DBNL_PAT_GROUPS holds the current groups" "devs staff" "$(groups_of)"
check_match "pam: decision logged with user, jti, kid, reason" \
	"user=alice jti=t-alice-[0-9]+ kid=$K1 rhost=- result=accepted reason=all checks passed" "$(cat "$LASTLOG")"
sig=$(cut -d. -f3 < "$P/tok/alice"); body=$(cut -d. -f2 < "$P/tok/alice")
check_nomatch "pam: the log never holds the token's signature" "$sig" "$(cat "$LASTLOG")"
check_nomatch "pam: the log never holds the token's payload" "$body" "$(cat "$LASTLOG")"

tok rs RS256 rs256 "$K2" "$(claims alice)"
pamcase "valid RS256 token (second key in the store)" main alice "$P/tok/rs" PAM_SUCCESS
tok jwks ES384 es384 "$K3" "$(claims alice)"
pamcase "valid ES384 token, key from a .jwks file" main alice "$P/tok/jwks" PAM_SUCCESS
tok audarr ES256 es256 "$K1" "$(claims alice | sed 's/"aud":"dbnl-pat"/"aud":["other","dbnl-pat"]/')"
pamcase "aud as an array containing the audience" main alice "$P/tok/audarr" PAM_SUCCESS
tok skew ES256 es256 "$K1" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$((NOW - 7200)),\"exp\":$((NOW - 30))}"
pamcase "expired 30 s ago, within clock_skew 60 s" main alice "$P/tok/skew" PAM_SUCCESS
tok nonbf ES256 es256 "$K1" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
pamcase "no nbf, no jti (foreign JOSE token) accepted" main alice "$P/tok/nonbf" PAM_SUCCESS
tok realnum ES256 es256 "$K1" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW.5,\"exp\":$((NOW + 60)).25}"
pamcase "NumericDate with a fraction accepted" main alice "$P/tok/realnum" PAM_SUCCESS

# Tokens from a standard JOSE library (PyJWT, Debian's python3-jwt) verify too.
pyjwt() { # NAME ALG KEYFILE KID USER
	/usr/bin/python3 - "$@" "$ISS" "$NOW" > "$P/tok/$1" <<'PY'
import sys, jwt
name, alg, keyfile, kid, user, iss, now = sys.argv[1:8]
now = int(now)
key = open(keyfile).read()
print(jwt.encode({"iss": iss, "sub": user, "aud": "dbnl-pat", "iat": now, "nbf": now,
                  "exp": now + 3600, "jti": "pyjwt-" + alg}, key, algorithm=alg,
                 headers={"kid": kid}))
PY
}
pyjwt py256 ES256 "$P/es256.key" "$K1" alice
pamcase "interop: ES256 token signed by PyJWT" main alice "$P/tok/py256" PAM_SUCCESS
pyjwt pyrs RS256 "$P/rs256.key" "$K2" alice
pamcase "interop: RS256 token signed by PyJWT" main alice "$P/tok/pyrs" PAM_SUCCESS
pyjwt py384 ES384 "$P/es384.key" "$K3" alice
pamcase "interop: ES384 token signed by PyJWT, key from JWKS" main alice "$P/tok/py384" PAM_SUCCESS

# ---------------------------------------------------------------- claim failures
c_base="\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\""
claimfail() { # NAME CLAIMS-JSON
	tok cf ES256 es256 "$K1" "$2"
	pamcase "refused: $1" main alice "$P/tok/cf" PAM_AUTH_ERR
}
claimfail "expired" "{$c_base,\"iat\":$((NOW - 7200)),\"exp\":$((NOW - 3600))}"
claimfail "nbf in the future" "{$c_base,\"iat\":$NOW,\"nbf\":$((NOW + 600)),\"exp\":$((NOW + 3600))}"
claimfail "iat in the future" "{$c_base,\"iat\":$((NOW + 600)),\"exp\":$((NOW + 3600))}"
claimfail "no exp" "{$c_base,\"iat\":$NOW}"
claimfail "no iat" "{$c_base,\"exp\":$((NOW + 3600))}"
claimfail "exp before iat" "{$c_base,\"iat\":$NOW,\"exp\":$((NOW - 1))}"
claimfail "lifetime over max_lifetime (365d)" "{$c_base,\"iat\":$NOW,\"exp\":$((NOW + 400 * 86400))}"
claimfail "wrong issuer" "{\"iss\":\"https://evil.test\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "wrong audience" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"other\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "no audience" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "aud array with a non-string" "{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":[\"dbnl-pat\",7],\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "no sub" "{\"iss\":\"$ISS\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "exp as a string" "{$c_base,\"iat\":$NOW,\"exp\":\"$((NOW + 60))\"}"
claimfail "iat as a boolean" "{$c_base,\"iat\":true,\"exp\":$((NOW + 60))}"
claimfail "sub as an array" "{\"iss\":\"$ISS\",\"sub\":[\"alice\"],\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "iss as a number" "{\"iss\":1,\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "duplicate sub (last would win in libjwt)" "{\"iss\":\"$ISS\",\"sub\":\"bob\",\"sub\":\"alice\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
claimfail "claims not an object" "[\"alice\"]"
claimfail "sub with an embedded NUL" "{\"iss\":\"$ISS\",\"sub\":\"alice\\u0000x\",\"aud\":\"dbnl-pat\",\"iat\":$NOW,\"exp\":$((NOW + 60))}"
tok bobs ES256 es256 "$K1" "$(claims bob)"
pamcase "refused: another user's token (bob's token, alice logging in)" main alice "$P/tok/bobs" PAM_AUTH_ERR
check_match "pam: wrong user logged as such" "reason=token is for another user" "$(cat "$LASTLOG")"

# ---------------------------------------------------------------- header and signature attacks
tokh() { # NAME HEADER-JSON [tokentool args...]: alice's claims, explicit header.
	"$B/tests/tokentool" sign --header "$2" --claims "$(claims alice)" "${@:3}" > "$P/tok/$1"
}
tokh none '{"alg":"none","typ":"JWT","kid":"'"$K1"'"}' --alg none
pamcase "refused: alg none" main alice "$P/tok/none" PAM_AUTH_ERR
tokh nonecase '{"alg":"None","kid":"'"$K1"'"}' --alg none
pamcase "refused: alg None" main alice "$P/tok/nonecase" PAM_AUTH_ERR
tokh hs '{"alg":"HS256","typ":"JWT","kid":"'"$K1"'"}' --alg HS256 --hmac-file "$P/keys/$K1.pem"
pamcase "refused: HS256 keyed with the public PEM (alg confusion)" main alice "$P/tok/hs" PAM_AUTH_ERR
tok downgrade RS256 rs256 "$K1" "$(claims alice)"
pamcase "refused: RS256 token naming the EC key's kid (key type mismatch)" main alice "$P/tok/downgrade" PAM_AUTH_ERR
tok es384off ES384 es384 "$K3" "$(claims alice)"
conf es256only 'algorithms = ES256'
svc es256only es256only
pamcase "refused: algorithm outside the allowlist" es256only alice "$P/tok/es384off" PAM_AUTH_ERR
tok evil ES256 evil "$K1" "$(claims alice)"
pamcase "refused: untrusted key with a trusted kid" main alice "$P/tok/evil" PAM_AUTH_ERR
tok unknownkid ES256 es256 "nosuchkid" "$(claims alice)"
pamcase "refused: unknown kid" main alice "$P/tok/unknownkid" PAM_AUTH_ERR
tokh nokid '{"alg":"ES256","typ":"JWT"}' --alg ES256 --key "$P/es256.key"
pamcase "refused: no kid" main alice "$P/tok/nokid" PAM_AUTH_ERR
for kid in "../$(basename "$P")/keys/$K1" "../../../../etc/passwd" "$P/keys/$K1" "$K1.pem" "$K1/" ; do
	tokh trav '{"alg":"ES256","typ":"JWT","kid":"'"$kid"'"}' --alg ES256 --key "$P/es256.key"
	pamcase "refused: kid path traversal '$kid'" main alice "$P/tok/trav" PAM_AUTH_ERR
done
for h in crit jku jwk x5u x5c; do
	tokh hdr '{"alg":"ES256","typ":"JWT","kid":"'"$K1"'","'$h'":"x"}' --alg ES256 --key "$P/es256.key"
	pamcase "refused: header parameter $h" main alice "$P/tok/hdr" PAM_AUTH_ERR
done
tokh duphdr '{"alg":"none","alg":"ES256","typ":"JWT","kid":"'"$K1"'"}' --alg ES256 --key "$P/es256.key"
pamcase "refused: duplicate alg in the header" main alice "$P/tok/duphdr" PAM_AUTH_ERR
tok der ES256 es256 "$K1" "$(claims alice)" --der
pamcase "refused: DER signature instead of JOSE R||S" main alice "$P/tok/der" PAM_AUTH_ERR
h=$(cut -d. -f1 < "$P/tok/alice"); s=$(cut -d. -f3 < "$P/tok/alice")
p2=$(printf '%s' "$(claims alice | sed 's/"exp":[0-9]*/"exp":9999999999/')" | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '%s.%s.%s' "$h" "$p2" "$s" > "$P/tok/tampered"
pamcase "refused: tampered payload" main alice "$P/tok/tampered" PAM_AUTH_ERR
printf '%s.%s.' "$h" "$body" > "$P/tok/nosig"
pamcase "refused: signature stripped" main alice "$P/tok/nosig" PAM_AUTH_ERR
printf '%s==' "$(cat "$P/tok/alice")" > "$P/tok/padded"
pamcase "refused: '==' appended" main alice "$P/tok/padded" PAM_AUTH_ERR
printf '%s ' "$(cat "$P/tok/alice")" > "$P/tok/space"
pamcase "refused: space appended" main alice "$P/tok/space" PAM_AUTH_ERR
printf '%s\n\n' "$(cat "$P/tok/alice")" > "$P/tok/newline"
pamcase "refused: newline appended" main alice "$P/tok/newline" PAM_AUTH_ERR
# Non-canonical last character: same bytes, an unused low bit set.
alpha='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
t=$(cat "$P/tok/alice"); last=${t: -1}; idx=$(( $(expr index "$alpha" "$last") - 1 ))
printf '%s%s' "${t%?}" "${alpha:$(( idx ^ 1 )):1}" > "$P/tok/noncanon"
pamcase "refused: non-canonical base64url in the signature" main alice "$P/tok/noncanon" PAM_AUTH_ERR
printf '%s.%s' "$t" "$s" > "$P/tok/four"
pamcase "refused: four segments" main alice "$P/tok/four" PAM_AUTH_ERR
{ printf 'eyJ'; head -c 1000000 /dev/zero | tr '\0' 'A'; printf '.eyJ.AAAA'; } > "$P/tok/huge"
pamcase "refused: 1 MB token-shaped input" main alice "$P/tok/huge" PAM_AUTH_ERR
deep=$(printf '%0.s[' $(seq 1 900))$(printf '%0.s]' $(seq 1 900))
tokh deephdr "{\"alg\":\"ES256\",\"kid\":\"$K1\",\"x\":$deep}" --alg ES256 --key "$P/es256.key"
pamcase "refused: 900-deep nested header (over 2 KiB)" main alice "$P/tok/deephdr" PAM_AUTH_ERR
deep=$(printf '%0.s[' $(seq 1 300))$(printf '%0.s]' $(seq 1 300))
tokh deephdr2 "{\"alg\":\"ES256\",\"kid\":\"$K1\",\"x\":$deep}" --alg ES256 --key "$P/es256.key"
pamcase "refused: 300-deep nested header parameter (within 2 KiB)" main alice "$P/tok/deephdr2" PAM_AUTH_ERR
tok nested ES256 es256 "$K1" "{$c_base,\"iat\":$NOW,\"exp\":$((NOW + 60)),\"x\":$deep}"
pamcase "300-deep nested extra claim is parsed safely and ignored" main alice "$P/tok/nested" PAM_SUCCESS

# ---------------------------------------------------------------- plain passwords
printf 'correct horse battery staple' > "$P/tok/plain"
pamcase "plain password: PAM_AUTH_ERR" main alice "$P/tok/plain" PAM_AUTH_ERR
# libpam turns a lone PAM_IGNORE into a failure, so observe the module's own code
# through the stack: on "ignore" jump over pam_deny to pam_permit.
printf 'auth [ignore=1 default=die] %s config=%s ignore_non_token\nauth requisite %s/pam_deny.so\nauth required %s/pam_permit.so\n' \
	"$MOD" "$P/main.conf" "$PAMDIR" "$PAMDIR" > "$P/svc/ignore"
pamcase "plain password with ignore_non_token: the module returns PAM_IGNORE" ignore alice "$P/tok/plain" PAM_SUCCESS
pamcase "invalid token with ignore_non_token is still PAM_AUTH_ERR" ignore alice "$P/tok/evil" PAM_AUTH_ERR
svc ignore2 main ignore_non_token
pamcase "plain password, ignore_non_token alone in the stack: libpam fails it" ignore2 alice "$P/tok/plain" PAM_PERM_DENIED
# Token-or-password stack of the admin guide: a wrong token falls through to pam_deny.
printf 'auth [success=done default=ignore] %s config=%s\nauth required %s/pam_deny.so\n' \
	"$MOD" "$P/main.conf" "$PAMDIR" > "$P/svc/either"
pamcase "token-or-password stack: token accepted" either alice "$P/tok/alice" PAM_SUCCESS
pamcase "token-or-password stack: non-token goes to the next module" either alice "$P/tok/plain" PAM_AUTH_ERR
: > "$P/tok/empty"
pamcase "empty password: PAM_AUTH_ERR" main alice "$P/tok/empty" PAM_AUTH_ERR
printf 'auth required %s config=%s use_first_pass\n' "$MOD" "$P/main.conf" > "$P/svc/firstpass"
pamcase "use_first_pass with no earlier password: PAM_AUTH_ERR" firstpass alice "$P/tok/alice" PAM_AUTH_ERR

# ---------------------------------------------------------------- broken configuration fails closed
brokencase() { # NAME SERVICE-FILE-CONTENT-CONF EXPECTED-LOG-REGEX
	pamcase "fail closed: $1" "$2" alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
	check_match "fail closed: $1 is logged" "$3" "$(cat "$LASTLOG")"
}
conf unknownkey 'colour = blue'; svc unknownkey unknownkey
brokencase "unknown key" unknownkey "unknownkey.conf:10: unknown key 'colour'"
conf dupkey '+issuer = https://other.test'; svc dupkey dupkey
brokencase "duplicate key" dupkey "dupkey.conf:10: duplicate key 'issuer'"
conf badval 'ldap_timeout = soon'; svc badval badval
brokencase "bad duration" badval "badval.conf:[0-9]+: bad duration 'soon' for 'ldap_timeout'"
conf badbool 'ldap_starttls = maybe'; svc badbool badbool
brokencase "bad boolean" badbool "badbool.conf:10: 'ldap_starttls' must be yes or no"
conf noissuer -issuer; svc noissuer noissuer
brokencase "missing issuer" noissuer "required key 'issuer' is missing"
svc nofile missing
brokencase "missing configuration file" nofile "missing.conf: cannot open"
conf ww; chmod 666 "$P/ww.conf"; svc ww ww
brokencase "world-writable configuration" ww "ww.conf: mode 0666 is writable by group or other"
conf lnk; ln -sf "$P/main.conf" "$P/link.conf"; svc lnk link
brokencase "symlinked configuration" lnk "link.conf: cannot open: is a symbolic link"
mkdir -p "$P/wkeys"; cp -p "$P/keys/"* "$P/wkeys/"; chmod 777 "$P/wkeys"
conf wkeys "keys_dir = $P/wkeys"; svc wkeys wkeys
brokencase "world-writable key directory" wkeys "wkeys: mode 0777 is writable by group or other"
mkdir -p "$P/wkey2"; cp -p "$P/keys/"* "$P/wkey2/"; chmod 755 "$P/wkey2"; chmod 666 "$P/wkey2/$K1.pem"
conf wkey2 "keys_dir = $P/wkey2"; svc wkey2 wkey2
brokencase "group/other-writable key file" wkey2 "$K1.pem: mode 0666 is writable by group or other"
mkdir -p "$P/badkey"; chmod 755 "$P/badkey"; cp -p "$P/keys/"* "$P/badkey/"; echo "garbage" > "$P/badkey/junk.pem"; chmod 644 "$P/badkey/junk.pem"
conf badkey "keys_dir = $P/badkey"; svc badkey badkey
brokencase "unparsable key file" badkey "junk.pem: not an SPKI PEM public key"
mkdir -p "$P/weak"; chmod 755 "$P/weak"; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -out "$P/weak/weak.pem" 2>/dev/null; chmod 644 "$P/weak/weak.pem"
conf weak "keys_dir = $P/weak"; svc weak weak
brokencase "RSA key under 2048 bits" weak "RSA key of 1024 bits"
mkdir -p "$P/nobodykey"; chmod 755 "$P/nobodykey"; cp -p "$P/keys/"* "$P/nobodykey/"; chown nobody "$P/nobodykey/$K1.pem"
conf nobodykey "keys_dir = $P/nobodykey"; svc nobodykey nobodykey
brokencase "key file owned by another user" nobodykey "$K1.pem: owned by uid [0-9]+, expected root"
printf 'auth required %s config=%s frobnicate\n' "$MOD" "$P/main.conf" > "$P/svc/badarg"
conf hsallowed 'algorithms = ES256 HS256'; svc hsallowed hsallowed
brokencase "HS256 in algorithms is a configuration error" hsallowed "algorithm 'HS256' not allowed"
conf nonealg 'algorithms = none'; svc nonealg nonealg
brokencase "none in algorithms is a configuration error" nonealg "algorithm 'none' not allowed"
brokencase "unknown module argument" badarg "unknown or malformed module argument 'frobnicate'"
conf claimname 'user_claim = name'; svc claimname claimname
brokencase "user_claim = name (the caller's own label) is a configuration error" claimname \
	"user_claim must not be 'name'"
conf slashdir "keys_dir = $P/keys/"; svc slashdir slashdir
brokencase "keys_dir ending in '/' (O_NOFOLLOW would follow a link)" slashdir \
	"'keys_dir' must not end in '/'"
mkdir -p "$P/open/keys"; chmod 777 "$P/open"; chmod 755 "$P/open/keys"; cp -p "$P/keys/"* "$P/open/keys/"
conf openparent "keys_dir = $P/open/keys"; svc openparent openparent
brokencase "key directory under a world-writable parent" openparent \
	"directory $P/open is writable by group or other"
mkdir -p "$P/rsae1"; chmod 755 "$P/rsae1"
"$B/tests/tokentool" jwks "$P/rs256.pub" | python3 -c '
import json, sys
j = json.load(sys.stdin)
for k in j["keys"]:
    k["e"] = "AQ"
json.dump(j, sys.stdout)' > "$P/rsae1/e1.jwks"; chmod 644 "$P/rsae1/e1.jwks"
conf rsae1 "keys_dir = $P/rsae1"; svc rsae1 rsae1
brokencase "RSA key with public exponent 1 (anyone could sign)" rsae1 \
	"RSA key with a public exponent that is even or below 65537"

# ---------------------------------------------------------------- LDAP: users, groups, policy
tok_for() { tok "$1" ES256 es256 "$K1" "$(claims "$1")"; }
for u in bob carol dave erin frank gina; do tok_for "$u"; done
pamcase "denied: bob is in deny group banned (deny wins over staff)" main bob "$P/tok/bob" PAM_AUTH_ERR
check_match "denied: reason logged" "user=bob .*reason=member of denied group 'banned'" "$(cat "$LASTLOG")"
pamcase "denied: dave is in no allowed group" main dave "$P/tok/dave" PAM_AUTH_ERR
pamcase "denied: carol matches ldap_disabled_filter" main carol "$P/tok/carol" PAM_AUTH_ERR
check_match "denied: disabled logged" "user=carol .*result=denied" "$(cat "$LASTLOG")"
tok zed ES256 es256 "$K1" "$(claims zed)"
pamcase "valid token, user not in LDAP: PAM_USER_UNKNOWN" main zed "$P/tok/zed" PAM_USER_UNKNOWN
for u in 'al*' '*' 'alice)(uid=*' 'a\2a' 'alice)(|(uid=*'; do
	uj=$(printf '%s' "$u" | sed 's/\\/\\\\/g')
	tok meta ES256 es256 "$K1" "$(claims "$uj")"
	pamcase "LDAP filter metacharacters in the user name '$u': PAM_USER_UNKNOWN" main "$u" "$P/tok/meta" PAM_USER_UNKNOWN
done
tok upper ES256 es256 "$K1" "$(claims ALICE)"
pamcase "user name differing from the entry only in case ('ALICE'): PAM_USER_UNKNOWN" main ALICE "$P/tok/upper" PAM_USER_UNKNOWN
conf nestoff 'ldap_nested_groups = no'; svc nestoff nestoff
conf neston 'ldap_nested_groups = yes'; svc neston neston
pamcase "nested groups off: erin (inner only) refused" nestoff erin "$P/tok/erin" PAM_AUTH_ERR
pamcase "nested groups on: erin (inner, in staff) accepted" neston erin "$P/tok/erin" PAM_SUCCESS
check_eq "nested groups on: erin's groups" "inner staff" "$(groups_of)"
conf loop 'ldap_nested_groups = yes' 'allow_groups = loop2'; svc loop loop
pamcase "nested groups: a cycle (loop1 <-> loop2) terminates" loop gina "$P/tok/gina" PAM_SUCCESS
check_eq "nested groups: gina's groups through the cycle" "loop1 loop2" "$(groups_of)"
conf member 'ldap_group_mode = member'; svc member member
pamcase "group mode member" member alice "$P/tok/alice" PAM_SUCCESS
check_eq "group mode member: groups" "devs staff" "$(groups_of)"
conf memberuid 'ldap_group_mode = memberuid' "ldap_group_base = ou=posixgroups,$LDAP_BASE"; svc memberuid memberuid
pamcase "group mode memberuid" memberuid alice "$P/tok/alice" PAM_SUCCESS
check_eq "group mode memberuid: groups" "devs staff" "$(groups_of)"
pamcase "group mode memberuid: deny still wins" memberuid bob "$P/tok/bob" PAM_AUTH_ERR
pamcase "group mode memberof: frank" main frank "$P/tok/frank" PAM_SUCCESS
check_eq "group mode memberof: frank's groups" "staff" "$(groups_of)"
# Per-line arguments override the file; account re-applies this line's policy.
printf 'auth required %s config=%s\naccount required %s config=%s allow_groups=devs\n' \
	"$MOD" "$P/main.conf" "$MOD" "$P/main.conf" > "$P/svc/acctdevs"
pamcase "account: alice in devs permitted" acctdevs alice "$P/tok/alice" PAM_SUCCESS PAM_SUCCESS
pamcase "account: frank not in devs gets PAM_PERM_DENIED" acctdevs frank "$P/tok/frank" PAM_SUCCESS PAM_PERM_DENIED
check_match "account: decision logged" "account: user=frank rhost=- result=denied reason=not a member of any allowed group" "$(cat "$LASTLOG")"
svc argdeny main deny_groups=devs,banned
pamcase "deny_groups= on the PAM line overrides the file" argdeny alice "$P/tok/alice" PAM_AUTH_ERR
svc argallow main allow_groups=devs
pamcase "allow_groups= on the PAM line overrides the file" argallow frank "$P/tok/frank" PAM_AUTH_ERR
printf 'account required %s config=%s\n' "$MOD" "$P/main.conf" > "$P/svc/acctonly"
out=$("${PAMENV[@]}" "$B/tests/pamcheck" acctonly alice "$P/tok/plain" PAM_AUTH_ERR 2>/dev/null)
check_eq "pam: auth from another module: nothing authenticated here" "auth=PAM_AUTH_ERR" "$out"

# Group removal takes effect at the next login, with the same token.
pamcase "frank logs in while in staff" main frank "$P/tok/frank" PAM_SUCCESS
ldap_admin_modify <<LDIF
dn: cn=staff,ou=groups,$LDAP_BASE
changetype: modify
delete: member
member: uid=frank,ou=people,$LDAP_BASE
LDIF
pamcase "frank's same token refused after removal from staff" main frank "$P/tok/frank" PAM_AUTH_ERR
check_match "removal: reason logged" "user=frank .*reason=not a member of any allowed group" "$(cat "$LASTLOG")"
ldap_admin_modify <<LDIF >/dev/null
dn: cn=staff,ou=groups,$LDAP_BASE
changetype: modify
add: member
member: uid=frank,ou=people,$LDAP_BASE
LDIF
pamcase "frank accepted again once back in staff" main frank "$P/tok/frank" PAM_SUCCESS

# ---------------------------------------------------------------- LDAP transport failures
DEAD=$(free_port)
conf down "ldap_uri = ldap://127.0.0.1:$DEAD"; svc down down
pamcase "LDAP down: PAM_AUTHINFO_UNAVAIL" down alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
conf failover "ldap_uri = ldap://127.0.0.1:$DEAD $LDAP_URI"; svc failover failover
pamcase "first URI dead, second alive: accepted" failover alice "$P/tok/alice" PAM_SUCCESS
HOLE=$(free_port)
"$B/tests/blackhole" "$HOLE" 60 & HOLEPID=$!
on_exit "kill $HOLEPID"
wait_port "$HOLE" 5
conf hole "ldap_uri = ldap://127.0.0.1:$HOLE" 'ldap_timeout = 2s'; svc hole hole
t0=$(date +%s%N)
pamcase "LDAP accepts and never answers: PAM_AUTHINFO_UNAVAIL" hole alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms" -lt 4000 ]; then pass "pam: silent LDAP bounded by ldap_timeout=2s (took ${ms} ms, bound 4000)"
else fail "pam: silent LDAP bounded by ldap_timeout=2s" "took ${ms} ms"; fi
conf ldaps "ldap_uri = $LDAPS_URI" "ldap_ca_file = $LDAP_CA"; svc ldaps ldaps
pamcase "ldaps:// with the right CA: accepted" ldaps alice "$P/tok/alice" PAM_SUCCESS
conf wrongca "ldap_uri = $LDAPS_URI" "ldap_ca_file = $LDAP_WRONG_CA"; svc wrongca wrongca
pamcase "ldaps:// with the wrong CA: PAM_AUTHINFO_UNAVAIL" wrongca alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
conf starttls 'ldap_starttls = yes' "ldap_ca_file = $LDAP_CA"; svc starttls starttls
pamcase "StartTLS with the right CA: accepted" starttls alice "$P/tok/alice" PAM_SUCCESS
conf stlswrong 'ldap_starttls = yes' "ldap_ca_file = $LDAP_WRONG_CA"; svc stlswrong stlswrong
pamcase "StartTLS with the wrong CA: PAM_AUTHINFO_UNAVAIL" stlswrong alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
conf bind 'ldap_starttls = yes' "ldap_ca_file = $LDAP_CA" "ldap_bind_dn = $LDAP_READER_DN" "ldap_bind_password_file = $LDAP_READER_PWFILE"; svc bind bind
pamcase "service bind with the right password: accepted" bind alice "$P/tok/alice" PAM_SUCCESS
printf 'not-the-password\n' > "$P/wrongpw"; chmod 600 "$P/wrongpw"
conf wrongbind 'ldap_starttls = yes' "ldap_ca_file = $LDAP_CA" "ldap_bind_dn = $LDAP_READER_DN" "ldap_bind_password_file = $P/wrongpw"; svc wrongbind wrongbind
pamcase "service bind with a wrong password: PAM_AUTHINFO_UNAVAIL" wrongbind alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
check_nomatch "wrong bind: the password is not logged" "not-the-password" "$(cat "$LASTLOG")"
conf clearbind "ldap_bind_dn = $LDAP_READER_DN" "ldap_bind_password_file = $LDAP_READER_PWFILE"; svc clearbind clearbind
pamcase "service bind over ldap:// without StartTLS: refused as a configuration error" clearbind alice "$P/tok/alice" PAM_AUTHINFO_UNAVAIL
check_match "clear-text bind: reason logged" "would send the bind password in clear text" "$(cat "$LASTLOG")"

# ---------------------------------------------------------------- valgrind over the PAM path
[ -n "${SANITIZED:-}" ] || {
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --keep-debuginfo=yes --suppressions="$S/tests/valgrind.supp")
for case in "main alice alice PAM_SUCCESS" "main alice evil PAM_AUTH_ERR" "main bob bob PAM_AUTH_ERR" \
	"main zed zed PAM_USER_UNKNOWN" "down alice alice PAM_AUTHINFO_UNAVAIL" "main alice huge PAM_AUTH_ERR" \
	"acctdevs frank frank PAM_SUCCESS PAM_PERM_DENIED" "bind alice alice PAM_SUCCESS" \
	"unknownkey alice alice PAM_AUTHINFO_UNAVAIL" "ldaps alice alice PAM_SUCCESS"; do
	set -- $case
	env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$P/svc" \
		PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1 "${VG[@]}" "$B/tests/pamcheck" "$1" "$2" "$P/tok/$3" "$4" ${5:-} \
		> "$P/vg.out" 2> "$P/vg.err"
	rc=$?
	if [ "$rc" -eq 0 ]; then pass "valgrind: $1/$2/$3 clean ($4)"
	else fail "valgrind: $1/$2/$3 ($4) exit $rc" "$(grep -E '==[0-9]+==' "$P/vg.err" | head -15)"; fi
done
}
