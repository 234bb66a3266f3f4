# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the end-to-end suite (tests/suite-e2e.sh) and scripts/demo: real
# local users, real /etc/pam.d services, a real sshd and the real mint service.
# Sourced after tests/lib.sh (free_port, wait_port, on_exit). Needs root.
# Everything added to the system is registered with on_exit and so removed at
# exit, also after a failure. Tokens live in files; nothing here prints one.

E2E_MARK="dbnl-pat e2e test"   # GECOS of our users, first line of our files

# e2e_user NAME [PASSWORD]: a local account for an LDAP user, created only if
# absent (or left over from an interrupted run of ours: GECOS is E2E_MARK),
# removed at exit. With PASSWORD, sets it (only on an account we own).
# Returns 1 if NAME belongs to someone else (then it is left alone).
e2e_user() {
	local u=$1 pw=${2:-} gecos
	if id -u "$u" >/dev/null 2>&1; then
		gecos=$(getent passwd "$u" | cut -d: -f5)
		[ "$gecos" = "$E2E_MARK" ] || return 1
	else
		useradd -M -N -d /nonexistent -s /bin/sh -c "$E2E_MARK" "$u" || return 1
	fi
	on_exit "e2e_user_del $u"
	if [ -n "$pw" ]; then
		printf '%s:%s\n' "$u" "$pw" | chpasswd || return 1
	fi
	return 0
}
e2e_user_del() {
	rm -f "/run/sudo/ts/$1" "/var/lib/sudo/lectured/$1"
	userdel "$1"
}

# e2e_etc_file PATH MODE: write stdin to PATH (under /etc) as root:root MODE,
# first line "# E2E_MARK"; refuses to replace a file that is not ours.
e2e_etc_file() {
	local f=$1 mode=$2
	if [ -e "$f" ] && ! head -1 "$f" | grep -qxF "# $E2E_MARK"; then
		echo "e2e: $f exists and is not ours; not touching it" >&2
		return 1
	fi
	on_exit "rm -f '$f'"
	{ echo "# $E2E_MARK"; cat; } > "$f.e2e-tmp" &&
		chown root:root "$f.e2e-tmp" && chmod "$mode" "$f.e2e-tmp" &&
		mv -f "$f.e2e-tmp" "$f"
}

# e2e_pam_dir: the directory holding pam_unix.so (Debian: /usr/lib/<triplet>/security).
e2e_pam_dir() {
	dirname "$(find /usr/lib /lib -name pam_unix.so -path '*security*' 2>/dev/null | head -1)"
}

# e2e_sshd_start DIR SERVICE: an sshd on 127.0.0.1 at a free port, run through
# a symlink DIR/bin/SERVICE -> /usr/sbin/sshd so that its PAM service is SERVICE
# (/etc/pam.d/SERVICE). Sets E2E_SSHD_PORT and E2E_SSHD_PID; kills it at exit.
e2e_sshd_start() {
	local d=$1 svc=$2 try port
	mkdir -p "$d/bin" || return 1
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && on_exit "rmdir /run/sshd"
	fi
	[ -f "$d/host_ed25519" ] ||
		ssh-keygen -q -t ed25519 -N '' -C "$E2E_MARK" -f "$d/host_ed25519" || return 1
	ln -sf /usr/sbin/sshd "$d/bin/$svc"
	for try in 1 2 3 4 5; do
		port=$(free_port) || return 1
		cat > "$d/$svc.conf" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $d/host_ed25519
PidFile $d/$svc.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication yes
PubkeyAuthentication no
AuthenticationMethods any
PermitRootLogin no
PermitEmptyPasswords no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
CONF
		"$d/bin/$svc" -D -e -f "$d/$svc.conf" 2>>"$d/$svc.log" &
		E2E_SSHD_PID=$!
		on_exit "stop_pid $E2E_SSHD_PID"
		if wait_port "$port" 10 && kill -0 "$E2E_SSHD_PID" 2>/dev/null; then
			E2E_SSHD_PORT=$port
			return 0
		fi
		stop_pid "$E2E_SSHD_PID"
	done
	return 1
}

# e2e_ssh PORT METHOD USER SECRETFILE [CMD]: one non-interactive login with
# sshpass (first line of SECRETFILE), METHOD password or keyboard-interactive.
# Prints the remote command's stdout; returns sshpass's exit code (0 ran,
# 5 password refused).
e2e_ssh() {
	local port=$1 method=$2 user=$3 f=$4
	shift 4
	timeout 60 sshpass -f "$f" ssh -F /dev/null -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o PubkeyAuthentication=no -o GSSAPIAuthentication=no \
		-o PreferredAuthentications="$method" -o NumberOfPasswordPrompts=2 \
		-o ConnectTimeout=10 -o LogLevel=ERROR -p "$port" "$user@127.0.0.1" \
		"${@:-id -un}" 2>/dev/null
}

# e2e_mintd_start CONF SOCKET LOG: dbnl-patd in the foreground (as root: it drops
# to service_user). Sets E2E_MINT_PID; stopped at exit.
e2e_mintd_start() {
	"$B/dbnl-patd" -c "$1" -f 2>>"$3" &
	E2E_MINT_PID=$!
	on_exit "stop_pid $E2E_MINT_PID; rm -f '$2'"
	wait_socket "$2" "$E2E_MINT_PID"
}

# e2e_claims FILE: the decoded payload (JSON) of the token in FILE.
e2e_claims() {
	local p
	p=$(head -1 "$1" | cut -d. -f2 | tr '_-' '/+')
	while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d 2>/dev/null
}

# e2e_tok_len FILE: characters on the token's line.
e2e_tok_len() { head -1 "$1" | tr -d '\n' | wc -c; }
