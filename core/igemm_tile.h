/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the tile kernel of the exact int8 GEMM, written once
 * for every vector width.  A file that includes it first defines:
 *
 *   IGEMM_MR           rows of the tile
 *   IGEMM_LANES        int32 lanes of a vector; the tile is 2 vectors wide
 *   IGEMM_VEC          the vector type
 *   IGEMM_ZERO()       a vector of zeros
 *   IGEMM_LOAD(p)      load a vector from int32 *p (unaligned)
 *   IGEMM_STORE(p, v)  store it
 *   IGEMM_BCAST(p)     one int32 *p in every lane
 *   IGEMM_MADD(a, b)   pmaddwd: pairs of int16 products summed into int32
 *   IGEMM_ADD(a, b)    int32 add, wrapping
 *   IGEMM_TILE         the name of the function to define
 *
 * and finds them undefined again afterwards, ready for the next width.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#define IGEMM_NR (2 * IGEMM_LANES)

static void IGEMM_TILE(size_t kp, const int32_t *ap, const int32_t *bp,
                       int32_t *c, size_t ldc, bool accumulate)
{
    IGEMM_VEC acc0[IGEMM_MR], acc1[IGEMM_MR];
    size_t p;
    int i;

    for (i = 0; i < IGEMM_MR; i++) {
        acc0[i] = IGEMM_ZERO();
        acc1[i] = IGEMM_ZERO();
    }
    for (p = 0; p < kp; p++) {
        IGEMM_VEC b0 = IGEMM_LOAD(bp);
        IGEMM_VEC b1 = IGEMM_LOAD(bp + IGEMM_LANES);

#pragma GCC unroll 8
        for (i = 0; i < IGEMM_MR; i++) {
            IGEMM_VEC a = IGEMM_BCAST(ap + i);

            acc0[i] = IGEMM_ADD(acc0[i], IGEMM_MADD(a, b0));
            acc1[i] = IGEMM_ADD(acc1[i], IGEMM_MADD(a, b1));
        }
        ap += IGEMM_MR;
        bp += IGEMM_NR;
    }
    for (i = 0; i < IGEMM_MR; i++) {
        int32_t *row = c + (size_t)i * ldc;

        if (accumulate) {
            acc0[i] = IGEMM_ADD(acc0[i], IGEMM_LOAD(row));
            acc1[i] = IGEMM_ADD(acc1[i], IGEMM_LOAD(row + IGEMM_LANES));
        }
        IGEMM_STORE(row, acc0[i]);
        IGEMM_STORE(row + IGEMM_LANES, acc1[i]);
    }
}

#undef IGEMM_MR
#undef IGEMM_VEC
#undef IGEMM_LANES
#undef IGEMM_NR
#undef IGEMM_ZERO
#undef IGEMM_LOAD
#undef IGEMM_STORE
#undef IGEMM_BCAST
#undef IGEMM_MADD
#undef IGEMM_ADD
#undef IGEMM_TILE
