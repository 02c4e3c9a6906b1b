#!/bin/bash
# memmap-chains refuses clearly, with a non-zero exit and no change, when it
# cannot work: not root, no kernel BTF, unsupported kernel (no memory hotplug
# sysfs, no hot-add functions), kprobes disabled, bad options, no pinned
# state; and reports full maps (exit 3) when they overflow.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 240
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

# expect_fail NAME RC PATTERN CMD...: CMD exits RC and says PATTERN on stderr.
expect_fail() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 3
	"$@" >"$MC_DIR/out" 2>"$MC_DIR/err" || rc=$?
	if [ $rc -eq "$want" ] && grep -q "$pat" "$MC_DIR/err"; then
		tap_ok "$name" "rc $rc: $(head -1 "$MC_DIR/err")"
	else
		tap_fail "$name" "rc $rc (want $want), stderr: $(head -2 "$MC_DIR/err" | xargs)"
	fi
}

"$MC" --reset
expect_fail no-state 1 "no pinned state" "$MC" --summary
expect_fail bad-option 2 "unrecognized option\|invalid option" "$MC" --bogus
expect_fail bad-number 2 "invalid number" "$MC" --max-blocks 0
expect_fail exclusive 2 "exclude each other" "$MC" --json --dot

grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534::/:/bin/sh' >>/etc/passwd
chmod a+rx / /bin /mhp "$MC"	# the initramfs folders are root-only
expect_fail not-root 1 "must be run as root" su -s /bin/sh nobody -c "$MC -d 1"

mount -t tmpfs none /sys/kernel/btf
expect_fail no-btf 1 "kernel BTF not available" "$MC" -d 1
umount /sys/kernel/btf
tap_check no-state-left test ! -e /sys/fs/bpf/memmap-chains/blocks

# Unsupported kernel: no memory hotplug in sysfs, or no hot-add functions.
mount -t tmpfs none /sys/devices/system/memory
expect_fail no-memory-hotplug 1 "unsupported kernel" "$MC" -d 1
umount /sys/devices/system/memory
grep -v -w arch_add_memory /proc/kallsyms >"$MC_DIR/kallsyms"
mount -o bind "$MC_DIR/kallsyms" /proc/kallsyms
expect_fail no-hotadd-function 1 "unsupported kernel: arch_add_memory" "$MC" -d 1
umount /proc/kallsyms
tap_check still-no-state test ! -e /sys/fs/bpf/memmap-chains/blocks

echo 0 >/sys/kernel/debug/kprobes/enabled
expect_fail kprobes-off 1 "kprobes are disabled" "$MC" --kprobes -d 1
echo 1 >/sys/kernel/debug/kprobes/enabled

# Maps sized for 2 blocks, 3 blocks added: the report says so and exits 3.
tap_check pin-small "$MC" --pin --max-blocks 2
add_dimms 3 >/dev/null || tap_fail hot-add "dimm_add failed"
rc=0
"$MC" --summary --json >"$MC_DIR/full.json" 2>"$MC_DIR/err" || rc=$?
cat "$MC_DIR/err"
tap_check maps-full-exit-3 test $rc -eq 3
tap_check maps-full-message grep -q "maps full" "$MC_DIR/err"
tap_check maps-full-json test "$(jq .maps_full "$MC_DIR/full.json")" = true
metric dropped-blocks "$(jq .stats.dropped_blocks "$MC_DIR/full.json")"
tap_check json-valid mc_validate "$MC_DIR/full.json"
if command -v neato >/dev/null; then
	tap_skip png-needs-graphviz "graphviz is installed here"
else
	expect_fail png-needs-graphviz 1 "graphviz (neato) not found" "$MC" --summary --png "$MC_DIR/x.png"
fi
tap_check unpin "$MC" --unpin
tap_check links-gone test ! -e /sys/fs/bpf/memmap-chains/links
expect_fail resize-refused 1 "run memmap-chains --reset" "$MC" --max-blocks 4 -d 1
tap_check reset "$MC" --reset
tap_check state-gone test ! -e /sys/fs/bpf/memmap-chains
