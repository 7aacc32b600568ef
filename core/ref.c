/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the reference implementation of every operation.
 *
 * The reference is deliberately plain: one loop nest per operation, f32
 * accumulation in index order (int32 wrapping for int8), one rounding to
 * the output type at the end.  The tests use it as the oracle for the
 * fast path, so it favours obviousness over speed.  It depends on nothing
 * but libc, so guest programs link it as their oracle too.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "mlu_core.h"
#include "mlu_core_int.h"

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
    if (d->dtype == MLU_DTYPE_I8) {
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
    if (d->layout == MLU_LAYOUT_NHWC) {
        return (((size_t)n * height + y) * width + x) * channels + ch;
    }
    return (((size_t)n * channels + ch) * height + y) * width + x;
}

static size_t weight_index(const struct mlu_conv2d_desc *d, uint32_t k,
                           uint32_t cg, uint32_t r, uint32_t s)
{
    uint32_t c_per_group = d->c / d->groups;

    if (d->layout == MLU_LAYOUT_NHWC) {
        return (((size_t)k * d->r + r) * d->s + s) * c_per_group + cg;
    }
    return (((size_t)k * c_per_group + cg) * d->r + r) * d->s + s;
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
            int64_t iy = mlu_conv_src_pos(y, r, d->stride_h, d->pad_h,
                                          d->dilation_h, d->h);

            if (iy < 0) {
                continue;
            }
            for (s = 0; s < d->s; s++) {
                int64_t ix = mlu_conv_src_pos(x, s, d->stride_w, d->pad_w,
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
            int64_t iy = mlu_conv_src_pos(y, r, d->stride_h, d->pad_h,
                                          d->dilation_h, d->h);

            if (iy < 0) {
                continue;
            }
            for (s = 0; s < d->s; s++) {
                int64_t ix = mlu_conv_src_pos(x, s, d->stride_w, d->pad_w,
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

                    if (d->dtype == MLU_DTYPE_I8) {
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
