# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The Debian chroot of the packaging tests (sourced by test-repo.sh and test-kernel-upgrade.sh): a minbase system
# made once by mmdebstrap from the host's mirror, unpacked fresh for each test, commands run in it, and a
# repository folder served on 127.0.0.1. The caller sets top, work, base, arch, SUITE and MIRROR.

# chroot_prepare: a skip without root, a failure without the tools, $work made and absolute, the clock of step
chroot_prepare() {
	if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (chroot)"; exit 0; fi
	for t in mmdebstrap reprepro gpg python3; do
		command -v "$t" >/dev/null || { echo "not ok 1 - $t is missing (make deps)"; exit 1; }
	done
	mkdir -p "$work"
	work=$(cd "$work" && pwd)
	t_start=$SECONDS
}
# step TEXT: a comment line with the seconds since chroot_prepare
step() { echo "# [$((SECONDS - t_start)) s] $*"; }

# chroot_tarball: the minbase tarball (systemd, kmod, openssh-server, procps, strace), made when missing; its path
chroot_tarball() {
	local tarball=$work/$base-$arch-minbase.tar
	if [ ! -f "$tarball" ]; then
		echo "# mmdebstrap $SUITE from $MIRROR" >&2
		mmdebstrap --quiet --variant=minbase --include=systemd,kmod,openssh-server,procps,strace "$SUITE" \
			"$work/partial.tar" "$MIRROR" >"$work/mmdebstrap.log" 2>&1 ||
			{ tail -n 20 "$work/mmdebstrap.log" >&2; return 1; }
		mv "$work/partial.tar" "$tarball"
	fi
	echo "$tarball"
}

# chroot_unpack ROOT: a fresh system in ROOT, in which no service starts
chroot_unpack() {
	local tarball
	tarball=$(chroot_tarball) || return 1
	rm -rf "$1"
	mkdir -p "$1"
	tar -xf "$tarball" -C "$1"
	[ -x "$1/usr/bin/apt-get" ] || { echo "# unpacking $tarball gave no system" >&2; return 1; }
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod +x "$1/usr/sbin/policy-rc.d"
}

# chroot_start ROOT REPOS: a fresh system in ROOT (sets root) and an empty folder REPOS for repositories; at exit
# both are removed and the repository server (serve) is stopped
chroot_start() {
	root=$1 server_pid=
	# shellcheck disable=SC2064 # the folders are fixed now
	trap "[ -z \"\$server_pid\" ] || kill \"\$server_pid\" 2>/dev/null; rm -rf '$1' '$2'" EXIT
	rm -rf "$2"
	mkdir -p "$2"
	chroot_unpack "$1"
}

# inroot CMD...: run in the chroot $root with /proc and /dev, in a private mount namespace (nothing to unmount)
inroot() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
		exec chroot "$0" "$@"' "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

# serve DIR LOG: DIR over HTTP on 127.0.0.1; sets server_pid and port (empty when it did not start)
serve() {
	python3 -u -m http.server --bind 127.0.0.1 --directory "$1" 0 >"$2" 2>&1 &
	server_pid=$!
	port=
	for _ in $(seq 50); do
		port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$2" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.1
	done
}
