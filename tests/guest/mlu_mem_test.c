// SPDX-License-Identifier: MIT
/*
 * Memory objects: placement and CPU mappings of host and device memory,
 * copies of many sizes and offsets through libmlu (byte for byte), device
 * memory exhaustion and recovery, dma-buf sharing between processes, cards
 * and udmabuf, fdinfo accounting, isolation of address spaces, lifetime of
 * imported BOs used by queued jobs, and closing everything in every order.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu/mlu.h"
#include "mlu_guest.h"

#define WAIT_NS (60000 * MS)

#define OPEN_DEVICE_OR_SKIP(dev, index)						\
	MLU_SKIP_UNLESS_CARD(mlu_device_open(index, &(dev)) == 0, (index))

static void fill_pattern(void *dst, size_t n, uint32_t seed)
{
	uint8_t *p = dst;
	uint32_t s = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		p[i] = (uint8_t)s;
	}
}

/* Offset of the first byte of n that differs, or -1. */
static long first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

/* Offset of the first byte of n that is not c, or -1. */
static long first_not(const void *a, uint8_t c, size_t n)
{
	const uint8_t *x = a;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != c)
			return (long)i;
	return -1;
}

static uint64_t devmem_free(struct mlu_device *dev)
{
	struct mlu_memory_info mi;

	if (mlu_device_memory_info(dev, &mi))
		return UINT64_MAX;
	return mi.devmem_free;
}

/* ---- placement and mmap ------------------------------------------------ */

FIXTURE(mem)
{
	struct mlu_device *dev;
	struct mlu_memory_info mi;
};

FIXTURE_SETUP(mem)
{
	struct mlu_device_props props;

	OPEN_DEVICE_OR_SKIP(self->dev, 0);
	ASSERT_EQ(MLU_SUCCESS, mlu_device_get_props(self->dev, &props));
	ASSERT_TRUE(props.capabilities & MLU_DEVICE_CAP_DEVMEM);
	ASSERT_EQ(MLU_SUCCESS, mlu_device_memory_info(self->dev, &self->mi));
	ASSERT_EQ(props.devmem_size, self->mi.devmem_total);
}

FIXTURE_TEARDOWN(mem)
{
	mlu_device_close(self->dev);
}

TEST_F(mem, placement_and_mmap)
{
	const uint64_t size = 3 * 4096 + 5, rounded = 4 * 4096;
	int fd = mlu_device_fd(self->dev);
	unsigned int kind;

	/* Jobs of earlier tests may still be letting go of their BOs. */
	ASSERT_DEVMEM_FREE_SETTLES(fd, self->mi.devmem_total);
	for (kind = 0; kind < 2; kind++) {
		unsigned int flags = kind ? MLU_BUFFER_DEVMEM : 0;
		uint64_t free0 = devmem_free(self->dev);
		struct drm_mlu_bo_info info;
		struct mlu_buffer *buf;
		uint8_t *p, *q;
		uint8_t ref[4096];

		/* No job holds these BOs: freeing gives the memory back at once. */
		ASSERT_EQ(self->mi.devmem_total, free0);
		ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, flags, &buf));
		EXPECT_EQ(rounded, mlu_buffer_size(buf));
		EXPECT_EQ(flags, mlu_buffer_flags(buf));
		ASSERT_EQ(0, mlu_bo_info(fd, mlu_buffer_handle(buf), &info));
		EXPECT_EQ(kind ? DRM_MLU_BO_DEVMEM : 0, info.flags);
		/* Only device memory BOs take device memory. */
		EXPECT_EQ(free0 - (kind ? rounded : 0), devmem_free(self->dev));

		ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(buf, (void **)&p));
		EXPECT_EQ(-1, first_not(p, 0, rounded)) TH_LOG("new BO not zeroed");
		fill_pattern(ref, sizeof(ref), kind + 1);
		memcpy(p + 4096, ref, sizeof(ref));

		/* A second mapping of the same offset sees the same memory. */
		q = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_SHARED, fd, info.mmap_offset);
		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(-1, first_diff(q + 4096, ref, sizeof(ref)));
		q[rounded - 1] = 0x5a;
		EXPECT_EQ(0x5a, p[rounded - 1]);
		/* A mapping larger than the BO is refused. */
		EXPECT_EQ(MAP_FAILED, mmap(NULL, rounded + 4096, PROT_READ, MAP_SHARED, fd,
					   info.mmap_offset));
		munmap(q, rounded);

		mlu_buffer_free(buf);
		EXPECT_EQ(free0, devmem_free(self->dev));
	}
}

TEST_F(mem, devmem_exhaustion_and_recovery)
{
	const uint64_t chunk = 16 << 20;
	int fd = mlu_device_fd(self->dev);
	unsigned int n = 0, max = self->mi.devmem_total / chunk + 2;
	struct mlu_buffer **bufs = calloc(max, sizeof(*bufs));
	uint64_t free0;
	uint32_t handle;
	int ret = MLU_SUCCESS;

	ASSERT_NE(NULL, bufs);
	ASSERT_DEVMEM_FREE_SETTLES(fd, self->mi.devmem_total);
	free0 = devmem_free(self->dev);
	while (n < max) {
		ret = mlu_buffer_alloc(self->dev, chunk, MLU_BUFFER_DEVMEM, &bufs[n]);
		if (ret)
			break;
		n++;
	}
	EXPECT_EQ(MLU_ERROR_OUT_OF_MEMORY, ret);
	EXPECT_EQ(self->mi.devmem_total / chunk, n);
	EXPECT_EQ(free0 - n * chunk, devmem_free(self->dev));
	/* The raw ioctl says -ENOMEM too. */
	EXPECT_EQ(-ENOMEM, mlu_bo_create(fd, chunk, DRM_MLU_BO_DEVMEM, &handle, NULL));
	/* Host memory is a separate pool. */
	EXPECT_EQ(0, mlu_bo_create(fd, chunk, 0, &handle, NULL));
	EXPECT_EQ(0, mlu_bo_close(fd, handle));

	/* Free one in the middle: exactly that much fits again. */
	mlu_buffer_free(bufs[n / 2]);
	EXPECT_EQ(chunk, devmem_free(self->dev));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, chunk, MLU_BUFFER_DEVMEM,
						&bufs[n / 2]));
	EXPECT_EQ(0, devmem_free(self->dev));
	while (n)
		mlu_buffer_free(bufs[--n]);
	EXPECT_EQ(free0, devmem_free(self->dev));

	/* All of it at once works after recovery. */
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, free0, MLU_BUFFER_DEVMEM, &bufs[0]));
	EXPECT_EQ(0, devmem_free(self->dev));
	mlu_buffer_free(bufs[0]);
	EXPECT_EQ(free0, devmem_free(self->dev));
	free(bufs);
}

/* ---- copies ------------------------------------------------------------ */

FIXTURE(copy)
{
	struct mlu_device *dev;
	struct mlu_queue *queue;
};

FIXTURE_VARIANT(copy)
{
	unsigned int src_flags, dst_flags;
};

FIXTURE_VARIANT_ADD(copy, h2d) { .src_flags = 0, .dst_flags = MLU_BUFFER_DEVMEM };
FIXTURE_VARIANT_ADD(copy, d2h) { .src_flags = MLU_BUFFER_DEVMEM, .dst_flags = 0 };
FIXTURE_VARIANT_ADD(copy, d2d) { .src_flags = MLU_BUFFER_DEVMEM, .dst_flags = MLU_BUFFER_DEVMEM };
FIXTURE_VARIANT_ADD(copy, h2h) { .src_flags = 0, .dst_flags = 0 };

FIXTURE_SETUP(copy)
{
	OPEN_DEVICE_OR_SKIP(self->dev, 0);
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create(self->dev, 0, &self->queue));
}

FIXTURE_TEARDOWN(copy)
{
	mlu_queue_destroy(self->queue);
	mlu_device_close(self->dev);
}

/*
 * Every size against every offset pair, alternately synchronous and
 * queued; the bytes around the destination range must stay untouched.
 */
TEST_F(copy, sizes_and_offsets)
{
	static const uint64_t sizes[] = {
		1, 2, 3, 7, 8, 63, 64, 65, 511, 4095, 4096, 4097, 8191,
		65535, 65536, 65537, 65536 * 3 + 13, (1 << 20) + 1, (3 << 20) + 4097,
	};
	static const uint64_t offsets[][2] = {	/* dst, src */
		{ 0, 0 }, { 1, 0 }, { 0, 3 }, { 13, 7 }, { 4095, 1 }, { 4097, 4093 },
		{ 65537, 12289 },
	};
	const uint64_t size = 4 << 20;
	struct mlu_buffer *src, *dst;
	uint8_t *ps, *pd, *ref;
	unsigned int i, j, n = 0;

	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, variant->src_flags, &src));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, variant->dst_flags, &dst));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(src, (void **)&ps));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(dst, (void **)&pd));
	ref = malloc(size);
	ASSERT_NE(NULL, ref);
	fill_pattern(ref, size, 7);
	memcpy(ps, ref, size);

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(offsets) / sizeof(offsets[0]); j++) {
			uint64_t d = offsets[j][0], s = offsets[j][1], len = sizes[i];
			struct mlu_operand od = { dst, d }, os = { src, s };
			long bad;

			if (d + len + 1 > size || s + len > size)
				continue;
			memset(pd, 0xee, size);
			if (n++ % 2) {
				ASSERT_EQ(MLU_SUCCESS, mlu_copy(self->dev, od, os, len));
			} else {
				ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, od, os, len));
				ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
			}
			bad = first_diff(pd + d, ref + s, len);
			ASSERT_EQ(-1, bad) TH_LOG("size %llu dst+%llu src+%llu: byte %ld",
						  (unsigned long long)len, (unsigned long long)d,
						  (unsigned long long)s, bad);
			ASSERT_EQ(-1, first_not(pd, 0xee, d)) TH_LOG("wrote before dst");
			ASSERT_EQ(-1, first_not(pd + d + len, 0xee, size - d - len))
				TH_LOG("size %llu dst+%llu: wrote past the end",
				       (unsigned long long)len, (unsigned long long)d);
		}
	}
	EXPECT_GT(n, 100);
	/* The source is read, never written. */
	EXPECT_EQ(-1, first_diff(ps, ref, size));

	/* Bad copies fail before reaching the card. */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_copy(self->dev, (struct mlu_operand){ dst, 1 }, (struct mlu_operand){ src, 0 },
			   size));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_copy(self->dev, (struct mlu_operand){ dst, 0 }, (struct mlu_operand){ src, 0 },
			   0));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_copy(self->dev, (struct mlu_operand){ src, 0 }, (struct mlu_operand){ src, 8 },
			   64));
	free(ref);
	mlu_buffer_free(src);
	mlu_buffer_free(dst);
}

/* Queued copies run in order: a chain through three buffers. */
TEST_F(copy, queued_chain)
{
	const uint64_t size = (8 << 20) + 3;
	struct mlu_buffer *a, *b, *c;
	uint8_t *pa, *pc, *ref;

	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, variant->src_flags, &a));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, variant->dst_flags, &b));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, size, variant->src_flags, &c));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(a, (void **)&pa));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(c, (void **)&pc));
	ref = malloc(size);
	ASSERT_NE(NULL, ref);
	fill_pattern(ref, size, 99);
	memcpy(pa, ref, size);
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, (struct mlu_operand){ b, 0 },
						(struct mlu_operand){ a, 0 }, size));
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, (struct mlu_operand){ c, 1 },
						(struct mlu_operand){ b, 0 }, size - 1));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	EXPECT_EQ(0, pc[0]);
	EXPECT_EQ(-1, first_diff(pc + 1, ref, size - 1));
	free(ref);
	mlu_buffer_free(a);
	mlu_buffer_free(b);
	mlu_buffer_free(c);
}

/* ---- sharing ----------------------------------------------------------- */

#define SHARE_SIZE	((1 << 20) + 4096)

/*
 * The importer's side of a share test: import fd on dev, check that the
 * card reads ref through the import (copy into a host buffer of its own)
 * and the CPU through its mapping, then write ref2 into the second half of
 * the shared buffer with the card.  Returns 0 or the step that failed.
 */
static int importer_check(struct mlu_device *dev, int fd, const uint8_t *ref,
			  const uint8_t *ref2)
{
	const uint64_t half = SHARE_SIZE / 2;
	struct mlu_buffer *imp, *mine;
	uint8_t *pm, *pi;
	int ret = 0;

	if (mlu_buffer_import_fd(dev, fd, &imp))
		return 1;
	if (mlu_buffer_size(imp) != SHARE_SIZE)
		ret = 2;
	if (!ret && mlu_buffer_alloc(dev, SHARE_SIZE, 0, &mine))
		ret = 3;
	if (ret)
		goto out_imp;
	if (mlu_buffer_map(mine, (void **)&pm) ||
	    mlu_copy(dev, (struct mlu_operand){ mine, 0 }, (struct mlu_operand){ imp, 0 },
		     SHARE_SIZE))
		ret = 4;
	else if (first_diff(pm, ref, SHARE_SIZE) != -1)
		ret = 5;
	else if (mlu_buffer_map(imp, (void **)&pi) || first_diff(pi, ref, 4096) != -1)
		ret = 6;
	if (!ret) {
		memcpy(pm, ref2, half);
		if (mlu_copy(dev, (struct mlu_operand){ imp, half },
			     (struct mlu_operand){ mine, 0 }, half - 1))
			ret = 7;
	}
	mlu_buffer_free(mine);
out_imp:
	mlu_buffer_free(imp);
	return ret;
}

FIXTURE(share)
{
	struct mlu_device *dev;
	struct mlu_buffer *buf;
	uint8_t *map, *ref, *ref2;
	int fd;
};

FIXTURE_VARIANT(share)
{
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(share, host) { .flags = 0 };
FIXTURE_VARIANT_ADD(share, devmem) { .flags = MLU_BUFFER_DEVMEM };

FIXTURE_SETUP(share)
{
	self->fd = -1;
	OPEN_DEVICE_OR_SKIP(self->dev, 0);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, SHARE_SIZE, variant->flags,
						&self->buf));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(self->buf, (void **)&self->map));
	self->ref = malloc(SHARE_SIZE);
	self->ref2 = malloc(SHARE_SIZE);
	ASSERT_NE(NULL, self->ref);
	ASSERT_NE(NULL, self->ref2);
	fill_pattern(self->ref, SHARE_SIZE, 11);
	fill_pattern(self->ref2, SHARE_SIZE, 12);
	memcpy(self->map, self->ref, SHARE_SIZE);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_export_fd(self->buf, &self->fd));
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(share)
{
	if (self->fd >= 0)
		close(self->fd);
	mlu_buffer_free(self->buf);
	mlu_device_close(self->dev);
	free(self->ref);
	free(self->ref2);
}

/* What the importer wrote: half - 1 bytes of ref2 at half, ref around it. */
static long check_written_back(const uint8_t *map, const uint8_t *ref, const uint8_t *ref2)
{
	const uint64_t half = SHARE_SIZE / 2;
	long bad;

	bad = first_diff(map, ref, half);
	if (bad >= 0)
		return bad;
	bad = first_diff(map + half, ref2, half - 1);
	if (bad >= 0)
		return half + bad;
	return map[SHARE_SIZE - 1] == ref[SHARE_SIZE - 1] ? -1 : SHARE_SIZE - 1;
}

TEST_F(share, same_process_same_card)
{
	struct mlu_buffer *again;

	/* The exporting device gets its own BO back: same memory, same handle. */
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_import_fd(self->dev, self->fd, &again));
	EXPECT_EQ(mlu_buffer_handle(self->buf), mlu_buffer_handle(again));
	EXPECT_EQ(mlu_buffer_device_address(self->buf), mlu_buffer_device_address(again));
	EXPECT_EQ(variant->flags, mlu_buffer_flags(again));
	/* Not freed: it shares the kernel handle with self->buf. */
	free(again);
}

TEST_F(share, two_processes)
{
	int sv[2], status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mlu_device *dev;
		int fd, ret;

		close(sv[0]);
		fd = mlu_recv_fd(sv[1]);
		if (fd < 0)
			_exit(20);
		/* A new open: another context, like another process's. */
		if (mlu_device_open(0, &dev))
			_exit(21);
		ret = importer_check(dev, fd, self->ref, self->ref2);
		close(fd);
		mlu_device_close(dev);
		_exit(ret);
	}
	close(sv[1]);
	ASSERT_EQ(0, mlu_send_fd(sv[0], self->fd));
	/* The sender may close its fd at once: the message holds the file. */
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(sv[0]);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("importer failed at step %d",
						 WEXITSTATUS(status));
	EXPECT_EQ(-1, check_written_back(self->map, self->ref, self->ref2));
}

TEST_F(share, two_cards)
{
	struct mlu_device *dev1;
	int ret;

	OPEN_DEVICE_OR_SKIP(dev1, 1);
	/*
	 * Card 1 reaches card 0's device memory peer-to-peer through BAR2
	 * (Documentation/accel/mlu/driver.rst, "Sharing").
	 */
	ret = importer_check(dev1, self->fd, self->ref, self->ref2);
	mlu_device_close(dev1);
	ASSERT_EQ(0, ret) TH_LOG("importer failed at step %d", ret);
	EXPECT_EQ(-1, check_written_back(self->map, self->ref, self->ref2));
}

/* Card 1 exporting its import hands out card 0's original dma-buf. */
TEST_F(share, reexport_of_import_is_the_original)
{
	struct mlu_buffer *imp, *back;
	struct mlu_device *dev1;
	int fd2;

	OPEN_DEVICE_OR_SKIP(dev1, 1);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_import_fd(dev1, self->fd, &imp));
	EXPECT_EQ(0, mlu_buffer_flags(imp));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_export_fd(imp, &fd2));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_import_fd(self->dev, fd2, &back));
	EXPECT_EQ(mlu_buffer_handle(self->buf), mlu_buffer_handle(back));
	free(back);	/* shares self->buf's handle */
	close(fd2);
	mlu_buffer_free(imp);
	mlu_device_close(dev1);
}

/*
 * A device memory dma-buf mapped at an offset starts at that byte of the
 * buffer; host memory ones refuse offsets (the shmem helpers of Linux 6.12
 * would map the buffer's start).
 */
TEST_F(share, dmabuf_mmap_offset)
{
	uint8_t *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, self->fd, 4096);

	if (!variant->flags) {
		EXPECT_EQ(MAP_FAILED, p);
		EXPECT_EQ(EINVAL, errno);
		p = mmap(NULL, SHARE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, first_diff(p, self->ref, SHARE_SIZE));
		munmap(p, SHARE_SIZE);
		return;
	}
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_diff(p, self->ref + 4096, 8192));
	munmap(p, 8192);
	/* Past the end: refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 8192, PROT_READ, MAP_SHARED, self->fd, SHARE_SIZE - 4096));
}

/*
 * A job that uses an imported BO keeps it, and the exporter's memory,
 * alive after every handle and fd is gone, until its fence signals.
 */
TEST_F(share, imported_bo_outlives_handles_until_fence)
{
	const uint64_t block_size = 96 << 20;
	uint32_t imp, dst, big_src, big_dst, sync;
	uint64_t imp_va, dst_va, bs_va, bd_va;
	struct drm_mlu_bo_info info;
	struct mlu_pkt_copy pkts[2];
	uint32_t bos[4];
	uint8_t *pd;
	int fd;

	/*
	 * Card 1 attaches the dma-buf (a real import); a second file of card
	 * 0 would get card 0's own BO back.
	 */
	fd = mlu_open_card(1);
	if (fd < 0) {
		ASSERT_LE(mlu_expected_cards(), 1);
		fd = mlu_open_card(0);
		ASSERT_GE(fd, 0);
	}
	ASSERT_EQ(0, drmPrimeFDToHandle(fd, self->fd, &imp));
	ASSERT_EQ(0, mlu_bo_info(fd, imp, &info));
	imp_va = info.device_va;
	ASSERT_EQ(0, mlu_bo_create(fd, SHARE_SIZE, 0, &dst, &dst_va));
	pd = mlu_bo_map(fd, dst);
	ASSERT_NE(NULL, pd);
	/* A long copy first, so the import's copy is still queued below. */
	ASSERT_EQ(0, mlu_bo_create(fd, block_size, 0, &big_src, &bs_va));
	ASSERT_EQ(0, mlu_bo_create(fd, block_size, 0, &big_dst, &bd_va));
	mlu_pkt_copy_init(&pkts[0], bd_va, bs_va, block_size);
	mlu_pkt_copy_init(&pkts[1], dst_va, imp_va, SHARE_SIZE);
	bos[0] = big_src;
	bos[1] = big_dst;
	bos[2] = imp;
	bos[3] = dst;
	sync = mlu_syncobj_create(fd);
	ASSERT_NE(0, sync);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, pkts, 2, bos, 4, 0, sync));

	/* Everyone lets go while the job is queued. */
	EXPECT_EQ(0, mlu_bo_close(fd, imp));
	close(self->fd);
	self->fd = -1;
	munmap(self->map, SHARE_SIZE);
	mlu_buffer_free(self->buf);
	self->buf = NULL;
	EXPECT_EQ(0, mlu_fence_status(fd, sync)) TH_LOG("job finished too early to tell");

	ASSERT_EQ(0, mlu_syncobj_wait(fd, sync, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(fd, sync));
	EXPECT_EQ(-1, first_diff(pd, self->ref, SHARE_SIZE));
	close(fd);
}

TEST_F(share, not_a_dmabuf)
{
	struct mlu_buffer *imp;
	int memfd = memfd_create("not-a-dmabuf", 0);

	ASSERT_GE(memfd, 0);
	ASSERT_EQ(0, ftruncate(memfd, 4096));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_buffer_import_fd(self->dev, memfd, &imp));
	close(memfd);
}

/* A foreign exporter: udmabuf turns memfd pages into a dma-buf. */
TEST(import_udmabuf)
{
	const size_t size = 64 * 4096;
	struct udmabuf_create create = { 0 };
	struct mlu_buffer *imp, *mine;
	struct mlu_device *dev;
	uint8_t *pm, *pu, *ref;
	int dev_fd, memfd, buf_fd;
	uint64_t free0;

	OPEN_DEVICE_OR_SKIP(dev, 0);
	dev_fd = open("/dev/udmabuf", O_RDWR);
	if (dev_fd < 0) {
		mlu_device_close(dev);
		SKIP(return, "no /dev/udmabuf (CONFIG_UDMABUF)");
	}
	memfd = memfd_create("udmabuf-src", MFD_ALLOW_SEALING);
	ASSERT_GE(memfd, 0);
	ASSERT_EQ(0, ftruncate(memfd, size));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	pu = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, pu);
	ref = malloc(size);
	ASSERT_NE(NULL, ref);
	fill_pattern(ref, size, 5);
	memcpy(pu, ref, size);

	create.memfd = memfd;
	create.size = size;
	buf_fd = ioctl(dev_fd, UDMABUF_CREATE, &create);
	ASSERT_GE(buf_fd, 0);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_import_fd(dev, buf_fd, &imp));
	EXPECT_EQ(0, mlu_buffer_flags(imp));
	free0 = devmem_free(dev);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(dev, size, MLU_BUFFER_DEVMEM, &mine));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(mine, (void **)&pm));

	/* The card reads the memfd's pages ... */
	ASSERT_EQ(MLU_SUCCESS, mlu_copy(dev, (struct mlu_operand){ mine, 0 },
					(struct mlu_operand){ imp, 0 }, size));
	EXPECT_EQ(-1, first_diff(pm, ref, size));
	/* ... and writes them. */
	fill_pattern(ref, size, 6);
	memcpy(pm, ref, size);
	ASSERT_EQ(MLU_SUCCESS, mlu_copy(dev, (struct mlu_operand){ imp, 3 },
					(struct mlu_operand){ mine, 0 }, size - 3));
	EXPECT_EQ(-1, first_diff(pu + 3, ref, size - 3));

	mlu_buffer_free(imp);
	mlu_buffer_free(mine);
	/* Device memory comes back once the copies' jobs are freed. */
	EXPECT_DEVMEM_FREE_SETTLES(mlu_device_fd(dev), free0);
	close(buf_fd);
	munmap(pu, size);
	close(memfd);
	close(dev_fd);
	free(ref);
	mlu_device_close(dev);
}

/* ---- accounting -------------------------------------------------------- */

TEST(fdinfo_follows_bos)
{
	const long long host = 3 << 20, dev = 2 << 20;
	long long sys0, sysres0, dm0, dmres0, shared0;
	uint32_t h_host, h_dev, h_imp;
	int fd, fd2, dmabuf;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	fd2 = mlu_open_card(0);
	ASSERT_GE(fd2, 0);
	sys0 = mlu_fdinfo_bytes(fd, "total", "system");
	sysres0 = mlu_fdinfo_bytes(fd, "resident", "system");
	dm0 = mlu_fdinfo_bytes(fd, "total", "devmem");
	dmres0 = mlu_fdinfo_bytes(fd, "resident", "devmem");
	shared0 = mlu_fdinfo_bytes(fd, "shared", "devmem");
	ASSERT_EQ(0, sys0);
	ASSERT_EQ(0, sysres0);
	ASSERT_EQ(0, dm0);
	ASSERT_EQ(0, dmres0);
	ASSERT_EQ(0, shared0);

	ASSERT_EQ(0, mlu_bo_create(fd, host, 0, &h_host, NULL));
	EXPECT_EQ(host, mlu_fdinfo_bytes(fd, "total", "system"));
	/* Mapping a host BO for the card pins its pages: resident at once. */
	EXPECT_EQ(host, mlu_fdinfo_bytes(fd, "resident", "system"));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd, "total", "devmem"));

	ASSERT_EQ(0, mlu_bo_create(fd, dev, DRM_MLU_BO_DEVMEM, &h_dev, NULL));
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd, "total", "devmem"));
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd, "resident", "devmem"));
	EXPECT_EQ(host, mlu_fdinfo_bytes(fd, "total", "system"));

	/* Shared once exported; the importer's file counts it too. */
	ASSERT_EQ(0, drmPrimeHandleToFD(fd, h_dev, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd, "shared", "devmem"));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd2, "total", "devmem"));
	ASSERT_EQ(0, drmPrimeFDToHandle(fd2, dmabuf, &h_imp));
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd2, "total", "devmem"));
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd2, "shared", "devmem"));
	close(dmabuf);

	EXPECT_EQ(0, mlu_bo_close(fd, h_host));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd, "total", "system"));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd, "resident", "system"));
	EXPECT_EQ(0, mlu_bo_close(fd, h_dev));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd, "total", "devmem"));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd, "resident", "devmem"));
	/* The importer still holds the memory. */
	EXPECT_EQ(dev, mlu_fdinfo_bytes(fd2, "total", "devmem"));
	EXPECT_EQ(0, mlu_bo_close(fd2, h_imp));
	EXPECT_EQ(0, mlu_fdinfo_bytes(fd2, "total", "devmem"));
	close(fd2);
	close(fd);
}

/* ---- isolation --------------------------------------------------------- */

/*
 * Context A addresses context B's BO by its device address: the card
 * faults the job (-EFAULT), copies nothing out, and writes nothing in.
 */
TEST(isolation_between_contexts)
{
	const uint64_t b_size = 64 << 10;
	uint64_t va_a, va_b1, va_b2;
	uint32_t a, b1, b2, sync, bos[2];
	struct mlu_pkt_copy pkt;
	uint8_t *pa, *pb, *ref;
	int fa, fb, flags;

	MLU_OPEN_CARD_OR_SKIP(fa, 0);
	fb = mlu_open_card(0);
	ASSERT_GE(fb, 0);
	for (flags = 0; flags <= DRM_MLU_BO_DEVMEM; flags += DRM_MLU_BO_DEVMEM) {
		ASSERT_EQ(0, mlu_bo_create(fa, 4096, 0, &a, &va_a));
		/* B's second BO lies past everything A has mapped. */
		ASSERT_EQ(0, mlu_bo_create(fb, 1 << 20, flags, &b1, &va_b1));
		ASSERT_EQ(0, mlu_bo_create(fb, b_size, flags, &b2, &va_b2));
		ASSERT_GE(va_b2, va_a + 2 * 4096);
		pa = mlu_bo_map(fa, a);
		pb = mlu_bo_map(fb, b2);
		ASSERT_NE(NULL, pa);
		ASSERT_NE(NULL, pb);
		ref = malloc(b_size);
		ASSERT_NE(NULL, ref);
		fill_pattern(ref, b_size, 3);
		memcpy(pb, ref, b_size);
		sync = mlu_syncobj_create(fa);
		ASSERT_NE(0, sync);

		/* Read B's memory from A. */
		mlu_pkt_copy_init(&pkt, va_a, va_b2, 4096);
		ASSERT_EQ(0, mlu_submit_simple(fa, 0, &pkt, 1, &a, 1, 0, sync));
		ASSERT_EQ(0, mlu_syncobj_wait(fa, sync, WAIT_NS));
		EXPECT_EQ(-EFAULT, mlu_fence_status(fa, sync));
		EXPECT_EQ(-1, first_not(pa, 0, 4096)) TH_LOG("A read B's memory");

		/* Write B's memory from A. */
		memset(pa, 0x77, 4096);
		mlu_pkt_copy_init(&pkt, va_b2, va_a, 4096);
		ASSERT_EQ(0, mlu_submit_simple(fa, 0, &pkt, 1, &a, 1, 0, sync));
		ASSERT_EQ(0, mlu_syncobj_wait(fa, sync, WAIT_NS));
		EXPECT_EQ(-EFAULT, mlu_fence_status(fa, sync));
		EXPECT_EQ(-1, first_diff(pb, ref, b_size)) TH_LOG("A wrote B's memory");

		/* B itself reaches its BO at that address. */
		drmSyncobjDestroy(fa, sync);
		sync = mlu_syncobj_create(fb);
		mlu_pkt_copy_init(&pkt, va_b1, va_b2, b_size);
		bos[0] = b1;
		bos[1] = b2;
		ASSERT_EQ(0, mlu_submit_simple(fb, 0, &pkt, 1, bos, 2, 0, sync));
		ASSERT_EQ(0, mlu_syncobj_wait(fb, sync, WAIT_NS));
		EXPECT_EQ(1, mlu_fence_status(fb, sync));
		drmSyncobjDestroy(fb, sync);

		munmap(pa, 4096);
		munmap(pb, b_size);
		free(ref);
		EXPECT_EQ(0, mlu_bo_close(fa, a));
		EXPECT_EQ(0, mlu_bo_close(fb, b1));
		EXPECT_EQ(0, mlu_bo_close(fb, b2));
	}
	close(fa);
	close(fb);
}

/* ---- lifetime ---------------------------------------------------------- */

enum close_step {
	CLOSE_EXPORTER_BO,	/* exporter's handle */
	CLOSE_DMABUF,		/* the dma-buf fd */
	CLOSE_IMPORTER_BO,	/* the same card's importer's handle */
	CLOSE_IMPORTER_FILE,	/* the importer's file (with its handle, if open) */
	CLOSE_PEER_FILE,	/* the other card's importer file, or nothing */
	CLOSE_STEPS,
};

/* Next permutation in lexicographic order; false after the last. */
static bool next_permutation(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	t = a[i], a[i] = a[j], a[j] = t;
	for (i++, j = n - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return true;
}

/*
 * Import @dmabuf on @fd and queue a job copying its first @size bytes into
 * a new host BO of @fd; the import's handle.
 */
static uint32_t import_and_queue_copy(struct __test_metadata *_metadata, int fd, int dmabuf,
				      uint64_t size)
{
	uint32_t imp, host, sync, bos[2];
	struct drm_mlu_bo_info info;
	struct mlu_pkt_copy pkt;
	uint64_t host_va;

	ASSERT_EQ(0, drmPrimeFDToHandle(fd, dmabuf, &imp));
	ASSERT_EQ(0, mlu_bo_info(fd, imp, &info));
	ASSERT_EQ(0, mlu_bo_create(fd, size, 0, &host, &host_va));
	mlu_pkt_copy_init(&pkt, host_va, info.device_va, size);
	bos[0] = imp;
	bos[1] = host;
	sync = mlu_syncobj_create(fd);
	ASSERT_NE(0, sync);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, bos, 2, 0, sync));
	return imp;
}

/*
 * A device memory BO and a host BO exported, imported by a second file of
 * the same card (and by card 1 when there is one), with a queued job on
 * each import; closed in each of the 120 orders.  Afterwards every byte of
 * device memory is free again.
 */
TEST(close_in_every_order_leaks_nothing)
{
	int order[CLOSE_STEPS] = { 0, 1, 2, 3, 4 };
	struct drm_mlu_device_info card0, card1 = { 0 };
	int fd, peer_card, rounds = 0;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_query_info(fd, &card0));
	ASSERT_DEVMEM_FREE_SETTLES(fd, card0.devmem_size);
	peer_card = mlu_open_card(1);
	if (peer_card >= 0) {
		ASSERT_EQ(0, mlu_query_info(peer_card, &card1));
		ASSERT_DEVMEM_FREE_SETTLES(peer_card, card1.devmem_size);
	} else {
		ASSERT_LE(mlu_expected_cards(), 1);
	}

	do {
		uint32_t exp_bo, host_bo, imp_bo;
		int dmabuf, imp_fd, peer = -1, i;
		bool imp_open = true;

		ASSERT_EQ(0, mlu_bo_create(fd, 256 << 10, DRM_MLU_BO_DEVMEM, &exp_bo, NULL));
		ASSERT_EQ(0, drmPrimeHandleToFD(fd, exp_bo, DRM_CLOEXEC | DRM_RDWR, &dmabuf));
		imp_fd = mlu_open_card(0);
		ASSERT_GE(imp_fd, 0);
		imp_bo = import_and_queue_copy(_metadata, imp_fd, dmabuf, 256 << 10);
		if (peer_card >= 0) {
			/* Card 1 reads card 0's memory in a job of its own. */
			peer = mlu_open_card(1);
			ASSERT_GE(peer, 0);
			import_and_queue_copy(_metadata, peer, dmabuf, 256 << 10);
		}
		/* A host BO exported into the mix, closed with the exporter. */
		ASSERT_EQ(0, mlu_bo_create(fd, 64 << 10, 0, &host_bo, NULL));

		for (i = 0; i < CLOSE_STEPS; i++) {
			switch (order[i]) {
			case CLOSE_EXPORTER_BO:
				EXPECT_EQ(0, mlu_bo_close(fd, exp_bo));
				EXPECT_EQ(0, mlu_bo_close(fd, host_bo));
				break;
			case CLOSE_DMABUF:
				close(dmabuf);
				break;
			case CLOSE_IMPORTER_BO:
				/* Gone with the file already, if that came first. */
				if (imp_open)
					EXPECT_EQ(0, mlu_bo_close(imp_fd, imp_bo));
				break;
			case CLOSE_IMPORTER_FILE:
				close(imp_fd);
				imp_open = false;
				break;
			case CLOSE_PEER_FILE:
				if (peer >= 0)
					close(peer);
				break;
			}
		}
		rounds++;
	} while (next_permutation(order, CLOSE_STEPS));

	EXPECT_EQ(120, rounds);
	/* Jobs may still be retiring: wait for the last references to go. */
	EXPECT_DEVMEM_FREE_SETTLES(fd, card0.devmem_size);
	if (peer_card >= 0) {
		EXPECT_DEVMEM_FREE_SETTLES(peer_card, card1.devmem_size);
		close(peer_card);
	}
	close(fd);
}

TEST_HARNESS_MAIN
