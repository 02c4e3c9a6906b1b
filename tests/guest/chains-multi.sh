#!/bin/bash
# memmap-chains attributes per block when one hot-add covers several blocks:
# a 512 MiB DIMM is one arch_add_memory() of 4 blocks, and each block must
# get its own 2 MiB memmap edge; virtio-mem (add_memory_driver_managed) is
# traced the same way as DIMMs.
# mhp-guest: --mem 1G --maxmem 4G --vmem 1G,requested=0 --append "memhp_default_state=online"
# mhp-timeout: 240
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

tap_check tracer-pin mc_start
id=$(dimm_add 512M) || tap_fail dimm-add "dimm_add 512M failed"
dimm=$(dimm_blocks "$id" | xargs)
tap_check dimm-4-blocks test "$(echo "$dimm" | wc -w)" -eq 4
tap_check virtio-mem-load kmod_load virtio_mem
host vmem-set vm0 512M
tap_check virtio-mem-plugged host vmem-wait vm0 512M 60
for ((i = 0; i < 50; i++)); do
	[ "$(hotadded_blocks | wc -l)" -ge 8 ] && break
	sleep 0.2
done

mc_report multi
J=$MC_DIR/multi.json
tap_check json-valid mc_validate "$J"
vmem=""
for n in $(hotadded_blocks); do
	case " $dimm " in *" $n "*) ;; *) vmem="$vmem $n" ;; esac
done
vmem=${vmem# }
note "DIMM blocks [$dimm], virtio-mem blocks [$vmem]"
per_block() {
	jq "[.edges[] | select(.dep == $1 and .kind == \"memmap\") | .bytes] | add // 0" "$J"
}
# One struct page (64 bytes on x86_64) per 4 KiB page of the block.
memmap_bytes=$(($(blk_bytes) / 4096 * 64))
for n in $dimm; do
	tap_check "dimm-block-$n-own-memmap" test "$(per_block "$n")" -eq "$memmap_bytes"
done
tap_check virtio-mem-4-blocks test "$(echo "$vmem" | wc -w)" -eq 4
traced=$(mc_ids "$J" '.hotadded')
for n in $vmem; do
	case " $traced " in
	*" $n "*) tap_check "vmem-block-$n-own-memmap" test "$(per_block "$n")" -eq "$memmap_bytes" ;;
	*) tap_fail "vmem-block-$n-own-memmap" "block $n not traced" ;;
	esac
done
