# SPDX-License-Identifier: MIT
#
# MLU accelerator stack: top-level entry points.  Each target does its own
# set-up on a fresh Debian 12 machine (packages, QEMU source, builds); the
# heavy artefacts (QEMU source and build, kernel builds) are cached outside
# the tree in $(MLU_CACHE_DIR).

MLU_CACHE_DIR ?= $(HOME)/.cache/mlu-stack
export MLU_CACHE_DIR

.PHONY: all setup qemu check check-fresh fuzz bench demo vm driver tools clean help

all: qemu

help:
	@echo "make demo    build everything, boot a guest with the card, run a matmul and a conv"
	@echo "make check   run every test; ends with 'N passed, M failed'"
	@echo "make check-fresh  make check in a fresh minimal Debian 12 root, from the"
	@echo "             committed tree (CHECK_FRESH_SUITES='10-core ...' to narrow)"
	@echo "make fuzz    the fuzzers with a large budget (FUZZ_OPS=n, FUZZ_SEED=n)"
	@echo "make bench   run the benchmarks ('bench: <name> <value> <unit>' lines)"
	@echo "make vm      boot the test guest with an interactive shell (CARDS=n, default 1)"
	@echo "make qemu    fetch and build QEMU with the MLU card (cached in $(MLU_CACHE_DIR))"
	@echo "make driver  build driver/mlu.ko against the guest kernel's headers (KDIR=...)"
	@echo "make tools   build the operator tools (build/tools/mlu-smi)"

setup:
	@scripts/setup-host.sh

qemu: setup
	@scripts/build-qemu.sh >/dev/null

check: setup
	@scripts/check.sh

# make check as a newcomer sees it: a fresh debootstrap root, the committed
# tree, nothing from this machine's caches (needs root, not `setup`).
check-fresh:
	@scripts/check-fresh.sh

# Same checks as the fuzz suites of `make check`, a much larger budget.
fuzz: setup
	@tests/fuzz/run.sh
	@MLU_FUZZ_CALLS=$${FUZZ_OPS:-1000000} MLU_FUZZ_SEED=$${FUZZ_SEED:-0} \
		MLU_RELIABILITY_TIMEOUT=1800 tests/suites/35-guest-reliability.sh

bench: setup
	@scripts/bench.sh

demo: setup
	@scripts/guest/demo.sh

# A kernel developer's shell in the test guest; build failures are reported
# but do not stop the boot.
CARDS ?= 1
vm: setup
	@scripts/guest/build.sh || true
	@scripts/guest/run.sh --shell --cards $(CARDS)

# mlu.ko, built in the tree against the newest Debian 6.12 headers.  KDIR
# is looked up when the recipe runs, after setup has installed them.
KDIR ?= $(shell ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)
driver: setup
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

tools: setup
	$(MAKE) -C tools/mlu-smi O=$(CURDIR)/build/tools

clean:
	rm -rf build
	cd driver && rm -f *.o *.ko *.mod *.mod.c .*.cmd modules.order
	rm -f Module.symvers modules.order .*.cmd
