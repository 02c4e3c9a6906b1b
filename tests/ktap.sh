# shellcheck shell=bash
# KTAP lines of the shell suites (tests/run, tests/style, tests/dkms,
# tests/deb, tests/signals, bpf/check-host): the "KTAP version 1" header and, where the count is known
# in advance, the "1..N" plan; one "ok N - name" / "not ok N - name # detail"
# per case; then "N passed, N failed". Source it, call ktap_header, report
# cases, end with ktap_done.

ktap_n=0
ktap_pass=0
ktap_fail=0

# ktap_header [N]: the version line, and the plan when N cases are known to
# come (KTAP allows no plan when the count is not known in advance).
ktap_header() {
	echo "KTAP version 1"
	[ -z "${1:-}" ] || echo "1..$1"
}

# ktap_result 0|1 NAME [DETAIL]: one case; 0 is a pass. DETAIL follows
# a "#" (for a pass too: "SKIP why" there is KTAP's skip directive).
ktap_result() {
	ktap_n=$((ktap_n + 1))
	if [ "$1" = 0 ]; then
		ktap_pass=$((ktap_pass + 1))
		echo "ok $ktap_n - $2${3:+ # $3}"
	else
		ktap_fail=$((ktap_fail + 1))
		echo "not ok $ktap_n - $2${3:+ # $3}"
	fi
}

# ktap_check NAME DETAIL CMD...: a case that passes when CMD succeeds;
# DETAIL is shown when it does not.
ktap_check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then ktap_result 0 "$name"; else ktap_result 1 "$name" "$detail"; fi
}

# ktap_done: the totals; fails when a case failed.
ktap_done() {
	echo "$ktap_pass passed, $ktap_fail failed"
	[ "$ktap_fail" = 0 ]
}
