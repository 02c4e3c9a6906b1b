# shellcheck shell=bash
# Guest-side test library, installed as /mhp/lib.sh and sourced by every
# guest test. Talks to the host runner (scripts/guest) over fd 3 (ttyS1) in
# lines:
#   guest -> host  @@REQ <seq> <command> [args]     ask for a QMP action
#                  @@CASE ok|fail|skip <name> [detail]
#                  @@METRIC <name> <number>
#                  @@NOTE <text>
#                  @@FILE <name> <base64 of the content>
#   host -> guest  @@RES <seq> <rc> [payload]
# A lock keeps lines of background jobs from interleaving and replies
# going to the wrong reader.

MHP_SYS_MEM=/sys/devices/system/memory
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
	while IFS= read -r -t 600 line <&3; do
		read -r tag rseq rc payload <<<"$line"
		[ "$tag" = "@@RES" ] && [ "$rseq" = "$seq" ] || continue
		[ -n "$payload" ] && echo "$payload"
		return "$rc"
	done
	echo "no answer from the host runner to: $*" >&2
	return 1
}

# host CMD ARGS...: QMP actions done by the host runner (see scripts/guest --help).
host() {
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
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
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

# blk_offline N: offline a block; gives up after 60 s. offline_pages() retries
# migration until it succeeds or the writer gets a fatal signal, and a page
# that stays busy (seen once after a workload on 6.12) makes that forever:
# the KILL ends the attempt with EINTR and the block stays online.
blk_offline() {
	timeout -s KILL 60 sh -c 'echo offline >"$1"' _ "$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

blk_online() {
	echo "${2:-online}" >"$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

blk_of_addr() {
	echo $(($1 / $(blk_bytes)))
}

# Hot-added memory starts at 4 GiB in these guests.
hotadded_blocks() {
	local n first=$(((4 << 30) / $(blk_bytes)))
	for n in $(blk_list); do
		[ "$n" -ge "$first" ] && echo "$n"
	done
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

# dimm_try_unplug ID: offline every block of a DIMM, then device_del it.
# Blocks that did offline are onlined again when another block of the DIMM
# refuses, so a failed attempt leaves the DIMM as it was.
dimm_try_unplug() {
	local id=$1 n done=()
	for n in $(dimm_blocks "$id"); do
		[ "$(blk_state "$n")" = offline ] && continue
		if blk_offline "$n"; then
			done+=("$n")
		else
			for n in "${done[@]}"; do blk_online "$n"; done
			return 1
		fi
	done
	host dimm-del "$id" 30 >/dev/null
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
