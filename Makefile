# mhp_online: out-of-tree module, BPF tools and QEMU guest tests.
#
#   make                 build mhp_online.ko for KDIR (default: the running
#                        kernel's headers, else every supported stock kernel)
#   make modules-all     build it for every supported stock kernel into
#                        build/out/<release>/
#   make bpf             build the memmap-chains tracer into build/bpf/
#   make check           host unit tests + guest tests on both stock kernels
#                        (a sample of them on the cloud kernels)
#   make check-stress    the 30-minute stress test on both stock kernels
#   make check-chains    memmap-chains' pinned = unofflinable check, 20 times
#                        per test and kernel under a background load (~35 min)
#   make check-debug     module, policy, chains and stress tests on the debug
#                        kernel (scripts/debug-kernel: KASAN, lockdep, ...;
#                        built once per machine, over an hour the first time)
#   make check-install   apt install of make deb's packages on a real Debian
#                        system (scripts/rootfs), DKMS, options at next boot
#   make demo            the main job: hot-add memory in a stock 6.1 guest and
#                        show what can be removed again, with and without us
#   make experiment      reproduce the seeds' results (long; docs/experiment.md)
#   make checkpatch      kernel style check of module/
#   make dkms-install    register, build and install the module with DKMS for
#                        the running kernel (rebuilt on kernel upgrades);
#                        make dkms-uninstall removes it again
#   make dkms-src        the DKMS source tree, in DKMS_SRC
#   make deb             Debian packages mhp-online-dkms and mhp-online-tools
#                        in build/deb/ (dpkg-buildpackage, then lintian)
#   make setup           install packages and fetch stock kernels (idempotent)

BUILD       := $(CURDIR)/build
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR        ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR))
KERNELS_ENV := $(BUILD)/kernels.env
# Releases resolved by scripts/setup, one per supported stock kernel line.
RELEASES     = $(shell awk '{ print $$2 }' $(KERNELS_ENV) 2>/dev/null)
MODULE_SRCS := Kbuild $(wildcard module/*.c module/*.h)
# The release, in one place: module/mhp_online.h.
VERSION     := $(shell sed -n 's/^\#define MHP_VERSION[[:space:]]*"\(.*\)"/\1/p' module/mhp_online.h)
DKMS_SRC    ?= /usr/src/mhp-online-$(VERSION)
HARNESS_SRCS := $(wildcard tests/harness/*.c) tests/harness/Kbuild

.PHONY: all modules modules-all module-one bpf workload host-tests check check-stress check-chains \
	check-install check-debug demo \
	experiment checkpatch setup clean help dkms-src dkms-install dkms-uninstall deb

ifneq ($(KDIR),)
all: modules
else
all: modules-all
endif

help:
	@sed -n '2,28p' Makefile | sed 's/^# \{0,1\}//'

# The standard out-of-tree build, in place, for one kernel.
modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

setup:
	@scripts/setup --check >/dev/null 2>&1 || scripts/setup

$(KERNELS_ENV):
	scripts/setup

# One output folder per release: Kbuild builds in the folder it is given, so
# each release gets its own copy of the sources (no shared .o files).
modules-all: $(KERNELS_ENV)
	@set -e; for rel in $(RELEASES); do \
		$(MAKE) --no-print-directory module-one REL=$$rel; \
	done

module-one:
	@mkdir -p $(BUILD)/out/$(REL)/src/module $(BUILD)/out/$(REL)/harness
	@cp -p $(MODULE_SRCS) --parents $(BUILD)/out/$(REL)/src/
	@cp -p $(HARNESS_SRCS) $(BUILD)/out/$(REL)/harness/
	$(MAKE) -C $(BUILD)/kernels/$(REL)/usr/src/linux-headers-$(REL) M=$(BUILD)/out/$(REL)/src W=1 modules
	$(MAKE) -C $(BUILD)/kernels/$(REL)/usr/src/linux-headers-$(REL) M=$(BUILD)/out/$(REL)/harness modules
	@cp -p $(BUILD)/out/$(REL)/src/mhp_online.ko $(BUILD)/out/$(REL)/harness/mhp_harness_warn.ko \
		$(BUILD)/out/$(REL)/harness/mhp_harness_slabs.ko $(BUILD)/out/$(REL)/

# DKMS builds from a tree of its own: the module's sources and dkms.conf
# with the version filled in.
dkms-src:
	@test -n "$(VERSION)" || { echo "no MHP_VERSION in module/mhp_online.h" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -p --parents $(MODULE_SRCS) $(DKMS_SRC)/
	sed 's/@VERSION@/$(VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

# A second dkms-install of the same version replaces the first.
dkms-install:
	-dkms remove mhp-online/$(VERSION) --all >/dev/null 2>&1
	$(MAKE) --no-print-directory dkms-src
	dkms add mhp-online/$(VERSION)
	dkms install mhp-online/$(VERSION)

dkms-uninstall:
	-dkms remove mhp-online/$(VERSION) --all
	rm -rf $(DKMS_SRC)

bpf: $(KERNELS_ENV)
	$(MAKE) -C bpf OUT=$(BUILD)/bpf

# The packages build from a staged copy of the tree (packaging/debian as
# debian/, a changelog for VERSION dated by the last commit), so the tree
# itself gets no build droppings. The BPF programs are compiled against
# the BTF make bpf extracted from the oldest stock kernel.
DEB_SRC = $(BUILD)/deb/mhp-online-$(VERSION)
DEB_MAINTAINER ?= mhp_online developers <mhp-online@example.org>
deb: bpf
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	cp -rp Kbuild dkms.conf module bpf packaging $(DEB_SRC)/
	cp -rp packaging/debian $(DEB_SRC)/debian
	{ echo "mhp-online ($(VERSION)) bookworm; urgency=medium"; echo; \
	  echo "  * Release $(VERSION) of mhp_online (built by make deb)."; echo; \
	  echo " -- $(DEB_MAINTAINER)  $$(git log -1 --format=%aD 2>/dev/null || date -R)"; \
	} >$(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && VMLINUX_BTF=$(BUILD)/bpf/vmlinux dpkg-buildpackage -b -us -uc >$(BUILD)/deb/build.log 2>&1 || \
		{ tail -30 $(BUILD)/deb/build.log; exit 1; }
	lintian --fail-on error,warning $(BUILD)/deb/*.changes
	ls $(BUILD)/deb/*.deb

host-tests:
	$(MAKE) -C tests/host

# The guest workload and mhp-pin (a page kept busy for offlining tests):
# static, so the initramfs needs no libraries for them.
workload: $(BUILD)/workload/mhp-workload $(BUILD)/workload/mhp-pin
$(BUILD)/workload/%: tests/workload/%.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -static -o $@ $<

# The BPF tools are built when their sources are there.
TOOLS := modules-all workload $(if $(wildcard bpf/Makefile),bpf)

check: setup
	$(MAKE) --no-print-directory $(TOOLS)
	tests/run

check-stress: setup
	$(MAKE) --no-print-directory modules-all workload
	tests/run --guest-only tests/guest/long/module-stress.sh

# The debug kernel: its build is cached outside the checkout, the module
# is built against it like against a stock kernel's headers. Every run fails
# on a KASAN, lockdep, kmemleak or bad-page report (scripts/guest).
DEBUG_TESTS = $(filter-out %-bench.sh,$(wildcard tests/guest/module-*.sh \
	tests/guest/policy-*.sh tests/guest/chains-*.sh)) tests/guest/debug/fault-inject.sh
check-debug: setup
	scripts/debug-kernel
	$(MAKE) --no-print-directory module-one REL=$$(awk '{ print $$2 }' $(BUILD)/kernels-debug.env)
	$(MAKE) --no-print-directory workload bpf
	tests/run --guest-only --kernel 6.12-debug $(DEBUG_TESTS)

# Installs as operators do: a Debian system (scripts/rootfs, cached in
# build/rootfs) boots each stock kernel twice: apt install of the packages
# of make deb with the DKMS build, the options at the next boot, a DIMM
# placed by the policy (tests/guest/rootfs/install.sh).
check-install: setup
	$(MAKE) --no-print-directory deb
	scripts/rootfs
	tests/run --guest-only tests/guest/rootfs/install.sh

# Hunts tracer misses: every run must find the blocks the tracer calls
# pinned to be exactly those that refuse to go offline.
CHAINS_RUNS ?= 20
check-chains: setup
	$(MAKE) --no-print-directory modules-all workload bpf
	tests/run --guest-only --repeat $(CHAINS_RUNS) --env MC_LOAD=1 \
		tests/guest/chains-head.sh tests/guest/chains-tail.sh tests/guest/chains-bulk.sh

demo: setup
	$(MAKE) --no-print-directory $(TOOLS)
	scripts/demo

experiment: setup
	scripts/experiment

checkpatch: $(KERNELS_ENV)
	$(BUILD)/src/linux-source-6.1/scripts/checkpatch.pl --no-tree --strict \
		--ignore FILE_PATH_CHANGES,CAMELCASE -f $(wildcard module/*.c module/*.h tests/harness/*.c)

# Not Kbuild's own clean: it deletes every *.ko and *.o below M=, and the
# stock kernels' modules live in build/kernels.
clean:
	rm -rf $(BUILD)/out $(BUILD)/bpf $(BUILD)/host $(BUILD)/runs $(BUILD)/workload
	rm -f *.ko *.mod *.mod.c *.o .*.cmd modules.order Module.symvers \
		module/*.o module/.*.cmd
