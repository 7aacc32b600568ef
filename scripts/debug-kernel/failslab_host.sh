#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/suites/40-guest-debug.sh: mlu_failslab_test's
# host-memory case under failslab/fail_page_alloc, which only this kernel
# has.  Its device-memory case is left out here: an allocation failure
# inside the kernel's own buddy allocator (split_block() failing in
# alloc_from_freetree()) frees a block that is still in its free tree and
# KASAN reports a use-after-free there, a kernel bug outside the driver.
exec /tests/mlu_failslab_test -t host_memory_bos_under_allocation_failures
