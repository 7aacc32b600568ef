/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: an exact int8 GEMM for hosts where oneDNN's int8
 * kernels saturate (no VNNI).
 *
 * The classic blocked GEMM: B is packed a block of KC x NC at a time into
 * panels NR columns wide, A a block of MC x KC rows at a time into panels
 * MR rows high, and a tile kernel (igemm_x86.c, or plain C below) computes
 * MR x NR tiles of C from them.  Packing widens int8 to int16 pairs (see
 * igemm.h), which is what makes the multiply-add exact.  Blocks of rows
 * (and of columns when there are few rows) are shared out over an OpenMP
 * team of mlu_core_threads() threads.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>

#include "igemm.h"
#include "mlu_core.h"
#include "mlu_core_int.h"

/*
 * Block sizes: an A block (MC x KC as pairs: 192 KiB) stays in L2, a B
 * panel (KC x NR: 32 KiB for AVX2) in L1.  Each block of k loads and
 * stores all of C once: KC 1024 rather than 512 ran 2048^3 12% faster
 * (capped to AVX2, one thread).  MC is a multiple of every MR and NC of
 * every NR.  KC is even: a k-pair never straddles two blocks.
 */
#define IGEMM_KC 1024
#define IGEMM_MC 96
#define IGEMM_NC 4096

/* ---- the portable tile kernel ----------------------------------------- */

static void tile_c(size_t kp, const int32_t *ap, const int32_t *bp,
                   int32_t *c, size_t ldc, bool accumulate)
{
    uint32_t acc[4][8] = { { 0 } };
    size_t p;
    int i, j;

    for (p = 0; p < kp; p++, ap += 4, bp += 8) {
        for (i = 0; i < 4; i++) {
            int32_t a0 = (int16_t)(uint16_t)ap[i];
            int32_t a1 = (int16_t)(uint16_t)((uint32_t)ap[i] >> 16);

            for (j = 0; j < 8; j++) {
                int32_t b0 = (int16_t)(uint16_t)bp[j];
                int32_t b1 = (int16_t)(uint16_t)((uint32_t)bp[j] >> 16);

                /* |a0*b0 + a1*b1| <= 2^15: only the running sum wraps. */
                acc[i][j] += (uint32_t)(a0 * b0 + a1 * b1);
            }
        }
    }
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 8; j++) {
            int32_t *out = &c[(size_t)i * ldc + j];

            *out = (int32_t)(acc[i][j] + (accumulate ? (uint32_t)*out : 0));
        }
    }
}

const struct mlu_igemm_kernel mlu_igemm_kernel_c = {
    .name = "c", .mr = 4, .nr = 8, .tile = tile_c,
};

/* The generic level (not x86-64, or no SSE4.1) runs the portable tile. */
static const struct mlu_igemm_kernel *kernel_for(enum mlu_core_isa isa)
{
#if defined(__x86_64__)
    if (isa >= MLU_CORE_ISA_AVX512_CORE) {
        return &mlu_igemm_kernel_avx512;
    }
    if (isa >= MLU_CORE_ISA_AVX2) {
        return &mlu_igemm_kernel_avx2;
    }
    if (isa >= MLU_CORE_ISA_SSE41) {
        return &mlu_igemm_kernel_sse2;
    }
#endif
    return &mlu_igemm_kernel_c;
}

/* ---- packing ---------------------------------------------------------- */

/* Two int8 values of consecutive k as one word of int16 pairs. */
static int32_t pair_word(int8_t lo, int8_t hi)
{
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo |
                     (uint32_t)(uint16_t)(int16_t)hi << 16);
}

/*
 * Pack a panel of @width rows of A or columns of B over k = p0 .. p0 + kc
 * as kc / 2 groups of @width pair words, zeros past the matrix's last
 * row/column (x0 + @count) and, for an odd kc, its last k.  Element
 * (x, p) of the operand is base[x * x_stride + p * k_stride].
 */
static void pack_panel(const int8_t *base, size_t x_stride, size_t k_stride,
                       uint32_t x0, uint32_t count, uint32_t p0, uint32_t kc,
                       unsigned int width, int32_t *dst)
{
    uint32_t valid = count - x0 < width ? count - x0 : width;
    uint32_t q, x;

    for (q = 0; q < kc; q += 2, dst += width) {
        const int8_t *k0 = base + (size_t)(p0 + q) * k_stride;
        const int8_t *k1 = k0 + k_stride;
        bool odd = q + 1 == kc;

        for (x = 0; x < valid; x++) {
            size_t off = (size_t)(x0 + x) * x_stride;

            dst[x] = pair_word(k0[off], odd ? 0 : k1[off]);
        }
        for (; x < width; x++) {
            dst[x] = 0;
        }
    }
}

/* ---- the blocked product ---------------------------------------------- */

/* One KC x NC block of B, packed, and how its work is shared out. */
struct igemm_block {
    const struct mlu_igemm *g;
    const struct mlu_igemm_kernel *kern;
    uint32_t j0, nc, p0, kc;
    bool accumulate;
    const int32_t *b_pack;
    unsigned int panels;        /* of NR columns */
    unsigned int col_chunks;    /* panel ranges a row block is cut into */
};

/* Put a computed tile into the part of C it covers. */
static void merge_tile(const int32_t *tile, unsigned int nr, int32_t *c,
                       size_t ldc, uint32_t rows, uint32_t cols,
                       bool accumulate)
{
    uint32_t i, j;

    for (i = 0; i < rows; i++) {
        for (j = 0; j < cols; j++) {
            int32_t v = tile[i * nr + j];
            int32_t *out = &c[(size_t)i * ldc + j];

            *out = accumulate ? mlu_wrap_add(*out, v) : v;
        }
    }
}

/*
 * Rows i0 .. i0 + mc of C against the B panels [panel0, panel1) of @blk,
 * with the rows' A block packed into @a_pack.
 */
static void block_rows(const struct igemm_block *blk, uint32_t i0,
                       uint32_t mc, unsigned int panel0,
                       unsigned int panel1, int32_t *a_pack)
{
    const struct mlu_igemm *g = blk->g;
    unsigned int mr = blk->kern->mr, nr = blk->kern->nr;
    size_t kp = (blk->kc + 1) / 2;
    int32_t tile[MLU_IGEMM_MAX_MR * MLU_IGEMM_MAX_NR];
    uint32_t ia, jp;

    for (ia = 0; ia * mr < mc; ia++) {
        pack_panel(g->a, g->a_rs, g->a_cs, i0 + ia * mr, g->m, blk->p0,
                   blk->kc, mr, a_pack + ia * kp * mr);
    }
    /* A B panel stays in L1 while every A panel of the block passes. */
    for (jp = panel0; jp < panel1; jp++) {
        uint32_t cols = blk->nc - jp * nr < nr ? blk->nc - jp * nr : nr;
        const int32_t *bp = blk->b_pack + jp * kp * nr;

        for (ia = 0; ia * mr < mc; ia++) {
            uint32_t rows = mc - ia * mr < mr ? mc - ia * mr : mr;
            const int32_t *ap = a_pack + ia * kp * mr;
            int32_t *c = g->c + (size_t)(i0 + ia * mr) * g->ldc +
                         blk->j0 + jp * nr;

            if (rows == mr && cols == nr) {
                blk->kern->tile(kp, ap, bp, c, g->ldc, blk->accumulate);
            } else {
                blk->kern->tile(kp, ap, bp, tile, nr, false);
                merge_tile(tile, nr, c, g->ldc, rows, cols, blk->accumulate);
            }
        }
    }
}

/* Multiply the packed B block by all of A; 0 or -ENOMEM. */
static int block_product(const struct igemm_block *blk, int threads)
{
    uint32_t m = blk->g->m;
    unsigned int row_blocks = (m + IGEMM_MC - 1) / IGEMM_MC;
    long tasks = (long)row_blocks * blk->col_chunks;
    size_t kp = (blk->kc + 1) / 2;
    int ret = 0;

#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int32_t *a_pack = malloc(IGEMM_MC * kp * sizeof(int32_t));
        long t;

        if (!a_pack) {
#pragma omp atomic write
            ret = -ENOMEM;
        }
#pragma omp for schedule(dynamic)
        for (t = 0; t < tasks; t++) {
            unsigned int rb = t / blk->col_chunks;
            unsigned int cc = t % blk->col_chunks;
            uint32_t i0 = rb * IGEMM_MC;
            uint32_t mc = m - i0 < IGEMM_MC ? m - i0 : IGEMM_MC;

            if (!a_pack) {
                continue;
            }
            block_rows(blk, i0, mc, cc * blk->panels / blk->col_chunks,
                       (cc + 1) * blk->panels / blk->col_chunks, a_pack);
        }
        free(a_pack);
    }
    return ret;
}

/* Pack B's KC x NC block into panels, over the team. */
static void block_pack_b(const struct igemm_block *blk, int32_t *b_pack,
                         int threads)
{
    unsigned int nr = blk->kern->nr;
    size_t kp = (blk->kc + 1) / 2;
    long jp;

#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (jp = 0; jp < (long)blk->panels; jp++) {
        pack_panel(blk->g->b, blk->g->b_cs, blk->g->b_rs, blk->j0 + jp * nr,
                   blk->g->n, blk->p0, blk->kc, nr, b_pack + jp * kp * nr);
    }
}

int mlu_igemm_exact(enum mlu_core_isa isa, const struct mlu_igemm *g)
{
    const struct mlu_igemm_kernel *kern = kernel_for(isa);
    int threads = mlu_core_threads();
    uint32_t nc_max = g->n < IGEMM_NC ? g->n : IGEMM_NC;
    unsigned int row_blocks = (g->m + IGEMM_MC - 1) / IGEMM_MC;
    int32_t *b_pack;
    uint32_t j0, p0;
    int ret = 0;

    b_pack = malloc((size_t)(IGEMM_KC / 2) *
                    ((nc_max + kern->nr - 1) / kern->nr * kern->nr) *
                    sizeof(int32_t));
    if (!b_pack) {
        return -ENOMEM;
    }
    for (j0 = 0; j0 < g->n && !ret; j0 += IGEMM_NC) {
        for (p0 = 0; p0 < g->k && !ret; p0 += IGEMM_KC) {
            struct igemm_block blk = {
                .g = g, .kern = kern, .j0 = j0, .p0 = p0, .b_pack = b_pack,
                .nc = g->n - j0 < IGEMM_NC ? g->n - j0 : IGEMM_NC,
                .kc = g->k - p0 < IGEMM_KC ? g->k - p0 : IGEMM_KC,
                .accumulate = g->accumulate || p0 > 0,
            };

            blk.panels = (blk.nc + kern->nr - 1) / kern->nr;
            /* Few rows: cut the columns too, so every thread has work. */
            blk.col_chunks = 1;
            if (row_blocks < 2u * threads) {
                blk.col_chunks = (2u * threads + row_blocks - 1) / row_blocks;
                if (blk.col_chunks > blk.panels) {
                    blk.col_chunks = blk.panels;
                }
            }
            block_pack_b(&blk, b_pack, threads);
            ret = block_product(&blk, threads);
        }
    }
    free(b_pack);
    return ret;
}
