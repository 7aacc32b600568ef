// SPDX-License-Identifier: MIT
/*
 * Implicit sync: a job waits for the fences in its BOs' reservation
 * objects and adds its own, so that every dma-buf user sees a job's result
 * only once the job has completed.
 *
 * The gate is a vgem BO imported into the card with a vgem write fence that
 * the test signals by hand: a foreign writer.  A card job reading it cannot
 * start before the test has written the pattern and signalled; everything
 * downstream (the card's own BOs, their dma-bufs, another card importing
 * them, fdinfo) is then checked while the gate is closed and after it opens.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/dma-buf.h>
#include <drm/vgem_drm.h>
#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

#define WAIT_NS		(30000 * MS)
/* What a job that ignored the gate would need to finish (a 64 KiB copy). */
#define CLOSED_NS	(1000 * MS)
#define GATE_SIZE	(64 << 10)

/* The vgem device, whose fences userspace signals; -1 without one. */
static int vgem_open(void)
{
	char path[32];
	int i, fd;

	for (i = 0; i < 16; i++) {
		drmVersionPtr v;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, "vgem")) {
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

/* A vgem BO of @size bytes (a dumb buffer 4 KiB wide), mapped. */
static void *vgem_bo_create(int fd, uint32_t size, uint32_t *handle)
{
	struct drm_mode_create_dumb create = {
		.width = 1024, .height = size / 4096, .bpp = 32,
	};
	struct drm_mode_map_dumb map = { 0 };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create))
		return NULL;
	*handle = create.handle;
	map.handle = create.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
	return p == MAP_FAILED ? NULL : p;
}

/* A card BO of @size bytes, mapped, with its device address. */
static void *card_bo_create(int fd, uint64_t size, uint32_t *handle, uint64_t *va)
{
	if (mlu_bo_create(fd, size, 0, handle, va))
		return NULL;
	return mlu_bo_map(fd, *handle);
}

/* Import @dmabuf into card @fd: its handle and device address. */
static int card_import(int fd, int dmabuf, uint32_t *handle, uint64_t *va)
{
	struct drm_mlu_bo_info info;

	if (drmPrimeFDToHandle(fd, dmabuf, handle))
		return -errno;
	if (mlu_bo_info(fd, *handle, &info))
		return -EIO;
	*va = info.device_va;
	return 0;
}

/* A job on @ring of one COPY (or none when @size is 0) with these BO uses. */
static int submit_copy_on(int fd, uint32_t ring, uint64_t dst, uint64_t src, uint64_t size,
			  const struct drm_mlu_submit_bo *bos, uint32_t bo_count,
			  uint32_t out_sync)
{
	struct mlu_pkt_copy copy;
	struct drm_mlu_submit s = {
		.packets = (uintptr_t)&copy, .packet_count = size ? 1 : 0, .queue = ring,
		.bo_handles = (uintptr_t)bos, .bo_handle_count = bo_count,
		.flags = DRM_MLU_SUBMIT_BO_USAGE, .out_sync = out_sync,
	};

	mlu_pkt_copy_init(&copy, dst, src, size);
	return mlu_submit(fd, &s);
}

static int submit_copy(int fd, uint64_t dst, uint64_t src, uint64_t size,
		       const struct drm_mlu_submit_bo *bos, uint32_t bo_count,
		       uint32_t out_sync)
{
	return submit_copy_on(fd, 0, dst, src, size, bos, bo_count, out_sync);
}

static void fill_pattern(void *p, size_t size, uint32_t seed)
{
	uint32_t *w = p;
	size_t i;

	for (i = 0; i < size / 4; i++)
		w[i] = seed ^ (uint32_t)(i * 2654435761u);
}

/* Card 0 and a closed gate: vgem BO, imported, with a pending write fence. */
FIXTURE(gate) {
	int fd;
	int vgem;
	uint32_t vgem_bo;
	void *vgem_map;
	uint32_t fence;
	bool open;
	uint32_t bo;
	uint64_t va;
	uint32_t pattern[GATE_SIZE / 4];
};

FIXTURE_SETUP(gate)
{
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	int dmabuf;

	self->fd = -1;
	self->open = true;
	self->vgem = vgem_open();
	if (self->vgem < 0)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM)");
	MLU_OPEN_CARD_OR_SKIP(self->fd, 0);

	self->vgem_map = vgem_bo_create(self->vgem, GATE_SIZE, &self->vgem_bo);
	ASSERT_NE(NULL, self->vgem_map);
	memset(self->vgem_map, 0, GATE_SIZE);
	ASSERT_EQ(0, drmPrimeHandleToFD(self->vgem, self->vgem_bo, DRM_CLOEXEC, &dmabuf));
	ASSERT_EQ(0, card_import(self->fd, dmabuf, &self->bo, &self->va));
	close(dmabuf);

	attach.handle = self->vgem_bo;
	ASSERT_EQ(0, drmIoctl(self->vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	self->fence = attach.out_fence;
	self->open = false;
	fill_pattern(self->pattern, GATE_SIZE, 0x5eed);
}

FIXTURE_TEARDOWN(gate)
{
	struct drm_vgem_fence_signal signal = { .fence = self->fence };

	if (!self->open)
		drmIoctl(self->vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal);
	if (self->fd >= 0)
		close(self->fd);
	if (self->vgem >= 0)
		close(self->vgem);
}

/* The foreign writer writes the pattern, then signals its fence. */
static int gate_open(FIXTURE_DATA(gate) *self)
{
	struct drm_vgem_fence_signal signal = { .fence = self->fence };

	memcpy(self->vgem_map, self->pattern, GATE_SIZE);
	if (drmIoctl(self->vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal))
		return -errno;
	self->open = true;
	return 0;
}

/* A card job reading the gate waits for the foreign writer's fence. */
TEST_F(gate, card_job_waits_for_foreign_writer)
{
	uint32_t dst, out = mlu_syncobj_create(self->fd);
	void *dst_map;
	uint64_t dst_va;

	dst_map = card_bo_create(self->fd, GATE_SIZE, &dst, &dst_va);
	ASSERT_NE(NULL, dst_map);
	{
		struct drm_mlu_submit_bo bos[] = {
			{ .handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = dst },
		};

		ASSERT_EQ(0, submit_copy(self->fd, dst_va, self->va, GATE_SIZE, bos, 2, out));
	}
	EXPECT_EQ(-ETIME, mlu_syncobj_wait(self->fd, out, CLOSED_NS));
	ASSERT_EQ(0, gate_open(self));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, out));
	EXPECT_EQ(0, memcmp(dst_map, self->pattern, GATE_SIZE));
}

/*
 * A CPU waiting on the dma-buf of a BO the card writes (poll() and an
 * exported sync_file) wakes only once the job has written all of it.
 */
TEST_F(gate, cpu_waits_on_dmabuf_for_card_write)
{
	struct dma_buf_export_sync_file export = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };
	struct pollfd pfd = { .events = POLLIN };
	uint32_t dst;
	void *dst_map;
	uint64_t dst_va;
	int dmabuf;

	dst_map = card_bo_create(self->fd, GATE_SIZE, &dst, &dst_va);
	ASSERT_NE(NULL, dst_map);
	ASSERT_EQ(0, drmPrimeHandleToFD(self->fd, dst, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
	{
		struct drm_mlu_submit_bo bos[] = {
			{ .handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = dst },
		};

		ASSERT_EQ(0, submit_copy(self->fd, dst_va, self->va, GATE_SIZE, bos, 2, 0));
	}
	pfd.fd = dmabuf;
	EXPECT_EQ(0, poll(&pfd, 1, CLOSED_NS / MS));
	ASSERT_EQ(0, ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &export));
	pfd.fd = export.fd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	ASSERT_EQ(0, gate_open(self));
	ASSERT_EQ(1, poll(&pfd, 1, WAIT_NS / MS));
	/* Nothing but the dma-buf said the data is there. */
	EXPECT_EQ(0, memcmp(dst_map, self->pattern, GATE_SIZE));
	pfd.fd = dmabuf;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	close(export.fd);
	close(dmabuf);
}

/*
 * Another card importing a BO the first one writes waits for that job: its
 * own job, listed with plain handles (every BO written, the default),
 * copies the finished result, never the zeroes before it.
 */
TEST_F(gate, other_card_waits_for_card_write)
{
	uint32_t mid, imp, dst, handles[2], out;
	uint64_t mid_va, imp_va = 0, dst_va;
	void *dst_map;
	int fd1, dmabuf;

	if (mlu_expected_cards() >= 0 && mlu_expected_cards() < 2)
		SKIP(return, "the host attached %d card(s)", mlu_expected_cards());
	MLU_OPEN_CARD_OR_SKIP(fd1, 1);
	ASSERT_NE(NULL, card_bo_create(self->fd, GATE_SIZE, &mid, &mid_va));
	{
		struct drm_mlu_submit_bo bos[] = {
			{ .handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = mid },
		};

		ASSERT_EQ(0, submit_copy(self->fd, mid_va, self->va, GATE_SIZE, bos, 2, 0));
	}
	ASSERT_EQ(0, drmPrimeHandleToFD(self->fd, mid, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
	ASSERT_EQ(0, card_import(fd1, dmabuf, &imp, &imp_va));
	close(dmabuf);
	dst_map = card_bo_create(fd1, GATE_SIZE, &dst, &dst_va);
	ASSERT_NE(NULL, dst_map);
	out = mlu_syncobj_create(fd1);
	{
		struct mlu_pkt_copy copy;

		mlu_pkt_copy_init(&copy, dst_va, imp_va, GATE_SIZE);
		handles[0] = imp;
		handles[1] = dst;
		ASSERT_EQ(0, mlu_submit_simple(fd1, 0, &copy, 1, handles, 2, 0, out));
	}
	EXPECT_EQ(-ETIME, mlu_syncobj_wait(fd1, out, CLOSED_NS));
	ASSERT_EQ(0, gate_open(self));
	ASSERT_EQ(0, mlu_syncobj_wait(fd1, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(fd1, out));
	EXPECT_EQ(0, memcmp(dst_map, self->pattern, GATE_SIZE));
	close(fd1);
}

/*
 * Readers of a BO do not wait for one another; a writer waits for the
 * readers before it.  Packet-less jobs, which only wait; the blocked reader
 * on ring 0, the others on ring 1, so that only the BO orders them.
 */
TEST_F(gate, readers_share_a_bo_writers_wait)
{
	uint32_t shared, blocked_reader, reader, writer;
	struct drm_mlu_device_info info;
	uint64_t shared_va;

	ASSERT_EQ(0, mlu_query_info(self->fd, &info));
	if (info.num_queues < 2)
		SKIP(return, "one ring only");
	ASSERT_NE(NULL, card_bo_create(self->fd, 4096, &shared, &shared_va));
	blocked_reader = mlu_syncobj_create(self->fd);
	reader = mlu_syncobj_create(self->fd);
	writer = mlu_syncobj_create(self->fd);
	{
		struct drm_mlu_submit_bo gated[] = {
			{ .handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = shared, .flags = DRM_MLU_SUBMIT_BO_READ },
		};
		struct drm_mlu_submit_bo read = {
			.handle = shared, .flags = DRM_MLU_SUBMIT_BO_READ,
		};
		struct drm_mlu_submit_bo write = { .handle = shared };

		ASSERT_EQ(0, submit_copy_on(self->fd, 0, 0, 0, 0, gated, 2, blocked_reader));
		ASSERT_EQ(0, submit_copy_on(self->fd, 1, 0, 0, 0, &read, 1, reader));
		ASSERT_EQ(0, submit_copy_on(self->fd, 1, 0, 0, 0, &write, 1, writer));
	}
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, reader, WAIT_NS));
	EXPECT_EQ(-ETIME, mlu_syncobj_wait(self->fd, writer, CLOSED_NS));
	EXPECT_EQ(0, mlu_fence_status(self->fd, blocked_reader));
	ASSERT_EQ(0, gate_open(self));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, writer, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, blocked_reader));
	EXPECT_EQ(1, mlu_fence_status(self->fd, writer));
}

/* A BO listed as explicit takes no part: its fences do not hold the job. */
TEST_F(gate, explicit_bo_is_not_waited_for)
{
	struct drm_mlu_submit_bo bo = {
		.handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_EXPLICIT,
	};
	uint32_t out = mlu_syncobj_create(self->fd);

	ASSERT_EQ(0, submit_copy(self->fd, 0, 0, 0, &bo, 1, out));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, out));
}

/* fdinfo's drm-active-<region> counts the BOs of jobs not yet completed. */
TEST_F(gate, fdinfo_active_counts_bos_of_running_jobs)
{
	const long long host = 1 << 20;
	uint32_t bo, out = mlu_syncobj_create(self->fd);
	uint64_t va;

	ASSERT_NE(NULL, card_bo_create(self->fd, host, &bo, &va));
	/* The gate is busy already: its writer has not signalled. */
	EXPECT_EQ(GATE_SIZE, mlu_fdinfo_bytes(self->fd, "active", "system"));
	{
		struct drm_mlu_submit_bo bos[] = {
			{ .handle = self->bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = bo },
		};

		ASSERT_EQ(0, submit_copy(self->fd, va, self->va, GATE_SIZE, bos, 2, out));
	}
	/* The job's BOs: the gate (an import, system memory) and its own. */
	EXPECT_EQ(host + GATE_SIZE, mlu_fdinfo_bytes(self->fd, "active", "system"));
	ASSERT_EQ(0, gate_open(self));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, out, WAIT_NS));
	EXPECT_EQ(0, mlu_fdinfo_bytes(self->fd, "active", "system"));
}

/* Unknown usage flags are refused; a BO listed twice is one BO. */
TEST(bo_usage_list_is_checked)
{
	uint32_t bo, out;
	uint64_t va;
	int fd;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_bo_create(fd, 4096, 0, &bo, &va));
	out = mlu_syncobj_create(fd);
	{
		struct drm_mlu_submit_bo bad = { .handle = bo, .flags = 1u << 2 };
		struct drm_mlu_submit_bo twice[] = {
			{ .handle = bo, .flags = DRM_MLU_SUBMIT_BO_READ },
			{ .handle = bo },
			{ .handle = bo, .flags = DRM_MLU_SUBMIT_BO_READ },
		};
		struct drm_mlu_submit_bo missing = { .handle = bo + 100 };

		EXPECT_EQ(-EINVAL, submit_copy(fd, 0, 0, 0, &bad, 1, 0));
		EXPECT_EQ(-ENOENT, submit_copy(fd, 0, 0, 0, &missing, 1, 0));
		ASSERT_EQ(0, submit_copy(fd, va, va + 2048, 2048, twice, 3, out));
	}
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(fd, out));
	close(fd);
}

TEST_HARNESS_MAIN
