// SPDX-License-Identifier: MIT
/*
 * Jobs through the raw UAPI: device faults, many jobs in flight, in-fence
 * ordering across queues (binary and timeline syncobjs), processes with
 * isolated address spaces, closing or killing a process with jobs in flight,
 * and two cards at once.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

#define WAIT_NS (30000 * MS)

/* A packed f32 matmul job on one BO: A, B then C, m x k x n. */
struct mm_job {
	struct mlu_matmul_desc d;
	uint32_t bo;
	uint64_t va;
	float *map;
	uint64_t a_off, b_off, c_off;
};

static int mm_job_init(int fd, struct mm_job *j, uint32_t m, uint32_t n, uint32_t k,
		       uint32_t seed)
{
	uint64_t size;
	int ret;

	memset(j, 0, sizeof(*j));
	j->d = (struct mlu_matmul_desc){ .dtype = MLU_DTYPE_F32, .m = m, .n = n, .k = k,
					 .lda = k, .ldb = n, .ldc = n, .alpha = 1.0f };
	j->a_off = 0;
	j->b_off = (uint64_t)m * k * 4;
	j->c_off = j->b_off + (uint64_t)k * n * 4;
	size = j->c_off + (uint64_t)m * n * 4;
	ret = mlu_bo_create(fd, size, 0, &j->bo, &j->va);
	if (ret)
		return ret;
	j->map = mlu_bo_map(fd, j->bo);
	if (!j->map)
		return -ENOMEM;
	mlu_fill_random(MLU_DTYPE_F32, j->map, (size_t)m * k + (size_t)k * n, seed);
	return 0;
}

static void mm_job_packet(const struct mm_job *j, struct mlu_pkt_matmul *p)
{
	mlu_pkt_matmul_init(p, &j->d, j->va + j->a_off, j->va + j->b_off, j->va + j->c_off, 0);
}

/* Index of the first wrong element of C, or -1. */
static long mm_job_check(const struct mm_job *j)
{
	size_t c = (size_t)j->d.m * j->d.n;
	float *ref = malloc(c * 4), *abs_ref = malloc(c * 4);
	const char *base = (const char *)j->map;
	double max_err;
	long bad = 0;

	if (ref && abs_ref &&
	    !mlu_matmul_oracle(&j->d, base + j->a_off, base + j->b_off, NULL, NULL, ref, abs_ref))
		bad = mlu_compare(MLU_DTYPE_F32, base + j->c_off, ref, abs_ref, c, j->d.k + 4,
				  &max_err);
	free(ref);
	free(abs_ref);
	return bad;
}

TEST(unmapped_address_faults_and_next_job_works)
{
	struct mlu_pkt_copy bad, good;
	uint32_t bo, out1, out2;
	uint64_t va;
	unsigned char *p;
	int fd;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_bo_create(fd, 8192, 0, &bo, &va));
	p = mlu_bo_map(fd, bo);
	ASSERT_NE(NULL, p);
	memset(p, 0x3c, 4096);
	out1 = mlu_syncobj_create(fd);
	out2 = mlu_syncobj_create(fd);

	/* This file has a single BO: 1 GiB above it nothing is mapped. */
	mlu_pkt_copy_init(&bad, va + 4096, va + (1ull << 30), 4096);
	mlu_pkt_copy_init(&good, va + 4096, va, 4096);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &bad, 1, &bo, 1, 0, out1));
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &good, 1, &bo, 1, 0, out2));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out1, WAIT_NS));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out2, WAIT_NS));
	EXPECT_EQ(-EFAULT, mlu_fence_status(fd, out1));
	EXPECT_EQ(1, mlu_fence_status(fd, out2));
	EXPECT_EQ(0, memcmp(p, p + 4096, 4096));
	close(fd);
}

TEST(write_to_read_only_bo_faults)
{
	struct mlu_pkt_copy pkt;
	uint32_t bos[2], out;
	uint64_t ro, rw;
	int fd;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_bo_create(fd, 4096, DRM_MLU_BO_DEVICE_READ_ONLY, &bos[0], &ro));
	ASSERT_EQ(0, mlu_bo_create(fd, 4096, 0, &bos[1], &rw));
	out = mlu_syncobj_create(fd);
	mlu_pkt_copy_init(&pkt, ro, rw, 4096);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, bos, 2, 0, out));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out, WAIT_NS));
	EXPECT_EQ(-EFAULT, mlu_fence_status(fd, out));
	close(fd);
}

TEST(many_jobs_in_flight)
{
	enum { JOBS = 200 };
	struct mlu_pkt_matmul pkt;
	uint32_t outs[JOBS];
	struct mm_job *jobs;
	int fd, i, q;
	struct drm_mlu_device_info info;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_query_info(fd, &info));
	jobs = calloc(JOBS, sizeof(*jobs));
	ASSERT_NE(NULL, jobs);
	for (i = 0; i < JOBS; i++) {
		ASSERT_EQ(0, mm_job_init(fd, &jobs[i], 8 + i % 7, 16 + i % 5, 24 + i % 3, i + 1));
		outs[i] = mlu_syncobj_create(fd);
		ASSERT_NE(0, outs[i]);
	}
	/* Submit everything, spread over the queues, before waiting. */
	for (i = 0; i < JOBS; i++) {
		q = i % info.num_queues;
		mm_job_packet(&jobs[i], &pkt);
		ASSERT_EQ(0, mlu_submit_simple(fd, q, &pkt, 1, &jobs[i].bo, 1, 0, outs[i]));
	}
	ASSERT_EQ(0, drmSyncobjWait(fd, outs, JOBS, INT64_MAX,
				    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL));
	for (i = 0; i < JOBS; i++) {
		EXPECT_EQ(1, mlu_fence_status(fd, outs[i])) TH_LOG("job %d", i);
		EXPECT_EQ(-1, mm_job_check(&jobs[i])) TH_LOG("job %d result", i);
	}
	free(jobs);
	close(fd);
}

TEST(jobs_on_one_queue_complete_in_order)
{
	enum { JOBS = 32 };
	struct mlu_pkt_copy pkt;
	uint32_t bo, outs[JOBS];
	uint64_t va;
	uint32_t *p;
	int fd, i;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_bo_create(fd, (JOBS + 1) * 4096, 0, &bo, &va));
	p = mlu_bo_map(fd, bo);
	ASSERT_NE(NULL, p);
	p[0] = 0xc0ffee;
	/* A chain: each job copies the page the previous job wrote. */
	for (i = 0; i < JOBS; i++) {
		outs[i] = mlu_syncobj_create(fd);
		mlu_pkt_copy_init(&pkt, va + (i + 1) * 4096ull, va + i * 4096ull, 4096);
		ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, &bo, 1, 0, outs[i]));
	}
	ASSERT_EQ(0, mlu_syncobj_wait(fd, outs[JOBS - 1], WAIT_NS));
	for (i = 0; i < JOBS; i++)
		EXPECT_EQ(1, mlu_fence_status(fd, outs[i])) TH_LOG("job %d", i);
	EXPECT_EQ(0xc0ffee, p[JOBS * 1024]);
	close(fd);
}

/*
 * Job B on another queue waits for a long job A and copies A's result: when
 * B's fence has signalled, A's must have too, and B must have copied the
 * finished result.
 */
static void in_fence_ordering(struct __test_metadata *_metadata, bool timeline)
{
	struct drm_mlu_sync in = { 0 };
	struct drm_mlu_submit sb = { 0 };
	struct drm_mlu_device_info info;
	struct mlu_pkt_matmul pa;
	struct mlu_pkt_copy pb;
	uint32_t bos[2], a_done, b_done, dst;
	uint64_t dst_va, c_bytes;
	struct mm_job a;
	uint64_t point;
	void *dst_map;
	int fd;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	ASSERT_EQ(0, mlu_query_info(fd, &info));
	if (info.num_queues < 2)
		SKIP(return, "the card has a single queue");
	/*
	 * Long for the card, cheap for the guest: its result is not checked
	 * against the reference here (the reference would run under TCG).
	 */
	ASSERT_EQ(0, mm_job_init(fd, &a, 768, 768, 768, 7));
	c_bytes = 768 * 768 * 4;
	ASSERT_EQ(0, mlu_bo_create(fd, c_bytes, 0, &dst, &dst_va));
	dst_map = mlu_bo_map(fd, dst);
	ASSERT_NE(NULL, dst_map);
	a_done = mlu_syncobj_create(fd);
	ASSERT_NE(0, a_done);
	b_done = mlu_syncobj_create(fd);

	mm_job_packet(&a, &pa);
	{
		struct drm_mlu_submit sa = {
			.packets = (uintptr_t)&pa, .packet_count = 1, .queue = 0,
			.bo_handles = (uintptr_t)&a.bo, .bo_handle_count = 1,
			.out_sync = a_done, .out_sync_point = timeline ? 3 : 0,
		};

		ASSERT_EQ(0, mlu_submit(fd, &sa));
	}
	mlu_pkt_copy_init(&pb, dst_va, a.va + a.c_off, c_bytes);
	bos[0] = a.bo;
	bos[1] = dst;
	in.handle = a_done;
	in.point = timeline ? 3 : 0;
	sb = (struct drm_mlu_submit){
		.packets = (uintptr_t)&pb, .packet_count = 1, .queue = 1,
		.bo_handles = (uintptr_t)bos, .bo_handle_count = 2,
		.in_syncs = (uintptr_t)&in, .in_sync_count = 1, .in_sync_stride = sizeof(in),
		.out_sync = b_done,
	};
	ASSERT_EQ(0, mlu_submit(fd, &sb));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, b_done, WAIT_NS));
	if (timeline) {
		ASSERT_EQ(0, drmSyncobjQuery(fd, &a_done, &point, 1));
		EXPECT_EQ(3, point);
	} else {
		EXPECT_EQ(1, mlu_fence_status(fd, a_done));
	}
	EXPECT_EQ(1, mlu_fence_status(fd, b_done));
	/* B copied A's finished result, not the zeroes before it. */
	EXPECT_NE(0, ((float *)((char *)a.map + a.c_off))[768 * 768 - 1]);
	EXPECT_EQ(0, memcmp(dst_map, (char *)a.map + a.c_off, c_bytes));
	close(fd);
}

TEST(in_fence_orders_jobs_across_queues)
{
	in_fence_ordering(_metadata, false);
}

TEST(timeline_point_orders_jobs_across_queues)
{
	in_fence_ordering(_metadata, true);
}

/*
 * Two processes at once, each with its own BO at (very likely) the same
 * device address: each job sees its own process's data only.
 */
static int isolated_worker(uint32_t pattern, int ready_fd, int go_fd)
{
	struct drm_mlu_device_info info;
	struct mlu_pkt_copy pkt;
	struct mm_job mm;
	struct mlu_pkt_matmul pm;
	uint32_t bo, out, mm_out, *p, i;
	uint64_t va;
	char c = 0;
	int fd = mlu_open_card(0);

	if (fd < 0 || mlu_query_info(fd, &info) || mlu_bo_create(fd, 8192, 0, &bo, &va))
		return 10;
	p = mlu_bo_map(fd, bo);
	if (!p)
		return 11;
	for (i = 0; i < 1024; i++)
		p[i] = pattern;
	if (mm_job_init(fd, &mm, 64, 64, 64, pattern))
		return 12;
	/* Both processes have their buffers before either submits. */
	if (write(ready_fd, &info.context_id, 4) != 4 || read(go_fd, &c, 1) != 1)
		return 13;
	out = mlu_syncobj_create(fd);
	mm_out = mlu_syncobj_create(fd);
	mlu_pkt_copy_init(&pkt, va + 4096, va, 4096);
	mm_job_packet(&mm, &pm);
	if (mlu_submit_simple(fd, 0, &pkt, 1, &bo, 1, 0, out) ||
	    mlu_submit_simple(fd, 0, &pm, 1, &mm.bo, 1, 0, mm_out))
		return 14;
	if (mlu_syncobj_wait(fd, out, WAIT_NS) || mlu_syncobj_wait(fd, mm_out, WAIT_NS))
		return 15;
	if (mlu_fence_status(fd, out) != 1 || mlu_fence_status(fd, mm_out) != 1)
		return 16;
	for (i = 1024; i < 2048; i++)
		if (p[i] != pattern)
			return 17;
	if (mm_job_check(&mm) != -1)
		return 18;
	close(fd);
	return 0;
}

TEST(two_processes_have_isolated_address_spaces)
{
	int ready[2], go[2], status, fd;
	uint32_t ctx[2];
	pid_t pid[2];
	int i;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	close(fd);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			_exit(isolated_worker(i ? 0xbbbbbbbb : 0xaaaaaaaa, ready[1], go[0]));
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(4, read(ready[0], &ctx[i], 4));
	EXPECT_NE(ctx[0], ctx[1]);
	ASSERT_EQ(2, write(go[1], "gg", 2));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("worker %d failed at step %d", i,
							 WEXITSTATUS(status));
	}
}

/* Submit a pile of jobs, then leave without waiting: close() or SIGKILL. */
static void abandon_jobs(bool kill_self)
{
	struct mlu_pkt_matmul pkt;
	struct mm_job j;
	int fd = mlu_open_card(0), i;

	if (fd < 0 || mm_job_init(fd, &j, 256, 256, 256, 3))
		_exit(10);
	mm_job_packet(&j, &pkt);
	for (i = 0; i < 64; i++)
		if (mlu_submit_simple(fd, i % 2, &pkt, 1, &j.bo, 1, 0, 0))
			_exit(11);
	if (kill_self)
		raise(SIGKILL);
	close(fd);
	_exit(0);
}

static void card_still_works(struct __test_metadata *_metadata)
{
	struct mlu_pkt_matmul pkt;
	struct mm_job j;
	uint32_t out;
	int fd = mlu_open_card(0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, mm_job_init(fd, &j, 32, 32, 32, 5));
	out = mlu_syncobj_create(fd);
	mm_job_packet(&j, &pkt);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, &j.bo, 1, 0, out));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(fd, out));
	EXPECT_EQ(-1, mm_job_check(&j));
	close(fd);
}

TEST(close_with_jobs_in_flight)
{
	int status, fd;
	pid_t pid;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	close(fd);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		abandon_jobs(false);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	card_still_works(_metadata);
}

TEST(killed_with_jobs_in_flight)
{
	int status, fd;
	pid_t pid;

	MLU_OPEN_CARD_OR_SKIP(fd, 0);
	close(fd);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		abandon_jobs(true);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	card_still_works(_metadata);
}

TEST(two_cards_at_once)
{
	struct drm_mlu_device_info info[2];
	struct mlu_pkt_matmul pkt;
	struct mm_job j[2];
	uint32_t out[2];
	int fd[2], i;

	if (mlu_expected_cards() >= 0 && mlu_expected_cards() < 2)
		SKIP(return, "the host attached %d card(s)", mlu_expected_cards());
	MLU_OPEN_CARD_OR_SKIP(fd[0], 0);
	MLU_OPEN_CARD_OR_SKIP(fd[1], 1);
	EXPECT_EQ(2, mlu_count_cards());
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mlu_query_info(fd[i], &info[i]));
		ASSERT_EQ(0, mm_job_init(fd[i], &j[i], 128, 96, 64, 11 + i));
		out[i] = mlu_syncobj_create(fd[i]);
		mm_job_packet(&j[i], &pkt);
		ASSERT_EQ(0, mlu_submit_simple(fd[i], 0, &pkt, 1, &j[i].bo, 1, 0, out[i]));
	}
	EXPECT_NE(info[0].serial, info[1].serial);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mlu_syncobj_wait(fd[i], out[i], WAIT_NS));
		EXPECT_EQ(1, mlu_fence_status(fd[i], out[i]));
		EXPECT_EQ(-1, mm_job_check(&j[i])) TH_LOG("card %d", i);
		close(fd[i]);
	}
}

TEST_HARNESS_MAIN
