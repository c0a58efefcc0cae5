#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# Install the packages named in dependency lists (default: every tools/deps*.list) with apt-get,
# only those that are missing. Idempotent; refuses clearly when something is missing and we are not root.
#   tools/deps.sh [--check] [--foreign-arch ARCH] [LIST...]
# A name may carry an architecture (libhwloc-dev:arm64); one without it is that of this machine (or "all").
# --foreign-arch ARCH adds ARCH to dpkg's architectures first where it is missing (`make deps-arm64`).
set -eu

check_only=0
foreign=""
while [ $# -gt 0 ]; do
	case $1 in
	--check) check_only=1; shift ;;
	--foreign-arch) foreign=${2:?--foreign-arch needs an architecture}; shift 2 ;;
	*) break ;;
	esac
done
here=$(dirname "$0")
[ $# -gt 0 ] || set -- "$here"/deps*.list
native=$(dpkg --print-architecture)

# libclang-rt-N-dev for the clang that `clang` points to (14 on bookworm, 18 on noble)
clang_rt() {
	v=$(apt-cache depends clang 2>/dev/null | sed -n 's/.*Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n1)
	[ -n "$v" ] || v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n1)
	[ -n "$v" ] || { echo "deps: cannot tell which clang version apt would install; run 'apt-get update' first" >&2; exit 1; }
	echo "libclang-rt-$v-dev"
}

wanted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@" | tr -d ' \t' | sort -u)
missing=""
for p in $wanted; do
	[ "$p" = clang-rt ] && p=$(clang_rt)
	# (without an architecture dpkg-query answers for every one installed: one line each)
	st=$(dpkg-query -W -f='${db:Status-Status} ${Architecture}\n' "$p" 2>/dev/null || true)
	case $p in
	*:*) echo "$st" | grep -q '^installed ' ;;
	*) echo "$st" | grep -qE "^installed ($native|all)\$" ;;
	esac || missing="$missing $p"
done
if [ -n "$foreign" ] && ! dpkg --print-foreign-architectures | grep -qx "$foreign"; then
	echo "deps: dpkg has no $foreign architecture"
	[ "$check_only" = 0 ] || exit 1
	if [ "$(id -u)" != 0 ]; then
		echo "deps: adding an architecture needs root; run: sudo dpkg --add-architecture $foreign" >&2
		exit 1
	fi
	dpkg --add-architecture "$foreign" # (its package lists are fetched below: its packages are missing)
fi

if [ -z "$missing" ]; then
	echo "deps: all $(echo "$wanted" | wc -w) build dependencies are installed"
	exit 0
fi
echo "deps: missing:$missing"
[ "$check_only" = 0 ] || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "deps: installing packages needs root; run: sudo apt-get install$missing" >&2
	exit 1
fi
apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
