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
	struct mlu_matmul_desc mm = { .dtype = MLU_CORE_F32, .m = 1024, .n = 1024, .k = 1024,
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
	mlu_fill_random(MLU_CORE_F32, map, 2 << 20, 5);
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

TEST_HARNESS_MAIN
