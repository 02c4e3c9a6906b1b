# shellcheck shell=bash
# Guest-side test library, installed as /mhp/lib.sh and sourced by every
# guest test. Talks to the host runner (scripts/guest) over fd 3 (ttyS1) in
# lines:
#   guest -> host  @@REQ <seq> <command> [args]     ask for a QMP action (or
#                                                   "discarded", scripts/guest)
#                  @@CASE ok|fail|skip <name> [detail]
#                  @@METRIC <name> <number>
#                  @@NOTE <text>
#                  @@FILE <name> <base64 of the content>
#   host -> guest  @@RES <seq> <rc> [payload]
# A lock keeps lines of background jobs from interleaving and replies
# going to the wrong reader.

MHP_SYS_MEM=/sys/devices/system/memory
# How much slower this kernel runs than a stock one (scripts/guest sets it
# for the debug kernel): the waits of wait_for, memtotal_wait, blk_offline
# and the host's vmem-wait stretch by it.
MHP_TIME_SCALE=${MHP_TIME_SCALE:-1}
_mhp_seq=0

_mhp_locked() {
	local fd
	exec {fd}>/tmp/.mhp-host.lock
	flock "$fd"
	"$@"
	local rc=$?
	exec {fd}>&-
	return $rc
}

_mhp_send() {
	echo "@@$*" >&3
}

_mhp_request() {
	local seq=$BASHPID.$((_mhp_seq += 1)) line tag rseq rc payload
	_mhp_send "REQ $seq $*"
	while IFS= read -r -t $((600 * MHP_TIME_SCALE)) line <&3; do
		read -r tag rseq rc payload <<<"$line"
		[ "$tag" = "@@RES" ] && [ "$rseq" = "$seq" ] || continue
		[ -n "$payload" ] && echo "$payload"
		return "$rc"
	done
	echo "no answer from the host runner to: $*" >&2
	return 1
}

# host CMD ARGS...: QMP actions done by the host runner (see scripts/guest --help).
# The seconds a vmem-wait allows stretch by MHP_TIME_SCALE: the guest plugs
# the memory, at its pace.
host() {
	if [ "$1" = vmem-wait ] && [ $# -ge 4 ] && [ "$MHP_TIME_SCALE" != 1 ]; then
		set -- "$1" "$2" "$3" $(($4 * MHP_TIME_SCALE)) "${@:5}"
	fi
	_mhp_locked _mhp_request "$@"
}

_mhp_case() {
	_mhp_locked _mhp_send "CASE $*"
}

tap_ok() {
	local name=$1
	shift
	_mhp_case ok "$name" "$*"
	echo "ok - $name${*:+ # $*}"
}

tap_fail() {
	local name=$1
	shift
	_mhp_case fail "$name" "$*"
	echo "not ok - $name # $*"
}

tap_skip() {
	local name=$1
	shift
	_mhp_case skip "$name" "$*"
	echo "ok - $name # SKIP $*"
}

# tap_check NAME CMD...: ok iff CMD exits 0.
tap_check() {
	local name=$1
	shift
	if "$@"; then
		tap_ok "$name"
	else
		tap_fail "$name" "failed: $*"
	fi
}

metric() {
	_mhp_locked _mhp_send "METRIC $1 $2"
	echo "metric $1 = $2"
}

note() {
	_mhp_locked _mhp_send "NOTE $*"
	echo "# $*"
}

# wait_for SECONDS CMD...: poll CMD until it succeeds; rc 1 at the deadline.
wait_for() {
	local end=$((SECONDS + $1 * $MHP_TIME_SCALE))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# cpu_busy_read: set CPU_BUSY_NS to the time the CPUs have not been idle
# since boot, in ns, and CPU_NOW_NS to the time they have existed (the
# bound of any difference of two reads): "now" times the number of CPUs
# minus every CPU's idle and iowait sleep time, all from /proc/timer_list
# (nanoseconds, taken at idle exit; a CPU idle at the moment of the read
# counts as busy for its current idle period, so read it from the only
# CPU, or when all are busy). /proc/schedstat and /proc/stat credit time
# only at context switches or ticks: 4 ms steps. It sets variables
# instead of printing so that callers need no $(...) subshell: no fork,
# no work of its own in what it measures. Under scripts/guest --icount
# this counts guest instructions: the guest's work, whatever the host does.
cpu_busy_read() {
	local key a b _rest val now=0 idle=0 cpus=0
	# "now at N nsecs", "  .idle_sleeptime : N nsecs",
	# "  .iowait_sleeptime: N nsecs" (names are padded to 15 characters).
	while read -r key a b _rest; do
		key=${key%:}
		val=$a
		case "$a" in : | at) val=$b ;; esac
		case "$key" in
		now) now=$val ;;
		.idle_sleeptime) idle=$((idle + val)) cpus=$((cpus + 1)) ;;
		.iowait_sleeptime) idle=$((idle + val)) ;;
		esac
	done </proc/timer_list
	CPU_BUSY_NS=$((now * cpus - idle))
	CPU_NOW_NS=$((now * cpus))
}

# cpu_busy_calibrate: set CPU_BUSY_READ_NS to what one cpu_busy_read adds
# to a window it closes (bash reads /proc files a byte at a time: 30 ms
# on 6.1, 65 ms on 6.12 of guest CPU under --icount 0), the median of 5 back-to-back
# pairs; cpu_window_end subtracts it so that the reads do not dilute what
# is compared.
cpu_busy_calibrate() {
	local i b d=()
	for ((i = 0; i < 5; i++)); do
		cpu_busy_read
		b=$CPU_BUSY_NS
		cpu_busy_read
		d+=($((CPU_BUSY_NS - b)))
	done
	CPU_BUSY_READ_NS=$(printf '%s\n' "${d[@]}" | sort -n | sed -n 3p)
}

# cpu_window_start / cpu_window_end: CPU_WINDOW_NS = guest CPU time spent
# between the two (calibrated read cost taken out; cpu_busy_calibrate
# first). A window with more CPU time than elapsed time is a misread of
# /proc/timer_list, not a measurement: CPU_WINDOW_NS is then -1 and the
# caller retakes the sample.
cpu_window_start() {
	cpu_busy_read
	_mhp_cpu_b0=$CPU_BUSY_NS
	_mhp_cpu_n0=$CPU_NOW_NS
}

cpu_window_end() {
	cpu_busy_read
	CPU_WINDOW_NS=$((CPU_BUSY_NS - _mhp_cpu_b0))
	if [ $CPU_WINDOW_NS -lt 0 ] || [ $CPU_WINDOW_NS -gt $((CPU_NOW_NS - _mhp_cpu_n0)) ]; then
		echo "cpu_window_end: $CPU_WINDOW_NS ns busy in $((CPU_NOW_NS - _mhp_cpu_n0)) ns: misread" >&2
		CPU_WINDOW_NS=-1
	else
		CPU_WINDOW_NS=$((CPU_WINDOW_NS - ${CPU_BUSY_READ_NS:-0}))
	fi
}

# nap SECONDS: sleep without forking ("read -t" on a pipe nobody writes
# to), for loops that must not add work of their own to a measurement.
nap() {
	[ -n "${_mhp_nap:-}" ] || exec {_mhp_nap}<> <(:)
	read -rt "$1" -u "$_mhp_nap" _ || true
}

# memtotal_wait KB SECONDS: wait, polling every 50 ms without forking,
# until MemTotal is at least KB; rc 1 at the deadline.
memtotal_wait() {
	local _k kb _u end=$((${EPOCHREALTIME/./} + $2 * $MHP_TIME_SCALE * 1000000))
	while :; do
		read -r _k kb _u </proc/meminfo
		[ "$kb" -ge "$1" ] && return 0
		[ "${EPOCHREALTIME/./}" -lt $end ] || return 1
		nap 0.05
	done
}

memtotal_kb() {
	awk '/^MemTotal/ { print $2 }' /proc/meminfo
}

# memtotal_is KB: for wait_for (a plain test would read MemTotal only once).
memtotal_is() {
	[ "$(memtotal_kb)" -eq "$1" ]
}

# OOM kills and refused allocations so far, from the kernel log.
oom_kills() {
	dmesg | grep -c 'Killed process' || true
}

alloc_failures() {
	dmesg | grep -c 'page allocation failure' || true
}

# klog_has TEXT: the kernel log has a line with TEXT (a fixed string).
klog_has() {
	dmesg | grep -F -- "$1" >/dev/null
}

# save_file NAME PATH: copy a guest file to the run folder on the host
# (DIR/files/NAME), e.g. a JSON or DOT the host renders. Meant for files of
# a few hundred KiB at most: it travels over the serial line.
save_file() {
	[ -f "$2" ] || { echo "save_file: no file $2" >&2; return 1; }
	_mhp_locked _mhp_send "FILE $1 $(base64 -w0 <"$2")"
}

# --- modules -------------------------------------------------------------------

mhp_load() {
	insmod /mhp/mhp_online.ko "$@"
}

mhp_unload() {
	rmmod mhp_online
}

# mhp_summary KEY: KEY's value in the module's debugfs summary.
mhp_summary() {
	awk -v k="$1:" '$1 == k { print $2 }' /sys/kernel/debug/mhp_online/summary
}

# kmod_load NAME: a stock module and what it needs, in order (/mhp/modules/order).
kmod_load() {
	local name=$1 list m
	list=$(awk -v n="$name:" '$1 == n { $1 = ""; print }' /mhp/modules/order)
	[ -n "$list" ] || list=$name
	for m in $list; do
		[ -d "/sys/module/${m//-/_}" ] && continue
		insmod "/mhp/modules/$m.ko" || return 1
	done
}

# notifier_inject_load PRIORITY: the stock memory-notifier-error-inject with
# its notifier at PRIORITY (ours is 0), loaded again if it was.
notifier_inject_load() {
	kmod_load notifier-error-inject || return 1
	[ ! -d /sys/module/memory_notifier_error_inject ] ||
		rmmod memory_notifier_error_inject || return 1
	insmod /mhp/modules/memory-notifier-error-inject.ko priority="$1"
}

# notifier_inject ACTION ERR: make the memory notifier action ACTION
# (MEM_GOING_ONLINE, MEM_GOING_OFFLINE, ...) fail with ERR, a negative
# errno; 0: succeed again.
notifier_inject() {
	echo "$2" >"/sys/kernel/debug/notifier-error-inject/memory/actions/$1/error"
}

# --- memory blocks -------------------------------------------------------------

blk_bytes() {
	echo $((0x$(cat $MHP_SYS_MEM/block_size_bytes)))
}

# blk_list [online|offline]: block ids in address order.
blk_list() {
	local d
	for d in "$MHP_SYS_MEM"/memory[0-9]*; do
		if [ -z "${1:-}" ] || [ "$(cat "$d/state")" = "$1" ]; then
			echo "${d##*memory}"
		fi
	done | sort -n
}

blk_state() {
	cat "$MHP_SYS_MEM/memory$1/state"
}

# blk_zone N: the zone an online block lives in (valid_zones names one zone then).
blk_zone() {
	local z
	z=$(cat "$MHP_SYS_MEM/memory$1/valid_zones")
	echo "${z%% *}"
}

# blk_offline N [SECONDS]: offline a block; gives up after 60 s (SECONDS). offline_pages() retries
# migration until it succeeds or the writer gets a fatal signal, and a page
# that stays busy (seen once after a workload on 6.12) makes that forever:
# the KILL ends the attempt with EINTR and the block stays online.
blk_offline() {
	timeout -s KILL "$((${2:-60} * $MHP_TIME_SCALE))" sh -c 'echo offline >"$1"' _ "$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

blk_online() {
	echo "${2:-online}" >"$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

blk_of_addr() {
	echo $(($1 / $(blk_bytes)))
}

# Hot-added memory starts at 4 GiB in these guests: its first block.
hotadded_first() {
	echo $(((4 << 30) / $(blk_bytes)))
}

hotadded_blocks() {
	local n first
	first=$(hotadded_first)
	for n in $(blk_list); do
		[ "$n" -ge "$first" ] && echo "$n"
	done
}

hotadded_nr() {
	hotadded_blocks | wc -l
}

# hotadded_all_online: every hot-added block is online (for wait_for).
hotadded_all_online() {
	local n
	for n in $(hotadded_blocks); do
		[ "$(blk_state "$n")" = online ] || return 1
	done
}

# json_validate SCHEMA FILE: FILE against the JSON Schema subset of
# chains-validate.jq; prints the violations, 0 iff none.
json_validate() {
	local out
	out=$(jq -r --slurpfile schema "$1" -f /mhp/tests/chains-validate.jq "$2") || {
		echo "jq failed on $2"
		return 1
	}
	[ -z "$out" ] && return 0
	echo "$out" | head -20
	return 1
}

# fails CMD...: CMD exits non-zero (for tap_check).
fails() { ! "$@"; }

# output_is OP VALUE CMD...: CMD prints a value that compares to VALUE with
# test's OP. For wait_for, which runs its command again on each try: a
# "$(...)" among wait_for's own arguments is expanded once, before it.
output_is() {
	local op=$1 want=$2
	shift 2
	test "$("$@")" "$op" "$want"
}

# hotadded_in ZONE: the hot-added online blocks in ZONE, one per line.
hotadded_in() {
	local n
	for n in $(hotadded_blocks); do
		[ "$(blk_state "$n")" = online ] && [ "$(blk_zone "$n")" = "$1" ] && echo "$n"
	done
}

# hotadded_count ZONE: how many hot-added online blocks are in ZONE.
hotadded_count() {
	hotadded_in "$1" | wc -l
}

# dimm_add SIZE [NODE]: hot-add a DIMM and wait until the guest has added
# its memory blocks (ACPI hotplug is asynchronous); prints the DIMM id.
dimm_add() {
	local id n tries
	id=$(host dimm-add "$@") || return 1
	for n in $(dimm_blocks "$id"); do
		for ((tries = 0; tries < 300; tries++)); do
			[ -e "$MHP_SYS_MEM/memory$n" ] && break
			sleep 0.1
		done
		[ -e "$MHP_SYS_MEM/memory$n" ] || { echo "$id: block $n never appeared" >&2; return 1; }
	done
	echo "$id"
}

# dimm_blocks ID: block ids a DIMM covers.
dimm_blocks() {
	local info addr size bs n
	info=$(host dimm-info "$1") || return 1
	read -r addr size <<<"$info"
	bs=$(blk_bytes)
	for ((n = addr / bs; n < (addr + size) / bs; n++)); do
		echo "$n"
	done
}

# zone_counts: "node zone present managed" per populated zone.
zone_counts() {
	awk '/^Node/ { node = $2; sub(",", "", node); zone = $4 }
	     /^ +present / { present = $2 }
	     /^ +managed / { if (present) print node, zone, present, $2 }' /proc/zoneinfo
}

VMEM_DRIVER=/sys/bus/virtio/drivers/virtio_mem

# vmem_devices: the virtio devices bound to virtio_mem ("virtio0", ...).
vmem_devices() {
	local d
	for d in "$VMEM_DRIVER"/virtio*; do
		[ -e "$d" ] && basename "$d"
	done
	return 0
}

# vmem_bound [N]: a device (exactly N devices) bound to virtio_mem.
vmem_bound() {
	local n
	n=$(vmem_devices | wc -l)
	[ "$n" -eq "${1:-$n}" ] && [ "$n" -gt 0 ]
}

# vmem_probe_failures: failed virtio(-mem) probes in the kernel log so far.
vmem_probe_failures() {
	dmesg | grep -c 'virtio_mem.*probe.*failed\|probe of virtio.* failed'
}

# vmem_unplug_all ID [SECONDS]: ask virtio-mem device ID for size 0 and wait
# until it gets there or stops shrinking: virtio-mem retries the unplug
# every few seconds, so 20 s without progress means what is left stays; at
# most SECONDS (default 180). Prints the bytes still plugged.
vmem_unplug_all() {
	local id=$1 end=$((SECONDS + ${2:-180})) last=-1 size same=0
	host vmem-set "$id" 0 >/dev/null
	while [ $SECONDS -lt $end ] && [ $same -lt 40 ]; do
		size=$(host vmem-size "$id")
		[ "$size" = 0 ] && break
		if [ "$size" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$size
		sleep 0.5
	done
	host vmem-size "$id"
}

# blocks_offline_all BLOCK...: offline every online one of the blocks, all
# or none: when one refuses, the ones this call offlined are onlined again
# and it fails, so a DIMM that cannot go stays as it was.
blocks_offline_all() {
	local n done=()
	for n in "$@"; do
		[ "$(blk_state "$n")" = offline ] && continue
		if blk_offline "$n"; then
			done+=("$n")
		else
			for n in "${done[@]}"; do blk_online "$n"; done
			return 1
		fi
	done
}

# dimm_try_unplug ID: offline every block of a DIMM (blocks_offline_all),
# then device_del it.
dimm_try_unplug() {
	# shellcheck disable=SC2046
	blocks_offline_all $(dimm_blocks "$1") || return 1
	host dimm-del "$1" 30 >/dev/null
}

# unplug_dimms ID...: unplug as many DIMMs as possible. Removing a DIMM frees
# the memmap it hosted for others, so passes repeat (newest first) until one
# makes no progress. Prints the ids that stay.
unplug_dimms() {
	local left=("$@") next id progress=1
	while [ $progress = 1 ] && [ ${#left[@]} -gt 0 ]; do
		progress=0
		next=()
		for ((i = ${#left[@]} - 1; i >= 0; i--)); do
			id=${left[i]}
			if dimm_try_unplug "$id"; then
				progress=1
			else
				next=("$id" "${next[@]}")
			fi
		done
		left=("${next[@]}")
	done
	[ ${#left[@]} -eq 0 ] || printf '%s\n' "${left[@]}"
}

# blk_map [BLOCK...]: one line per block like lsmem, with zone and state.
blk_map() {
	local n bs
	bs=$(blk_bytes)
	printf '%-6s %-22s %-8s %s\n' BLOCK RANGE STATE ZONE
	for n in "${@:-$(blk_list)}"; do
		[ -e "$MHP_SYS_MEM/memory$n" ] || continue
		printf '%-6s 0x%09x-0x%09x %-8s %s\n' "$n" $((n * bs)) $(((n + 1) * bs - 1)) \
			"$(blk_state "$n")" "$(blk_zone "$n")"
	done
}
