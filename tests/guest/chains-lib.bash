# shellcheck shell=bash
# Helpers shared by the memmap-chains guest tests (tests/guest/chains-*.sh),
# sourced after /mhp/lib.sh. Not a test itself (the suite runs *.sh only).

MC=/mhp/memmap-chains
MC_DIR=/tmp/chains
mkdir -p "$MC_DIR"

# mc_start [ARGS...]: fresh pinned state, tracing in the background; with
# MC_LOAD=1 in the environment (make check-chains) the background load starts
# as well.
mc_start() {
	"$MC" --reset && "$MC" --pin "$@" 2>&1 | tee "$MC_DIR/start.log"
	[ "${PIPESTATUS[0]}" = 0 ] || return 1
	if [ "${MC_LOAD:-0}" = 1 ]; then
		mc_ftrace_start
		mc_load_start
	fi
	return 0
}

# mc_ftrace_start: the kernel's own record of page events in hot-added
# memory (pfn 0x100000 and up: from 4 GiB): kmem:mm_page_alloc (movable
# ones too: what the tracer skips is wanted here) and kmem:mm_page_free,
# kept in the trace buffer (32 MiB per CPU, oldest dropped first), so that
# mc_explain can show a disputed page's history next to the tracer's view.
# Part of the background load.
mc_ftrace_start() {
	local t=/sys/kernel/tracing
	[ -d $t/events ] || mount -t tracefs tracefs $t 2>/dev/null || return 0
	echo 32768 >$t/buffer_size_kb
	echo 'pfn >= 0x100000' >$t/events/kmem/mm_page_alloc/filter
	echo 'pfn >= 0x100000' >$t/events/kmem/mm_page_free/filter
	echo 1 >$t/events/kmem/mm_page_alloc/enable
	echo 1 >$t/events/kmem/mm_page_free/enable
	MC_FTRACE=$t/trace
}

# mc_ftrace_history PFN: the recorded events of the allocations that cover
# PFN (first pfn within 1023 pages below it and order reaching it).
mc_ftrace_history() {
	[ -n "${MC_FTRACE:-}" ] || return 0
	echo 0 >/sys/kernel/tracing/tracing_on
	awk -v p=$(($1)) '/mm_page_(alloc|free):/ {
		if (!match($0, /pfn=0x[0-9a-f]+/)) next
		pfn = 0; h = substr($0, RSTART + 6, RLENGTH - 6)
		for (i = 1; i <= length(h); i++) pfn = pfn * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		o = 0; if (match($0, /order=[0-9]+/)) o = substr($0, RSTART + 6, RLENGTH - 6) + 0
		n = 1; for (i = 0; i < o; i++) n *= 2
		if (pfn <= p && p < pfn + n) print
	}' "$MC_FTRACE" | tail -12
	echo 1 >/sys/kernel/tracing/tracing_on
}

# mc_load_start: a slab- and interrupt-heavy background load, so that pages
# land in hot-added blocks from softirqs (loopback TCP and UDP), hrtimer
# interrupts, other CPUs and the dentry cache while blocks are hot-added:
# the cases a tracer miss would come from. Niced, so the test keeps going.
mc_load_start() {
	nice -n 10 stress-ng --sock 1 --udp 1 --dentry 1 --hrtimers 1 --timeout 0 \
		--quiet >/dev/null 2>&1 &
	MC_LOAD_PID=$!
	note "background load: stress-ng --sock 1 --udp 1 --dentry 1 --hrtimers 1 (pid $MC_LOAD_PID)"
}

# mc_load_stop: end the background load before blocks are compared, so that
# what still pins a block is held, not in flight.
mc_load_stop() {
	[ -n "${MC_LOAD_PID:-}" ] || return 0
	kill -INT "$MC_LOAD_PID" 2>/dev/null
	wait "$MC_LOAD_PID" 2>/dev/null
	MC_LOAD_PID=
	sleep 1
}

# mc_attached: the tracer's links are pinned (it is tracing).
mc_attached() {
	[ -e /sys/fs/bpf/memmap-chains/links ]
}

# mc_switch on|off: pin or unpin the tracer's links (its state stays) if it
# is not that way yet. With the guest idle and a pause after: under TCG a
# detach that unpatched the kmem tracepoints while another vCPU ran them
# once ended in an "Oops: int3", an effect of the emulated text patching.
mc_switch() {
	if [ "$1" = on ] && ! mc_attached; then
		sleep 1
		"$MC" --pin >/dev/null || return 1
		sleep 2
	elif [ "$1" = off ] && mc_attached; then
		sleep 1
		"$MC" --unpin
		sleep 2
	fi
}

# median: the median of the whitespace-separated integers on stdin.
median() {
	tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 }
		END { printf "%d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# mc_json FILE: the report as JSON (exit status of the tool).
mc_json() {
	"$MC" --summary --json >"$1"
}

# mc_validate FILE: prints schema violations; 0 iff none and jq is there.
mc_validate() {
	command -v jq >/dev/null || { echo "no jq in the guest"; return 2; }
	"$MC" --schema >"$MC_DIR/schema.json" || return 1
	json_validate "$MC_DIR/schema.json" "$1"
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

# The offliner: one helper shell, started before the attempts and kept
# until the tracer's view has been taken, that writes "offline" to a block's
# state with bash's builtin echo. A process forked per attempt allocates its
# task_struct, mm and page tables right then, and with head placement from
# the newest blocks: make check-chains caught attempts on the newest block
# refused for an order-3 slab page allocated by the very "sh" writing
# "offline" and freed 2 s later, before the tracer's view was taken (the
# kernel's page events, mc_ftrace_history). Nothing in the attempt loop
# forks: state read with "read", pauses with nap.
offliner_start() {
	nap 0 # opens nap's pipe now: its first use forks
	coproc MC_OFFLINER {
		while read -r b; do
			if echo offline 2>/dev/null >"$MHP_SYS_MEM/memory$b/state"; then
				echo ok
			else
				echo refused
			fi
		done
	}
}

offliner_stop() {
	[ -n "${MC_OFFLINER_PID:-}" ] || return 0
	kill -KILL "$MC_OFFLINER_PID" 2>/dev/null
	wait "$MC_OFFLINER_PID" 2>/dev/null
	MC_OFFLINER_PID=
}

# offliner_try BLOCK: 0 if BLOCK went offline. offline_pages() retries
# migration until it succeeds or the writer gets a fatal signal (a page that
# stays busy, seen once on 6.12): after 60 s the helper is killed and
# started again, and the block counts as refused.
offliner_try() {
	local ans
	echo "$1" >&"${MC_OFFLINER[1]}"
	if read -r -t 60 ans <&"${MC_OFFLINER[0]}"; then
		[ "$ans" = ok ]
		return
	fi
	offliner_stop
	offliner_start
	return 1
}

# offline_refusers BLOCK...: try to offline each block through the
# offliner (started if it is not running; the caller stops it after taking
# the tracer's view); sets MC_REFUSED to those that refuse. A refusal is
# retried twice after a pause: a short-lived process's page table can land
# in the newest block between the tracer's snapshot and the attempt, and a
# block it holds only for a moment is not pinned.
offline_refusers() {
	local n try state
	MC_REFUSED=
	[ -n "${MC_OFFLINER_PID:-}" ] || offliner_start
	for n in "$@"; do
		read -r state <"$MHP_SYS_MEM/memory$n/state"
		[ "$state" = offline ] && continue
		for try in 1 2 3; do
			offliner_try "$n" && continue 2
			nap 0.5
		done
		MC_REFUSED="${MC_REFUSED:+$MC_REFUSED }$n"
	done
}

# mc_report NAME: text summary to the console, JSON and DOT to the host.
mc_report() {
	"$MC" --summary || true
	"$MC" --summary --json >"$MC_DIR/$1.json" || true
	"$MC" --summary --dot >"$MC_DIR/$1.dot" || true
	save_file "$1.json" "$MC_DIR/$1.json" || true
	save_file "$1.dot" "$MC_DIR/$1.dot" || true
}

# mc_page_record PFN: the tracer's record of the tracked allocation that
# covers PFN (key = its first pfn, 2^order pages), as JSON; [] if none.
mc_page_record() {
	/mhp/bpftool -j map dump pinned /sys/fs/bpf/memmap-chains/pages 2>/dev/null |
		jq -c --argjson p "$1" 'if type != "array" then [] else [.[] | (.formatted // .) |
			select(.key <= $p and .key + pow(2; .value.order) > $p) |
			{pfn: .key, dep: .value.dep, host: .value.host, kind: .value.kind,
			 order: .value.order}] end'
}

# mc_explain BLOCK JSON: where tracer and kernel disagree on BLOCK, print
# both sides: the tracer's record of the block (from JSON), and each page
# the kernel dumped while refusing to offline the block (dump_page():
# "page:... pfn:0x..", its head/flags lines) next to the tracer's record of
# the allocation covering that page.
mc_explain() {
	local blk=$1 json=$2 per lo pfn dump
	per=$(($(blk_bytes) / 4096))
	lo=$((blk * per))
	note "block $blk, tracer: $(jq -c ".blocks[] | select(.id == $blk) |
		{state, zone, kernel_bytes, self_bytes, hosted_bytes, dependents, pinned, why}" "$json")"
	for pfn in $(dmesg | grep -o 'pfn:0x[0-9a-f]*' | sed 's/^pfn://' | sort -u); do
		[ $((pfn)) -ge $lo ] && [ $((pfn)) -lt $((lo + per)) ] || continue
		dump=$(dmesg | sed 's/^\[[ 0-9.]*\] //' |
			awk -v p="pfn:$pfn" 'index($0, p) { on = 1 }
			     on && /^(page:|head:|flags:|page_type:|page dumped because)/ { printf "%s | ", $0 }
			     on && /^page dumped because/ { exit }')
		note "block $blk, kernel dumped: ${dump% | }"
		note "block $blk, tracer's record covering $pfn: $(mc_page_record $((pfn)))"
		mc_ftrace_history "$pfn" | while read -r line; do
			note "block $blk, kernel event covering $pfn: $line"
		done
	done
}

# mc_pinned_equals_refused NAME BLOCK...: try to offline each BLOCK, take
# the tracer's view right after the attempts (what the tests' own processes
# allocated since counts too) and check that the blocks the tracer calls
# pinned are exactly those that refused. On a mismatch every block in
# dispute is explained (mc_explain).
mc_pinned_equals_refused() {
	local name=$1 refuse pinned b json=$MC_DIR/$1-after.json
	shift
	mc_load_stop
	offliner_start
	offline_refusers "$@"
	refuse=$MC_REFUSED
	mc_json "$json"
	offliner_stop
	save_file "$name-after.json" "$json" || true
	pinned=$(mc_ids "$json" '.hotadded and .pinned')
	metric pinned-blocks "$(echo "$pinned" | wc -w)"
	metric offline-refused "$(echo "$refuse" | wc -w)"
	note "tracer pinned: [$pinned] (why: $(jq -r '[.blocks[] | select(.hotadded and .pinned) |
		"\(.id)=\(.why)"] | join(" ")' "$json"))"
	note "offline refused: [$refuse]"
	note "page events nested in the tracer's programs: $(jq -c '.stats |
		{nested_allocs, nested_frees, missed_allocs, missed_frees, online_allocs}' "$json")"
	# Events neither program of a hook saw (an interrupt nested in the
	# nested copy): rare (1 free in 120 runs of make check-chains), counted
	# and reported by the tool, and harmless unless they change the
	# comparison below, which then explains itself.
	metric missed-page-events "$(jq '.stats.missed_allocs + .stats.missed_frees' "$json")"
	metric nested-page-events "$(jq '.stats.nested_allocs + .stats.nested_frees' "$json")"
	if [ "$pinned" = "$refuse" ]; then
		tap_ok pinned-equals-unofflinable "$(echo "$pinned" | wc -w) blocks"
		return 0
	fi
	for b in $(printf '%s\n' $pinned $refuse | sort -n | uniq -u); do
		mc_explain "$b" "$json"
	done
	note "tracer stats: $(jq -c .stats "$json")"
	tap_fail pinned-equals-unofflinable "tracer: [$pinned] refused: [$refuse]"
}
