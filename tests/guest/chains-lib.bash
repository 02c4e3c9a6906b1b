# shellcheck shell=bash
# Helpers shared by the memmap-chains guest tests (tests/guest/chains-*.sh),
# sourced after /mhp/lib.sh. Not a test itself (the suite runs *.sh only).

MC=/mhp/memmap-chains
MC_DIR=/tmp/chains
mkdir -p "$MC_DIR"

# mc_start [ARGS...]: fresh pinned state, tracing in the background.
mc_start() {
	"$MC" --reset && "$MC" --pin "$@"
}

# mc_json FILE: the report as JSON (exit status of the tool).
mc_json() {
	"$MC" --summary --json >"$1"
}

# mc_validate FILE: prints schema violations; 0 iff none and jq is there.
mc_validate() {
	local out
	command -v jq >/dev/null || { echo "no jq in the guest"; return 2; }
	"$MC" --schema >"$MC_DIR/schema.json" || return 1
	out=$(jq -r --slurpfile schema "$MC_DIR/schema.json" -f /mhp/tests/chains-validate.jq "$1") || {
		echo "jq failed on $1"
		return 1
	}
	[ -z "$out" ] && return 0
	echo "$out" | head -20
	return 1
}

# mc_dot_lint FILE: the DOT is one digraph whose lines are all node or edge
# statements or attribute lines (graphviz itself runs on the host).
mc_dot_lint() {
	awk 'NR == 1 && $0 !~ /^digraph [a-z_]+ \{$/ { bad = "header: " $0; exit }
	     NR > 1 && /^\}$/ { closed = NR; next }
	     NR > 1 && closed { bad = "text after closing brace"; exit }
	     NR > 1 && !/^  (graph|node|edge) \[.*\];$/ && !/^  b[0-9]+ \[.*\];$/ &&
	       !/^  b[0-9]+ -> b[0-9]+ \[.*\];$/ { bad = "line " NR ": " $0; exit }
	     END { if (!bad && !closed) bad = "no closing brace"; if (bad) { print bad; exit 1 } }' "$1"
}

# mc_ids FILE JQ-FILTER: sorted block ids the filter selects from .blocks[].
mc_ids() {
	jq -r ".blocks[] | select($2) | .id" "$1" | sort -n | xargs
}

# add_dimms N: hot-add N DIMMs of one block each, one at a time; prints ids.
add_dimms() {
	local i id
	for ((i = 0; i < $1; i++)); do
		id=$(dimm_add "$(blk_bytes)") || return 1
		echo "$id"
	done
}

# offline_refusers BLOCK...: try to offline each block; prints those that
# refuse. A refusal is retried twice after a pause: with head placement a
# short-lived process's page table can land in the newest block between the
# tracer's snapshot and the attempt, and a block it holds only for a moment
# is not pinned.
offline_refusers() {
	local n try
	for n in "$@"; do
		[ "$(blk_state "$n")" = offline ] && continue
		for try in 1 2 3; do
			blk_offline "$n" && continue 2
			sleep 0.5
		done
		echo "$n"
	done | xargs
}

# mc_report NAME: text summary to the console, JSON and DOT to the host.
mc_report() {
	"$MC" --summary || true
	"$MC" --summary --json >"$MC_DIR/$1.json" || true
	"$MC" --summary --dot >"$MC_DIR/$1.dot" || true
	save_file "$1.json" "$MC_DIR/$1.json" || true
	save_file "$1.dot" "$MC_DIR/$1.dot" || true
}
