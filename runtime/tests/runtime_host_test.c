// SPDX-License-Identifier: MIT
/*
 * Host unit tests of libmlu's logic that needs no device: packet building
 * and argument checks, status mapping and strings, card enumeration on a
 * fake /sys/class/accel tree.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mlu_internal.h"

static struct mlu_span span(uint64_t va, uint64_t bytes)
{
	return (struct mlu_span){ .va = va, .bytes = bytes, .present = true };
}

static uint32_t bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

TEST(matmul_packet_fields)
{
	struct mlu_matmul_args a = {
		.dtype = MLU_TYPE_F32, .m = 3, .n = 5, .k = 7,
		.alpha = 1.5f, .beta = 0.25f, .flags = MLU_MATMUL_FLAG_RELU,
	};
	struct mlu_span s[MLU_MM_OPERANDS] = {
		span(0x10000, 3 * 7 * 4), span(0x20000, 7 * 5 * 4),
		span(0x30000, 3 * 5 * 4), span(0x40000, 5 * 4),
	};
	struct mlu_pkt_matmul p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_matmul(&a, s, &p));
	EXPECT_EQ(MLU_OP_MATMUL, p.hdr.opcode);
	EXPECT_EQ(0, p.hdr.flags);
	EXPECT_EQ(0, p.hdr.ctx);
	EXPECT_EQ(0, p.hdr.reserved);
	EXPECT_EQ(0x10000, le64toh(p.a));
	EXPECT_EQ(0x20000, le64toh(p.b));
	EXPECT_EQ(0x30000, le64toh(p.c));
	EXPECT_EQ(0x40000, le64toh(p.bias));
	EXPECT_EQ(3, le32toh(p.m));
	EXPECT_EQ(5, le32toh(p.n));
	EXPECT_EQ(7, le32toh(p.k));
	/* Zero leading dimensions mean packed. */
	EXPECT_EQ(7, le32toh(p.lda));
	EXPECT_EQ(5, le32toh(p.ldb));
	EXPECT_EQ(5, le32toh(p.ldc));
	EXPECT_EQ(bits(1.5f), le32toh(p.alpha));
	EXPECT_EQ(bits(0.25f), le32toh(p.beta));
	EXPECT_EQ(MLU_DTYPE_F32, le32toh(p.dtype));
	EXPECT_EQ(MLU_MATMUL_BIAS | MLU_MATMUL_RELU, le32toh(p.flags));
	for (size_t i = 0; i < sizeof(p.reserved) / sizeof(p.reserved[0]); i++)
		EXPECT_EQ(0, p.reserved[i]);
}

TEST(matmul_transposed_int8_extents)
{
	/* A stored k x m (lda >= m), B stored n x k; int8 in, int32 out. */
	struct mlu_matmul_args a = {
		.dtype = MLU_TYPE_I8, .m = 4, .n = 2, .k = 3, .lda = 6,
		.flags = MLU_MATMUL_FLAG_TRANS_A | MLU_MATMUL_FLAG_TRANS_B,
		.alpha = 1.0f,
	};
	uint64_t a_bytes = (3 - 1) * 6 + 4, b_bytes = 2 * 3, c_bytes = 4 * 2 * 4;
	struct mlu_span s[MLU_MM_OPERANDS] = {
		span(0x1000, a_bytes), span(0x2000, b_bytes), span(0x3000, c_bytes),
	};
	struct mlu_pkt_matmul p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_matmul(&a, s, &p));
	EXPECT_EQ(MLU_DTYPE_I8, le32toh(p.dtype));
	EXPECT_EQ(MLU_MATMUL_TRANS_A | MLU_MATMUL_TRANS_B, le32toh(p.flags));
	EXPECT_EQ(6, le32toh(p.lda));
	EXPECT_EQ(3, le32toh(p.ldb));
	EXPECT_EQ(0, le64toh(p.bias));
	/* One byte short in any operand is refused. */
	s[MLU_MM_A].bytes--;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	s[MLU_MM_A].bytes++;
	s[MLU_MM_C].bytes--;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
}

TEST(matmul_bad_arguments)
{
	struct mlu_span s[MLU_MM_OPERANDS] = {
		span(0x1000, 1ull << 40), span(0x2000, 1ull << 40), span(0x3000, 1ull << 40),
	};
	struct mlu_matmul_args good = { .dtype = MLU_TYPE_F32, .m = 2, .n = 2, .k = 2 };
	struct mlu_matmul_args a;
	struct mlu_pkt_matmul p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_matmul(&good, s, &p));
	a = good;
	a.m = 0;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	a = good;
	a.lda = 1;		/* smaller than k */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	a = good;
	a.dtype = 9;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	a = good;
	a.flags = 1u << 7;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	a = good;
	a.m = a.k = a.lda = 0xffffffffu;	/* extent overflows 64 bits */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&a, s, &p));
	s[MLU_MM_B].present = false;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_matmul(&good, s, &p));
}

TEST(conv2d_packet_and_output_shape)
{
	/* 1x3x8x8 input, 4 filters 3x3, stride 2, pad 1: output 1x4x4x4. */
	struct mlu_conv2d_args a = {
		.dtype = MLU_TYPE_F16, .layout = MLU_TENSOR_NHWC,
		.n = 1, .c = 3, .h = 8, .w = 8, .k = 4, .r = 3, .s = 3,
		.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1,
		.flags = MLU_CONV2D_FLAG_RELU,
	};
	struct mlu_span s[MLU_CV_OPERANDS] = {
		span(0x1000, 1 * 3 * 8 * 8 * 2), span(0x2000, 4 * 3 * 3 * 3 * 2),
		span(0x3000, 1 * 4 * 4 * 4 * 2),
	};
	struct mlu_pkt_conv2d p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_conv2d(&a, s, &p));
	EXPECT_EQ(MLU_OP_CONV2D, p.hdr.opcode);
	EXPECT_EQ(MLU_DTYPE_F16, le32toh(p.dtype));
	EXPECT_EQ(MLU_LAYOUT_NHWC, le32toh(p.layout));
	EXPECT_EQ(MLU_CONV_RELU, le32toh(p.flags));
	/* Zero dilation and groups mean 1. */
	EXPECT_EQ(1, le32toh(p.dilation_h));
	EXPECT_EQ(1, le32toh(p.dilation_w));
	EXPECT_EQ(1, le32toh(p.groups));
	EXPECT_EQ(2, le32toh(p.stride_h));
	EXPECT_EQ(0x3000, le64toh(p.output));
	/* The output needs exactly 4x4: one byte less is refused. */
	s[MLU_CV_OUTPUT].bytes--;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_conv2d(&a, s, &p));
}

TEST(conv2d_bad_arguments)
{
	struct mlu_span s[MLU_CV_OPERANDS] = {
		span(0x1000, 1 << 20), span(0x200000, 1 << 20), span(0x400000, 1 << 20),
	};
	struct mlu_conv2d_args good = {
		.dtype = MLU_TYPE_F32, .n = 1, .c = 4, .h = 5, .w = 5, .k = 4, .r = 3, .s = 3,
		.groups = 2,
	};
	struct mlu_conv2d_args a;
	struct mlu_pkt_conv2d p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_conv2d(&good, s, &p));
	a = good;
	a.groups = 3;		/* c and k not multiples */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_conv2d(&a, s, &p));
	a = good;
	a.r = 6;		/* window taller than the input */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_conv2d(&a, s, &p));
	a = good;
	a.layout = 7;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_conv2d(&a, s, &p));
	a = good;
	a.s = 0;
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_conv2d(&a, s, &p));
}

TEST(copy_packet)
{
	struct mlu_pkt_copy p;

	ASSERT_EQ(MLU_SUCCESS, mlu_pack_copy(span(0x8000, 4096), span(0x1000, 100), 100, &p));
	EXPECT_EQ(MLU_OP_COPY, p.hdr.opcode);
	EXPECT_EQ(0x8000, le64toh(p.dst));
	EXPECT_EQ(0x1000, le64toh(p.src));
	EXPECT_EQ(100, le64toh(p.size));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy(span(0x8000, 4096), span(0x1000, 99), 100, &p));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy(span(0x1010, 4096), span(0x1000, 4096), 100, &p));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy(span(0x8000, 4096), span(0x1000, 4096), 0, &p));
}

TEST(copy_chunks)
{
	const uint64_t max = MLU_COPY_MAX_BYTES, size = 2 * max + 12345;
	const uint64_t dst = 1ull << 40, src = 1ull << 32;
	struct mlu_pkt_copy p[4];
	uint64_t done;

	/* Below the card's limit: one packet, the whole copy. */
	ASSERT_EQ(1, mlu_pack_copy_chunks(span(0x8000, 4096), span(0x1003, 100), 97, p, 4,
					  &done));
	EXPECT_EQ(97, done);
	EXPECT_EQ(0x1003, le64toh(p[0].src));
	EXPECT_EQ(97, le64toh(p[0].size));

	/* Above it: consecutive packets of at most the limit, in order. */
	ASSERT_EQ(3, mlu_pack_copy_chunks(span(dst, size), span(src, size), size, p, 4, &done));
	EXPECT_EQ(size, done);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(dst + i * max, le64toh(p[i].dst));
		EXPECT_EQ(src + i * max, le64toh(p[i].src));
		EXPECT_EQ(i < 2 ? max : 12345, le64toh(p[i].size));
	}

	/* Fewer packets allowed than needed: the start of the copy. */
	ASSERT_EQ(2, mlu_pack_copy_chunks(span(dst, size), span(src, size), size, p, 2, &done));
	EXPECT_EQ(2 * max, done);

	/* The whole range is checked even when only its start is packed. */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy_chunks(span(dst, size - 1), span(src, size), size, p, 1, &done));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy_chunks(span(src + max, size), span(src, size), size, p, 4, &done));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT,
		  mlu_pack_copy_chunks(span(dst, size), span(src, size), 0, p, 4, &done));
}

TEST(timestamp_packet)
{
	struct mlu_pkt_timestamp pkt;
	const uint8_t *raw = (const uint8_t *)&pkt;
	size_t i;

	memset(&pkt, 0xff, sizeof(pkt));
	ASSERT_EQ(MLU_SUCCESS, mlu_pack_timestamp(0x123458, &pkt));
	EXPECT_EQ(MLU_OP_TIMESTAMP, pkt.hdr.opcode);
	EXPECT_EQ(0, pkt.hdr.flags);
	EXPECT_EQ(0, pkt.hdr.ctx);
	EXPECT_EQ(0x123458, pkt.addr);
	/* Header reserved field and body reserved words must be zero. */
	EXPECT_EQ(0, pkt.hdr.reserved);
	for (i = offsetof(struct mlu_pkt_timestamp, reserved); i < sizeof(pkt); i++)
		EXPECT_EQ(0, raw[i]);
	/* The card stores 8 bytes: the address must be 8-byte aligned. */
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_timestamp(0x123454, &pkt));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_pack_timestamp(0, &pkt));
}

TEST(queue_priorities_map_to_the_driver)
{
	EXPECT_EQ(DRM_MLU_QUEUE_PRIORITY_LOW, mlu_queue_priority_to_uapi(MLU_QUEUE_PRIORITY_LOW));
	EXPECT_EQ(DRM_MLU_QUEUE_PRIORITY_NORMAL,
		  mlu_queue_priority_to_uapi(MLU_QUEUE_PRIORITY_NORMAL));
	EXPECT_EQ(DRM_MLU_QUEUE_PRIORITY_HIGH, mlu_queue_priority_to_uapi(MLU_QUEUE_PRIORITY_HIGH));
	EXPECT_EQ(-1, mlu_queue_priority_to_uapi(2));
	EXPECT_EQ(-1, mlu_queue_priority_to_uapi(-2));
}

TEST(status_mapping_and_strings)
{
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_status_from_errno(EINVAL));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_status_from_errno(-ENOENT));
	EXPECT_EQ(MLU_ERROR_OUT_OF_MEMORY, mlu_status_from_errno(ENOMEM));
	EXPECT_EQ(MLU_ERROR_TOO_LARGE, mlu_status_from_errno(E2BIG));
	EXPECT_EQ(MLU_ERROR_NO_DEVICE, mlu_status_from_errno(ENODEV));
	EXPECT_EQ(MLU_ERROR_TIMEOUT, mlu_status_from_errno(-ETIME));
	EXPECT_EQ(MLU_ERROR_SYSTEM, mlu_status_from_errno(EPIPE));
	EXPECT_EQ(MLU_SUCCESS, mlu_status_from_fence_error(0));
	EXPECT_EQ(MLU_ERROR_DEVICE_FAULT, mlu_status_from_fence_error(-EFAULT));
	EXPECT_EQ(MLU_ERROR_BAD_COMMAND, mlu_status_from_fence_error(-EINVAL));
	EXPECT_EQ(MLU_ERROR_DEVICE, mlu_status_from_fence_error(-EIO));
	EXPECT_EQ(MLU_ERROR_JOB_TIMEOUT, mlu_status_from_fence_error(-ETIMEDOUT));
	EXPECT_EQ(MLU_ERROR_CANCELED, mlu_status_from_fence_error(-ECANCELED));
	EXPECT_EQ(MLU_ERROR_CANCELED, mlu_status_from_fence_error(-ESRCH));
	/* Every status has its own string; unknown ones say so. */
	for (int a = MLU_SUCCESS; a >= MLU_ERROR_SYSTEM; a--) {
		EXPECT_STRNE("unknown status", mlu_strerror(a));
		for (int b = a - 1; b >= MLU_ERROR_SYSTEM; b--)
			EXPECT_STRNE(mlu_strerror(a), mlu_strerror(b));
	}
	EXPECT_STREQ("unknown status", mlu_strerror(-1000));
	EXPECT_EQ(MLU_VERSION, mlu_version());
}

FIXTURE(fake_sysfs)
{
	char dir[64];
};

static void add_node(const char *dir, const char *name, const char *driver)
{
	char path[256], target[256];

	snprintf(path, sizeof(path), "%s/devices/%s", dir, name);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/device", dir, name);
	snprintf(target, sizeof(target), "%s/devices/%s", dir, name);
	symlink(target, path);
	if (driver) {
		snprintf(path, sizeof(path), "%s/devices/%s/driver", dir, name);
		snprintf(target, sizeof(target), "../../bus/pci/drivers/%s", driver);
		symlink(target, path);
	}
}

FIXTURE_SETUP(fake_sysfs)
{
	char path[128];

	snprintf(self->dir, sizeof(self->dir), "/tmp/mlu-sysfs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(path, sizeof(path), "%s/devices", self->dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	add_node(self->dir, "accel10", "mlu");
	add_node(self->dir, "accel2", "mlu");
	add_node(self->dir, "accel1", "ivpu");	/* another driver's card */
	add_node(self->dir, "accel3", NULL);	/* unbound */
	add_node(self->dir, "accel0", "mlu");
	add_node(self->dir, "accelx", "mlu");	/* not an accel minor */
}

FIXTURE_TEARDOWN(fake_sysfs)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	system(cmd);
}

TEST_F(fake_sysfs, lists_mlu_nodes_in_minor_order)
{
	unsigned int minors[8], count;

	ASSERT_EQ(MLU_SUCCESS, mlu_enumerate(self->dir, minors, 8, &count));
	ASSERT_EQ(3, count);
	EXPECT_EQ(0, minors[0]);
	EXPECT_EQ(2, minors[1]);
	EXPECT_EQ(10, minors[2]);
	/* A short array still reports the full count. */
	ASSERT_EQ(MLU_SUCCESS, mlu_enumerate(self->dir, minors, 1, &count));
	EXPECT_EQ(3, count);
}

TEST(enumerate_without_accel_class)
{
	unsigned int minors[4], count = 99;

	ASSERT_EQ(MLU_SUCCESS, mlu_enumerate("/nonexistent/accel", minors, 4, &count));
	EXPECT_EQ(0, count);
}

TEST_HARNESS_MAIN
