# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Tiny TAP helpers for shell tests. Source it; call check/check_eq/check_fail; end with `done_testing`.
# Output: "ok N - name" / "not ok N - name" lines, which tests/run-tests counts.
_n=0
_failed=0
_report() { _n=$((_n + 1)); if [ "$1" = 0 ]; then echo "ok $_n - $2"; else echo "not ok $_n - $2"; _failed=$((_failed + 1)); fi; }
# check NAME CMD...: passes when CMD succeeds
check() { _name=$1; shift; if "$@" >/dev/null 2>&1; then _report 0 "$_name"; else _report 1 "$_name"; fi; }
# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then _report 0 "$1"; else _report 1 "$1"; printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"; fi
}
# check_fail NAME PATTERN CMD...: passes when CMD fails and its stderr matches the grep -E PATTERN
check_fail() {
	_name=$1; _pat=$2; shift 2
	if _err=$("$@" 2>&1 >/dev/null); then _report 1 "$_name"; echo "#   command succeeded, expected failure"; return; fi
	if printf '%s\n' "$_err" | grep -qE -- "$_pat"; then _report 0 "$_name"; else _report 1 "$_name"; printf '#   stderr: %s\n' "$_err"; fi
}
# skip NAME REASON: counted as a skip (never as a pass)
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }
# guest_tap LOG [NAMES]: the in-guest checks of a tools/qemu-boot console LOG ("ASIOS: ok|fail|skip|value NAME
# [DETAIL]" lines) as TAP lines, "guest: NAME"; values become comments (only those whose name matches the grep -E
# pattern NAMES, when given)
guest_tap() {
	_gt=$(mktemp)
	tr -d '\r' <"$1" | grep -a -E '^ASIOS: (ok|fail|skip|value) ' >"$_gt"
	while read -r _ _gs _gn _gr; do
		case $_gs in
		ok) _report 0 "guest: $_gn" ;;
		fail) _report 1 "guest: $_gn"; echo "#   $_gr" ;;
		skip) skip "guest: $_gn" "$_gr" ;;
		value) if [ -z "${2:-}" ] || echo "$_gn" | grep -qE "^($2)\$"; then echo "# $_gn $_gr"; fi ;;
		esac
	done <"$_gt"
	rm -f "$_gt"
}
done_testing() { echo "1..$_n"; [ "$_failed" = 0 ]; }
