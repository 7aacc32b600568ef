// SPDX-License-Identifier: MIT
/*
 * mlu_demo: one matmul and one convolution on an MLU card through libmlu,
 * checked against the compute core's reference implementation.
 *
 * Prints what it does; exits 0 only when both results are within the
 * f32 summation error bound of the reference (Documentation/compute-core.rst).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlu/mlu.h"
#include "mlu_core.h"

#define CHECK(call)								\
	do {									\
		int status_ = (call);						\
		if (status_) {							\
			fprintf(stderr, "mlu_demo: %s: %s\n", #call,		\
				mlu_strerror(status_));				\
			exit(1);						\
		}								\
	} while (0)

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void fill(float *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (float)(seed >> 8) / (float)(1 << 23) - 1.0f;	/* [-1, 1) */
	}
}

static void absolute(float *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = fabsf(src[i]);
}

/* A device buffer holding n floats (copied from src unless NULL). */
static struct mlu_buffer *buffer_of(struct mlu_device *dev, const float *src, size_t n,
				    float **map)
{
	struct mlu_buffer *buf;

	CHECK(mlu_buffer_alloc(dev, n * sizeof(float), 0, &buf));
	CHECK(mlu_buffer_map(buf, (void **)map));
	if (src)
		memcpy(*map, src, n * sizeof(float));
	return buf;
}

/*
 * Worst |got - ref| and whether every element is within twice the bound
 * gamma(terms) * S of the f32 sum, S being the sum of absolute terms.
 */
static bool within_bound(const float *got, const float *ref, const float *abs_sum,
			 size_t n, unsigned int terms, double *max_err)
{
	double u = ldexp(1, -24), gamma = terms * u / (1 - terms * u);
	bool ok = true;

	*max_err = 0;
	for (size_t i = 0; i < n; i++) {
		double err = fabs((double)got[i] - ref[i]);

		*max_err = fmax(*max_err, err);
		if (!(err <= 2 * gamma * abs_sum[i] * 1.01))
			ok = false;
	}
	return ok;
}

static bool demo_matmul(struct mlu_device *dev, struct mlu_queue *q)
{
	enum { M = 256, N = 192, K = 320 };
	struct mlu_matmul_desc d = { .dtype = MLU_DTYPE_F32, .m = M, .n = N, .k = K,
				     .lda = K, .ldb = N, .ldc = N, .alpha = 1.0f };
	float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
	float *ref = malloc(sizeof(float) * M * N), *abs_sum = malloc(sizeof(float) * M * N);
	float *aa = malloc(sizeof(float) * M * K), *ab = malloc(sizeof(float) * K * N);
	float *da, *db, *dc;
	struct mlu_buffer *ba, *bb, *bc;
	double t0, t1, err;
	bool ok;

	fill(a, M * K, 1);
	fill(b, K * N, 2);
	ba = buffer_of(dev, a, M * K, &da);
	bb = buffer_of(dev, b, K * N, &db);
	bc = buffer_of(dev, NULL, M * N, &dc);

	struct mlu_matmul_args args = {
		.dtype = MLU_TYPE_F32, .m = M, .n = N, .k = K, .alpha = 1.0f,
		.a = { ba }, .b = { bb }, .c = { bc },
	};
	t0 = now_ms();
	CHECK(mlu_enqueue_matmul(q, &args));
	CHECK(mlu_queue_synchronize(q, UINT64_MAX));
	t1 = now_ms();

	mlu_matmul_ref(&d, a, b, NULL, ref);
	absolute(aa, a, M * K);
	absolute(ab, b, K * N);
	mlu_matmul_ref(&d, aa, ab, NULL, abs_sum);
	ok = within_bound(dc, ref, abs_sum, M * N, K + 4, &err);
	printf("matmul f32 %dx%dx%d: C = A * B on the card in %.2f ms (submit to fence); "
	       "C[0][0] = %.6f, reference %.6f; max |error| %.3g: %s\n",
	       M, N, K, t1 - t0, dc[0], ref[0], err, ok ? "matches the reference" : "WRONG");
	mlu_buffer_free(ba);
	mlu_buffer_free(bb);
	mlu_buffer_free(bc);
	free(a);
	free(b);
	free(ref);
	free(abs_sum);
	free(aa);
	free(ab);
	return ok;
}

static bool demo_conv2d(struct mlu_device *dev, struct mlu_queue *q)
{
	struct mlu_conv2d_desc d = {
		.dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW, .n = 2, .c = 16, .h = 28, .w = 28,
		.k = 32, .r = 3, .s = 3, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1,
		.dilation_h = 1, .dilation_w = 1, .groups = 1, .bias = true, .relu = true,
	};
	struct mlu_conv2d_sizes sz;
	struct mlu_buffer *bi, *bw, *bb, *bo;
	float *in, *w, *bias, *ref, *abs_sum, *ai, *aw, *abias, *di, *dw, *db, *dout;
	size_t ni, nw, no;
	double t0, t1, err;
	bool ok;

	if (mlu_conv2d_check(&d, &sz))
		return false;
	ni = sz.input / 4;
	nw = sz.weight / 4;
	no = sz.output / 4;
	in = malloc(sz.input);
	w = malloc(sz.weight);
	bias = malloc(sz.bias);
	ai = malloc(sz.input);
	aw = malloc(sz.weight);
	abias = malloc(sz.bias);
	ref = malloc(sz.output);
	abs_sum = malloc(sz.output);
	fill(in, ni, 3);
	fill(w, nw, 4);
	fill(bias, d.k, 5);
	bi = buffer_of(dev, in, ni, &di);
	bw = buffer_of(dev, w, nw, &dw);
	bb = buffer_of(dev, bias, d.k, &db);
	bo = buffer_of(dev, NULL, no, &dout);

	struct mlu_conv2d_args args = {
		.dtype = MLU_TYPE_F32, .layout = MLU_TENSOR_NCHW,
		.n = d.n, .c = d.c, .h = d.h, .w = d.w, .k = d.k, .r = d.r, .s = d.s,
		.pad_h = 1, .pad_w = 1, .flags = MLU_CONV2D_FLAG_RELU,
		.input = { bi }, .weight = { bw }, .output = { bo }, .bias = { bb },
	};
	t0 = now_ms();
	CHECK(mlu_enqueue_conv2d(q, &args));
	CHECK(mlu_queue_synchronize(q, UINT64_MAX));
	t1 = now_ms();

	mlu_conv2d_ref(&d, in, w, bias, ref);
	absolute(ai, in, ni);
	absolute(aw, w, nw);
	absolute(abias, bias, d.k);
	d.relu = false;
	mlu_conv2d_ref(&d, ai, aw, abias, abs_sum);
	ok = within_bound(dout, ref, abs_sum, no, d.c * d.r * d.s + 4, &err);
	printf("conv2d f32 NCHW %ux%ux%ux%u * %u filters %ux%u, pad 1, bias, ReLU -> "
	       "%ux%ux%ux%u on the card in %.2f ms; max |error| %.3g: %s\n",
	       d.n, d.c, d.h, d.w, d.k, d.r, d.s, d.n, d.k, sz.p, sz.q, t1 - t0, err,
	       ok ? "matches the reference" : "WRONG");
	mlu_buffer_free(bi);
	mlu_buffer_free(bw);
	mlu_buffer_free(bb);
	mlu_buffer_free(bo);
	free(in);
	free(w);
	free(bias);
	free(ai);
	free(aw);
	free(abias);
	free(ref);
	free(abs_sum);
	return ok;
}

int main(void)
{
	struct mlu_device_props props;
	struct mlu_device *dev;
	struct mlu_queue *q;
	unsigned int count;
	bool ok;

	CHECK(mlu_device_count(&count));
	printf("libmlu %u.%u.%u: %u MLU card(s)\n", MLU_VERSION_MAJOR, MLU_VERSION_MINOR,
	       MLU_VERSION_PATCH, count);
	if (!count)
		return 1;
	CHECK(mlu_device_open(0, &dev));
	CHECK(mlu_device_get_props(dev, &props));
	printf("card 0: %s at PCI %s, hardware %u.%u, driver %u.%u, %u queues, "
	       "%llu MiB device memory, serial %016llx\n",
	       props.node, props.pci_slot, props.hw_version >> 16, props.hw_version & 0xffff,
	       props.driver_version >> 16, props.driver_version & 0xffff, props.num_queues,
	       (unsigned long long)(props.devmem_size >> 20), (unsigned long long)props.serial);
	CHECK(mlu_queue_create(dev, 0, &q));
	ok = demo_matmul(dev, q);
	ok = demo_conv2d(dev, q) && ok;
	mlu_queue_destroy(q);
	mlu_device_close(dev);
	printf("mlu_demo: %s\n", ok ? "both results verified" : "FAILED");
	return ok ? 0 : 1;
}
