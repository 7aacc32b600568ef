/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: f16 and bf16 conversions, one element at a time
 * (exact IEEE round to nearest even, the oracle) and over arrays (with
 * the F16C instructions where the core's ISA level allows them).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <math.h>
#include <string.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MLU_HAVE_F16C_PATH 1
#endif

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

#ifdef MLU_HAVE_F16C_PATH
/* Every CPU with AVX2 has F16C; with AVX alone, ask. */
static bool have_f16c(enum mlu_core_isa isa)
{
    return isa >= MLU_CORE_ISA_AVX && __builtin_cpu_supports("f16c");
}

__attribute__((target("avx,f16c")))
static size_t f16_to_f32_f16c(const uint16_t *src, size_t n, float *dst)
{
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));

        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    return i;
}

__attribute__((target("avx,f16c")))
static size_t f32_to_f16_f16c(const float *src, size_t n, uint16_t *dst)
{
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i),
                                    _MM_FROUND_TO_NEAREST_INT);

        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    return i;
}
#endif

void mlu_core_to_f32(enum mlu_core_isa isa, enum mlu_dtype dtype,
                     const void *src, size_t n, float *dst)
{
    const uint16_t *h = src;
    size_t i = 0;

    switch (dtype) {
    case MLU_DTYPE_F16:
#ifdef MLU_HAVE_F16C_PATH
        if (have_f16c(isa)) {
            i = f16_to_f32_f16c(h, n, dst);
        }
#endif
        for (; i < n; i++) {
            dst[i] = mlu_f16_to_f32(h[i]);
        }
        break;
    case MLU_DTYPE_BF16:
        /* A shift; the compiler vectorises this loop. */
        for (; i < n; i++) {
            uint32_t u = (uint32_t)h[i] << 16;

            memcpy(&dst[i], &u, sizeof(u));
        }
        break;
    default:
        memcpy(dst, src, n * sizeof(float));
        break;
    }
}

void mlu_core_from_f32(enum mlu_core_isa isa, enum mlu_dtype dtype,
                       const float *src, size_t n, void *dst)
{
    uint16_t *h = dst;
    size_t i = 0;

    switch (dtype) {
    case MLU_DTYPE_F16:
#ifdef MLU_HAVE_F16C_PATH
        if (have_f16c(isa)) {
            i = f32_to_f16_f16c(src, n, h);
        }
#endif
        for (; i < n; i++) {
            h[i] = mlu_f32_to_f16(src[i]);
        }
        break;
    case MLU_DTYPE_BF16:
        for (; i < n; i++) {
            h[i] = mlu_f32_to_bf16(src[i]);
        }
        break;
    default:
        memcpy(dst, src, n * sizeof(float));
        break;
    }
}
