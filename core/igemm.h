/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the tile kernels of the exact int8 GEMM (igemm.c).
 * Not part of the public API.
 *
 * Operands reach a kernel packed as int16 pairs: each int32 word holds two
 * int8 values of consecutive k, widened to int16, the lower k in the low
 * half.  A multiply-add of two such words (pmaddwd) gives a0*b0 + a1*b1,
 * at most 2 * 128 * 128 = 2^15 in magnitude, so it never saturates, and
 * the int32 accumulation wraps like the reference's.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_CORE_IGEMM_H
#define MLU_CORE_IGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One MR x NR tile of C over @kp k-pairs: @ap holds kp groups of MR pair
 * words (one per row), @bp kp groups of NR pair words (one per column).
 * Writes C = A * B, or adds it to C when @accumulate.
 */
typedef void mlu_igemm_tile_fn(size_t kp, const int32_t *ap,
                               const int32_t *bp, int32_t *c, size_t ldc,
                               bool accumulate);

struct mlu_igemm_kernel {
    const char *name;
    unsigned int mr, nr;
    mlu_igemm_tile_fn *tile;
};

extern const struct mlu_igemm_kernel mlu_igemm_kernel_c;
#if defined(__x86_64__)
extern const struct mlu_igemm_kernel mlu_igemm_kernel_sse2;
extern const struct mlu_igemm_kernel mlu_igemm_kernel_avx2;
extern const struct mlu_igemm_kernel mlu_igemm_kernel_avx512;
#endif

/* Largest tile of any kernel, for the edge tiles' buffer. */
#define MLU_IGEMM_MAX_MR 8
#define MLU_IGEMM_MAX_NR 32

#endif /* MLU_CORE_IGEMM_H */
