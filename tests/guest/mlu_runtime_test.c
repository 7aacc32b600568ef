// SPDX-License-Identifier: MIT
/*
 * libmlu end to end: runtime -> driver -> card.  Matmul and conv2d in every
 * dtype and layout checked against the compute core's reference, copies,
 * events, cross-queue waits, and error reporting of failed jobs.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu/mlu.h"
#include "mlu_guest.h"

#define WAIT_NS (60000 * MS)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

FIXTURE(ops)
{
	struct mlu_device *dev;
	struct mlu_device_props props;
	struct mlu_queue *queue;
};

FIXTURE_SETUP(ops)
{
	unsigned int count;

	ASSERT_EQ(MLU_SUCCESS, mlu_device_count(&count));
	if (count == 0) {
		ASSERT_LE(mlu_expected_cards(), 0) TH_LOG("host attached cards, libmlu sees none");
		SKIP(return, "no MLU card");
	}
	ASSERT_EQ(MLU_SUCCESS, mlu_device_open(0, &self->dev));
	ASSERT_EQ(MLU_SUCCESS, mlu_device_get_props(self->dev, &self->props));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create(self->dev, 0, &self->queue));
}

FIXTURE_TEARDOWN(ops)
{
	mlu_queue_destroy(self->queue);
	mlu_device_close(self->dev);
}

/* A buffer holding a copy of host data (or zeroes when src is NULL). */
static struct mlu_buffer *upload(struct mlu_device *dev, const void *src, size_t bytes)
{
	struct mlu_buffer *buf;
	void *p;

	if (mlu_buffer_alloc(dev, bytes ? bytes : 1, 0, &buf))
		return NULL;
	if (mlu_buffer_map(buf, &p)) {
		mlu_buffer_free(buf);
		return NULL;
	}
	if (src)
		memcpy(p, src, bytes);
	return buf;
}

static void *mapped(struct mlu_buffer *buf)
{
	void *p = NULL;

	mlu_buffer_map(buf, &p);
	return p;
}

/* ---- events, ordering and errors --------------------------------------- */

FIXTURE(runtime)
{
	struct mlu_device *dev;
	struct mlu_device_props props;
	struct mlu_queue *queue;
};

FIXTURE_SETUP(runtime)
{
	unsigned int count;

	ASSERT_EQ(MLU_SUCCESS, mlu_device_count(&count));
	if (count == 0) {
		ASSERT_LE(mlu_expected_cards(), 0) TH_LOG("host attached cards, libmlu sees none");
		SKIP(return, "no MLU card");
	}
	ASSERT_EQ(MLU_SUCCESS, mlu_device_open(0, &self->dev));
	ASSERT_EQ(MLU_SUCCESS, mlu_device_get_props(self->dev, &self->props));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create(self->dev, 0, &self->queue));
}

FIXTURE_TEARDOWN(runtime)
{
	mlu_queue_destroy(self->queue);
	mlu_device_close(self->dev);
}

TEST_F(runtime, enumerates_every_card)
{
	unsigned int count;

	ASSERT_EQ(MLU_SUCCESS, mlu_device_count(&count));
	if (mlu_expected_cards() >= 0)
		EXPECT_EQ(mlu_expected_cards(), count);
	EXPECT_EQ(MLU_ERROR_NO_DEVICE, mlu_device_open(count, &(struct mlu_device *){ NULL }));
	EXPECT_EQ(MLU_ERROR_NO_DEVICE,
		  mlu_device_open_path("/dev/null", &(struct mlu_device *){ NULL }));
}

TEST_F(runtime, properties)
{
	const struct mlu_device_props *p = &self->props;

	EXPECT_EQ(0, strncmp(p->node, "/dev/accel/accel", 16));
	EXPECT_NE(0, p->pci_slot[0]);
	EXPECT_EQ(MLU_HW_VERSION, p->hw_version);
	EXPECT_EQ(MLU_PCI_VENDOR_ID, p->pci_vendor_id);
	EXPECT_EQ(MLU_PCI_DEVICE_ID, p->pci_device_id);
	EXPECT_TRUE(p->capabilities & MLU_DEVICE_CAP_MATMUL);
	EXPECT_GE(p->num_queues, 1);
	EXPECT_LT(p->va_start, p->va_end);
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_queue_create(self->dev, p->num_queues, &(struct mlu_queue *){ NULL }));
}

TEST_F(runtime, buffer_alloc_map_free)
{
	struct mlu_buffer *buf;
	unsigned char *p, *again;
	size_t i;

	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, 5000, 0, &buf));
	EXPECT_EQ(8192, mlu_buffer_size(buf));
	EXPECT_GE(mlu_buffer_device_address(buf), self->props.va_start);
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(buf, (void **)&p));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_map(buf, (void **)&again));
	EXPECT_EQ(p, again);
	for (i = 0; i < 8192; i++)
		ASSERT_EQ(0, p[i]);
	mlu_buffer_free(buf);
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_buffer_alloc(self->dev, 0, 0, &buf));
	EXPECT_EQ(MLU_ERROR_TOO_LARGE, mlu_buffer_alloc(self->dev, 1ull << 45, 0, &buf));
}

/* ---- matmul sweep ------------------------------------------------------ */

FIXTURE_VARIANT(ops)
{
	enum mlu_dtype dtype;
	uint32_t m, n, k;
	bool trans_a, trans_b, bias, relu;
	float alpha, beta;
	enum mlu_layout layout;
	uint32_t c, h, w, kk, r, s, stride, pad, dilation, groups;
};

FIXTURE_VARIANT_ADD(ops, f32)
{
	.dtype = MLU_DTYPE_F32, .m = 67, .n = 45, .k = 129, .alpha = 1.0f,
	.layout = MLU_LAYOUT_NCHW, .c = 3, .h = 17, .w = 15, .kk = 8, .r = 3, .s = 3,
	.stride = 1, .pad = 1, .dilation = 1, .groups = 1,
};

FIXTURE_VARIANT_ADD(ops, f32_trans_bias_relu_beta)
{
	.dtype = MLU_DTYPE_F32, .m = 33, .n = 70, .k = 19, .trans_a = true, .trans_b = true,
	.bias = true, .relu = true, .alpha = -0.5f, .beta = 2.0f,
	.layout = MLU_LAYOUT_NHWC, .c = 8, .h = 12, .w = 9, .kk = 4, .r = 3, .s = 2,
	.stride = 2, .pad = 1, .dilation = 1, .groups = 2,
};

FIXTURE_VARIANT_ADD(ops, f16)
{
	.dtype = MLU_DTYPE_F16, .m = 40, .n = 24, .k = 64, .bias = true, .alpha = 1.0f,
	.layout = MLU_LAYOUT_NCHW, .c = 4, .h = 10, .w = 10, .kk = 6, .r = 3, .s = 3,
	.stride = 1, .pad = 0, .dilation = 2, .groups = 1,
};

FIXTURE_VARIANT_ADD(ops, bf16)
{
	.dtype = MLU_DTYPE_BF16, .m = 31, .n = 17, .k = 100, .trans_b = true, .relu = true,
	.alpha = 1.0f,
	.layout = MLU_LAYOUT_NHWC, .c = 6, .h = 9, .w = 11, .kk = 6, .r = 1, .s = 1,
	.stride = 1, .pad = 0, .dilation = 1, .groups = 3,
};

FIXTURE_VARIANT_ADD(ops, i8)
{
	.dtype = MLU_DTYPE_I8, .m = 50, .n = 30, .k = 77, .bias = true, .alpha = 1.0f,
	.layout = MLU_LAYOUT_NCHW, .c = 5, .h = 8, .w = 8, .kk = 7, .r = 3, .s = 3,
	.stride = 1, .pad = 1, .dilation = 1, .groups = 1, .beta = 0.0f,
};

TEST_F(ops, matmul_matches_reference)
{
	const FIXTURE_VARIANT(ops) *v = variant;
	struct mlu_matmul_desc d = {
		.dtype = v->dtype, .m = v->m, .n = v->n, .k = v->k,
		.trans_a = v->trans_a, .trans_b = v->trans_b, .bias = v->bias, .relu = v->relu,
		.alpha = v->alpha, .beta = v->beta,
	};
	struct mlu_matmul_sizes sz;
	struct mlu_buffer *a, *b, *c, *bias = NULL;
	void *ha, *hb, *hc, *hbias = NULL, *ref, *abs_ref;
	size_t in = mlu_core_in_size(v->dtype), out = mlu_core_out_size(v->dtype);
	double max_err;
	long bad;

	d.lda = v->trans_a ? v->m : v->k;
	d.ldb = v->trans_b ? v->k : v->n;
	d.ldc = v->n;
	ASSERT_EQ(0, mlu_matmul_check(&d, &sz));
	ha = xmalloc(sz.a);
	hb = xmalloc(sz.b);
	hc = xmalloc(sz.c);
	ref = xmalloc(sz.c);
	abs_ref = xmalloc(sz.c);
	mlu_fill_random(v->dtype, ha, sz.a / in, 1);
	mlu_fill_random(v->dtype, hb, sz.b / in, 2);
	if (v->dtype == MLU_DTYPE_I8)
		memset(hc, 0, sz.c);
	else
		mlu_fill_random(v->dtype, hc, sz.c / out, 3);
	if (v->bias) {
		hbias = xmalloc(sz.bias);
		if (v->dtype == MLU_DTYPE_I8)
			for (size_t i = 0; i < v->n; i++)
				((int32_t *)hbias)[i] = (int32_t)(i * 7919) - 50000;
		else
			mlu_fill_random(v->dtype, hbias, v->n, 4);
	}
	ASSERT_EQ(0, mlu_matmul_oracle(&d, ha, hb, hbias, hc, ref, abs_ref));

	a = upload(self->dev, ha, sz.a);
	b = upload(self->dev, hb, sz.b);
	c = upload(self->dev, hc, sz.c);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, c);
	if (v->bias) {
		bias = upload(self->dev, hbias, sz.bias);
		ASSERT_NE(NULL, bias);
	}
	{
		struct mlu_matmul_args args = {
			.dtype = (enum mlu_data_type)v->dtype, .m = v->m, .n = v->n, .k = v->k,
			.lda = d.lda, .ldb = d.ldb, .ldc = d.ldc,
			.flags = (v->trans_a ? MLU_MATMUL_FLAG_TRANS_A : 0) |
				 (v->trans_b ? MLU_MATMUL_FLAG_TRANS_B : 0) |
				 (v->relu ? MLU_MATMUL_FLAG_RELU : 0),
			.alpha = v->alpha, .beta = v->beta,
			.a = { a }, .b = { b }, .c = { c }, .bias = { bias },
		};

		ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_matmul(self->queue, &args));
	}
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	bad = mlu_compare(v->dtype, mapped(c), ref, abs_ref, sz.c / out, v->k + 4, &max_err);
	EXPECT_EQ(-1, bad) TH_LOG("element %ld differs (max error %g)", bad, max_err);
	mlu_buffer_free(a);
	mlu_buffer_free(b);
	mlu_buffer_free(c);
	mlu_buffer_free(bias);
	free(ha);
	free(hb);
	free(hc);
	free(hbias);
	free(ref);
	free(abs_ref);
}

TEST_F(ops, conv2d_matches_reference)
{
	const FIXTURE_VARIANT(ops) *v = variant;
	struct mlu_conv2d_desc d = {
		.dtype = v->dtype, .layout = v->layout, .n = 2, .c = v->c, .h = v->h, .w = v->w,
		.k = v->kk, .r = v->r, .s = v->s, .stride_h = v->stride, .stride_w = v->stride,
		.pad_h = v->pad, .pad_w = v->pad, .dilation_h = v->dilation,
		.dilation_w = v->dilation, .groups = v->groups, .bias = v->bias, .relu = v->relu,
	};
	struct mlu_conv2d_sizes sz;
	struct mlu_buffer *in, *w, *out, *bias = NULL;
	void *hin, *hw, *hbias = NULL, *ref, *abs_ref;
	size_t isz = mlu_core_in_size(v->dtype), osz = mlu_core_out_size(v->dtype);
	double max_err;
	long bad;

	ASSERT_EQ(0, mlu_conv2d_check(&d, &sz));
	hin = xmalloc(sz.input);
	hw = xmalloc(sz.weight);
	ref = xmalloc(sz.output);
	abs_ref = xmalloc(sz.output);
	mlu_fill_random(v->dtype, hin, sz.input / isz, 5);
	mlu_fill_random(v->dtype, hw, sz.weight / isz, 6);
	if (v->bias) {
		hbias = xmalloc(sz.bias);
		if (v->dtype == MLU_DTYPE_I8)
			for (size_t i = 0; i < v->kk; i++)
				((int32_t *)hbias)[i] = (int32_t)(i * 104729) - 300000;
		else
			mlu_fill_random(v->dtype, hbias, v->kk, 7);
	}
	ASSERT_EQ(0, mlu_conv2d_oracle(&d, hin, hw, hbias, ref, abs_ref));

	in = upload(self->dev, hin, sz.input);
	w = upload(self->dev, hw, sz.weight);
	out = upload(self->dev, NULL, sz.output);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, out);
	if (v->bias) {
		bias = upload(self->dev, hbias, sz.bias);
		ASSERT_NE(NULL, bias);
	}
	{
		struct mlu_conv2d_args args = {
			.dtype = (enum mlu_data_type)v->dtype,
			.layout = v->layout == MLU_LAYOUT_NHWC ? MLU_TENSOR_NHWC : MLU_TENSOR_NCHW,
			.n = d.n, .c = d.c, .h = d.h, .w = d.w, .k = d.k, .r = d.r, .s = d.s,
			.stride_h = d.stride_h, .stride_w = d.stride_w, .pad_h = d.pad_h,
			.pad_w = d.pad_w, .dilation_h = d.dilation_h, .dilation_w = d.dilation_w,
			.groups = d.groups, .flags = v->relu ? MLU_CONV2D_FLAG_RELU : 0,
			.input = { in }, .weight = { w }, .output = { out }, .bias = { bias },
		};

		ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_conv2d(self->queue, &args));
	}
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	bad = mlu_compare(v->dtype, mapped(out), ref, abs_ref, sz.output / osz,
			  v->c / v->groups * v->r * v->s + 4, &max_err);
	EXPECT_EQ(-1, bad) TH_LOG("element %ld differs (max error %g)", bad, max_err);
	mlu_buffer_free(in);
	mlu_buffer_free(w);
	mlu_buffer_free(out);
	mlu_buffer_free(bias);
	free(hin);
	free(hw);
	free(hbias);
	free(ref);
	free(abs_ref);
}

TEST_F(runtime, events_and_cross_queue_wait)
{
	struct mlu_buffer *src, *mid, *dst;
	struct mlu_queue *q1;
	struct mlu_event *ev, *never;
	uint32_t *s, *d;
	size_t i;

	if (self->props.num_queues < 2)
		SKIP(return, "the card has a single queue");
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create(self->dev, 1, &q1));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create(self->dev, &ev));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create(self->dev, &never));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_event_wait(never, 0));

	src = upload(self->dev, NULL, 1 << 20);
	mid = upload(self->dev, NULL, 1 << 20);
	dst = upload(self->dev, NULL, 1 << 20);
	s = mapped(src);
	for (i = 0; i < (1 << 18); i++)
		s[i] = i * 2654435761u;
	/* queue 0: src -> mid; queue 1 waits for it, then mid -> dst. */
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, (struct mlu_operand){ mid },
						(struct mlu_operand){ src }, 1 << 20));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(self->queue, ev));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_wait_event(q1, ev));
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(q1, (struct mlu_operand){ dst },
						(struct mlu_operand){ mid }, 1 << 20));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(q1, WAIT_NS));
	EXPECT_EQ(MLU_SUCCESS, mlu_event_query(ev));
	EXPECT_EQ(MLU_SUCCESS, mlu_event_wait(ev, 0));
	d = mapped(dst);
	EXPECT_EQ(0, memcmp(s, d, 1 << 20));

	/* Recording on an idle queue gives a completed event. */
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(self->queue, never));
	EXPECT_EQ(MLU_SUCCESS, mlu_event_query(never));

	mlu_event_destroy(ev);
	mlu_event_destroy(never);
	mlu_queue_destroy(q1);
	mlu_buffer_free(src);
	mlu_buffer_free(mid);
	mlu_buffer_free(dst);
}

TEST_F(runtime, failed_job_is_reported_once)
{
	struct mlu_buffer *ro, *b;
	struct mlu_event *ev;

	/* The card may not write a read-only buffer: that job faults. */
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, 4096, MLU_BUFFER_READ_ONLY, &ro));
	b = upload(self->dev, NULL, 4096);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, (struct mlu_operand){ ro },
						(struct mlu_operand){ b }, 4096));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create(self->dev, &ev));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(self->queue, ev));
	EXPECT_EQ(MLU_ERROR_DEVICE_FAULT, mlu_event_wait(ev, WAIT_NS));
	/* A later good job does not hide the failure from synchronize... */
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(self->queue, (struct mlu_operand){ b, 2048 },
						(struct mlu_operand){ b, 0 }, 1024));
	EXPECT_EQ(MLU_ERROR_DEVICE_FAULT, mlu_queue_synchronize(self->queue, WAIT_NS));
	/* ...which reports it once. */
	EXPECT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	mlu_event_destroy(ev);
	mlu_buffer_free(ro);
	mlu_buffer_free(b);
}

TEST_F(runtime, argument_errors)
{
	struct mlu_buffer *a;
	struct mlu_matmul_args args = { .dtype = MLU_TYPE_F32, .m = 64, .n = 64, .k = 64 };

	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(self->dev, 4096, 0, &a));
	/* 64x64 f32 needs 16 KiB per operand. */
	args.a.buffer = args.b.buffer = args.c.buffer = a;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_enqueue_matmul(self->queue, &args));
	args.m = args.n = args.k = 8;
	args.b.offset = 4096;	/* past the end */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_enqueue_matmul(self->queue, &args));
	args.b.offset = 0;
	args.alpha = 1.0f;
	EXPECT_EQ(MLU_SUCCESS, mlu_enqueue_matmul(self->queue, &args));
	EXPECT_EQ(MLU_SUCCESS, mlu_queue_synchronize(self->queue, WAIT_NS));
	EXPECT_STREQ("invalid argument", mlu_strerror(MLU_ERROR_INVALID_ARGUMENT));
	mlu_buffer_free(a);
}

/*
 * A submit the driver refuses is an error of the call that made it, with
 * the driver's errno mapped to a status, and enqueues nothing.  Here the
 * kernel queue under a libmlu queue is destroyed through the device's fd
 * (as another thread of the process could), so every SUBMIT on it fails
 * with -ENOENT: MLU_ERROR_INVALID_ARGUMENT.
 */
TEST_F(runtime, refused_submit_is_reported)
{
	struct mlu_matmul_args mm = { .dtype = MLU_TYPE_F32, .m = 8, .n = 8, .k = 8,
				      .alpha = 1.0f };
	struct drm_mlu_queue_destroy destroy = { 0 };
	const int fd = mlu_device_fd(self->dev);
	struct mlu_buffer *src, *dst;
	unsigned char pattern[4096], *d;
	struct mlu_event *stamp;
	struct mlu_queue *q;
	uint32_t id;
	size_t i;

	memset(pattern, 0x3c, sizeof(pattern));
	src = upload(self->dev, pattern, sizeof(pattern));
	dst = upload(self->dev, NULL, sizeof(pattern));
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	d = mapped(dst);
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create_with_flags(self->dev, MLU_EVENT_TIMING, &stamp));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create_with_priority(self->dev, MLU_QUEUE_PRIORITY_NORMAL,
							      &q));
	/* The queue works. */
	ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_copy(q, (struct mlu_operand){ dst },
						(struct mlu_operand){ src }, sizeof(pattern)));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(q, WAIT_NS));
	ASSERT_EQ(0, memcmp(pattern, d, sizeof(pattern)));
	memset(d, 0, sizeof(pattern));

	/* q's is the file's only kernel queue (self->queue is a ring's). */
	for (id = 1; id <= 0xffff; id++) {
		destroy.queue_id = id;
		if (!drmIoctl(fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &destroy))
			break;
		ASSERT_EQ(ENOENT, errno) TH_LOG("destroying queue id %u", id);
	}
	ASSERT_LE(id, 0xffff) TH_LOG("no kernel queue in the file");

	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_enqueue_copy(q, (struct mlu_operand){ dst },
				   (struct mlu_operand){ src }, sizeof(pattern)));
	mm.a.buffer = mm.b.buffer = src;
	mm.c.buffer = dst;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_enqueue_matmul(q, &mm));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_queue_record_event(q, stamp));
	/* Nothing was enqueued: nothing to wait for, nothing failed, nothing written. */
	EXPECT_EQ(MLU_SUCCESS, mlu_queue_synchronize(q, WAIT_NS));
	for (i = 0; i < sizeof(pattern); i++)
		ASSERT_EQ(0, d[i]) TH_LOG("byte %zu written by a refused job", i);

	mlu_queue_destroy(q);
	mlu_event_destroy(stamp);
	mlu_buffer_free(src);
	mlu_buffer_free(dst);
}

TEST_HARNESS_MAIN
