// SPDX-License-Identifier: MIT
/*
 * mlu_bench: end-to-end figures from inside the guest (tests/bench/30-guest-e2e.sh).
 *
 *   bench: e2e_matmul_f32_2048 <v> GFLOPS   best of several 2048^3 f32 matmuls
 *                                           through libmlu, submit to fence, with
 *                                           the operands already in device memory
 *                                           (where a card's operands live)
 *   bench: e2e_matmul_f32_2048_hostmem ...  the same with host-memory buffers,
 *                                           which the card reads page by page
 *   bench: e2e_empty_job_rtt_us <v> us      median round trip of a job without
 *                                           packets, submit to syncobj wait return
 *
 * Each loop stops early after BUDGET_S seconds (at least 3 repetitions), so
 * a slow stack still gives figures in bounded time.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xf86drm.h>
#include <drm.h>
#include <drm/mlu_accel.h>

#include "mlu/mlu.h"

#define CHECK(call)								\
	do {									\
		int status_ = (call);						\
		if (status_) {							\
			fprintf(stderr, "mlu_bench: %s: %s\n", #call,		\
				mlu_strerror(status_));				\
			exit(1);						\
		}								\
	} while (0)

#define BUDGET_S 20.0

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void bench_matmul(struct mlu_device *dev, struct mlu_queue *q, unsigned int reps,
			 unsigned int flags, const char *name)
{
	const unsigned int n = 2048;
	struct mlu_buffer *a, *b, *c;
	double best = 0, start;
	float *pa, *pb;
	size_t i;

	CHECK(mlu_buffer_alloc(dev, (uint64_t)n * n * 4, flags, &a));
	CHECK(mlu_buffer_alloc(dev, (uint64_t)n * n * 4, flags, &b));
	CHECK(mlu_buffer_alloc(dev, (uint64_t)n * n * 4, flags, &c));
	CHECK(mlu_buffer_map(a, (void **)&pa));
	CHECK(mlu_buffer_map(b, (void **)&pb));
	for (i = 0; i < (size_t)n * n; i++) {
		pa[i] = (float)(i % 17) / 16.0f - 0.5f;
		pb[i] = (float)(i % 13) / 12.0f - 0.5f;
	}
	struct mlu_matmul_args args = {
		.dtype = MLU_TYPE_F32, .m = n, .n = n, .k = n, .alpha = 1.0f,
		.a = { a }, .b = { b }, .c = { c },
	};
	start = now_s();
	for (unsigned int r = 0; r < reps && (r < 3 || now_s() - start < BUDGET_S); r++) {
		double t0 = now_s(), gflops;

		CHECK(mlu_enqueue_matmul(q, &args));
		CHECK(mlu_queue_synchronize(q, UINT64_MAX));
		gflops = 2.0 * n * n * n / (now_s() - t0) / 1e9;
		if (gflops > best)
			best = gflops;
	}
	printf("bench: %s %.1f GFLOPS\n", name, best);
	mlu_buffer_free(a);
	mlu_buffer_free(b);
	mlu_buffer_free(c);
}

/* An empty job is a raw submit: the runtime has no operation without packets. */
static void bench_empty_job(struct mlu_device *dev, unsigned int reps)
{
	int fd = mlu_device_fd(dev);
	double *rtt = calloc(reps, sizeof(*rtt));
	double start = now_s();
	unsigned int r;
	uint32_t syncobj;

	if (!rtt || drmSyncobjCreate(fd, 0, &syncobj))
		exit(1);
	for (r = 0; r < reps && (r < 3 || now_s() - start < BUDGET_S); r++) {
		struct drm_mlu_submit s = { .out_sync = syncobj };
		double t0 = now_s();

		if (drmIoctl(fd, DRM_IOCTL_MLU_SUBMIT, &s) ||
		    drmSyncobjWait(fd, &syncobj, 1, INT64_MAX, 0, NULL)) {
			perror("mlu_bench: empty job");
			exit(1);
		}
		rtt[r] = (now_s() - t0) * 1e6;
	}
	qsort(rtt, r, sizeof(*rtt), cmp_double);
	printf("bench: e2e_empty_job_rtt_us %.1f us\n", rtt[r / 2]);
	drmSyncobjDestroy(fd, syncobj);
	free(rtt);
}

int main(int argc, char **argv)
{
	unsigned int mm_reps = argc > 1 ? atoi(argv[1]) : 5;
	unsigned int rtt_reps = argc > 2 ? atoi(argv[2]) : 200;
	struct mlu_device *dev;
	struct mlu_queue *q;

	if (!mm_reps || !rtt_reps)
		return 2;
	CHECK(mlu_device_open(0, &dev));
	CHECK(mlu_queue_create(dev, 0, &q));
	bench_empty_job(dev, rtt_reps);
	bench_matmul(dev, q, mm_reps, MLU_BUFFER_DEVMEM, "e2e_matmul_f32_2048");
	bench_matmul(dev, q, mm_reps, 0, "e2e_matmul_f32_2048_hostmem");
	mlu_queue_destroy(q);
	mlu_device_close(dev);
	return 0;
}
