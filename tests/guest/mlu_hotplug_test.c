// SPDX-License-Identifier: MIT
/*
 * PCIe hot unplug of a card with an open file, CPU mappings (host memory
 * and device memory BOs) and jobs in flight, then hot re-add.  The guest
 * asks the host for the unplug with a "# mlu-guest: qmp device_del mluN"
 * line on its result channel; run.sh --hotplug runs scripts/guest/qmp-agent.py,
 * which turns it into a QMP device_del (and device_add for the re-add) on
 * the card's pcie-root-port.  See Documentation/testing.rst.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/sync_file.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"
#include "mlu_reliability.h"

#define JOBS		32
#define PACKETS		24	/* per job: about 0.5 s of work, far below the timeout */
#define WAIT_S		90	/* pciehp waits 5 s after the attention button */

static bool hotplug_enabled(void)
{
	char cmdline[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	return strstr(cmdline, "mlu_hotplug=1") != NULL;
}

static bool pci_present(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", name);
	return access(path, F_OK) == 0;
}

static bool wait_for(bool (*cond)(const char *, int), const char *name, int arg)
{
	int i;

	for (i = 0; i < WAIT_S * 10; i++) {
		if (cond(name, arg))
			return true;
		usleep(100000);
	}
	return false;
}

static bool gone(const char *name, int unused)
{
	return !pci_present(name);
}

static bool cards_back(const char *unused, int cards)
{
	return mlu_count_cards() == cards;
}

/* Ask the host runner for a QMP command on card id (see qmp-agent.py). */
static void request(const char *cmd, int card)
{
	printf("# mlu-guest: qmp %s mlu%d\n", cmd, card);
	fflush(stdout);
}

/* The accel node of a PCI device, opened; -1 if none. */
static int open_pci_card(const char *name)
{
	char path[128];
	int minor;

	for (minor = 0; minor < 64; minor++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/accel/accel%d", name, minor);
		if (!access(path, F_OK)) {
			snprintf(path, sizeof(path), "/dev/accel/accel%d", minor);
			return open(path, O_RDWR | O_CLOEXEC);
		}
	}
	return -1;
}

static sigjmp_buf bus_error;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error, 1);
}

/* Touch a mapping of a removed device: true if that raised SIGBUS. */
static bool touch_raises_sigbus(volatile unsigned char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool sigbus = true;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_error, 1)) {
		p[0] = 0x5a;
		(void)p[1];
		sigbus = false;
	}
	sigaction(SIGBUS, &old, NULL);
	return sigbus;
}

/* Two hot plug events of up to WAIT_S each: above the harness's 30 s. */
FIXTURE(hotplug) {
	int unused;
};

FIXTURE_SETUP(hotplug)
{
}

FIXTURE_TEARDOWN(hotplug)
{
}

TEST_F_TIMEOUT(hotplug, unplug_with_open_file_mappings_and_jobs_then_replug, 4 * WAIT_S)
{
	struct drm_mlu_device_info info;
	struct mlu_matmul_desc mm = { .dtype = MLU_DTYPE_F32, .m = 1024, .n = 1024, .k = 1024,
				      .lda = 1024, .ldb = 1024, .ldc = 1024, .alpha = 1.0f };
	struct mlu_pkt_matmul pkts[PACKETS];
	char names[8][16], name[16], why[160];
	uint32_t bo, dev_bo, syncs[JOBS], dummy;
	int fences[JOBS];
	unsigned char *map, *dev_map = NULL;
	uint64_t va, dev_va;
	int cards = mlu_count_cards(), target, fd, i, signalled = 0;
	const uint64_t size = 12 << 20;

	if (!hotplug_enabled())
		SKIP(return, "the runner has no QMP agent (run.sh --hotplug)");
	if (cards == 0)
		SKIP(return, "no MLU card");
	ASSERT_EQ(cards, mlu_pci_devices(names, 8));
	/* Root ports get buses in -device order: the last card is mlu<cards-1>. */
	target = cards - 1;
	snprintf(name, sizeof(name), "%s", names[target]);
	fd = open_pci_card(name);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, mlu_query_info(fd, &info));

	/* A host-memory BO with a mapping and a chain of jobs copying it. */
	ASSERT_EQ(0, mlu_bo_create(fd, size, 0, &bo, &va));
	map = mlu_bo_map(fd, bo);
	ASSERT_NE(NULL, map);
	mlu_fill_random(MLU_DTYPE_F32, map, 2 << 20, 5);
	if ((info.capabilities & DRM_MLU_CAP_BO_DEVMEM) &&
	    !mlu_bo_create(fd, 1 << 20, DRM_MLU_BO_DEVMEM, &dev_bo, &dev_va))
		dev_map = mlu_bo_map(fd, dev_bo);
	/*
	 * 1024^3 f32 matmuls, about 15 s of work in all: the card is still
	 * busy when pciehp removes it, 5 s after the attention button.
	 */
	for (i = 0; i < PACKETS; i++)
		mlu_pkt_matmul_init(&pkts[i], &mm, va, va + (4 << 20), va + (8 << 20), 0);
	for (i = 0; i < JOBS; i++) {
		syncs[i] = mlu_syncobj_create(fd);
		ASSERT_NE(0, syncs[i]);
		ASSERT_EQ(0, mlu_submit_simple(fd, i % 2, pkts, PACKETS, &bo, 1, 0, syncs[i]));
		/* After the unplug every ioctl of the file fails: keep the fences. */
		ASSERT_EQ(0, drmSyncobjExportSyncFile(fd, syncs[i], &fences[i]));
	}

	request("device_del", target);
	ASSERT_TRUE(wait_for(gone, name, 0)) TH_LOG("%s still present after %d s", name, WAIT_S);

	/* The file outlives the card: every ioctl fails with -ENODEV. */
	EXPECT_EQ(-ENODEV, mlu_query_info(fd, &info));
	EXPECT_EQ(-ENODEV, mlu_bo_create(fd, 4096, 0, &dummy, NULL));
	EXPECT_EQ(-ENODEV, mlu_submit_simple(fd, 0, NULL, 0, NULL, 0, 0, 0));
	for (i = 0; i < JOBS; i++) {
		struct sync_file_info fi = { 0 };
		struct pollfd pfd = { .fd = fences[i], .events = POLLIN };

		EXPECT_EQ(1, poll(&pfd, 1, 30000)) TH_LOG("job %d not done after unplug", i);
		ASSERT_EQ(0, ioctl(fences[i], SYNC_IOC_FILE_INFO, &fi));
		EXPECT_TRUE(fi.status == 1 || fi.status == -ENODEV || fi.status == -ECANCELED)
			TH_LOG("job %d: fence status %d", i, fi.status);
		signalled += fi.status == 1;
		close(fences[i]);
	}
	TH_LOG("%d of %d jobs completed before the unplug", signalled, JOBS);
	/* Host memory stays the process's; device memory may SIGBUS. */
	map[0] = 1;
	EXPECT_EQ(1, map[0]);
	/* Device memory is gone: either SIGBUS or a dummy page, no crash. */
	if (dev_map)
		TH_LOG("device memory mapping after unplug: %s",
		       touch_raises_sigbus(dev_map) ? "SIGBUS" : "readable");
	munmap(map, size);
	if (dev_map)
		munmap(dev_map, 1 << 20);
	EXPECT_EQ(-ENODEV, mlu_bo_close(fd, bo));
	close(fd);

	request("device_add", target);
	ASSERT_TRUE(wait_for(cards_back, NULL, cards)) TH_LOG("card not back after %d s", WAIT_S);
	for (i = 0; i < cards; i++)
		EXPECT_EQ(0, mlu_check_matmul(i, 77 + i, why, sizeof(why))) TH_LOG("%s", why);
}

/* Copy @size bytes from @src to @dst on @fd's card; the job's fence status. */
static int copy_job(int fd, uint32_t src, uint64_t src_va, uint32_t dst, uint64_t dst_va,
		    uint64_t size)
{
	uint32_t bos[2] = { src, dst }, sync = mlu_syncobj_create(fd);
	struct mlu_pkt_copy pkt;
	int ret;

	if (!sync)
		return -ENOMEM;
	mlu_pkt_copy_init(&pkt, dst_va, src_va, size);
	ret = mlu_submit_simple(fd, 0, &pkt, 1, bos, 2, 0, sync);
	if (!ret)
		ret = mlu_syncobj_wait(fd, sync, 30000 * MS);
	if (!ret)
		ret = mlu_fence_status(fd, sync);
	return ret;
}

static uint64_t bo_va(int fd, uint32_t handle)
{
	struct drm_mlu_bo_info info;

	return mlu_bo_info(fd, handle, &info) ? 0 : info.device_va;
}

/*
 * The last card leaves while it holds imports of card 0's host and device
 * memory, and card 0 holds an import of its device memory.  Card 0 keeps
 * working, its memory all comes back once the imports close, and the
 * removed card's attachments are let go of without complaint (the debug
 * kernel's DMA-API checks report mappings a driver keeps past removal).
 */
TEST_F_TIMEOUT(hotplug, unplug_with_imports_both_ways_then_replug, 4 * WAIT_S)
{
	const uint64_t size = 1 << 20;
	struct drm_mlu_device_info info0;
	uint32_t host0, dev0, imp_host, imp_dev, own, dev_t, imp_t, scratch0;
	int cards = mlu_count_cards(), fd0, fd_t, buf_host, buf_dev, buf_t, status;
	char names[8][16], why[160];
	unsigned char *map;
	uint64_t own_va;

	if (!hotplug_enabled())
		SKIP(return, "the runner has no QMP agent (run.sh --hotplug)");
	if (cards < 2)
		SKIP(return, "needs two cards");
	ASSERT_EQ(cards, mlu_pci_devices(names, 8));
	fd0 = open_pci_card(names[0]);
	fd_t = open_pci_card(names[cards - 1]);
	ASSERT_GE(fd0, 0);
	ASSERT_GE(fd_t, 0);
	ASSERT_EQ(0, mlu_query_info(fd0, &info0));
	if (!(info0.capabilities & DRM_MLU_CAP_BO_DEVMEM))
		SKIP(return, "no device memory");

	/* Card 0 exports host and device memory; the last card imports both. */
	ASSERT_EQ(0, mlu_bo_create(fd0, size, 0, &host0, NULL));
	ASSERT_EQ(0, mlu_bo_create(fd0, size, DRM_MLU_BO_DEVMEM, &dev0, NULL));
	map = mlu_bo_map(fd0, host0);
	ASSERT_NE(NULL, map);
	memset(map, 0xa5, size);
	munmap(map, size);
	ASSERT_EQ(0, drmPrimeHandleToFD(fd0, host0, DRM_CLOEXEC | DRM_RDWR, &buf_host));
	ASSERT_EQ(0, drmPrimeHandleToFD(fd0, dev0, DRM_CLOEXEC | DRM_RDWR, &buf_dev));
	ASSERT_EQ(0, drmPrimeFDToHandle(fd_t, buf_host, &imp_host));
	ASSERT_EQ(0, drmPrimeFDToHandle(fd_t, buf_dev, &imp_dev));
	/* The imports work: host -> card 0's device memory -> the card's own BO. */
	ASSERT_EQ(0, mlu_bo_create(fd_t, size, 0, &own, &own_va));
	EXPECT_EQ(1, copy_job(fd_t, imp_host, bo_va(fd_t, imp_host), imp_dev,
			      bo_va(fd_t, imp_dev), size));
	EXPECT_EQ(1, copy_job(fd_t, imp_dev, bo_va(fd_t, imp_dev), own, own_va, size));
	map = mlu_bo_map(fd_t, own);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0xa5, map[0]);
	EXPECT_EQ(0xa5, map[size - 1]);
	munmap(map, size);

	/* And card 0 imports the last card's device memory. */
	ASSERT_EQ(0, mlu_bo_create(fd_t, size, DRM_MLU_BO_DEVMEM, &dev_t, NULL));
	ASSERT_EQ(0, drmPrimeHandleToFD(fd_t, dev_t, DRM_CLOEXEC | DRM_RDWR, &buf_t));
	ASSERT_EQ(0, drmPrimeFDToHandle(fd0, buf_t, &imp_t));

	request("device_del", cards - 1);
	ASSERT_TRUE(wait_for(gone, names[cards - 1], 0))
		TH_LOG("%s still present after %d s", names[cards - 1], WAIT_S);

	/*
	 * Card 0's import of the removed card's memory points at a BAR that
	 * is gone: a job using it must end (either way) rather than hang.
	 */
	ASSERT_EQ(0, mlu_bo_create(fd0, size, 0, &scratch0, NULL));
	status = copy_job(fd0, imp_t, bo_va(fd0, imp_t), scratch0, bo_va(fd0, scratch0), size);
	EXPECT_TRUE(status == 1 || status < 0) TH_LOG("copy from a removed card: %d", status);
	TH_LOG("copy from the removed card's memory: status %d", status);
	EXPECT_EQ(0, mlu_bo_close(fd0, imp_t));
	close(buf_t);
	/* The removed card's file, holding the imports, closes last. */
	close(buf_host);
	close(buf_dev);
	EXPECT_EQ(0, mlu_bo_close(fd0, host0));
	EXPECT_EQ(0, mlu_bo_close(fd0, dev0));
	close(fd_t);
	EXPECT_EQ(0, mlu_wait_devmem_free(fd0, info0.devmem_size, NULL, NULL));
	EXPECT_EQ(0, mlu_check_matmul(0, 91, why, sizeof(why))) TH_LOG("%s", why);
	close(fd0);

	request("device_add", cards - 1);
	ASSERT_TRUE(wait_for(cards_back, NULL, cards)) TH_LOG("card not back after %d s", WAIT_S);
	EXPECT_EQ(0, mlu_check_matmul(cards - 1, 92, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_HARNESS_MAIN
