# shellcheck shell=bash
# Guest side of `make experiment` (scripts/experiment): what every scenario
# script shares. Sourced after /mhp/lib.sh. A scenario reports numbers with
# `metric`, block maps and tracer output with `save_file`, and anything it
# could not do with `tap_skip NAME "not run: why"` (the host report shows
# those reasons instead of numbers). It ends with `tap_ok done`.
#
# Configurations (environment, set by scripts/experiment):
#   POLICY     zone choice for auto-onlined blocks:
#              stock        the kernel's default (contig-zones: Normal)
#              auto-movable the kernel's memory_hotplug.online_policy=auto-movable
#                           (host adds it to the kernel command line)
#              movable      memhp_default_state=online_movable (host side)
#              mod-block    mhp_online zone policy, granule = memory block
#              mod-1g       mhp_online zone policy, granule = 1 GiB
#              mod-adaptive mhp_online zone_policy=adaptive (defaults)
#   PLACEMENT  none (no module unless POLICY needs it) | head | tail
#   TRACE      1: pin the memmap-chains tracer before hot-adding (if built)

EXP_PARAMS=/sys/module/mhp_online/parameters
EXP_DEBUGFS=/sys/kernel/debug/mhp_online

# Keep the scenario shell out of the OOM killer's way: the workload's
# workers are the ones to pick.
echo -1000 >/proc/self/oom_score_adj

exp_now() {
	echo "$EPOCHREALTIME"
}

# exp_since T0: seconds since T0 (from exp_now), 3 decimals.
exp_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}

exp_mib() {
	echo $(($(blk_bytes) >> 20))
}

# exp_param_exists NAME: the loaded module offers parameter NAME.
exp_param_exists() {
	[ -e "$EXP_PARAMS/$1" ]
}

# exp_setup POLICY PLACEMENT: load what the configuration needs. Prints
# "not run: ..." and returns 1 when a piece is missing.
exp_setup() {
	local policy=$1 placement=$2 params=()
	case "$placement" in
	none) ;;
	head | tail) params+=("placement=$placement") ;;
	*) echo "not run: unknown PLACEMENT=$placement"; return 1 ;;
	esac
	# With the module loaded for its placement only, the kernel keeps
	# choosing zones (zone_policy=off).
	case "$policy" in
	stock | auto-movable | movable)
		[ ${#params[@]} -eq 0 ] || params+=("zone_policy=off")
		;;
	mod-block) params+=("zone_policy=ratio" "granule_mb=$(exp_mib)") ;;
	mod-1g) params+=("zone_policy=ratio" "granule_mb=1024") ;;
	mod-adaptive) params+=("zone_policy=adaptive") ;;
	*) echo "not run: unknown POLICY=$policy"; return 1 ;;
	esac
	[ ${#params[@]} -gt 0 ] || return 0
	[ -f /mhp/mhp_online.ko ] || { echo "not run: mhp_online.ko is missing (module not built)"; return 1; }
	if ! mhp_load "${params[@]}" 2>/tmp/insmod.err; then
		echo "not run: insmod mhp_online ${params[*]} failed: $(tr '\n' ' ' </tmp/insmod.err)"
		return 1
	fi
	local p
	for p in "${params[@]}"; do
		if ! exp_param_exists "${p%%=*}"; then
			echo "not run: mhp_online has no parameter ${p%%=*}"
			return 1
		fi
	done
	note "module: $(cd $EXP_PARAMS && for f in *; do printf '%s=%s ' "$f" "$(cat "$f")"; done)"
}

# exp_begin NAME: set up the configuration from the environment; on a missing
# piece, report the scenario as not run and end the job.
exp_begin() {
	local why
	note "experiment $1: $(uname -r) POLICY=${POLICY:-stock} PLACEMENT=${PLACEMENT:-none} boot $(($(memtotal_kb) / 1024)) MiB usable"
	note "cmdline: $(cat /proc/cmdline)"
	# virtio_mem first: it needs the online_page_callback; mhp_online
	# loaded after it goes without (and says so in its summary).
	if [ "${KIND:-}" = vmem ] && ! kmod_load virtio_mem; then
		tap_fail "$1" "virtio_mem did not load"
		exit 0
	fi
	if ! why=$(exp_setup "${POLICY:-stock}" "${PLACEMENT:-none}"); then
		tap_skip "$1" "$why"
		exit 0
	fi
}

# exp_trace_start: pin the tracer so it records every hot-add from now on.
# Prints why when it cannot.
exp_trace_start() {
	[ -x /mhp/memmap-chains ] || { echo "memmap-chains not built"; return 1; }
	/mhp/memmap-chains --reset >/dev/null 2>&1
	/mhp/memmap-chains --pin -q >/tmp/chains-pin.log 2>&1 ||
		{ echo "memmap-chains --pin failed: $(tail -1 /tmp/chains-pin.log)"; return 1; }
}

# exp_trace_save PREFIX: the tracer's report as PREFIX-chains.json/.dot files.
exp_trace_save() {
	local rc=0
	/mhp/memmap-chains --summary --json >/tmp/chains.json 2>/tmp/chains.err || rc=$?
	# 3 = report written but records dropped: still a report.
	if [ $rc = 0 ] || [ $rc = 3 ]; then
		save_file "$1-chains.json" /tmp/chains.json
	else
		note "memmap-chains --summary --json failed ($rc): $(tail -1 /tmp/chains.err)"
	fi
	/mhp/memmap-chains --summary --dot >/tmp/chains.dot 2>/dev/null && save_file "$1-chains.dot" /tmp/chains.dot
	/mhp/memmap-chains --summary 2>/dev/null | head -40
	return 0
}

exp_trace_stop() {
	/mhp/memmap-chains --reset >/dev/null 2>&1 || true
}

# exp_blockmap FILE [BLOCK...]: "block zone state" per hot-added block.
exp_blockmap() {
	local f=$1 n z
	shift
	: >"$f"
	for n in ${@:-$(hotadded_blocks)}; do
		[ -e "$MHP_SYS_MEM/memory$n" ] || continue
		z=-
		[ "$(blk_state "$n")" = online ] && z=$(blk_zone "$n")
		echo "$n $z $(blk_state "$n")" >>"$f"
	done
}

# exp_zone_blocks FILE ZONE: blocks of a block map in ZONE.
exp_zone_blocks() {
	awk -v z="$2" '$2 == z { c++ } END { print c + 0 }' "$1"
}

# exp_movable_mib: present pages of ZONE_MOVABLE (all nodes) in MiB.
exp_movable_mib() {
	zone_counts | awk '$2 == "Movable" { p += $3 } END { print int(p * 4 / 1024) }'
}

# exp_kernel_granules: 1 GiB-aligned ranges of hot-added memory whose blocks
# are all online in a kernel zone. On both stock kernels gigantic pages are
# not movable (hugepage_movable_supported() is false for them), so they are
# allocated with GFP_HIGHUSER and cannot come from ZONE_MOVABLE: these
# ranges, not the MOVABLE total, bound what run-time allocation can get.
exp_kernel_granules() {
	local per=$((1024 / $(exp_mib))) n g z
	declare -A bad=() seen=()
	for n in $(hotadded_blocks); do
		g=$((n / per))
		seen[$g]=$((${seen[$g]:-0} + 1))
		z=-
		[ "$(blk_state "$n")" = online ] && z=$(blk_zone "$n")
		case "$z" in Normal | DMA32 | DMA) ;; *) bad[$g]=1 ;; esac
	done
	n=0
	for g in "${!seen[@]}"; do
		[ "${seen[$g]}" = "$per" ] && [ -z "${bad[$g]:-}" ] && n=$((n + 1))
	done
	echo $n
}

# exp_gigantic PREFIX: how many 1 GiB hugetlb pages the guest can allocate at
# run time right now, next to what the ZONE_MOVABLE total would allow and
# the kernel-zone 1 GiB ranges there are.
exp_gigantic() {
	local f=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages t0 want got mov
	if [ ! -w "$f" ]; then
		tap_skip "$1-gigantic" "not run: no $f (1 GiB hugetlb pages unsupported)"
		return 0
	fi
	mov=$(exp_movable_mib)
	want=$(($(memtotal_kb) / 1048576 + 1))
	t0=$(exp_now)
	echo "$want" >"$f" 2>/dev/null
	got=$(cat "$f")
	metric "$1-gig-seconds" "$(exp_since "$t0")"
	echo 0 >"$f"
	metric "$1-gig-pages" "$got"
	metric "$1-gig-movable-max" $((mov / 1024))
	metric "$1-gig-movable-mib" "$mov"
	metric "$1-gig-memtotal-mib" $(($(memtotal_kb) / 1024))
	metric "$1-gig-kernel-granules" "$(exp_kernel_granules)"
	note "$1: $got of $want 1 GiB pages allocated; ZONE_MOVABLE $mov MiB allows $((mov / 1024)); $(exp_kernel_granules) whole 1 GiB kernel-zone ranges hot-added"
}

# exp_module_save PREFIX: the module's debugfs files, when it is loaded, and
# whether it held the online_page_callback (its placement applies only
# then: virtio_mem keeps the callback to itself).
exp_module_save() {
	local f
	[ -d "$EXP_DEBUGFS" ] || return 0
	if grep -q '^callback: held' "$EXP_DEBUGFS/summary" 2>/dev/null; then
		metric module-callback-held 1
	else
		metric module-callback-held 0
		note "mhp_online does not hold the online_page_callback: $(grep '^callback' "$EXP_DEBUGFS/summary" | xargs)"
	fi
	for f in "$EXP_DEBUGFS"/*; do
		[ -f "$f" ] || continue
		cat "$f" >"/tmp/mod-${f##*/}" 2>/dev/null && save_file "$1-mod-${f##*/}.txt" "/tmp/mod-${f##*/}"
	done
	return 0
}

# exp_kernel_pages PREFIX: what holds the hot-added kernel-zone blocks, per
# mhp-status (the module's census, /proc/kpageflags): metrics
# PREFIX-{blocks,stuck-blocks,slab-pages,pgtable-pages,other-pages}.
exp_kernel_pages() {
	[ -x /mhp/mhp-status ] || return 0
	/mhp/mhp-status -J >/tmp/status.json || return 0
	save_file "mhp-status-$1.json" /tmp/status.json
	jq -r --arg p "$1" '[.memory[] | select(.device != "boot" and .state == "online"
			and .zone != "Movable" and .kpageflags != null)] |
		"\($p)-blocks \(length)",
		"\($p)-stuck-blocks \([.[] | select(.removable == "no")] | length)",
		"\($p)-slab-pages \([.[].kpageflags.slab] | add // 0)",
		"\($p)-pgtable-pages \([.[].kpageflags.pgtable] | add // 0)",
		"\($p)-other-pages \([.[].kpageflags.other] | add // 0)"' /tmp/status.json |
		while read -r name value; do metric "$name" "$value"; done
}

# exp_reclaim_kernel: what a guest agent can do before an unplug to free
# kernel memory: drop the page cache, dentries and inodes, and have every
# slab cache give back its empty slabs (per-CPU ones included).
exp_reclaim_kernel() {
	local f
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f" 2>/dev/null || true
	done
}

# exp_conversions_metrics: the adaptive policy's conversions so far, each
# way, when the module runs it.
exp_conversions_metrics() {
	grep -q '^zone_policy: adaptive' $EXP_DEBUGFS/summary 2>/dev/null || return 0
	metric adaptive-to-kernel "$(awk '$1 == "adaptive_to_kernel:" { print $2 }' $EXP_DEBUGFS/summary)"
	metric adaptive-to-movable "$(awk '$1 == "adaptive_to_movable:" { print $2 }' $EXP_DEBUGFS/summary)"
}

# exp_counts_metrics PREFIX: OOM kills and allocation failures so far.
exp_counts_metrics() {
	metric "$1-oom-kills" "$(oom_kills)"
	metric "$1-alloc-failures" "$(alloc_failures)"
}


# exp_workload_args MIB: mhp-workload options for a job sized to MIB of
# memory, using it the way servers do: 60 % anonymous, 12.5 % tmpfs files of
# 4 KiB (32 per MiB; each also costs a dentry and an inode in slab) and
# 1/64 page tables, over 4 workers.
exp_workload_args() {
	local mib=$1
	echo "--anon-mb $((mib * 6 / 10)) --files $((mib * 32)) --tables-mb $((mib / 64 + 1)) --procs 4 --dir /mnt/wl/w"
}

# exp_workload_dir: a tmpfs for the job's files as big as the guest is now
# (the guest's /tmp was sized at boot, before the hot-add).
exp_workload_dir() {
	mkdir -p /mnt/wl
	grep -q ' /mnt/wl ' /proc/mounts || mount -t tmpfs -o size=100%,nr_inodes=0 wl /mnt/wl
}

# exp_workload ARGS...: run mhp-workload as an ordinary process: the scenario
# shell is exempt from the OOM killer, the workload's workers must not be
# (with nothing killable the kernel panics instead of killing).
exp_workload() {
	bash -c 'echo 0 >/proc/self/oom_score_adj; exec /mhp/mhp-workload "$@"' mhp-workload "$@"
}

# exp_workload_end: the workload stopped; its tmpfs files go too (what stays
# is what a finished server job leaves: slab, page cache of others).
exp_workload_end() {
	rm -rf /mnt/wl/w
}

# exp_grow KIND TOTAL_MIB UNIT_MIB: hot-add TOTAL in UNIT steps, one at a
# time, each onlined (auto-onlining) before the next: DIMMs of UNIT (ids in
# EXP_DIMMS) or virtio-mem device vm0 stepped by UNIT. Sets EXP_GROW_S (the
# seconds it took). Returns 1 (and says why) if a step failed.
EXP_DIMMS=()
exp_grow() {
	local kind=$1 total=$2 unit=$3 i id t0
	t0=$(exp_now)
	case "$kind" in
	dimm)
		for ((i = 0; i < total / unit; i++)); do
			id=$(dimm_add "${unit}M") || { echo "DIMM $i of ${unit} MiB not added"; return 1; }
			EXP_DIMMS+=("$id")
		done
		;;
	vmem)
		kmod_load virtio_mem || { echo "virtio_mem did not load"; return 1; }
		for ((i = 1; i <= total / unit; i++)); do
			host vmem-set vm0 "$((i * unit))M" >/dev/null
			host vmem-wait vm0 "$((i * unit))M" 60 >/dev/null ||
				{ echo "virtio-mem did not reach $((i * unit)) MiB"; return 1; }
		done
		;;
	*) echo "unknown KIND=$kind"; return 1 ;;
	esac
	# Auto-onlining happens during the add; wait for stragglers anyway.
	wait_for 60 hotadded_all_online || { echo "hot-added blocks stayed offline"; return 1; }
	EXP_GROW_S=$(exp_since "$t0")
}

# exp_grow_added CASE: exp_grow by the scenario's KIND, TOTAL_MIB and
# UNIT_MIB, then the block map of what was added (/tmp/added.txt, saved)
# and its metrics: added-blocks, added-normal, added-movable, grow-seconds.
# A failed grow fails the case CASE-grow and returns 1. Not for $(...):
# exp_grow keeps the DIMM ids in EXP_DIMMS.
exp_grow_added() {
	if ! exp_grow "$KIND" "$TOTAL_MIB" "$UNIT_MIB" >/tmp/grow.err; then
		tap_fail "$1-grow" "$(cat /tmp/grow.err)"
		return 1
	fi
	exp_blockmap /tmp/added.txt
	metric added-blocks "$(wc -l </tmp/added.txt)"
	metric added-normal "$(exp_zone_blocks /tmp/added.txt Normal)"
	metric added-movable "$(exp_zone_blocks /tmp/added.txt Movable)"
	metric grow-seconds "$EXP_GROW_S"
	save_file added.txt /tmp/added.txt
}

# exp_shrink KIND UNIT_MIB: unplug as much as possible; sets EXP_SHRINK_S
# and EXP_LEFT_MIB (hot-added memory still plugged).
exp_shrink() {
	local kind=$1 unit=$2 t0 left
	t0=$(exp_now)
	case "$kind" in
	dimm)
		left=$(exp_unplug_dimms "${EXP_DIMMS[@]}" | wc -l)
		EXP_LEFT_MIB=$((left * unit))
		# A count made over a dead host channel is no result.
		if [ -e /tmp/exp-host-broken ] || ! host memdevs >/dev/null 2>&1; then
			tap_fail host-channel "the host runner stopped answering during the unplug: no result ($(cat /tmp/exp-host-broken 2>/dev/null))"
			exit 0
		fi
		;;
	vmem)
		EXP_LEFT_MIB=$(($(vmem_unplug_all vm0 180) >> 20))
		;;
	esac
	EXP_SHRINK_S=$(exp_since "$t0")
}

# exp_dimm_blocks ID: block ids of a DIMM; rc 2 (and a note in
# /tmp/exp-host-broken) when the host runner does not answer.
exp_dimm_blocks() {
	dimm_blocks "$1" && return 0
	echo "dimm-info $1: no answer about a DIMM we added" >/tmp/exp-host-broken
	return 2
}

exp_dimm_gone() {
	local out
	out=$(host dimm-info "$1") && return 1
	case "$out" in *"no DIMM"*) return 0 ;; esac
	echo "dimm-info $1: $out" >/tmp/exp-host-broken
	return 0
}

# exp_dimm_try_unplug ID: offline every block of a DIMM (blocks_offline_all:
# all or none), then device_del it and wait until the guest has ejected
# it. dimm-del with timeout 0 only sends the device_del; the guest polls
# dimm-info until the DIMM is gone (the host's event wait broke the QMP
# channel before qmp.py 442076c, and polling shows progress either way),
# then a second dimm-del deletes the memory backend the DIMM left.
exp_dimm_try_unplug() {
	local id=$1 blocks
	blocks=$(exp_dimm_blocks "$id") || return 2
	# shellcheck disable=SC2086
	blocks_offline_all $blocks || return 1
	host dimm-del "$id" 0 >/dev/null 2>&1
	wait_for 120 exp_dimm_gone "$id" || return 1
	[ ! -e /tmp/exp-host-broken ] || return 2
	host dimm-del "$id" 0 >/dev/null 2>&1
	return 0
}

# exp_unplug_dimms ID...: unplug as many DIMMs as possible, passes newest
# first until one makes no progress (removing a DIMM frees the memmap it
# hosted for others). Prints the ids that stay. Stops at a dead host channel.
exp_unplug_dimms() {
	local left=("$@") next id progress=1 i rc
	rm -f /tmp/exp-host-broken
	while [ $progress = 1 ] && [ ${#left[@]} -gt 0 ]; do
		progress=0
		next=()
		for ((i = ${#left[@]} - 1; i >= 0; i--)); do
			id=${left[i]}
			exp_dimm_try_unplug "$id"
			rc=$?
			if [ $rc = 0 ]; then
				progress=1
			else
				next=("$id" "${next[@]}")
				[ $rc = 2 ] && { printf '%s\n' "${left[@]:0:i}" "${next[@]}"; return 1; }
			fi
		done
		left=("${next[@]}")
	done
	[ ${#left[@]} -eq 0 ] || printf '%s\n' "${left[@]}"
}
