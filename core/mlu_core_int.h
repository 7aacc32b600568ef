/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: helpers shared by the reference and the fast path.
 * Not part of the public API.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_CORE_INT_H
#define MLU_CORE_INT_H

#include <string.h>

#include "mlu_core.h"

/* Load element @i of a typed array as f32 (float dtypes only). */
static inline float mlu_load_float(enum mlu_dtype dtype,
                                   const void *base, size_t i)
{
    switch (dtype) {
    case MLU_DTYPE_F16:
        return mlu_f16_to_f32(((const uint16_t *)base)[i]);
    case MLU_DTYPE_BF16:
        return mlu_bf16_to_f32(((const uint16_t *)base)[i]);
    default:
        return ((const float *)base)[i];
    }
}

/* Store @v as element @i of a typed array, rounding to nearest even. */
static inline void mlu_store_float(enum mlu_dtype dtype, void *base,
                                   size_t i, float v)
{
    switch (dtype) {
    case MLU_DTYPE_F16:
        ((uint16_t *)base)[i] = mlu_f32_to_f16(v);
        break;
    case MLU_DTYPE_BF16:
        ((uint16_t *)base)[i] = mlu_f32_to_bf16(v);
        break;
    default:
        ((float *)base)[i] = v;
        break;
    }
}

/*
 * int32 arithmetic that wraps modulo 2^32 like the hardware accumulator,
 * without the undefined behaviour of signed overflow in C.
 */
static inline int32_t mlu_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t mlu_wrap_mac(int32_t acc, int8_t a, int8_t b)
{
    return mlu_wrap_add(acc, (int32_t)a * b);
}

/*
 * Input row (or column) read by conv output position @o and filter tap @t,
 * or -1 when it falls in the padding.
 */
static inline int64_t mlu_conv_src_pos(uint32_t o, uint32_t t,
                                       uint32_t stride, uint32_t pad,
                                       uint32_t dilation, uint32_t in)
{
    int64_t pos = (int64_t)o * stride - pad + (int64_t)t * dilation;

    return pos >= 0 && pos < in ? pos : -1;
}

/* ReLU that keeps NaN as NaN, so both paths agree on it. */
static inline float mlu_relu_f32(float v)
{
    return v < 0.0f ? 0.0f : v;
}

/*
 * Convert @n elements between a float dtype and f32 with the instructions
 * @isa allows (F16C from AVX up), rounding to nearest even; F32 is a copy.
 */
void mlu_core_to_f32(enum mlu_core_isa isa, enum mlu_dtype dtype,
                     const void *src, size_t n, float *dst);
void mlu_core_from_f32(enum mlu_core_isa isa, enum mlu_dtype dtype,
                       const float *src, size_t n, void *dst);

/* Threads the calling thread's calls may use (threads.c), at least 1. */
int mlu_core_threads(void);

/*
 * Thread scratch memory (scratch.c): @bytes, or NULL; give it back with
 * mlu_core_scratch_put().  At most one scratch buffer per thread in use.
 */
void *mlu_core_scratch_get(size_t bytes);
void mlu_core_scratch_put(void *p);

/*
 * An exact int8 GEMM (igemm.c): C = A * B, or C += A * B when @accumulate,
 * in int32 that wraps modulo 2^32 like the reference.  Operands are
 * addressed by strides in elements: A(i, p) = a[i * a_rs + p * a_cs],
 * B(p, j) = b[p * b_rs + j * b_cs], C(i, j) = c[i * ldc + j].
 */
struct mlu_igemm {
    uint32_t m, n, k;
    const int8_t *a;
    size_t a_rs, a_cs;
    const int8_t *b;
    size_t b_rs, b_cs;
    int32_t *c;
    size_t ldc;
    bool accumulate;
};

/* Returns 0 or -ENOMEM; runs on mlu_core_threads() threads. */
int mlu_igemm_exact(enum mlu_core_isa isa, const struct mlu_igemm *g);

/* The GEMM of an int8 matmul, without its bias and ReLU. */
static inline struct mlu_igemm mlu_igemm_of_matmul(
    const struct mlu_matmul_desc *d, const int8_t *a, const int8_t *b,
    int32_t *c)
{
    return (struct mlu_igemm) {
        .m = d->m, .n = d->n, .k = d->k,
        .a = a,
        .a_rs = d->trans_a ? 1 : d->lda,
        .a_cs = d->trans_a ? d->lda : 1,
        .b = b,
        .b_rs = d->trans_b ? 1 : d->ldb,
        .b_cs = d->trans_b ? d->ldb : 1,
        .c = c, .ldc = d->ldc,
        .accumulate = d->beta != 0.0f,
    };
}

/* True where oneDNN's int8 kernels are exact at @isa (isa.c). */
bool mlu_core_onednn_int8_exact(enum mlu_core_isa isa);

#endif /* MLU_CORE_INT_H */
