#!/bin/bash
# The options packaging/mhp-online.modprobe.conf ships are accepted by the
# module of this kernel and are what its parameters then say (modprobe
# passes them to the module at load, here insmod does the same).
# mhp-timeout: 120
. /mhp/lib.sh

conf=/mhp/packaging/mhp-online.modprobe.conf
opts=$(sed -n 's/^options mhp_online //p' $conf)
tap_check options-found test -n "$opts"
# shellcheck disable=SC2086
tap_check load-with-options mhp_load $opts
bad=
for o in $opts; do
	got=$(cat "/sys/module/mhp_online/parameters/${o%%=*}" 2>/dev/null)
	[ "$got" = "${o#*=}" ] || bad+=" ${o%%=*}=$got (want ${o#*=})"
done
if [ -z "$bad" ]; then
	tap_ok parameters-as-shipped "$opts"
else
	tap_fail parameters-as-shipped "$bad"
fi
tap_check unload mhp_unload
