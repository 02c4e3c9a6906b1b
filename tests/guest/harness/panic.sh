#!/bin/bash
# Harness self-test: a guest that panics must make the run fail.
# tests/run expects this run to FAIL with a panic found in the kernel log.
# mhp-expect-failure: kernel log shows: .*(Kernel panic|sysrq)
# mhp-guest: --mem 512M
# mhp-timeout: 120
. /mhp/lib.sh
tap_ok about-to-panic
echo c >/proc/sysrq-trigger
