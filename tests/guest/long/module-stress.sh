#!/bin/bash
# module-stress.sh (see there) for 30 minutes: `make check-stress`, run
# before each closing note; make check runs the 60 s version.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 2400
STRESS_SECONDS=1800 . "$(dirname "$0")/../module-stress.sh"
