# SPDX-License-Identifier: MIT
#
# Reliability tests of the guest (tests/suites/35-guest-reliability.sh):
# the ioctl fuzzer, fault injection and lifecycle (unbind, reload, hot
# unplug).  They are kept out of tests.list, so the functional guest run
# (30-guest) does not run them.  Usage:
#   make -C tests/guest -f reliability.mk [O=<output dir>] reliability
# writes the binaries and $(O)/reliability.list, the order the guest runs
# them in (the fuzzer first; hot unplug, which removes a card, last).

include Makefile

reliability_tests := mlu_fuzz_ioctl mlu_failslab_test mlu_lifecycle_test mlu_hotplug_test

reliability: $(addprefix $(O)/,$(reliability_tests)) $(O)/reliability.list

$(O)/reliability.list: reliability.mk | $(O)
	printf '%s\n' $(reliability_tests) >$@

$(O)/obj/mlu_reliability.o: mlu_reliability.c mlu_reliability.h mlu_guest.h | $(O)/obj
	$(CC) $(CFLAGS) $(MLU_CFLAGS) -c -o $@ $<

$(addprefix $(O)/,$(reliability_tests)): $(O)/%: %.c mlu_guest.h mlu_reliability.h $(helpers) \
		$(O)/obj/mlu_reliability.o Makefile reliability.mk | $(O)
	$(CC) $(CFLAGS) $(MLU_CFLAGS) -o $@ $< $(O)/obj/mlu_reliability.o $(helpers) \
		$(LDFLAGS) -ldrm -lm -lpthread

.PHONY: reliability
