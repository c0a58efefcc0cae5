#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/release (`make release`): the version scheme is enforced (YY.MM-alpha.N, YY.MM-beta.N, YY.MM; a beta or GA
# names April or October and ships the generic and virt kernels), and an alpha's set is complete and verifiable:
# the .debs and the test kernel (when built) in a signed repository, release notes from both changelogs, a
# SHA256SUMS over every file whose detached signature verifies with the repository's key and that catches a
# changed file. Work folder: ${ASIOS_PACKAGING:-build/packaging}/release.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
work=${ASIOS_PACKAGING:-$top/build/packaging}/release
rm -rf "$work"
mkdir -p "$work"
export GNUPGHOME=$work/gnupg
"$top/tools/repo-key" "ASIOS release test key" >/dev/null 2>&1
arch=$(dpkg --print-architecture)
kv=$("$top/tools/kernel-version")
asv=$(cd "$top" && dpkg-parsechangelog -SVersion)
rel() { "$top/tools/release" --out "$work/out" --kernel-dir "$work/nokernels" "$@"; }

check_fail "a month 13 is refused" "not YY.MM-alpha.N" rel --version 26.13-alpha.1
check_fail "a one-digit month is refused" "not YY.MM-alpha.N" rel --version 26.4-alpha.1
check_fail "an unknown stage is refused" "not YY.MM-alpha.N" rel --version 26.04-gamma.1
check_fail "a beta names a GA in April or October" "April or October" rel --version 26.12-beta.1
check_fail "a GA is in April or October" "April or October" rel --version 26.12
check_fail "a beta without the generic and virt kernels is refused" "ships linux-asios-generic" rel --version 27.04-beta.1
check_fail "a kernel flavour that is not built is refused, naming it" "no linux-asios-virt $kv" \
	rel --version 26.12-alpha.1 --kernels virt

# an alpha: with the test kernel when tools/kernel-build --deb made it (test-kernel-upgrade.sh, the image test)
kargs=(--kernel-dir "$top/build/kernel/deb" --kernels "")
if [ -f "$top/build/kernel/deb/test-$arch/linux-asios-test_${kv}_$arch.deb" ]; then
	kargs=(--kernel-dir "$top/build/kernel/deb" --kernels test)
fi
echo "# kernels: ${kargs[*]}"
t0=$SECONDS
check "tools/release --version 26.12-alpha.1 makes the set" "$top/tools/release" --out "$work/out" --version 26.12-alpha.1 "${kargs[@]}"
echo "# took $((SECONDS - t0)) s"
r=$work/out/26.12-alpha.1
check "SHA256SUMS covers every file and they match" sh -c "cd '$r' && sha256sum --quiet -c SHA256SUMS"
check_eq "SHA256SUMS lists every file of the set but itself and its signature" \
	"$(cd "$r" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | LC_ALL=C sort)" "$(awk '{ print $2 }' "$r/SHA256SUMS")"
check "its detached signature verifies with the repository's key" \
	gpgv --keyring "$r/repo/asios-archive-keyring.gpg" "$r/SHA256SUMS.gpg" "$r/SHA256SUMS"
check "the repository's InRelease verifies with the same key" \
	gpgv --keyring "$r/repo/asios-archive-keyring.gpg" "$r/repo/dists/bookworm/InRelease"
check "the repository has asios-tuning $asv" test -n "$(find "$r/repo/pool" -name "asios-tuning_${asv}_$arch.deb")"
if [ "${kargs[3]}" = test ]; then
	check "the repository has linux-asios-test $kv and its image" test -n "$(find "$r/repo/pool" -name "linux-asios-test_${kv}_$arch.deb")"
fi
notes=$r/RELEASE-NOTES.md
check "the release notes name the release and its support" grep -q '^# ASIOS 26.12-alpha.1$' "$notes"
check "... the support line of an alpha" grep -q 'development snapshot: no support' "$notes"
check "... the asios version and the top entry of debian/changelog" sh -c "grep -q '| asios packages | $asv |' '$notes' &&
	grep -qF -- \"$(dpkg-parsechangelog -l "$top/debian/changelog" -SChanges | sed -n 4p | sed 's/^ *//')\" '$notes'"
check "... the kernel version and kernel/changelog's entries" sh -c "grep -q '| kernel | $kv ' '$notes' &&
	grep -q '^### linux-asios ($kv)' '$notes'"
echo "tampered" >>"$r/RELEASE-NOTES.md"
check_fail "a changed file fails the SHA256SUMS check" "FAILED" sh -c "cd '$r' && sha256sum --quiet -c SHA256SUMS >&2"
echo "# extra line" >>"$r/SHA256SUMS"
check_fail "a changed SHA256SUMS fails its signature" "BAD signature" \
	gpgv --keyring "$r/repo/asios-archive-keyring.gpg" "$r/SHA256SUMS.gpg" "$r/SHA256SUMS"
done_testing
