#!/bin/bash
# module-basic.sh (see there) with memory_hotplug.memmap_on_memory=1: the
# memmap of each hot-added block sits in the block itself, online_pages()
# starts after it and the callback's first chunk is one pageblock, not a
# max-order chunk. Accounting must still balance with head placement.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline memory_hotplug.memmap_on_memory=1"
# mhp-timeout: 240
MEMMAP_ON_MEMORY=1 . "$(dirname "$0")/module-basic.sh"
