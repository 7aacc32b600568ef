// SPDX-License-Identifier: MIT
/*
 * Allocation failures: with the kernel's fault injection (failslab and
 * fail_page_alloc, filtered to this task) making allocations fail, BO
 * creation, BO info, device queries, syncobj creation and job submission
 * either succeed or fail with -ENOMEM, never anything else; afterwards
 * kmemleak (when the kernel has it) finds no leak and the card works.
 * With device memory BOs, the card's device memory is also whole again
 * afterwards: one BO can take all of it.
 * Skips on a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS/FAILSLAB.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"
#include "mlu_reliability.h"

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAIL_PAGE	"/sys/kernel/debug/fail_page_alloc"
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"
#define ROUNDS		400

/* [start, end) of mlu.ko's core in the kernel, from /proc/modules. */
static bool module_range(unsigned long long *start, unsigned long long *end)
{
	FILE *f = fopen("/proc/modules", "r");
	char name[64];
	unsigned long long size, addr;
	bool found = false;

	while (f && fscanf(f, "%63s %llu %*s %*s %*s %llx%*[^\n]", name, &size, &addr) == 3) {
		if (!strcmp(name, "mlu") && addr) {
			*start = addr;
			*end = addr + size;
			found = true;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Fail only allocations with mlu.ko on the call stack (the driver and what
 * it calls), when the kernel has the stack trace filter.
 */
static void filter_to_module(const char *dir)
{
	unsigned long long start, end;
	char path[128], value[32];

	snprintf(path, sizeof(path), "%s/require-start", dir);
	if (access(path, F_OK) || !module_range(&start, &end))
		return;
	snprintf(value, sizeof(value), "%llu", start);
	mlu_write_file(path, value);
	snprintf(path, sizeof(path), "%s/require-end", dir);
	snprintf(value, sizeof(value), "%llu", end);
	mlu_write_file(path, value);
}

/* Configure one fault-injection attribute directory; 0 or -errno. */
static int setup_fault(const char *dir, const char *probability)
{
	static const char *const attrs[][2] = {
		{ "task-filter", "Y" }, { "interval", "1" }, { "times", "-1" },
		{ "verbose", "0" }, { "space", "0" },
	};
	char path[128];
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, attrs[i][0]);
		ret = mlu_write_file(path, attrs[i][1]);
		if (ret)
			return ret;
	}
	/* Sleeping (GFP_KERNEL) allocations are the ones the driver makes. */
	snprintf(path, sizeof(path), "%s/ignore-gfp-wait", dir);
	mlu_write_file(path, "N");
	filter_to_module(dir);
	snprintf(path, sizeof(path), "%s/probability", dir);
	return mlu_write_file(path, probability);
}

static void make_it_fail(bool on)
{
	mlu_write_file("/proc/thread-self/make-it-fail", on ? "1" : "0");
}

static bool enomem_or_ok(int ret)
{
	return ret == 0 || ret == -ENOMEM;
}

static int kmemleak_scan(char *first, size_t len)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (mlu_write_file(KMEMLEAK, "scan"))
		return -1;
	fd = open(KMEMLEAK, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	snprintf(first, len, "%s", buf);
	return 1;
}

/*
 * 0 when one device memory BO can take all of the card's device memory,
 * else the BO_CREATE error.  The buddy allocator gives a BO of its whole
 * size only from a completely free, fully merged tree, so this sees both
 * leaked blocks and blocks left split.
 */
static int devmem_all_free(int fd, const struct drm_mlu_device_info *info)
{
	uint32_t bo;
	int ret;

	ret = mlu_bo_create(fd, info->devmem_size, DRM_MLU_BO_DEVMEM, &bo, NULL);
	if (!ret)
		mlu_bo_close(fd, bo);
	return ret;
}

static void allocation_failures(struct __test_metadata *_metadata, uint32_t bo_flags)
{
	struct drm_mlu_device_info info;
	struct mlu_pkt_copy pkt;
	uint32_t bo, keep, out;
	uint64_t va, keep_va;
	int fd, round, ret, bo_ret, failed = 0, bo_failed = 0, bad = 0, last_bad = 0;
	const char *bad_call = "";
	char why[4096];

	if (access(FAILSLAB, F_OK))
		SKIP(return, "kernel without failslab (CONFIG_FAILSLAB, FAULT_INJECTION_DEBUG_FS)");
	if (mlu_count_cards() == 0)
		SKIP(return, "no MLU card");
	fd = mlu_open_card(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, mlu_query_info(fd, &info));
	if ((bo_flags & DRM_MLU_BO_DEVMEM) && !(info.capabilities & DRM_MLU_CAP_BO_DEVMEM))
		SKIP(return, "the card has no device memory BOs");
	if (bo_flags & DRM_MLU_BO_DEVMEM)
		ASSERT_EQ(0, devmem_all_free(fd, &info))
			TH_LOG("device memory is not all free before the test");
	/*
	 * The jobs copy within a BO of the kind under test.  Kept for the
	 * whole loop, a device memory one also leaves the buddy allocator's
	 * tree split down to 4 KiB, as a card in use has it, so that BO
	 * creations need from none to many splits.
	 */
	ASSERT_EQ(0, mlu_bo_create(fd, 8192, bo_flags, &keep, &keep_va));
	if (!access(KMEMLEAK, F_OK))
		mlu_write_file(KMEMLEAK, "clear");

	ASSERT_EQ(0, setup_fault(FAILSLAB, "20"));
	if (!access(FAIL_PAGE, F_OK))
		ASSERT_EQ(0, setup_fault(FAIL_PAGE, "5"));

	for (round = 0; round < ROUNDS; round++) {
		make_it_fail(true);
		ret = bo_ret = mlu_bo_create(fd, 4096 << (round % 6), bo_flags, &bo, &va);
		bo_failed += ret != 0;
		if (!enomem_or_ok(ret)) {
			bad++, last_bad = ret, bad_call = "BO_CREATE";
		} else if (!ret) {
			struct drm_mlu_bo_info bi;

			ret = mlu_bo_info(fd, bo, &bi);
			if (!enomem_or_ok(ret))
				bad++, last_bad = ret, bad_call = "BO_INFO";
		}
		ret = mlu_query_info(fd, &info);
		if (!enomem_or_ok(ret))
			bad++, last_bad = ret, bad_call = "DEV_QUERY";
		out = mlu_syncobj_create(fd);
		mlu_pkt_copy_init(&pkt, keep_va + 4096, keep_va, 4096);
		ret = mlu_submit_simple(fd, round % 2, &pkt, 1, &keep, 1, 0, out);
		if (!enomem_or_ok(ret))
			bad++, last_bad = ret, bad_call = "SUBMIT";
		make_it_fail(false);
		failed += ret != 0;
		if (out) {
			mlu_syncobj_wait(fd, out, 20000 * MS);
			drmSyncobjDestroy(fd, out);
		}
		if (!bo_ret)
			mlu_bo_close(fd, bo);
	}
	mlu_write_file(FAILSLAB "/probability", "0");
	if (!access(FAIL_PAGE, F_OK))
		mlu_write_file(FAIL_PAGE "/probability", "0");
	TH_LOG("%d of %d submits and %d of %d BO creations failed under fault injection",
	       failed, ROUNDS, bo_failed, ROUNDS);
	EXPECT_EQ(0, bad) TH_LOG("%s returned %d (%s)", bad_call, last_bad, strerror(-last_bad));
	EXPECT_LT(0, failed) TH_LOG("fault injection never hit a submit");
	EXPECT_LT(0, bo_failed) TH_LOG("fault injection never hit a BO creation");
	mlu_bo_close(fd, keep);
	if (bo_flags & DRM_MLU_BO_DEVMEM)
		EXPECT_EQ(0, devmem_all_free(fd, &info))
			TH_LOG("device memory is not all free after the test: leaked or left split");
	close(fd);

	/* Objects are freed on close; kmemleak reports what never was. */
	if (!access(KMEMLEAK, F_OK)) {
		sleep(1);
		EXPECT_EQ(0, kmemleak_scan(why, sizeof(why))) TH_LOG("kmemleak: %s", why);
	}
	EXPECT_EQ(0, mlu_check_matmul(0, 99, why, sizeof(why))) TH_LOG("%s", why);
}

/*
 * A case takes 10 to 15 s on the debug kernel under TCG on an idle host:
 * too close to the harness's default 30 s when the host is busy.
 */
#define CASE_TIMEOUT_S	180

FIXTURE(failslab) {
	int unused;
};

FIXTURE_SETUP(failslab)
{
}

FIXTURE_TEARDOWN(failslab)
{
}

TEST_F_TIMEOUT(failslab, host_memory_bos_under_allocation_failures, CASE_TIMEOUT_S)
{
	allocation_failures(_metadata, 0);
}

TEST_F_TIMEOUT(failslab, device_memory_bos_under_allocation_failures, CASE_TIMEOUT_S)
{
	allocation_failures(_metadata, DRM_MLU_BO_DEVMEM);
}

TEST_HARNESS_MAIN
