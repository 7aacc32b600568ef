// SPDX-License-Identifier: MIT
/*
 * mlu_copy_bench: copy bandwidth inside the guest (tests/bench/31-guest-copy.sh).
 *
 *   bench: copy_h2d_64m <v> MB/s       host memory buffer -> device memory
 *   bench: copy_d2h_64m <v> MB/s       device memory -> host memory buffer
 *   bench: copy_d2d_64m <v> MB/s       device memory -> device memory
 *   bench: guest_memcpy_64m <v> MB/s   memcpy() between two malloc'd
 *                                      buffers of the guest, for comparison
 *
 * Copies go through libmlu (mlu_enqueue_copy + mlu_queue_synchronize), so a
 * figure includes submission and completion, the way an application sees
 * it.  Each is the best of several 64 MiB repetitions (MB = 10^6 bytes);
 * every copy's result is checked once, so the figures are for real copies.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlu/mlu.h"

#define CHECK(call)								\
	do {									\
		int status_ = (call);						\
		if (status_) {							\
			fprintf(stderr, "mlu_copy_bench: %s: %s\n", #call,	\
				mlu_strerror(status_));				\
			exit(1);						\
		}								\
	} while (0)

#define SIZE		(64u << 20)
#define BUDGET_S	10.0

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *name, double best_s)
{
	printf("bench: %s %.0f MB/s\n", name, SIZE / best_s / 1e6);
}

static double bench_memcpy(unsigned int reps)
{
	char *src = malloc(SIZE), *dst = malloc(SIZE);
	double best = 1e9, start = now_s();
	unsigned int r;

	if (!src || !dst)
		exit(1);
	/* Touch every page first: the figure is for copying, not faulting. */
	memset(src, 0x5a, SIZE);
	memset(dst, 0, SIZE);
	for (r = 0; r < reps && (r < 3 || now_s() - start < BUDGET_S); r++) {
		double t0 = now_s(), t;

		memcpy(dst, src, SIZE);
		t = now_s() - t0;
		if (t < best)
			best = t;
	}
	if (memcmp(dst, src, SIZE))
		exit(1);
	free(src);
	free(dst);
	return best;
}

static double bench_copy(struct mlu_queue *q, struct mlu_buffer *dst, struct mlu_buffer *src,
			 unsigned int reps)
{
	struct mlu_operand d = { dst, 0 }, s = { src, 0 };
	double best = 1e9, start = now_s();
	unsigned int r;

	for (r = 0; r < reps && (r < 3 || now_s() - start < BUDGET_S); r++) {
		double t0 = now_s(), t;

		CHECK(mlu_enqueue_copy(q, d, s, SIZE));
		CHECK(mlu_queue_synchronize(q, UINT64_MAX));
		t = now_s() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/* The last copy into dst must have brought over the pattern of host. */
static void verify(struct mlu_buffer *buf, const char *ref)
{
	void *p;

	CHECK(mlu_buffer_map(buf, &p));
	if (memcmp(p, ref, SIZE)) {
		fprintf(stderr, "mlu_copy_bench: copy result differs\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	unsigned int reps = argc > 1 ? atoi(argv[1]) : 8;
	struct mlu_buffer *host, *back, *dev_a, *dev_b;
	double h2d, d2h, d2d, mc;
	struct mlu_device *dev;
	struct mlu_queue *q;
	char *ref, *p;
	size_t i;

	if (!reps)
		return 2;
	CHECK(mlu_device_open(0, &dev));
	CHECK(mlu_queue_create(dev, 0, &q));
	CHECK(mlu_buffer_alloc(dev, SIZE, 0, &host));
	CHECK(mlu_buffer_alloc(dev, SIZE, 0, &back));
	CHECK(mlu_buffer_alloc(dev, SIZE, MLU_BUFFER_DEVMEM, &dev_a));
	CHECK(mlu_buffer_alloc(dev, SIZE, MLU_BUFFER_DEVMEM, &dev_b));
	ref = malloc(SIZE);
	if (!ref)
		return 1;
	for (i = 0; i < SIZE; i++)
		ref[i] = (char)(i * 131 + (i >> 12));
	CHECK(mlu_buffer_map(host, (void **)&p));
	memcpy(p, ref, SIZE);

	mc = bench_memcpy(reps);
	h2d = bench_copy(q, dev_a, host, reps);
	verify(dev_a, ref);
	d2d = bench_copy(q, dev_b, dev_a, reps);
	verify(dev_b, ref);
	d2h = bench_copy(q, back, dev_b, reps);
	verify(back, ref);

	report("copy_h2d_64m", h2d);
	report("copy_d2h_64m", d2h);
	report("copy_d2d_64m", d2d);
	report("guest_memcpy_64m", mc);

	free(ref);
	mlu_buffer_free(host);
	mlu_buffer_free(back);
	mlu_buffer_free(dev_a);
	mlu_buffer_free(dev_b);
	mlu_queue_destroy(q);
	mlu_device_close(dev);
	return 0;
}
