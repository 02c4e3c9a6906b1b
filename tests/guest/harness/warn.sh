#!/bin/bash
# Harness self-test: a module that WARNs must make the run fail.
# tests/run expects this run to FAIL with a WARNING found in the kernel log.
# mhp-expect-failure: kernel log shows: .*WARNING
# mhp-guest: --mem 512M
# mhp-timeout: 120
. /mhp/lib.sh
insmod /mhp/harness/mhp_harness_warn.ko
tap_ok warn-module-loaded
