/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: descriptor checks.
 *
 * Every field of a descriptor may come from a hostile guest: the checks
 * trust none of them and compute operand extents with overflow checks,
 * so that the reference and the fast path only ever see descriptors
 * whose operands fit in MLU_CORE_MAX_OPERAND_BYTES.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <math.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

size_t mlu_core_in_size(enum mlu_dtype dtype)
{
    switch (dtype) {
    case MLU_DTYPE_F32:
        return 4;
    case MLU_DTYPE_F16:
    case MLU_DTYPE_BF16:
        return 2;
    case MLU_DTYPE_I8:
        return 1;
    }
    return 0;
}

size_t mlu_core_out_size(enum mlu_dtype dtype)
{
    return dtype == MLU_DTYPE_I8 ? 4 : mlu_core_in_size(dtype);
}

static bool dtype_valid(enum mlu_dtype dtype)
{
    /* The enum's value comes from the guest: compare, don't switch. */
    return (unsigned int)dtype <= MLU_DTYPE_I8;
}

/* ---- descriptor checks ------------------------------------------------- */

/*
 * Bytes spanned by a row-major rows x cols matrix with leading dimension
 * ld (in elements): ((rows - 1) * ld + cols) * esize.  -E2BIG on overflow
 * or when larger than MLU_CORE_MAX_OPERAND_BYTES.
 */
static int matrix_extent(uint32_t rows, uint32_t cols, uint32_t ld,
                         size_t esize, uint64_t *bytes)
{
    uint64_t elems;

    if (__builtin_mul_overflow((uint64_t)rows - 1, (uint64_t)ld, &elems) ||
        __builtin_add_overflow(elems, (uint64_t)cols, &elems) ||
        __builtin_mul_overflow(elems, (uint64_t)esize, bytes) ||
        *bytes > MLU_CORE_MAX_OPERAND_BYTES) {
        return -E2BIG;
    }
    return 0;
}

/* Product of @n factors times @esize, checked like matrix_extent(). */
static int tensor_extent(const uint64_t *dims, int n, size_t esize,
                         uint64_t *bytes)
{
    uint64_t total = esize;
    int i;

    for (i = 0; i < n; i++) {
        if (__builtin_mul_overflow(total, dims[i], &total)) {
            return -E2BIG;
        }
    }
    if (total > MLU_CORE_MAX_OPERAND_BYTES) {
        return -E2BIG;
    }
    *bytes = total;
    return 0;
}

static bool matmul_scalars_valid(const struct mlu_matmul_desc *d)
{
    if (!isfinite(d->alpha) || !isfinite(d->beta)) {
        return false;
    }
    if (d->dtype == MLU_DTYPE_I8) {
        /* The int32 accumulator has no scaling stage. */
        return d->alpha == 1.0f && (d->beta == 0.0f || d->beta == 1.0f);
    }
    return true;
}

int mlu_matmul_check(const struct mlu_matmul_desc *d,
                     struct mlu_matmul_sizes *sz)
{
    size_t in = mlu_core_in_size(d->dtype);
    size_t out = mlu_core_out_size(d->dtype);
    uint32_t a_rows = d->trans_a ? d->k : d->m;
    uint32_t a_cols = d->trans_a ? d->m : d->k;
    uint32_t b_rows = d->trans_b ? d->n : d->k;
    uint32_t b_cols = d->trans_b ? d->k : d->n;
    struct mlu_matmul_sizes s = { 0 };
    uint64_t bias_dims[1] = { d->n };
    int ret;

    if (!dtype_valid(d->dtype) || !d->m || !d->n || !d->k ||
        d->lda < a_cols || d->ldb < b_cols || d->ldc < d->n ||
        !matmul_scalars_valid(d)) {
        return -EINVAL;
    }
    ret = matrix_extent(a_rows, a_cols, d->lda, in, &s.a);
    if (!ret) {
        ret = matrix_extent(b_rows, b_cols, d->ldb, in, &s.b);
    }
    if (!ret) {
        ret = matrix_extent(d->m, d->n, d->ldc, out, &s.c);
    }
    if (!ret && d->bias) {
        ret = tensor_extent(bias_dims, 1, out, &s.bias);
    }
    if (ret) {
        return ret;
    }
    if (sz) {
        *sz = s;
    }
    return 0;
}

/*
 * Output extent along one spatial axis, or 0 when the (dilated) filter does
 * not fit in the padded input.  The result fits in 35 bits.
 */
static uint64_t conv_out_dim(uint32_t in, uint32_t filter, uint32_t pad,
                             uint32_t stride, uint32_t dilation)
{
    uint64_t padded = (uint64_t)in + 2 * (uint64_t)pad;
    uint64_t span = (uint64_t)dilation * (filter - 1) + 1;

    if (padded < span) {
        return 0;
    }
    return (padded - span) / stride + 1;
}

int mlu_conv2d_check(const struct mlu_conv2d_desc *d,
                     struct mlu_conv2d_sizes *sz)
{
    struct mlu_conv2d_sizes s = { 0 };
    uint64_t p, q;
    int ret;

    if (!dtype_valid(d->dtype) ||
        (d->layout != MLU_LAYOUT_NCHW && d->layout != MLU_LAYOUT_NHWC) ||
        !d->n || !d->c || !d->h || !d->w || !d->k || !d->r || !d->s ||
        !d->stride_h || !d->stride_w || !d->dilation_h || !d->dilation_w ||
        !d->groups || d->c % d->groups || d->k % d->groups) {
        return -EINVAL;
    }
    p = conv_out_dim(d->h, d->r, d->pad_h, d->stride_h, d->dilation_h);
    q = conv_out_dim(d->w, d->s, d->pad_w, d->stride_w, d->dilation_w);
    if (!p || !q) {
        return -EINVAL;
    }
    if (p > UINT32_MAX || q > UINT32_MAX) {
        return -E2BIG;                  /* the output could not fit anyway */
    }
    s.p = p;
    s.q = q;
    {
        const uint64_t input[] = { d->n, d->c, d->h, d->w };
        const uint64_t weight[] = { d->k, d->c / d->groups, d->r, d->s };
        const uint64_t output[] = { d->n, d->k, p, q };
        const uint64_t bias[] = { d->k };
        size_t in = mlu_core_in_size(d->dtype);
        size_t out = mlu_core_out_size(d->dtype);

        ret = tensor_extent(input, 4, in, &s.input);
        if (!ret) {
            ret = tensor_extent(weight, 4, in, &s.weight);
        }
        if (!ret) {
            ret = tensor_extent(output, 4, out, &s.output);
        }
        if (!ret && d->bias) {
            ret = tensor_extent(bias, 1, out, &s.bias);
        }
    }
    if (ret) {
        return ret;
    }
    if (sz) {
        *sz = s;
    }
    return 0;
}
