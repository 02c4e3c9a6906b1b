#!/bin/bash
# Install mhp_online as an operator does, on a real Debian system
# (scripts/rootfs: bookworm, systemd, DKMS, the stock kernel and its
# headers), booted twice:
#  1. apt installs the two packages of make deb: DKMS builds the module
#     for the running kernel and signs it with its MOK key, the tracer's
#     unit starts; modprobe applies the shipped options; the test then
#     edits them (ratio=200) as an operator would, and reboots.
#  2. modules-load.d loaded the module at boot with the edited options,
#     the tracer's unit ran at boot, before the job; a DIMM hot-added now
#     is onlined (udev rule on 6.1, the kernel on 6.12) in the zone the
#     ratio policy decided and logged; memmap-chains --summary (the pinned
#     state of the boot-time unit) shows its blocks; mhp-status agrees.
# One vCPU: TCG emulates all vCPUs on one host thread, so a second one adds
# no speed, and while it compiles the other can go unscheduled long enough
# for the soft lockup detector (seen once on 6.12 at a boot, without the
# module loaded).
# mhp-guest: --rootfs --mem 1G --maxmem 8G --smp 1
# mhp-timeout: 1500
. /mhp/lib.sh
set -u

STATE=/var/lib/mhp-install-test
rel=$(cat /mhp/release)
MP=/sys/module/mhp_online/parameters

if [ ! -e $STATE/phase1 ]; then
	tap_check debian-system test -f /etc/debian_version
	tap_check module-not-there-yet fails modinfo mhp_online
	cp /mhp/deb/*.deb /root/
	t0=$SECONDS
	# The guest has no network: apt finds every dependency installed.
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		/root/mhp-online-dkms_*.deb /root/mhp-online-tools_*.deb >/tmp/apt.log 2>&1
	rc=$?
	tail -30 /tmp/apt.log
	tap_check apt-install test $rc -eq 0
	[ $rc = 0 ] || exit 0
	note "apt install with the DKMS build: $((SECONDS - t0)) s"
	dkms status
	tap_check dkms-installed sh -c "dkms status | grep -q 'mhp-online/.*, $rel, x86_64: installed'"
	tap_check vermagic-is-running-kernel sh -c "modinfo -F vermagic mhp_online | grep -q '^$rel '"
	signer=$(modinfo -F signer mhp_online)
	note "module signer: ${signer:-none}"
	tap_check signed-by-dkms test -n "$signer"
	tap_check tracer-unit-active systemctl is-active -q memmap-chains.service
	tap_check modprobe modprobe mhp_online
	tap_check shipped-options test "$(cat $MP/placement) $(cat $MP/zone_policy) $(cat $MP/ratio)" = "tail ratio 301"
	sed -i 's/ratio=301/ratio=200/' /etc/modprobe.d/mhp-online.conf
	tap_check options-edited grep -q "ratio=200" /etc/modprobe.d/mhp-online.conf
	mkdir -p $STATE
	touch $STATE/phase1
	sync
	exit 100
fi

# Phase 2: after the reboot.
tap_check loaded-at-boot test -d /sys/module/mhp_online
tap_check edited-options-at-boot test "$(cat $MP/placement) $(cat $MP/zone_policy) $(cat $MP/ratio)" = "tail ratio 200"
tap_check signed-module-loaded test -n "$(modinfo -F signer mhp_online)"
tap_check tracer-unit-ran-at-boot systemctl is-active -q memmap-chains.service
journalctl -b -u memmap-chains.service --no-pager | tail -5
tap_check tracer-pinned memmap-chains --summary

id=$(dimm_add 512M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
blocks=$(dimm_blocks "$id" | xargs)
tap_check dimm-onlined wait_for 60 hotadded_all_online
cat /sys/kernel/debug/mhp_online/decisions
# Every block in the zone the module decided and logged for it.
for n in $blocks; do
	logged=$(awk -v b="$n" '!/^#/ && $2 == b { z = $8 } END { print z }' /sys/kernel/debug/mhp_online/decisions)
	tap_check "block-$n-zone-as-decided" test -n "$logged" -a "$logged" = "$(blk_zone "$n")"
done
memmap-chains --summary --json >/tmp/chains.json
for n in $blocks; do
	tap_check "block-$n-traced" jq -e ".blocks[] | select(.id == $n and .hotadded)" /tmp/chains.json
done
mhp-status
tap_check status-removable sh -c "mhp-status -J | jq -e '.devices[] | select(.kind == \"dimm\") | .removable_bytes == 536870912'"
