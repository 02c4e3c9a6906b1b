#!/bin/bash
# The seed's chain with placement=head: the same experiment as
# module-chain-tail.sh (see there), in a guest of its own.
# mhp-guest: --mem 1G --maxmem 4G --slots 20 --append "memhp_default_state=online"
# mhp-timeout: 300
PLACEMENT="head" . "$(dirname "$0")/module-chain-tail.sh"
