// SPDX-License-Identifier: MIT
/*
 * Operation arguments to command packets (include/mlu_hw.h).  Arguments are
 * checked here, with overflow-checked extents against the buffers they name,
 * so that a mistake is an MLU_ERROR_INVALID_ARGUMENT at enqueue time rather
 * than a device fault later.  No system calls: unit-tested on the host.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <endian.h>
#include <string.h>

#include "mlu_internal.h"

static size_t in_size(enum mlu_data_type dtype)
{
	switch (dtype) {
	case MLU_TYPE_F32:
		return 4;
	case MLU_TYPE_F16:
	case MLU_TYPE_BF16:
		return 2;
	case MLU_TYPE_I8:
		return 1;
	}
	return 0;
}

static size_t out_size(enum mlu_data_type dtype)
{
	return dtype == MLU_TYPE_I8 ? 4 : in_size(dtype);
}

/*
 * The runtime's public dtype and layout values are the packets' own
 * (include/mlu_hw.h), so arguments go into packets unconverted.
 */
_Static_assert(MLU_TYPE_F32 == (int)MLU_DTYPE_F32, "f32");
_Static_assert(MLU_TYPE_F16 == (int)MLU_DTYPE_F16, "f16");
_Static_assert(MLU_TYPE_BF16 == (int)MLU_DTYPE_BF16, "bf16");
_Static_assert(MLU_TYPE_I8 == (int)MLU_DTYPE_I8, "i8");
_Static_assert(MLU_TENSOR_NCHW == (int)MLU_LAYOUT_NCHW, "nchw");
_Static_assert(MLU_TENSOR_NHWC == (int)MLU_LAYOUT_NHWC, "nhwc");

/* Bytes of a rows x cols row-major matrix with leading dimension ld. */
static bool matrix_bytes(uint32_t rows, uint32_t cols, uint32_t ld, size_t esize,
			 uint64_t *bytes)
{
	uint64_t elems;

	if (!rows || !cols || ld < cols)
		return false;
	if (__builtin_mul_overflow((uint64_t)(rows - 1), ld, &elems) ||
	    __builtin_add_overflow(elems, cols, &elems) ||
	    __builtin_mul_overflow(elems, esize, bytes))
		return false;
	return true;
}

/* Product of four dimensions times an element size, overflow-checked. */
static bool tensor_bytes(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
			 size_t esize, uint64_t *bytes)
{
	return !__builtin_mul_overflow(a, b, bytes) &&
	       !__builtin_mul_overflow(*bytes, c, bytes) &&
	       !__builtin_mul_overflow(*bytes, d, bytes) &&
	       !__builtin_mul_overflow(*bytes, esize, bytes) && *bytes;
}

static bool fits(const struct mlu_span *span, uint64_t bytes)
{
	return span->present && bytes <= span->bytes;
}

static uint32_t float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static void pack_header(struct mlu_pkt_header *hdr, enum mlu_opcode op)
{
	hdr->opcode = op;
	hdr->flags = 0;
	hdr->ctx = 0;		/* the kernel sets the file's context */
	hdr->reserved = 0;
}

int mlu_pack_matmul(const struct mlu_matmul_args *args,
		    const struct mlu_span span[MLU_MM_OPERANDS],
		    struct mlu_pkt_matmul *pkt)
{
	const uint32_t known = MLU_MATMUL_FLAG_TRANS_A | MLU_MATMUL_FLAG_TRANS_B |
			      MLU_MATMUL_FLAG_RELU;
	bool ta = args->flags & MLU_MATMUL_FLAG_TRANS_A;
	bool tb = args->flags & MLU_MATMUL_FLAG_TRANS_B;
	size_t ein = in_size(args->dtype), eout = out_size(args->dtype);
	/* Stored shapes: A is k x m when transposed, B is n x k. */
	uint32_t a_rows = ta ? args->k : args->m, a_cols = ta ? args->m : args->k;
	uint32_t b_rows = tb ? args->n : args->k, b_cols = tb ? args->k : args->n;
	uint32_t lda = args->lda ? args->lda : a_cols;
	uint32_t ldb = args->ldb ? args->ldb : b_cols;
	uint32_t ldc = args->ldc ? args->ldc : args->n;
	uint64_t a_bytes, b_bytes, c_bytes, bias_bytes = 0;
	uint32_t hw_flags = 0;

	if (!ein || (args->flags & ~known))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!matrix_bytes(a_rows, a_cols, lda, ein, &a_bytes) ||
	    !matrix_bytes(b_rows, b_cols, ldb, ein, &b_bytes) ||
	    !matrix_bytes(args->m, args->n, ldc, eout, &c_bytes))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!fits(&span[MLU_MM_A], a_bytes) || !fits(&span[MLU_MM_B], b_bytes) ||
	    !fits(&span[MLU_MM_C], c_bytes))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (span[MLU_MM_BIAS].present) {
		bias_bytes = (uint64_t)args->n * eout;
		if (!fits(&span[MLU_MM_BIAS], bias_bytes))
			return MLU_ERROR_INVALID_ARGUMENT;
		hw_flags |= MLU_MATMUL_BIAS;
	}
	if (ta)
		hw_flags |= MLU_MATMUL_TRANS_A;
	if (tb)
		hw_flags |= MLU_MATMUL_TRANS_B;
	if (args->flags & MLU_MATMUL_FLAG_RELU)
		hw_flags |= MLU_MATMUL_RELU;

	memset(pkt, 0, sizeof(*pkt));
	pack_header(&pkt->hdr, MLU_OP_MATMUL);
	pkt->a = htole64(span[MLU_MM_A].va);
	pkt->b = htole64(span[MLU_MM_B].va);
	pkt->c = htole64(span[MLU_MM_C].va);
	pkt->bias = htole64(bias_bytes ? span[MLU_MM_BIAS].va : 0);
	pkt->m = htole32(args->m);
	pkt->n = htole32(args->n);
	pkt->k = htole32(args->k);
	pkt->lda = htole32(lda);
	pkt->ldb = htole32(ldb);
	pkt->ldc = htole32(ldc);
	pkt->alpha = htole32(float_bits(args->alpha));
	pkt->beta = htole32(float_bits(args->beta));
	pkt->dtype = htole32(args->dtype);
	pkt->flags = htole32(hw_flags);
	return MLU_SUCCESS;
}

/* Output extent of one spatial dimension, false if the window never fits. */
static bool conv_out_dim(uint32_t in, uint32_t pad, uint32_t kernel,
			 uint32_t stride, uint32_t dilation, uint32_t *out)
{
	uint64_t padded = (uint64_t)in + 2ull * pad;
	uint64_t window = (uint64_t)dilation * (kernel - 1) + 1;

	if (!kernel || padded < window)
		return false;
	*out = (padded - window) / stride + 1;
	return true;
}

int mlu_pack_conv2d(const struct mlu_conv2d_args *args,
		    const struct mlu_span span[MLU_CV_OPERANDS],
		    struct mlu_pkt_conv2d *pkt)
{
	uint32_t sh = args->stride_h ? args->stride_h : 1;
	uint32_t sw = args->stride_w ? args->stride_w : 1;
	uint32_t dh = args->dilation_h ? args->dilation_h : 1;
	uint32_t dw = args->dilation_w ? args->dilation_w : 1;
	uint32_t groups = args->groups ? args->groups : 1;
	size_t ein = in_size(args->dtype), eout = out_size(args->dtype);
	uint64_t in_bytes, w_bytes, out_bytes, bias_bytes = 0;
	uint32_t p, q, hw_flags = 0;

	if (!ein || (args->flags & ~MLU_CONV2D_FLAG_RELU) ||
	    (args->layout != MLU_TENSOR_NCHW && args->layout != MLU_TENSOR_NHWC))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!args->c || !args->k || args->c % groups || args->k % groups)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!conv_out_dim(args->h, args->pad_h, args->r, sh, dh, &p) ||
	    !conv_out_dim(args->w, args->pad_w, args->s, sw, dw, &q))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!tensor_bytes(args->n, args->c, args->h, args->w, ein, &in_bytes) ||
	    !tensor_bytes(args->k, args->c / groups, args->r, args->s, ein, &w_bytes) ||
	    !tensor_bytes(args->n, args->k, p, q, eout, &out_bytes))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!fits(&span[MLU_CV_INPUT], in_bytes) ||
	    !fits(&span[MLU_CV_WEIGHT], w_bytes) ||
	    !fits(&span[MLU_CV_OUTPUT], out_bytes))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (span[MLU_CV_BIAS].present) {
		bias_bytes = (uint64_t)args->k * eout;
		if (!fits(&span[MLU_CV_BIAS], bias_bytes))
			return MLU_ERROR_INVALID_ARGUMENT;
		hw_flags |= MLU_CONV_BIAS;
	}
	if (args->flags & MLU_CONV2D_FLAG_RELU)
		hw_flags |= MLU_CONV_RELU;

	memset(pkt, 0, sizeof(*pkt));
	pack_header(&pkt->hdr, MLU_OP_CONV2D);
	pkt->input = htole64(span[MLU_CV_INPUT].va);
	pkt->weight = htole64(span[MLU_CV_WEIGHT].va);
	pkt->output = htole64(span[MLU_CV_OUTPUT].va);
	pkt->bias = htole64(bias_bytes ? span[MLU_CV_BIAS].va : 0);
	pkt->n = htole32(args->n);
	pkt->c = htole32(args->c);
	pkt->h = htole32(args->h);
	pkt->w = htole32(args->w);
	pkt->k = htole32(args->k);
	pkt->r = htole32(args->r);
	pkt->s = htole32(args->s);
	pkt->stride_h = htole32(sh);
	pkt->stride_w = htole32(sw);
	pkt->pad_h = htole32(args->pad_h);
	pkt->pad_w = htole32(args->pad_w);
	pkt->dilation_h = htole32(dh);
	pkt->dilation_w = htole32(dw);
	pkt->groups = htole32(groups);
	pkt->dtype = htole32(args->dtype);
	pkt->layout = htole32(args->layout);
	pkt->flags = htole32(hw_flags);
	return MLU_SUCCESS;
}

int mlu_pack_copy(struct mlu_span dst, struct mlu_span src, uint64_t size,
		  struct mlu_pkt_copy *pkt)
{
	if (!size || !fits(&dst, size) || !fits(&src, size))
		return MLU_ERROR_INVALID_ARGUMENT;
	/* The card requires non-overlapping regions. */
	if (dst.va < src.va + size && src.va < dst.va + size)
		return MLU_ERROR_INVALID_ARGUMENT;
	memset(pkt, 0, sizeof(*pkt));
	pack_header(&pkt->hdr, MLU_OP_COPY);
	pkt->src = htole64(src.va);
	pkt->dst = htole64(dst.va);
	pkt->size = htole64(size);
	return MLU_SUCCESS;
}

int mlu_pack_copy_chunks(struct mlu_span dst, struct mlu_span src, uint64_t size,
			 struct mlu_pkt_copy *pkts, unsigned int max, uint64_t *done)
{
	unsigned int count = 0;
	uint64_t len;
	int ret;

	*done = 0;
	if (!max || !size || !fits(&dst, size) || !fits(&src, size))
		return MLU_ERROR_INVALID_ARGUMENT;
	if (dst.va < src.va + size && src.va < dst.va + size)
		return MLU_ERROR_INVALID_ARGUMENT;
	while (*done < size && count < max) {
		len = size - *done;
		if (len > MLU_COPY_MAX_BYTES)
			len = MLU_COPY_MAX_BYTES;
		ret = mlu_pack_copy(dst, src, len, &pkts[count]);
		if (ret)
			return ret;
		dst.va += len;
		dst.bytes -= len;
		src.va += len;
		src.bytes -= len;
		*done += len;
		count++;
	}
	return (int)count;
}
