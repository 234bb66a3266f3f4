# SPDX-License-Identifier: BSD-3-Clause
# A scratch slapd for the tests, sourced by suites after tests/lib.sh.
#   slapd_start         start slapd on 127.0.0.1 (ldap:// and ldaps://), load
#                       tests/fixtures/*.ldif online, register slapd_stop
#   ldap_admin_modify   ldapmodify as the rootdn; LDIF on stdin
#   slapd_stop          stop it
# Exports: LDAP_URI LDAPS_URI LDAP_PORT LDAPS_PORT LDAP_CA LDAP_WRONG_CA
#   LDAP_BASE LDAP_ADMIN_DN LDAP_ADMIN_PW LDAP_READER_DN LDAP_READER_PWFILE
#   SLAPD_PID. Works as root and as an ordinary user.

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPD_PID=

# _slapd_certs DIR: test CA, server certificate for IP 127.0.0.1, unrelated CA.
_slapd_certs() {
	local d=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj "/CN=dbnl test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	openssl req -x509 "${ec[@]}" -keyout "$d/wrong-ca.key" -out "$d/wrong-ca.pem" -days 2 \
		-subj "/CN=dbnl unrelated CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	openssl req "${ec[@]}" -keyout "$d/server.key" -out "$d/server.csr" \
		-subj "/CN=127.0.0.1" 2>/dev/null || return 1
	printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" > "$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" \
		2>/dev/null || return 1
	chmod 600 "$d"/*.key
}

slapd_start() {
	local d="$T/ldap" i
	rm -rf "$d"   # a fresh directory for every suite's server
	mkdir -p "$d/db" || return 1
	LDAP_BASE="dc=dbnl,dc=test"
	LDAP_ADMIN_DN="cn=admin,$LDAP_BASE"
	LDAP_ADMIN_PW="admin-secret"
	LDAP_READER_DN="cn=reader,$LDAP_BASE"
	LDAP_READER_PWFILE="$d/reader.pw"
	LDAP_CA="$d/ca.pem"
	LDAP_WRONG_CA="$d/wrong-ca.pem"
	(umask 077 && printf 'reader-secret\n' > "$LDAP_READER_PWFILE")
	chmod 600 "$LDAP_READER_PWFILE"
	_slapd_certs "$d" || { echo "slapd_start: openssl failed" >&2; return 1; }
	cat > "$d/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile $d/slapd.pid
argsfile $d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
TLSCACertificateFile $d/ca.pem
TLSCertificateFile $d/server.pem
TLSCertificateKeyFile $d/server.key
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
database mdb
maxsize 33554432
dbnosync
suffix "$LDAP_BASE"
rootdn "$LDAP_ADMIN_DN"
rootpw $LDAP_ADMIN_PW
directory $d/db
index objectClass,uid,memberUid,member eq
overlay memberof
CONF
	for i in 1 2 3 4 5; do
		LDAP_PORT=$(free_port) && LDAPS_PORT=$(free_port) || return 1
		[ "$LDAP_PORT" != "$LDAPS_PORT" ] || continue
		LDAP_URI="ldap://127.0.0.1:$LDAP_PORT"
		LDAPS_URI="ldaps://127.0.0.1:$LDAPS_PORT"
		"$SLAPD_BIN" -d 0 -f "$d/slapd.conf" -h "$LDAP_URI/ $LDAPS_URI/" \
			>"$d/slapd.log" 2>&1 &
		SLAPD_PID=$!
		on_exit slapd_stop
		# Until it answers (or dies, e.g. a port taken meanwhile).
		local up=0
		for _ in $(seq 1 100); do
			if ldapsearch -x -LLL -H "$LDAP_URI" -b "" -s base "(objectClass=*)" \
				namingContexts >/dev/null 2>&1; then up=1; break; fi
			kill -0 "$SLAPD_PID" 2>/dev/null || break
			sleep 0.05
		done
		[ "$up" = 1 ] && break
		slapd_stop
	done
	if [ -z "$SLAPD_PID" ]; then
		echo "slapd_start: slapd did not start:" >&2; tail -5 "$d/slapd.log" >&2
		return 1
	fi
	export LDAP_URI LDAPS_URI LDAP_PORT LDAPS_PORT LDAP_CA LDAP_WRONG_CA LDAP_BASE \
		LDAP_ADMIN_DN LDAP_ADMIN_PW LDAP_READER_DN LDAP_READER_PWFILE SLAPD_PID
	# Online, so that the memberof overlay maintains memberOf.
	ldapadd -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PW" \
		-f "$S/tests/fixtures/base.ldif" >"$d/load.log" 2>&1 &&
	ldap_admin_modify < "$S/tests/fixtures/cycle.ldif" >>"$d/load.log" 2>&1 || {
		echo "slapd_start: loading fixtures failed:" >&2; tail -5 "$d/load.log" >&2
		return 1
	}
}

ldap_admin_modify() {
	ldapmodify -x -H "$LDAP_URI" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PW" "$@"
}

slapd_stop() {
	[ -n "$SLAPD_PID" ] || return 0
	stop_pid "$SLAPD_PID"
	SLAPD_PID=
	unset LDAP_URI LDAPS_URI LDAP_PORT LDAPS_PORT
	return 0
}
