#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The asios-base OpenSSH settings, proven by real handshakes on 127.0.0.1 between this machine's /usr/sbin/sshd
# and /usr/bin/ssh (throwaway host and client keys in a temporary folder, removed at the end with the servers):
#  - the client config (packages/asios-base/ssh.conf) is in effect (`ssh -G`);
#  - a server reading packages/asios-base/sshd.conf and a client reading ssh.conf negotiate the post-quantum
#    hybrid sntrup761x25519 (the client's "kex: algorithm:" debug line) and the command runs;
#  - a client offering only NIST-curve and finite-field exchanges is refused by that server;
#  - a client offering only curve25519 (older PuTTY, OpenSSH < 9.0, libraries) is accepted, and the server's log
#    (LogLevel DEBUG1) records the classical exchange, so an operator can find such clients;
#  - a legacy server offering only NIST-curve and finite-field exchanges is refused by the ASIOS client, and
#    reached by a client without ssh.conf (OpenSSH's defaults): the refusal is the config's doing.
# Needs root, sshd and ssh (skipped with the reason otherwise). About 1 s.
# SSHD_CONF=FILE, SSH_CONF=FILE: the settings under test (in a booted image: the installed
# /etc/ssh/sshd_config.d/asios.conf and /etc/ssh/ssh_config.d/asios.conf); default the source tree's.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
sshd_conf=${SSHD_CONF:-$top/packages/asios-base/sshd.conf}
ssh_conf=${SSH_CONF:-$top/packages/asios-base/ssh.conf}
sshd=${SSHD:-/usr/sbin/sshd} # SSHD=PATH: another sshd under test
hybrid=sntrup761x25519-sha512@openssh.com
kexlist="$hybrid,curve25519-sha256,curve25519-sha256@libssh.org"
classical=ecdh-sha2-nistp256,diffie-hellman-group14-sha256

if ! command -v ssh >/dev/null 2>&1; then echo "1..0 # SKIP no OpenSSH client (ssh)"; exit 0; fi
tmp=$(mktemp -d)
pids=()
# the listeners are stopped once their connections' processes have ended (up to 2 s; then those are stopped too),
# so that none is left behind for init to reap
cleanup() {
	local p kids=()
	for p in "${pids[@]}"; do
		for _ in $(seq 20); do
			mapfile -t kids < <(pgrep -P "$p")
			[ ${#kids[@]} = 0 ] && break
			sleep 0.1
		done
		[ ${#kids[@]} = 0 ] || kill "${kids[@]}" 2>/dev/null
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

printf 'Include "%s"\n' "$ssh_conf" >"$tmp/ssh_config"
check_eq "the client config is in effect: ssh -G offers the hybrid first, then X25519 only" "$kexlist" \
	"$(ssh -G -T -F "$tmp/ssh_config" 127.0.0.1 | sed -n 's/^kexalgorithms //p')"

why=''
if [ "$(id -u)" != 0 ]; then why="needs root (sshd)"
elif [ ! -x "$sshd" ]; then why="no OpenSSH server ($sshd: apt-get install openssh-server)"
elif ! command -v ssh-keygen >/dev/null 2>&1; then why="no ssh-keygen"
fi
if [ -n "$why" ]; then
	skip "real handshakes between sshd and ssh on 127.0.0.1" "$why"
	done_testing
	exit
fi

mkdir -p /run/sshd # the privilege separation folder, made by ssh.service's RuntimeDirectory otherwise
ssh-keygen -q -t ed25519 -N '' -C asios-test-host -f "$tmp/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C asios-test-client -f "$tmp/client_ed25519"
cp "$tmp/client_ed25519.pub" "$tmp/authorized_keys"

# start_sshd NAME HEAD: sshd -D -e on a free port of 127.0.0.1 with HEAD (a line read first: the first value
# wins) and what a test server needs; sets $port, log in $tmp/NAME.log. Fails when it does not listen.
start_sshd() {
	local name=$1 head=$2 pid
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		cat >"$tmp/$name.conf" <<-EOF
			$head
			ListenAddress 127.0.0.1
			Port $port
			HostKey $tmp/host_ed25519
			PidFile $tmp/$name.pid
			UsePAM no
			StrictModes no
			AuthorizedKeysFile $tmp/authorized_keys
			PermitRootLogin prohibit-password
			PasswordAuthentication no
			KbdInteractiveAuthentication no
		EOF
		"$sshd" -D -e -o LogLevel=DEBUG1 -f "$tmp/$name.conf" 2>"$tmp/$name.log" &
		pid=$!
		pids+=("$pid")
		for _ in $(seq 50); do
			grep -q "Server listening on 127.0.0.1 port $port" "$tmp/$name.log" && return 0
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		grep -q 'Address already in use' "$tmp/$name.log" || break
	done
	sed 's/^/#   sshd: /' "$tmp/$name.log"
	return 1
}
# connect LOG PORT SSH_ARGS...: `ssh -vv ... root@127.0.0.1 true` with the throwaway client key; the client's
# debug log into LOG, the exit status of ssh into $rc
connect() {
	local log=$1 p=$2
	shift 2
	timeout 15 ssh -vv -T -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -o IdentityAgent=none -o ConnectTimeout=5 -i "$tmp/client_ed25519" -p "$p" "$@" \
		root@127.0.0.1 true 2>"$log" </dev/null
	rc=$?
}
kex_of() { tr -d '\r' <"$1" | sed -n 's/^debug1: kex: algorithm: //p' | head -n 1; }
mark() { wc -l <"$1"; }
# server_check NAME LOG FROM TEXT: a check that the server's log after line FROM contains TEXT (waiting up to
# 3 s: the server's child may log after the client has gone); the log's relevant lines shown when not
server_check() {
	local seg=''
	for _ in $(seq 30); do
		seg=$(tail -n "+$(($3 + 1))" "$2")
		grep -qF -- "$4" <<<"$seg" && break
		sleep 0.1
	done
	check "$1" grep -qF -- "$4" <<<"$seg"
	grep -qF -- "$4" <<<"$seg" ||
		grep -E 'kex|negotiate|Accepted|Disconnect|error' <<<"$seg" | sed 's/^/#   sshd: /' | head -n 20
}
# show LOG: the relevant lines of a client's debug log (after a failed check)
show() {
	tr -d '\r' <"$1" | grep -E 'kex: algorithm|negotiate|Authenticat|Exit status|Permission|refused' |
		sed 's/^/#   ssh: /' | head -n 12
}

if ! start_sshd asios "Include \"$sshd_conf\""; then
	check "sshd with sshd.conf listens on 127.0.0.1" false
	done_testing
	exit
fi
check "sshd with sshd.conf listens on 127.0.0.1" true
check_eq "sshd's effective key exchange is sshd.conf's list (sshd -T)" "$kexlist" \
	"$("$sshd" -T -f "$tmp/asios.conf" | sed -n 's/^kexalgorithms //p')"
slog=$tmp/asios.log

# the ASIOS client and server: the hybrid
m=$(mark "$slog")
connect "$tmp/c-hybrid.log" "$port" -F "$tmp/ssh_config"
check_eq "ASIOS client to ASIOS server: the command ran (exit 0)" 0 "$rc"
check_eq "ASIOS client to ASIOS server: negotiated $hybrid" "$hybrid" "$(kex_of "$tmp/c-hybrid.log")"
[ "$rc" = 0 ] || show "$tmp/c-hybrid.log"
server_check "the server's log records the hybrid exchange" "$slog" "$m" "kex: algorithm: $hybrid"

# a classical-only client without X25519: refused
m=$(mark "$slog")
connect "$tmp/c-nist.log" "$port" -F "$tmp/ssh_config" -o "KexAlgorithms=$classical"
check "client offering only $classical: refused (exit non-zero)" test "$rc" != 0
check "  the client reports no matching key exchange method" \
	grep -q 'no matching key exchange method found' "$tmp/c-nist.log"
[ "$rc" != 0 ] || show "$tmp/c-nist.log"
server_check "  the server's log records the refusal" "$slog" "$m" "no matching key exchange method found"

# a classical client with X25519 (no hybrid): accepted, and visible in the server's log
m=$(mark "$slog")
connect "$tmp/c-x25519.log" "$port" -F "$tmp/ssh_config" -o KexAlgorithms=curve25519-sha256
check_eq "client offering only curve25519-sha256: accepted, the command ran (exit 0)" 0 "$rc"
check_eq "  negotiated curve25519-sha256" curve25519-sha256 "$(kex_of "$tmp/c-x25519.log")"
[ "$rc" = 0 ] || show "$tmp/c-x25519.log"
server_check "  the server's log (LogLevel DEBUG1) records the classical exchange" "$slog" "$m" \
	"kex: algorithm: curve25519-sha256"

# a legacy server without X25519: the ASIOS client refuses it, OpenSSH's defaults reach it
if start_sshd legacy "KexAlgorithms $classical"; then
	connect "$tmp/c-legacy.log" "$port" -F "$tmp/ssh_config"
	check "ASIOS client to a server offering only $classical: refused (exit non-zero)" test "$rc" != 0
	check "  the client reports no matching key exchange method" \
		grep -q 'no matching key exchange method found' "$tmp/c-legacy.log"
	[ "$rc" != 0 ] || show "$tmp/c-legacy.log"
	connect "$tmp/c-default.log" "$port" -F /dev/null
	check_eq "  a client without ssh.conf (OpenSSH defaults) reaches it: the refusal is ssh.conf's" \
		"0 ecdh-sha2-nistp256" "$rc $(kex_of "$tmp/c-default.log")"
	[ "$rc" = 0 ] || show "$tmp/c-default.log"
else
	check "sshd with KexAlgorithms $classical listens on 127.0.0.1" false
fi
done_testing
