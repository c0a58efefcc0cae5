#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# Install the packages named in dependency lists (default: every tools/deps*.list) with apt-get,
# only those that are missing. Idempotent; refuses clearly when something is missing and we are not root.
#   tools/deps.sh [--check] [LIST...]
set -eu

check_only=0
if [ "${1:-}" = "--check" ]; then check_only=1; shift; fi
here=$(dirname "$0")
[ $# -gt 0 ] || set -- "$here"/deps*.list

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
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

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
