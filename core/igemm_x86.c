/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the exact int8 GEMM's tile kernels for x86-64, one per
 * vector width (SSE2, AVX2, AVX-512BW), each compiled for its own target
 * so that the library itself builds for the x86-64 baseline.  igemm.c
 * picks one from the core's ISA level.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#if defined(__x86_64__)

#include <immintrin.h>

#include "igemm.h"

/* ---- SSE2: 4 x 8 tiles in 16 xmm registers ---------------------------- */

#define IGEMM_MR 4
#define IGEMM_ROWS(X) X(0) X(1) X(2) X(3)
#define IGEMM_LANES 4
#define IGEMM_VEC __m128i
#define IGEMM_ZERO() _mm_setzero_si128()
#define IGEMM_LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define IGEMM_STORE(p, v) _mm_storeu_si128((__m128i *)(p), (v))
#define IGEMM_BCAST(p) _mm_set1_epi32(*(p))
#define IGEMM_MADD(a, b) _mm_madd_epi16((a), (b))
#define IGEMM_ADD(a, b) _mm_add_epi32((a), (b))
#define IGEMM_TILE tile_sse2
#include "igemm_tile.h"

const struct mlu_igemm_kernel mlu_igemm_kernel_sse2 = {
    .name = "sse2", .mr = 4, .nr = 8, .tile = tile_sse2,
};

/* ---- AVX2: 6 x 16 tiles in 16 ymm registers --------------------------- */

#pragma GCC push_options
#pragma GCC target("avx2")
#define IGEMM_MR 6
#define IGEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define IGEMM_LANES 8
#define IGEMM_VEC __m256i
#define IGEMM_ZERO() _mm256_setzero_si256()
#define IGEMM_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define IGEMM_STORE(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define IGEMM_BCAST(p) _mm256_set1_epi32(*(p))
#define IGEMM_MADD(a, b) _mm256_madd_epi16((a), (b))
#define IGEMM_ADD(a, b) _mm256_add_epi32((a), (b))
#define IGEMM_TILE tile_avx2
#include "igemm_tile.h"
#pragma GCC pop_options

const struct mlu_igemm_kernel mlu_igemm_kernel_avx2 = {
    .name = "avx2", .mr = 6, .nr = 16, .tile = tile_avx2,
};

/* ---- AVX-512BW: 8 x 32 tiles in 32 zmm registers ---------------------- */

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")
#define IGEMM_MR 8
#define IGEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define IGEMM_LANES 16
#define IGEMM_VEC __m512i
#define IGEMM_ZERO() _mm512_setzero_si512()
#define IGEMM_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define IGEMM_STORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define IGEMM_BCAST(p) _mm512_set1_epi32(*(p))
#define IGEMM_MADD(a, b) _mm512_madd_epi16((a), (b))
#define IGEMM_ADD(a, b) _mm512_add_epi32((a), (b))
#define IGEMM_TILE tile_avx512
#include "igemm_tile.h"
#pragma GCC pop_options

const struct mlu_igemm_kernel mlu_igemm_kernel_avx512 = {
    .name = "avx512", .mr = 8, .nr = 32, .tile = tile_avx512,
};

#endif /* __x86_64__ */
