# shellcheck shell=bash
# Shared definitions for the scripts: where the build/cache folder is and how
# a supported kernel line ("6.1", "6.12") maps to its resolved release,
# kernel image, module tree and headers. Sourced, never run.

MHP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MHP_BUILD=${MHP_BUILD:-$MHP_TOP/build}
MHP_KERNELS_CONF=$MHP_TOP/scripts/kernels.conf
# Written by scripts/setup: one "<line> <release>" pair per supported kernel.
MHP_KERNELS_ENV=$MHP_BUILD/kernels.env
# Written by scripts/debug-kernel: the same for the debug kernel, a kernel
# line of the runners but not a supported stock kernel.
MHP_KERNELS_DEBUG_ENV=$MHP_BUILD/kernels-debug.env

mhp_die() {
	echo "error: $*" >&2
	exit 1
}

mhp_log() {
	echo "[$(date +%H:%M:%S)] $*" >&2
}

# mhp_wait_slot N: return once fewer than N of the caller's background jobs
# run, so a loop that starts guests with & keeps at most N at once.
mhp_wait_slot() {
	while [ "$(jobs -rp | wc -l)" -ge "$1" ]; do
		wait -n || true
	done
}

# mhp_stop_jobs: SIGTERM to the caller's background jobs and to everything
# they started, then wait for them: for the INT/TERM traps of scripts that
# run guests (a guest runner stops its QEMU and removes its temporaries on
# SIGTERM). The tree is collected before anything is signalled.
mhp_stop_jobs() {
	local level all=() pid
	level=$(jobs -p)
	while [ -n "$level" ]; do
		# shellcheck disable=SC2206 # process ids: one word each
		all+=($level)
		level=$(for pid in $level; do pgrep -P "$pid" || true; done)
	done
	[ ${#all[@]} -eq 0 ] || kill -TERM "${all[@]}" 2>/dev/null || true
	wait || true
}

# mhp_trap_stop_jobs: on SIGINT, SIGTERM or SIGHUP, stop the background
# jobs (mhp_stop_jobs) and exit as the signal would have.
mhp_trap_stop_jobs() {
	trap 'trap - INT; mhp_stop_jobs; exit 130' INT
	trap 'trap - TERM; mhp_stop_jobs; exit 143' TERM
	trap 'trap - HUP; mhp_stop_jobs; exit 129' HUP
}

# The supported kernel lines, in the order of kernels.conf.
mhp_kernel_lines() {
	awk '!/^#/ && NF >= 2 { print $1 }' "$MHP_KERNELS_CONF"
}

# The kernel lines every guest test runs on (no test list in kernels.conf):
# the default of the long suites, the experiment and the Debian image.
mhp_kernel_full_lines() {
	awk '!/^#/ && NF == 2 { print $1 }' "$MHP_KERNELS_CONF"
}

# mhp_kernel_runs LINE TEST-FILE: whether the suites run this guest test on
# LINE: every test, or only those its kernels.conf line lists by name.
mhp_kernel_runs() {
	local list
	list=$(awk -v l="$1" '!/^#/ && $1 == l { print $3 }' "$MHP_KERNELS_CONF")
	[ -z "$list" ] || [[ ",$list," == *",$(basename "$2" .sh),"* ]]
}

# Release ("6.1.0-55-amd64") of a line, as resolved by scripts/setup.
mhp_kernel_release() {
	local line=$1 rel envs=("$MHP_KERNELS_ENV")
	[ -f "$MHP_KERNELS_ENV" ] || mhp_die "kernels not set up yet: run scripts/setup"
	[ ! -f "$MHP_KERNELS_DEBUG_ENV" ] || envs+=("$MHP_KERNELS_DEBUG_ENV")
	rel=$(awk -v l="$line" '$1 == l { print $2 }' "${envs[@]}")
	[ -n "$rel" ] || mhp_die "unknown kernel '$line' (supported: $(mhp_kernel_lines | xargs))"
	echo "$rel"
}

# Root of the unpacked stock kernel image package of a release.
mhp_kernel_root() {
	echo "$MHP_BUILD/kernels/$1"
}

# The release's headers, unpacked by scripts/setup next to its image (never
# installed on the host: Debian's headers depend on the kernel image).
mhp_kernel_headers() {
	echo "$MHP_BUILD/kernels/$1/usr/src/linux-headers-$1"
}

# Kernel version of a release ("6.1.0-57-amd64" -> "6.1"): its linux-source.
mhp_release_version() {
	echo "$1" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/'
}

# Output folder of everything built for one release (module, BPF tools).
mhp_kernel_out() {
	echo "$MHP_BUILD/out/$1"
}
