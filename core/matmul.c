/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the fast matmul.
 *
 *   f32    cblas_sgemm on the caller's buffers, split over the calling
 *          thread's team (OpenBLAS runs single-threaded, threads.c);
 *   bf16   oneDNN matmul (AVX512-BF16 kernels), f32 result;
 *   f16    widen to f32 (F16C conversions), sgemm;
 *   int8   oneDNN dnnl_gemm_s8s8s32 where its kernels are exact (VNNI),
 *          the core's exact kernels elsewhere (igemm.c).
 * Bias and ReLU (and beta for f16/bf16, whose C is narrower than the
 * accumulator) are applied by one pass over C afterwards.
 * Documentation/compute-core.rst has the measurements behind the choices.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "mlu_core.h"
#include "mlu_core_int.h"
#include "mlu_core_onednn.h"

/*
 * Leading dimension to hand a library: a single row's ld is never used, and
 * may exceed INT_MAX; otherwise the extent limit keeps ld below 2^29.
 */
static int lib_ld(uint32_t rows, uint32_t cols, uint32_t ld)
{
    return rows == 1 ? (int)cols : (int)ld;
}

/* Bias and ReLU on an f32 C, row by row. */
static void epilogue_f32(const struct mlu_matmul_desc *d, const float *bias,
                         float *c, size_t ldc)
{
    uint32_t i, j;

    for (i = 0; i < d->m; i++) {
        float *row = c + i * ldc;

        for (j = 0; j < d->n; j++) {
            float v = row[j] + (bias ? bias[j] : 0.0f);

            row[j] = d->relu ? mlu_relu_f32(v) : v;
        }
    }
}

/* Below this many multiply-adds an sgemm is not worth splitting. */
#define SGEMM_SPLIT_MIN (1u << 20)

/*
 * C = alpha * op(A) * op(B) + beta * C by cblas_sgemm, on the calling
 * thread's team.  OpenBLAS's thread count is process-wide while the
 * core's is per caller, so OpenBLAS runs single-threaded and each team
 * member takes a stripe of C's rows, or of its columns when C has few.
 */
static void sgemm(const struct mlu_matmul_desc *d, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc)
{
    CBLAS_TRANSPOSE ta = d->trans_a ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = d->trans_b ? CblasTrans : CblasNoTrans;
    int threads = mlu_core_threads();
    bool by_rows = d->m >= d->n;

    if (openblas_get_num_threads() != 1) {
        openblas_set_num_threads(1);
    }
    if (threads == 1 || (uint64_t)d->m * d->n * d->k < SGEMM_SPLIT_MIN) {
        cblas_sgemm(CblasRowMajor, ta, tb, d->m, d->n, d->k, d->alpha,
                    a, lda, b, ldb, beta, c, ldc);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        uint32_t len = by_rows ? d->m : d->n;
        uint32_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        uint32_t lo = (uint64_t)len * t / nt;
        uint32_t hi = (uint64_t)len * (t + 1) / nt;

        if (hi > lo && by_rows) {
            cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, d->n, d->k, d->alpha,
                        a + (d->trans_a ? lo : (size_t)lo * lda), lda,
                        b, ldb, beta, c + (size_t)lo * ldc, ldc);
        } else if (hi > lo) {
            cblas_sgemm(CblasRowMajor, ta, tb, d->m, hi - lo, d->k, d->alpha,
                        a, lda, b + (d->trans_b ? (size_t)lo * ldb : lo),
                        ldb, beta, c + lo, ldc);
        }
    }
}

static int matmul_f32(const struct mlu_matmul_desc *d, const float *a,
                      const float *b, const float *bias, float *c)
{
    uint32_t a_rows = d->trans_a ? d->k : d->m;
    uint32_t b_rows = d->trans_b ? d->n : d->k;

    sgemm(d, a, lib_ld(a_rows, d->trans_a ? d->m : d->k, d->lda),
          b, lib_ld(b_rows, d->trans_b ? d->k : d->n, d->ldb),
          d->beta, c, lib_ld(d->m, d->n, d->ldc));
    if (d->bias || d->relu) {
        epilogue_f32(d, d->bias ? bias : NULL, c, d->ldc);
    }
    return 0;
}

/* Widen a rows x cols strided matrix into a dense f32 one. */
static void widen_matrix(enum mlu_dtype dtype, const uint16_t *src,
                         uint32_t rows, uint32_t cols, uint32_t ld, float *dst)
{
    uint32_t i;

    for (i = 0; i < rows; i++) {
        mlu_core_to_f32(mlu_core_isa(), dtype, src + (size_t)i * ld, cols,
                        dst + (size_t)i * cols);
    }
}

/*
 * Finish a half-precision matmul from acc = alpha * op(A) * op(B) in f32:
 * C = relu(acc + beta * C + bias), rounded to the dtype, row by row.
 */
static void finish_half(const struct mlu_matmul_desc *d, float *acc,
                        const float *bias32, float *row_buf, uint16_t *c)
{
    float *old = d->beta != 0.0f ? row_buf : NULL;
    uint32_t i, j;

    for (i = 0; i < d->m; i++) {
        float *row = acc + (size_t)i * d->n;
        uint16_t *out = c + (size_t)i * d->ldc;

        if (old) {
            mlu_core_to_f32(mlu_core_isa(), d->dtype, out, d->n, old);
        }
        for (j = 0; j < d->n; j++) {
            float v = row[j];

            if (old) {
                v += d->beta * old[j];
            }
            if (bias32) {
                v += bias32[j];
            }
            row[j] = d->relu ? mlu_relu_f32(v) : v;
        }
        mlu_core_from_f32(mlu_core_isa(), d->dtype, row, d->n, out);
    }
}

/* A row-major matrix view for oneDNN; strides express the transpose. */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, uint32_t rows,
                               uint32_t cols, uint32_t ld, bool trans,
                               dnnl_data_type_t type)
{
    dnnl_dims_t dims = { rows, cols };
    dnnl_dims_t strides = { ld, 1 };

    if (trans) {
        strides[0] = 1;
        strides[1] = ld;
    }
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

/*
 * acc = alpha * op(A) * op(B) by oneDNN's matmul on bf16 operands with f32
 * output: its AVX512-BF16 kernels beat widening to f32 and sgemm.
 */
static dnnl_status_t matmul_bf16_onednn(const struct mlu_matmul_desc *d,
                                      const uint16_t *a, const uint16_t *b,
                                      float *acc)
{
    dnnl_engine_t engine = mlu_core_onednn_engine();
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_exec_arg_t args[3] = {
        { DNNL_ARG_SRC, NULL }, { DNNL_ARG_WEIGHTS, NULL },
        { DNNL_ARG_DST, NULL },
    };
    dnnl_status_t st;
    int i;

    if (!engine) {
        return dnnl_runtime_error;
    }
    st = matrix_md(&a_md, d->m, d->k, d->lda, d->trans_a, dnnl_bf16);
    if (st == dnnl_success) {
        st = matrix_md(&b_md, d->k, d->n, d->ldb, d->trans_b, dnnl_bf16);
    }
    if (st == dnnl_success) {
        st = matrix_md(&c_md, d->m, d->n, d->n, false, dnnl_f32);
    }
    if (st == dnnl_success) {
        st = dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_attr_create(&attr);
    }
    if (st == dnnl_success && d->alpha != 1.0f) {
        st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &d->alpha);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&prim, pd);
    }
    /* oneDNN wraps caller memory without copying; it only reads inputs. */
    if (st == dnnl_success) {
        st = dnnl_memory_create(&args[0].memory, &a_md, engine, (void *)a);
    }
    if (st == dnnl_success) {
        st = dnnl_memory_create(&args[1].memory, &b_md, engine, (void *)b);
    }
    if (st == dnnl_success) {
        st = dnnl_memory_create(&args[2].memory, &c_md, engine, acc);
    }
    if (st == dnnl_success) {
        st = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_execute(prim, stream, 3, args);
    }
    if (st == dnnl_success) {
        st = dnnl_stream_wait(stream);
    }
    dnnl_stream_destroy(stream);
    for (i = 0; i < 3; i++) {
        dnnl_memory_destroy(args[i].memory);
    }
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* acc = alpha * op(A) * op(B): widen both operands to f32, then sgemm. */
static void matmul_half_sgemm(const struct mlu_matmul_desc *d,
                              const uint16_t *a, const uint16_t *b,
                              float *a32, float *b32, float *acc)
{
    uint32_t a_rows = d->trans_a ? d->k : d->m;
    uint32_t a_cols = d->trans_a ? d->m : d->k;
    uint32_t b_rows = d->trans_b ? d->n : d->k;
    uint32_t b_cols = d->trans_b ? d->k : d->n;

    widen_matrix(d->dtype, a, a_rows, a_cols, d->lda, a32);
    widen_matrix(d->dtype, b, b_rows, b_cols, d->ldb, b32);
    sgemm(d, a32, a_cols, b32, b_cols, 0.0f, acc, d->n);
}

/* bf16 when oneDNN has no kernel: the f16 route, with its own buffers. */
static int matmul_bf16_widened(const struct mlu_matmul_desc *d,
                               const uint16_t *a, const uint16_t *b,
                               float *acc)
{
    float *a32 = malloc((size_t)d->m * d->k * sizeof(float));
    float *b32 = malloc((size_t)d->k * d->n * sizeof(float));
    int ret = -ENOMEM;

    if (a32 && b32) {
        matmul_half_sgemm(d, a, b, a32, b32, acc);
        ret = 0;
    }
    free(a32);
    free(b32);
    return ret;
}

static int matmul_half(const struct mlu_matmul_desc *d, const uint16_t *a,
                       const uint16_t *b, const uint16_t *bias, uint16_t *c)
{
    size_t mn = (size_t)d->m * d->n;
    size_t mk = (size_t)d->m * d->k;
    size_t kn = (size_t)d->k * d->n;
    /* bf16 goes to oneDNN as it is; f16 is widened into the scratch. */
    bool widen = d->dtype == MLU_DTYPE_F16;
    /* acc, bias, one row of old C, then A and B in f32 when widened. */
    float *acc = mlu_core_scratch_get((mn + 2 * (size_t)d->n +
                                       (widen ? mk + kn : 0)) *
                                      sizeof(float));
    float *bias32 = acc + mn;
    float *row_buf = bias32 + d->n;
    int ret = 0;

    if (!acc) {
        return -ENOMEM;
    }
    if (d->bias) {
        mlu_core_to_f32(mlu_core_isa(), d->dtype, bias, d->n, bias32);
    }
    if (widen) {
        matmul_half_sgemm(d, a, b, row_buf + d->n, row_buf + d->n + mk, acc);
    } else if (matmul_bf16_onednn(d, a, b, acc) != dnnl_success) {
        ret = matmul_bf16_widened(d, a, b, acc);
    }
    if (!ret) {
        finish_half(d, acc, d->bias ? bias32 : NULL, row_buf, c);
    }
    mlu_core_scratch_put(acc);
    return ret;
}

/* C (+)= op(A) * op(B) by oneDNN; only where its kernels are exact. */
static dnnl_status_t matmul_int8_onednn(const struct mlu_matmul_desc *d,
                                        const int8_t *a, const int8_t *b,
                                        int32_t *c)
{
    const int32_t zero = 0;

    if (!mlu_core_onednn_engine()) {
        return dnnl_runtime_error;
    }
    return dnnl_gemm_s8s8s32(d->trans_a ? 'T' : 'N', d->trans_b ? 'T' : 'N',
                             'F', d->m, d->n, d->k, 1.0f,
                             a, lib_ld(d->trans_a ? d->k : d->m,
                                       d->trans_a ? d->m : d->k, d->lda), 0,
                             b, lib_ld(d->trans_b ? d->n : d->k,
                                       d->trans_b ? d->k : d->n, d->ldb), 0,
                             d->beta, c, lib_ld(d->m, d->n, d->ldc), &zero);
}

/* C (+)= op(A) * op(B) by the core's exact kernels. */
static int matmul_int8_exact(const struct mlu_matmul_desc *d,
                             const int8_t *a, const int8_t *b, int32_t *c)
{
    const struct mlu_igemm g = mlu_igemm_of_matmul(d, a, b, c);

    return mlu_igemm_exact(mlu_core_isa(), &g);
}

static int matmul_int8(const struct mlu_matmul_desc *d, const int8_t *a,
                       const int8_t *b, const int32_t *bias, int32_t *c)
{
    int ret = -EOPNOTSUPP;
    uint32_t i, j;

    if (mlu_core_onednn_int8_exact(mlu_core_isa())) {
        dnnl_status_t st = matmul_int8_onednn(d, a, b, c);

        if (st == dnnl_success) {
            ret = 0;
        } else if (st == dnnl_out_of_memory) {
            return -ENOMEM;
        }
    }
    if (ret) {
        ret = matmul_int8_exact(d, a, b, c);
    }
    if (ret || (!d->bias && !d->relu)) {
        return ret;
    }
    for (i = 0; i < d->m; i++) {
        int32_t *row = c + (size_t)i * d->ldc;

        for (j = 0; j < d->n; j++) {
            int32_t v = d->bias ? mlu_wrap_add(row[j], bias[j]) : row[j];

            row[j] = d->relu && v < 0 ? 0 : v;
        }
    }
    return 0;
}

int mlu_matmul(const struct mlu_matmul_desc *d, const void *a, const void *b,
               const void *bias, void *c)
{
    int ret = mlu_matmul_check(d, NULL);

    if (ret) {
        return ret;
    }
    switch (d->dtype) {
    case MLU_DTYPE_F32:
        return matmul_f32(d, a, b, bias, c);
    case MLU_DTYPE_I8:
        return matmul_int8(d, a, b, bias, c);
    default:
        return matmul_half(d, a, b, bias, c);
    }
}

