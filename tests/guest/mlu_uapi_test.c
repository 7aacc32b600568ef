// SPDX-License-Identifier: MIT
/*
 * The mlu driver's ioctls, called directly: device query, buffer objects
 * and mmap, and every documented error of DEV_QUERY, BO_CREATE, BO_INFO and
 * SUBMIT (uapi/drm/mlu_accel.h) with its exact errno.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

FIXTURE(card)
{
	int fd;
	struct drm_mlu_device_info info;
};

FIXTURE_SETUP(card)
{
	MLU_OPEN_CARD_OR_SKIP(self->fd, 0);
	ASSERT_EQ(0, mlu_query_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(card)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* ---- DEV_QUERY -------------------------------------------------------- */

TEST_F(card, device_info)
{
	const struct drm_mlu_device_info *i = &self->info;
	const __u64 needed = DRM_MLU_CAP_MATMUL | DRM_MLU_CAP_CONV2D | DRM_MLU_CAP_DTYPE_F32;

	EXPECT_EQ(MLU_HW_VERSION, i->hw_version);
	EXPECT_EQ(DRM_MLU_DRIVER_MAJOR, i->driver_version >> 16);
	EXPECT_EQ(needed, i->capabilities & needed);
	EXPECT_EQ(MLU_PCI_VENDOR_ID, i->pci_vendor_id);
	EXPECT_EQ(MLU_PCI_DEVICE_ID, i->pci_device_id);
	EXPECT_EQ(MLU_PCI_REVISION, i->pci_revision);
	EXPECT_GE(i->num_queues, 1);
	EXPECT_LE(i->num_queues, MLU_MAX_RINGS);
	EXPECT_GE(i->max_packets_per_submit, 1);
	EXPECT_GE(i->max_bos_per_submit, 1);
	EXPECT_GE(i->max_syncs_per_submit, 1);
	EXPECT_LT(i->va_start, i->va_end);
	EXPECT_LE(i->va_end, MLU_VA_SIZE);
	EXPECT_EQ(0, i->va_start % MLU_PAGE_SIZE);
	EXPECT_GT(i->job_timeout_ms, 0);
	EXPECT_EQ(0, i->pad);
}

TEST_F(card, query_size_negotiation)
{
	struct drm_mlu_dev_query q = { .type = DRM_MLU_DEV_QUERY_DEVICE_INFO };
	unsigned char buf[4096];
	size_t i;

	/* pointer 0: the kernel says how big its structure is. */
	ASSERT_EQ(0, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_GE(q.size, DRM_MLU_DEVICE_INFO_SIZE_V1);
	EXPECT_EQ(0, q.size % 8);

	/* A bigger buffer: the kernel's part, then zeroes. */
	memset(buf, 0xa5, sizeof(buf));
	q.size = 1024;
	q.pointer = (uintptr_t)buf;
	ASSERT_EQ(0, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(0, memcmp(buf, &self->info, DRM_MLU_DEVICE_INFO_SIZE_V1));
	for (i = sizeof(struct drm_mlu_device_info); i < 1024; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("byte %zu not cleared", i);
	/* And nothing past the user's size. */
	EXPECT_EQ(0xa5, buf[1024]);
}

TEST_F(card, query_errors)
{
	struct drm_mlu_device_info info;
	struct drm_mlu_dev_query q;

	q = (struct drm_mlu_dev_query){ .type = 1000, .size = sizeof(info),
					.pointer = (uintptr_t)&info };
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);

	q = (struct drm_mlu_dev_query){ .size = sizeof(info), .pointer = (uintptr_t)&info,
					.pad = 1 };
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);

	q = (struct drm_mlu_dev_query){ .size = DRM_MLU_DEVICE_INFO_SIZE_V1 - 8,
					.pointer = (uintptr_t)&info };
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);

	q = (struct drm_mlu_dev_query){ .size = 4097, .pointer = (uintptr_t)&info };
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);

	/* An unwritable pointer. */
	q = (struct drm_mlu_dev_query){ .size = sizeof(info), .pointer = 8 };
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(EFAULT, errno);
}

TEST(each_open_gets_its_own_context)
{
	struct drm_mlu_device_info a, b;
	int fd1, fd2;

	MLU_OPEN_CARD_OR_SKIP(fd1, 0);
	fd2 = mlu_open_card(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, mlu_query_info(fd1, &a));
	ASSERT_EQ(0, mlu_query_info(fd2, &b));
	EXPECT_NE(a.context_id, b.context_id);
	EXPECT_EQ(a.serial, b.serial);
	close(fd1);
	close(fd2);
}

/*
 * Each open file takes one of the card's MLU_MAX_CONTEXTS - 1 user context
 * ids (0 is the kernel's) and gives it back on close.  More files than
 * there are ids are opened and closed one after the other, each using its
 * context (a BO mapped in it, every 256th also a job): all of them work.
 * A context kept after close makes an open fail (-EBUSY) once the ids run
 * out, which only kmemleak would notice otherwise.
 */
TEST_F_TIMEOUT(card, closed_files_give_their_contexts_back, 300)
{
	const int rounds = MLU_MAX_CONTEXTS + 512;
	struct drm_mlu_device_info info;
	struct mlu_pkt_copy pkt;
	uint32_t bo, done;
	char node[64];
	struct stat st;
	uint64_t va;
	int i, fd;

	/* This card's node, opened directly: no other open in the loop. */
	ASSERT_EQ(0, fstat(self->fd, &st));
	snprintf(node, sizeof(node), "/dev/accel/accel%u", minor(st.st_rdev));
	for (i = 0; i < rounds; i++) {
		fd = open(node, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd, 0) TH_LOG("open %d of %d: %s (a context id leaked?)",
					i + 1, rounds, strerror(errno));
		ASSERT_EQ(0, mlu_query_info(fd, &info));
		ASSERT_GT(info.context_id, 0);
		ASSERT_LT(info.context_id, MLU_MAX_CONTEXTS);
		ASSERT_EQ(0, mlu_bo_create(fd, 8192, 0, &bo, &va)) TH_LOG("file %d", i + 1);
		if (i % 256 == 0) {
			done = mlu_syncobj_create(fd);
			ASSERT_NE(0, done);
			mlu_pkt_copy_init(&pkt, va + 4096, va, 4096);
			ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, &bo, 1, 0, done));
			ASSERT_EQ(0, mlu_syncobj_wait(fd, done, 10000 * MS));
			ASSERT_EQ(1, mlu_fence_status(fd, done)) TH_LOG("file %d", i + 1);
		}
		ASSERT_EQ(0, close(fd));
	}
}

/* ---- BO_CREATE, BO_INFO, mmap, GEM_CLOSE ------------------------------ */

TEST_F(card, bo_create_info_mmap_close)
{
	struct drm_mlu_bo_info info;
	uint32_t handle;
	uint64_t va;
	unsigned char *p;
	size_t i;

	ASSERT_EQ(0, mlu_bo_create(self->fd, 10000, 0, &handle, &va));
	EXPECT_NE(0, handle);
	EXPECT_GE(va, self->info.va_start);
	EXPECT_LT(va, self->info.va_end);
	EXPECT_EQ(0, va % MLU_PAGE_SIZE);

	ASSERT_EQ(0, mlu_bo_info(self->fd, handle, &info));
	EXPECT_EQ(3 * 4096, info.size);	/* rounded up to pages */
	EXPECT_EQ(va, info.device_va);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.mmap_offset % 4096);

	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 info.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < info.size; i++)
		ASSERT_EQ(0, p[i]) TH_LOG("BO not zero-filled at %zu", i);
	memset(p, 0x5a, info.size);

	/* The mapping outlives the handle; the offset does not. */
	ASSERT_EQ(0, mlu_bo_close(self->fd, handle));
	EXPECT_EQ(0x5a, p[info.size - 1]);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.size, PROT_READ, MAP_SHARED, self->fd,
				   info.mmap_offset));
	EXPECT_EQ(-ENOENT, mlu_bo_info(self->fd, handle, &info));
	EXPECT_EQ(0, munmap(p, 3 * 4096));
}

TEST_F(card, mmap_bad_size_or_offset)
{
	struct drm_mlu_bo_info info;
	uint32_t handle;
	int other;
	void *p;

	ASSERT_EQ(0, mlu_bo_create(self->fd, 2 * 4096, 0, &handle, NULL));
	ASSERT_EQ(0, mlu_bo_info(self->fd, handle, &info));
	/* Longer than the BO. */
	p = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, self->fd, info.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Not the BO's offset (inside it, or unaligned). */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, info.mmap_offset + 4096);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, info.mmap_offset + 1);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* The same offset on another open file of the card. */
	other = mlu_open_card(0);
	ASSERT_GE(other, 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, other, info.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	close(other);
	EXPECT_EQ(0, mlu_bo_close(self->fd, handle));
}

TEST_F(card, bo_addresses_do_not_overlap)
{
	uint64_t va[8], size = 5 * 4096;
	uint32_t h[8];
	int i, j;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, mlu_bo_create(self->fd, size, 0, &h[i], &va[i]));
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			EXPECT_TRUE(va[i] + size <= va[j] || va[j] + size <= va[i]);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, mlu_bo_close(self->fd, h[i]));
}

TEST_F(card, bo_create_errors)
{
	uint32_t handle;

	EXPECT_EQ(-EINVAL, mlu_bo_create(self->fd, 0, 0, &handle, NULL));
	EXPECT_EQ(-EINVAL, mlu_bo_create(self->fd, 4096, 1u << 7, &handle, NULL));
	EXPECT_EQ(-E2BIG, mlu_bo_create(self->fd, UINT64_MAX, 0, &handle, NULL));
	EXPECT_EQ(-E2BIG, mlu_bo_create(self->fd, MLU_VA_SIZE, 0, &handle, NULL));
	if (!(self->info.capabilities & DRM_MLU_CAP_BO_DEVMEM))
		EXPECT_EQ(-EOPNOTSUPP, mlu_bo_create(self->fd, 4096, DRM_MLU_BO_DEVMEM,
						     &handle, NULL));
	/* A bad pointer to the argument itself. */
	EXPECT_EQ(-1, ioctl(self->fd, DRM_IOCTL_MLU_BO_CREATE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(card, bo_info_errors)
{
	struct drm_mlu_bo_info info;
	uint32_t handle;

	EXPECT_EQ(-ENOENT, mlu_bo_info(self->fd, 0, &info));
	EXPECT_EQ(-ENOENT, mlu_bo_info(self->fd, 0xdead, &info));
	ASSERT_EQ(0, mlu_bo_create(self->fd, 4096, 0, &handle, NULL));
	memset(&info, 0, sizeof(info));
	info.handle = handle;
	info.pad = 1;
	EXPECT_EQ(-1, drmIoctl(self->fd, DRM_IOCTL_MLU_BO_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mlu_bo_close(self->fd, handle));
	EXPECT_EQ(-EINVAL, mlu_bo_close(self->fd, handle));	/* GEM: gone */
}

TEST_F(card, foreign_bo_handle)
{
	struct drm_mlu_bo_info info;
	struct mlu_pkt_copy pkt;
	uint32_t handle, out;
	uint64_t va;
	int other = mlu_open_card(0);

	/* A BO of another open file is not visible here (this fd has none). */
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, mlu_bo_create(other, 4096, 0, &handle, &va));
	EXPECT_EQ(-ENOENT, mlu_bo_info(self->fd, handle, &info));
	out = mlu_syncobj_create(self->fd);
	ASSERT_NE(0, out);
	mlu_pkt_copy_init(&pkt, va + 2048, va, 1024);
	EXPECT_EQ(-ENOENT, mlu_submit_simple(self->fd, 0, &pkt, 1, &handle, 1, 0, out));
	close(other);
}

/* ---- SUBMIT ------------------------------------------------------------ */

FIXTURE(submit)
{
	int fd;
	struct drm_mlu_device_info info;
	uint32_t bo, out, sync;
	uint64_t va;
	struct mlu_pkt_copy pkt;
	struct drm_mlu_sync in;
	struct drm_mlu_submit args;	/* a valid submission, to break one field of */
};

FIXTURE_SETUP(submit)
{
	MLU_OPEN_CARD_OR_SKIP(self->fd, 0);
	ASSERT_EQ(0, mlu_query_info(self->fd, &self->info));
	ASSERT_EQ(0, mlu_bo_create(self->fd, 8192, 0, &self->bo, &self->va));
	self->out = mlu_syncobj_create(self->fd);
	self->sync = mlu_syncobj_create(self->fd);
	ASSERT_NE(0, self->out);
	ASSERT_NE(0, self->sync);
	/* Give the in-sync a fence: an empty job. */
	ASSERT_EQ(0, mlu_submit_simple(self->fd, 0, NULL, 0, NULL, 0, 0, self->sync));
	mlu_pkt_copy_init(&self->pkt, self->va + 4096, self->va, 4096);
	self->in = (struct drm_mlu_sync){ .handle = self->sync };
	self->args = (struct drm_mlu_submit){
		.packets = (uintptr_t)&self->pkt,
		.packet_count = 1,
		.bo_handles = (uintptr_t)&self->bo,
		.bo_handle_count = 1,
		.in_syncs = (uintptr_t)&self->in,
		.in_sync_count = 1,
		.in_sync_stride = sizeof(self->in),
		.out_sync = self->out,
	};
}

FIXTURE_TEARDOWN(submit)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(submit, valid_submission_completes)
{
	ASSERT_EQ(0, mlu_submit(self->fd, &self->args));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 10000 * MS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, self->out));
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/*
 * Completion is signalled by the card's interrupt: an empty job must not
 * take anywhere near the job timeout, whose handler would also find it done.
 */
TEST_F(submit, empty_job_signals_promptly)
{
	struct drm_mlu_submit s = { .out_sync = self->out };
	uint64_t worst = 0, t0;
	int i;

	for (i = 0; i < 5; i++) {
		t0 = now_ns();
		ASSERT_EQ(0, mlu_submit(self->fd, &s));
		ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 30000 * MS));
		EXPECT_EQ(1, mlu_fence_status(self->fd, self->out));
		if (now_ns() - t0 > worst)
			worst = now_ns() - t0;
	}
	EXPECT_LT(worst, self->info.job_timeout_ms * MS / 2)
		TH_LOG("an empty job took %llu ms (job timeout %u ms): completion interrupt lost?",
		       (unsigned long long)(worst / MS), self->info.job_timeout_ms);
}

#define EXPECT_SUBMIT_ERRNO(err, field, value)					\
	do {									\
		struct drm_mlu_submit s = self->args;				\
		s.field = (value);						\
		EXPECT_EQ(-(err), mlu_submit(self->fd, &s))			\
			TH_LOG("submit with " #field " = " #value);		\
	} while (0)

TEST_F(submit, bad_fields)
{
	__u32 missing = 0xdead;

	/* Bit 0 is DRM_MLU_SUBMIT_QUEUE_ID (minor 1): queue 0 is no queue id. */
	EXPECT_SUBMIT_ERRNO(ENOENT, flags, DRM_MLU_SUBMIT_QUEUE_ID);
	/* Bit 1 is DRM_MLU_SUBMIT_BO_USAGE (minor 2), bit 2 the first unknown. */
	EXPECT_SUBMIT_ERRNO(EINVAL, flags, 4);
	EXPECT_SUBMIT_ERRNO(EINVAL, flags, 1u << 31);
	EXPECT_SUBMIT_ERRNO(EINVAL, pad, 1);
	EXPECT_SUBMIT_ERRNO(EINVAL, queue, self->info.num_queues);
	EXPECT_SUBMIT_ERRNO(EINVAL, queue, UINT32_MAX);
	EXPECT_SUBMIT_ERRNO(EINVAL, in_sync_stride, sizeof(struct drm_mlu_sync) - 1);
	EXPECT_SUBMIT_ERRNO(EINVAL, in_sync_stride, 0);
	EXPECT_SUBMIT_ERRNO(E2BIG, packet_count, self->info.max_packets_per_submit + 1);
	EXPECT_SUBMIT_ERRNO(E2BIG, bo_handle_count, self->info.max_bos_per_submit + 1);
	EXPECT_SUBMIT_ERRNO(E2BIG, in_sync_count, self->info.max_syncs_per_submit + 1);
	EXPECT_SUBMIT_ERRNO(ENOENT, out_sync, 0xdead);
	EXPECT_SUBMIT_ERRNO(ENOENT, bo_handles, (uintptr_t)&missing);
	EXPECT_SUBMIT_ERRNO(EFAULT, packets, 8);
	EXPECT_SUBMIT_ERRNO(EFAULT, bo_handles, 8);
	EXPECT_SUBMIT_ERRNO(EFAULT, in_syncs, 8);
	/* out_sync_point with out_sync 0 is the error, not the point alone. */
	{
		struct drm_mlu_submit s = self->args;

		s.out_sync = 0;
		s.out_sync_point = 1;
		EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	}
}

TEST_F(submit, bad_in_syncs)
{
	struct {
		struct drm_mlu_sync sync;
		__u64 future;		/* a field a newer UAPI might add */
	} wide = { .sync = { .handle = self->sync } };
	struct drm_mlu_submit s = self->args;
	uint32_t empty = mlu_syncobj_create(self->fd);

	self->in.flags = 1;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->in.flags = 0;
	self->in.handle = 0xdead;
	EXPECT_EQ(-ENOENT, mlu_submit(self->fd, &s));
	/* A syncobj that has no fence yet. */
	self->in.handle = empty;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->in.handle = self->sync;

	/* A larger stride is fine while the unknown bytes are zero. */
	s.in_syncs = (uintptr_t)&wide;
	s.in_sync_stride = sizeof(wide);
	EXPECT_EQ(0, mlu_submit(self->fd, &s));
	wide.future = 1;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 10000 * MS));
}

TEST_F(submit, bad_packets)
{
	struct drm_mlu_submit s = self->args;
	struct mlu_pkt_fence fence = { .hdr.opcode = MLU_OP_FENCE };

	self->pkt.hdr.reserved = 1;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->pkt.hdr.reserved = 0;
	self->pkt.hdr.opcode = 99;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->pkt.hdr.opcode = MLU_OP_COPY;
	/* Only the kernel may end a job with a FENCE. */
	fence.addr = self->va;
	s.packets = (uintptr_t)&fence;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	s.packets = (uintptr_t)&self->pkt;
	/* A COPY takes no header flags (MLU_FENCE_IRQ is the FENCE's). */
	self->pkt.hdr.flags = MLU_FENCE_IRQ;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->pkt.hdr.flags = 0x80;
	EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s));
	self->pkt.hdr.flags = 0;
}

/* Index of the first of @n bytes at @p that is not @value, or -1. */
static long first_byte_not(const unsigned char *p, size_t n, unsigned char value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != value)
			return i;
	return -1;
}

/*
 * The limits of struct drm_mlu_device_info are inclusive: a job of exactly
 * max_packets_per_submit packets, max_bos_per_submit BOs or
 * max_syncs_per_submit in-syncs is accepted and runs; one more is -E2BIG
 * (the arrays then hold max + 1 valid elements).
 */
TEST_F(submit, exactly_max_packets_runs)
{
	const uint32_t max = self->info.max_packets_per_submit;
	const uint64_t chunk = 16;
	struct mlu_pkt_copy *pkts;
	struct drm_mlu_submit s = self->args;
	unsigned char *p;
	uint64_t size, va, i;
	uint32_t bo;

	/* Packet i copies bytes [16 i, 16 i + 16) of the first half to the second. */
	size = 2 * (uint64_t)(max + 1) * chunk;
	ASSERT_EQ(0, mlu_bo_create(self->fd, size, 0, &bo, &va));
	p = mlu_bo_map(self->fd, bo);
	ASSERT_NE(NULL, p);
	for (i = 0; i < size / 2; i++)
		p[i] = i * 7 + 1;
	pkts = calloc(max + 1, sizeof(*pkts));
	ASSERT_NE(NULL, pkts);
	for (i = 0; i <= max; i++)
		mlu_pkt_copy_init(&pkts[i], va + size / 2 + i * chunk, va + i * chunk, chunk);

	s.packets = (uintptr_t)pkts;
	s.bo_handles = (uintptr_t)&bo;
	s.packet_count = max + 1;
	EXPECT_EQ(-E2BIG, mlu_submit(self->fd, &s));
	s.packet_count = max;
	ASSERT_EQ(0, mlu_submit(self->fd, &s)) TH_LOG("a job of exactly %u packets", max);
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 30000 * MS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, self->out));
	/* Every packet ran, and the one past the limit was never submitted. */
	EXPECT_EQ(0, memcmp(p, p + size / 2, max * chunk));
	EXPECT_EQ(-1, first_byte_not(p + size / 2 + max * chunk, size / 2 - max * chunk, 0));
	free(pkts);
}

TEST_F_TIMEOUT(submit, exactly_max_bos_runs, 120)
{
	const uint32_t max = self->info.max_bos_per_submit;
	struct drm_mlu_submit s = self->args;
	unsigned char *src, *dst;
	uint64_t last_va = 0;
	uint32_t *bos;
	uint32_t i;

	ASSERT_GE(max, 2);
	/* The fixture's BO, then max new ones; the job copies into the max-th. */
	bos = calloc(max + 1, sizeof(*bos));
	ASSERT_NE(NULL, bos);
	bos[0] = self->bo;
	for (i = 1; i <= max; i++) {
		uint64_t va;

		ASSERT_EQ(0, mlu_bo_create(self->fd, 4096, 0, &bos[i], &va))
			TH_LOG("BO %u of %u", i, max);
		if (i == max - 1)
			last_va = va;
	}
	src = mlu_bo_map(self->fd, self->bo);
	dst = mlu_bo_map(self->fd, bos[max - 1]);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	memset(src, 0xb0, 4096);
	mlu_pkt_copy_init(&self->pkt, last_va, self->va, 4096);

	s.bo_handles = (uintptr_t)bos;
	s.bo_handle_count = max + 1;
	EXPECT_EQ(-E2BIG, mlu_submit(self->fd, &s));
	s.bo_handle_count = max;
	ASSERT_EQ(0, mlu_submit(self->fd, &s)) TH_LOG("a job listing exactly %u BOs", max);
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 30000 * MS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, self->out));
	EXPECT_EQ(-1, first_byte_not(dst, 4096, 0xb0));
	free(bos);
}

TEST_F(submit, exactly_max_syncs_runs)
{
	const uint32_t max = self->info.max_syncs_per_submit;
	struct drm_mlu_submit s = self->args;
	struct drm_mlu_sync *in;
	unsigned char *p;
	uint32_t i;

	/*
	 * The last in-sync is the fixture's, an earlier job's fence; the
	 * others are distinct syncobjs, each with a signalled fence.
	 */
	in = calloc(max + 1, sizeof(*in));
	ASSERT_NE(NULL, in);
	for (i = 0; i <= max; i++) {
		if (i == max - 1) {
			in[i].handle = self->sync;
			continue;
		}
		ASSERT_EQ(0, drmSyncobjCreate(self->fd, DRM_SYNCOBJ_CREATE_SIGNALED,
					      &in[i].handle));
	}
	p = mlu_bo_map(self->fd, self->bo);
	ASSERT_NE(NULL, p);
	memset(p, 0xc3, 4096);

	s.in_syncs = (uintptr_t)in;
	s.in_sync_count = max + 1;
	EXPECT_EQ(-E2BIG, mlu_submit(self->fd, &s));
	s.in_sync_count = max;
	ASSERT_EQ(0, mlu_submit(self->fd, &s)) TH_LOG("a job waiting for exactly %u syncs", max);
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, self->out, 30000 * MS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, self->out));
	EXPECT_EQ(-1, first_byte_not(p + 4096, 4096, 0xc3));
	free(in);
}

/* Any packet a job may hold, as the submit copies it: 128 bytes. */
union any_packet {
	struct mlu_pkt_header hdr;
	struct mlu_pkt_matmul matmul;
	struct mlu_pkt_conv2d conv2d;
	struct mlu_pkt_copy copy;
	struct mlu_pkt_timestamp timestamp;
	unsigned char bytes[MLU_PKT_SIZE];
};

/*
 * Submit @args with @count @packets instead of its own and wait for the
 * job: 0 once it completed without error, else the submit's -errno (or
 * the wait's, or the job's fence error).
 */
static int submit_and_wait(int fd, const struct drm_mlu_submit *args,
			   const void *packets, uint32_t count)
{
	struct drm_mlu_submit s = *args;
	int ret;

	s.packets = (uintptr_t)packets;
	s.packet_count = count;
	ret = mlu_submit(fd, &s);
	if (ret)
		return ret;
	ret = mlu_syncobj_wait(fd, s.out_sync, 10000 * MS);
	if (ret)
		return ret;
	ret = mlu_fence_status(fd, s.out_sync);
	return ret == 1 ? 0 : ret < 0 ? ret : -EINPROGRESS;
}

/*
 * No packet a job may hold takes header flags (only the kernel's FENCE has
 * one): each kind, valid and accepted with flags 0, is refused with -EINVAL
 * for any flag, alone or after a valid packet of the same job.
 */
TEST_F(submit, header_flags_refused_on_every_packet_kind)
{
	const struct mlu_matmul_desc matmul = {
		.dtype = MLU_DTYPE_F32, .m = 2, .n = 2, .k = 2,
		.lda = 2, .ldb = 2, .ldc = 2, .alpha = 1.0f,
	};
	const struct mlu_conv2d_desc conv2d = {
		.dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW,
		.n = 1, .c = 1, .h = 2, .w = 2, .k = 1, .r = 1, .s = 1,
		.stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
		.groups = 1,
	};
	static const char *const names[] = { "NOP", "MATMUL", "CONV2D", "COPY", "TIMESTAMP" };
	static const __u8 bad_flags[] = { MLU_FENCE_IRQ, 0x02, 0x80, 0xff };
	const uint64_t in = self->va, out = self->va + 4096;
	struct drm_mlu_submit s = self->args;
	union any_packet pkts[5], job[2];
	size_t i, j;

	memset(pkts, 0, sizeof(pkts));
	pkts[0].hdr.opcode = MLU_OP_NOP;
	mlu_pkt_matmul_init(&pkts[1].matmul, &matmul, in, in + 64, out, 0);
	mlu_pkt_conv2d_init(&pkts[2].conv2d, &conv2d, in, in + 64, out, 0);
	mlu_pkt_copy_init(&pkts[3].copy, out, in, 4096);
	pkts[4].timestamp.hdr.opcode = MLU_OP_TIMESTAMP;
	pkts[4].timestamp.addr = out;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, submit_and_wait(self->fd, &self->args, &pkts[i], 1))
			TH_LOG("a valid %s packet", names[i]);
		for (j = 0; j < sizeof(bad_flags); j++) {
			/* The submit itself fails: the card never sees the job. */
			job[0] = pkts[3];
			job[1] = pkts[i];
			job[1].hdr.flags = bad_flags[j];
			s.packets = (uintptr_t)&job[1];
			s.packet_count = 1;
			EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s))
				TH_LOG("%s with header flags 0x%x", names[i], bad_flags[j]);
			s.packets = (uintptr_t)job;
			s.packet_count = 2;
			EXPECT_EQ(-EINVAL, mlu_submit(self->fd, &s))
				TH_LOG("%s with header flags 0x%x after a valid packet",
				       names[i], bad_flags[j]);
		}
	}
}

/*
 * The header's ctx field is the kernel's to fill in: a packet naming
 * another file's context, the kernel's or no valid one runs in the
 * submitter's own address space, never another's.
 */
TEST_F(submit, header_ctx_is_replaced_by_the_files_own)
{
	struct drm_mlu_device_info other_info;
	unsigned char *mine, *theirs;
	uint32_t other_bo;
	__u16 ctx[3];
	size_t i;
	long k;
	int other;

	other = mlu_open_card(0);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, mlu_query_info(other, &other_info));
	ASSERT_NE(self->info.context_id, other_info.context_id);
	/* Likely at our BO's address: a job in its context would copy there. */
	ASSERT_EQ(0, mlu_bo_create(other, 8192, 0, &other_bo, NULL));
	theirs = mlu_bo_map(other, other_bo);
	mine = mlu_bo_map(self->fd, self->bo);
	ASSERT_NE(NULL, theirs);
	ASSERT_NE(NULL, mine);
	memset(theirs, 0x77, 8192);

	ctx[0] = other_info.context_id;
	ctx[1] = 0;		/* the kernel's */
	ctx[2] = 0xffff;	/* past MLU_MAX_CONTEXTS */
	for (i = 0; i < 3; i++) {
		memset(mine, 0x10 + i, 4096);
		memset(mine + 4096, 0, 4096);
		self->pkt.hdr.ctx = ctx[i];
		ASSERT_EQ(0, submit_and_wait(self->fd, &self->args, &self->pkt, 1))
			TH_LOG("a COPY whose header names context %u", ctx[i]);
		k = first_byte_not(mine + 4096, 4096, 0x10 + i);
		EXPECT_EQ(-1, k) TH_LOG("ctx %u: byte %ld not copied in our context", ctx[i], k);
		k = first_byte_not(theirs, 8192, 0x77);
		EXPECT_EQ(-1, k) TH_LOG("ctx %u: the other file's BO changed at %ld", ctx[i], k);
	}
	munmap(mine, 8192);
	munmap(theirs, 8192);
	close(other);
}

TEST_HARNESS_MAIN
