/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: descriptor checks, f16/bf16 conversions and the
 * reference implementation of every operation.
 *
 * The reference is deliberately plain: one loop nest per operation, f32
 * accumulation in index order (int32 wrapping for int8), one rounding to
 * the output type at the end.  The tests use it as the oracle for the
 * fast path, so it favours obviousness over speed.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

size_t mlu_core_in_size(enum mlu_core_dtype dtype)
{
    switch (dtype) {
    case MLU_CORE_F32:
        return 4;
    case MLU_CORE_F16:
    case MLU_CORE_BF16:
        return 2;
    case MLU_CORE_I8:
        return 1;
    }
    return 0;
}

size_t mlu_core_out_size(enum mlu_core_dtype dtype)
{
    return dtype == MLU_CORE_I8 ? 4 : mlu_core_in_size(dtype);
}

static bool dtype_valid(enum mlu_core_dtype dtype)
{
    /* The enum's value comes from the guest: compare, don't switch. */
    return (unsigned int)dtype <= MLU_CORE_I8;
}

/* ---- conversions ------------------------------------------------------- */

static uint32_t f32_bits(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

float mlu_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    float v;

    if (exp == 0x1f) {
        /*
         * Inf, or NaN: the payload moves to the top of the f32 one and a
         * signalling NaN comes out quiet, as IEEE 754 conversion requires.
         */
        return f32_from_bits(sign | 0x7f800000 | (mant ? 0x400000 : 0) |
                             (mant << 13));
    }
    if (exp == 0) {
        /* Zero or subnormal: mant * 2^-24, exact in f32. */
        v = ldexpf(mant, -24);
        return sign ? -v : v;
    }
    return f32_from_bits(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

/* Shift @m right by @shift (>= 1), rounding to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t m, unsigned int shift)
{
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);

    if (rem > half || (rem == half && (q & 1))) {
        q++;
    }
    return q;
}

uint16_t mlu_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (u >> 16) & 0x8000;
    uint32_t abs = u & 0x7fffffff;
    uint32_t exp = abs >> 23;
    uint32_t mant = abs & 0x7fffff;

    if (abs > 0x7f800000) {
        /* NaN: keep the top payload bits, force it quiet. */
        return sign | 0x7e00 | (mant >> 13);
    }
    if (abs >= 0x477ff000) {
        /* Inf, or at least halfway above the largest half (65504). */
        return sign | 0x7c00;
    }
    if (exp >= 127 - 14) {
        /*
         * Normal half.  A rounding carry out of the mantissa correctly
         * bumps the exponent; it cannot reach Inf given the check above.
         */
        return sign | shift_round_even(((exp - 112) << 23) | mant, 13);
    }
    if (exp < 127 - 25) {
        /* Below half the smallest subnormal (2^-25): rounds to zero. */
        return sign;
    }
    /* Subnormal half: the value in units of 2^-24, rounded. */
    return sign | shift_round_even(mant | 0x800000, 126 - exp);
}

float mlu_bf16_to_f32(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

uint16_t mlu_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);

    if ((u & 0x7fffffff) > 0x7f800000) {
        return (u >> 16) | 0x0040;      /* NaN: quiet, keep sign/payload */
    }
    /* Overflow rounds to Inf by the carry, as IEEE wants. */
    return (u + 0x7fff + ((u >> 16) & 1)) >> 16;
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
    if (d->dtype == MLU_CORE_I8) {
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
        (d->layout != MLU_CORE_NCHW && d->layout != MLU_CORE_NHWC) ||
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

/* ---- reference matmul -------------------------------------------------- */

/* Element offsets of op(A)[i][l] and op(B)[l][j]. */
static size_t a_index(const struct mlu_matmul_desc *d, uint32_t i, uint32_t l)
{
    return d->trans_a ? (size_t)l * d->lda + i : (size_t)i * d->lda + l;
}

static size_t b_index(const struct mlu_matmul_desc *d, uint32_t l, uint32_t j)
{
    return d->trans_b ? (size_t)j * d->ldb + l : (size_t)l * d->ldb + j;
}

static void matmul_ref_int8(const struct mlu_matmul_desc *d, const int8_t *a,
                            const int8_t *b, const int32_t *bias, int32_t *c)
{
    uint32_t i, j, l;

    for (i = 0; i < d->m; i++) {
        for (j = 0; j < d->n; j++) {
            int32_t *out = &c[(size_t)i * d->ldc + j];
            int32_t acc = 0;

            for (l = 0; l < d->k; l++) {
                acc = mlu_wrap_mac(acc, a[a_index(d, i, l)],
                                   b[b_index(d, l, j)]);
            }
            if (d->beta != 0.0f) {
                acc = mlu_wrap_add(acc, *out);
            }
            if (d->bias) {
                acc = mlu_wrap_add(acc, bias[j]);
            }
            if (d->relu && acc < 0) {
                acc = 0;
            }
            *out = acc;
        }
    }
}

static void matmul_ref_float(const struct mlu_matmul_desc *d, const void *a,
                             const void *b, const void *bias, void *c)
{
    uint32_t i, j, l;

    for (i = 0; i < d->m; i++) {
        for (j = 0; j < d->n; j++) {
            size_t out = (size_t)i * d->ldc + j;
            float acc = 0.0f;
            float v;

            for (l = 0; l < d->k; l++) {
                acc += mlu_load_float(d->dtype, a, a_index(d, i, l)) *
                       mlu_load_float(d->dtype, b, b_index(d, l, j));
            }
            v = d->alpha * acc;
            if (d->beta != 0.0f) {
                v += d->beta * mlu_load_float(d->dtype, c, out);
            }
            if (d->bias) {
                v += mlu_load_float(d->dtype, bias, j);
            }
            if (d->relu) {
                v = mlu_relu_f32(v);
            }
            mlu_store_float(d->dtype, c, out, v);
        }
    }
}

int mlu_matmul_ref(const struct mlu_matmul_desc *d, const void *a,
                   const void *b, const void *bias, void *c)
{
    int ret = mlu_matmul_check(d, NULL);

    if (ret) {
        return ret;
    }
    if (d->dtype == MLU_CORE_I8) {
        matmul_ref_int8(d, a, b, bias, c);
    } else {
        matmul_ref_float(d, a, b, bias, c);
    }
    return 0;
}

/* ---- reference conv2d -------------------------------------------------- */

static size_t act_index(const struct mlu_conv2d_desc *d, uint32_t channels,
                        uint32_t height, uint32_t width, uint32_t n,
                        uint32_t ch, uint32_t y, uint32_t x)
{
    if (d->layout == MLU_CORE_NHWC) {
        return (((size_t)n * height + y) * width + x) * channels + ch;
    }
    return (((size_t)n * channels + ch) * height + y) * width + x;
}

static size_t weight_index(const struct mlu_conv2d_desc *d, uint32_t k,
                           uint32_t cg, uint32_t r, uint32_t s)
{
    uint32_t c_per_group = d->c / d->groups;

    if (d->layout == MLU_CORE_NHWC) {
        return (((size_t)k * d->r + r) * d->s + s) * c_per_group + cg;
    }
    return (((size_t)k * c_per_group + cg) * d->r + r) * d->s + s;
}

/*
 * Input row (or column) read by output position @o and filter tap @t, or
 * -1 when it falls in the padding.
 */
static int64_t conv_src_pos(uint32_t o, uint32_t t, uint32_t stride,
                            uint32_t pad, uint32_t dilation, uint32_t in)
{
    int64_t pos = (int64_t)o * stride - pad + (int64_t)t * dilation;

    return pos >= 0 && pos < in ? pos : -1;
}

/* One output element: the dot product over C/groups x R x S, unscaled. */
static float conv_ref_dot_float(const struct mlu_conv2d_desc *d,
                                const void *input, const void *weight,
                                uint32_t n, uint32_t k, uint32_t y, uint32_t x)
{
    uint32_t c_per_group = d->c / d->groups;
    uint32_t c0 = k / (d->k / d->groups) * c_per_group;
    uint32_t cg, r, s;
    float acc = 0.0f;

    for (cg = 0; cg < c_per_group; cg++) {
        for (r = 0; r < d->r; r++) {
            int64_t iy = conv_src_pos(y, r, d->stride_h, d->pad_h,
                                      d->dilation_h, d->h);

            if (iy < 0) {
                continue;
            }
            for (s = 0; s < d->s; s++) {
                int64_t ix = conv_src_pos(x, s, d->stride_w, d->pad_w,
                                          d->dilation_w, d->w);

                if (ix < 0) {
                    continue;
                }
                acc += mlu_load_float(d->dtype, input,
                                      act_index(d, d->c, d->h, d->w, n,
                                                c0 + cg, iy, ix)) *
                       mlu_load_float(d->dtype, weight,
                                      weight_index(d, k, cg, r, s));
            }
        }
    }
    return acc;
}

static int32_t conv_ref_dot_int8(const struct mlu_conv2d_desc *d,
                                 const int8_t *input, const int8_t *weight,
                                 uint32_t n, uint32_t k, uint32_t y,
                                 uint32_t x)
{
    uint32_t c_per_group = d->c / d->groups;
    uint32_t c0 = k / (d->k / d->groups) * c_per_group;
    uint32_t cg, r, s;
    int32_t acc = 0;

    for (cg = 0; cg < c_per_group; cg++) {
        for (r = 0; r < d->r; r++) {
            int64_t iy = conv_src_pos(y, r, d->stride_h, d->pad_h,
                                      d->dilation_h, d->h);

            if (iy < 0) {
                continue;
            }
            for (s = 0; s < d->s; s++) {
                int64_t ix = conv_src_pos(x, s, d->stride_w, d->pad_w,
                                          d->dilation_w, d->w);

                if (ix < 0) {
                    continue;
                }
                acc = mlu_wrap_mac(acc,
                                   input[act_index(d, d->c, d->h, d->w, n,
                                                   c0 + cg, iy, ix)],
                                   weight[weight_index(d, k, cg, r, s)]);
            }
        }
    }
    return acc;
}

int mlu_conv2d_ref(const struct mlu_conv2d_desc *d, const void *input,
                   const void *weight, const void *bias, void *output)
{
    struct mlu_conv2d_sizes sz;
    uint32_t n, k, y, x;
    int ret = mlu_conv2d_check(d, &sz);

    if (ret) {
        return ret;
    }
    for (n = 0; n < d->n; n++) {
        for (k = 0; k < d->k; k++) {
            for (y = 0; y < sz.p; y++) {
                for (x = 0; x < sz.q; x++) {
                    size_t o = act_index(d, d->k, sz.p, sz.q, n, k, y, x);

                    if (d->dtype == MLU_CORE_I8) {
                        int32_t v = conv_ref_dot_int8(d, input, weight,
                                                      n, k, y, x);

                        if (d->bias) {
                            v = mlu_wrap_add(v, ((const int32_t *)bias)[k]);
                        }
                        if (d->relu && v < 0) {
                            v = 0;
                        }
                        ((int32_t *)output)[o] = v;
                    } else {
                        float v = conv_ref_dot_float(d, input, weight,
                                                     n, k, y, x);

                        if (d->bias) {
                            v += mlu_load_float(d->dtype, bias, k);
                        }
                        if (d->relu) {
                            v = mlu_relu_f32(v);
                        }
                        mlu_store_float(d->dtype, output, o, v);
                    }
                }
            }
        }
    }
    return 0;
}
