/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the tile kernel of the exact int8 GEMM, written once
 * for every vector width.  A file that includes it first defines:
 *
 *   IGEMM_MR           rows of the tile
 *   IGEMM_ROWS(X)      X(0) X(1) ... X(IGEMM_MR - 1)
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

/*
 * Two accumulators per row as named variables: with an array of vectors
 * GCC keeps some of them on the stack.
 */
#define IGEMM_ACC_DECL(i) \
    IGEMM_VEC acc##i##_0 = IGEMM_ZERO(), acc##i##_1 = IGEMM_ZERO();

#define IGEMM_ACC_STEP(i) \
    { \
        IGEMM_VEC a = IGEMM_BCAST(ap + (i)); \
        acc##i##_0 = IGEMM_ADD(acc##i##_0, IGEMM_MADD(a, b0)); \
        acc##i##_1 = IGEMM_ADD(acc##i##_1, IGEMM_MADD(a, b1)); \
    }

#define IGEMM_ACC_STORE(i) \
    { \
        int32_t *row = c + (size_t)(i) * ldc; \
        if (accumulate) { \
            acc##i##_0 = IGEMM_ADD(acc##i##_0, IGEMM_LOAD(row)); \
            acc##i##_1 = IGEMM_ADD(acc##i##_1, \
                                   IGEMM_LOAD(row + IGEMM_LANES)); \
        } \
        IGEMM_STORE(row, acc##i##_0); \
        IGEMM_STORE(row + IGEMM_LANES, acc##i##_1); \
    }

static void IGEMM_TILE(size_t kp, const int32_t *ap, const int32_t *bp,
                       int32_t *c, size_t ldc, bool accumulate)
{
    size_t p;

    IGEMM_ROWS(IGEMM_ACC_DECL)
    for (p = 0; p < kp; p++) {
        IGEMM_VEC b0 = IGEMM_LOAD(bp);
        IGEMM_VEC b1 = IGEMM_LOAD(bp + IGEMM_LANES);

        IGEMM_ROWS(IGEMM_ACC_STEP)
        ap += IGEMM_MR;
        bp += IGEMM_NR;
    }
    IGEMM_ROWS(IGEMM_ACC_STORE)
}

#undef IGEMM_ACC_DECL
#undef IGEMM_ACC_STEP
#undef IGEMM_ACC_STORE
#undef IGEMM_MR
#undef IGEMM_ROWS
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
