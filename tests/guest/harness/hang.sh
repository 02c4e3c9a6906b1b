#!/bin/bash
# Harness self-test: a guest that never finishes must make the run fail.
# tests/run expects this run to FAIL on its timeout.
# mhp-expect-failure: did not finish within
# mhp-guest: --mem 512M
# mhp-timeout: 25
. /mhp/lib.sh
tap_ok about-to-hang
sleep 100000
