/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the fast path, on OpenBLAS and oneDNN.
 *
 *   matmul f32       cblas_sgemm straight on the caller's buffers;
 *   matmul bf16      oneDNN matmul (AVX512-BF16 kernels), f32 result;
 *   matmul f16       widen to f32 (F16C conversions), sgemm;
 *   matmul int8      oneDNN dnnl_gemm_s8s8s32 (VNNI kernels);
 *   conv2d           oneDNN convolution in layouts of its choosing, the
 *                    caller's NCHW/NHWC tensors reordered in and out
 *                    (f32, bf16, int8 natively; f16 through f32).
 * Bias and ReLU of matmul (and beta for f16/bf16, whose C is narrower than
 * the accumulator) are applied by one pass over C afterwards.
 * Documentation/compute-core.rst has the measurements behind the choices.
 *
 * Threads: OpenBLAS has one process-wide thread count; oneDNN (Debian
 * builds it with OpenMP) uses the OpenMP thread count of the calling
 * thread, so every call sets that from the core's setting first.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MLU_HAVE_F16C_PATH 1
#endif

/* 0 until mlu_core_set_threads(): leave the libraries' own defaults. */
static int core_threads;

static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;
/* One engine for the process, never freed; NULL if oneDNN is unusable. */
static dnnl_engine_t cpu_engine;

static void dnnl_init(void)
{
    if (dnnl_engine_create(&cpu_engine, dnnl_cpu, 0) != dnnl_success) {
        cpu_engine = NULL;
    }
}

void mlu_core_set_threads(int threads)
{
    if (threads < 1) {
        threads = 1;
    }
    __atomic_store_n(&core_threads, threads, __ATOMIC_RELAXED);
    openblas_set_num_threads(threads);
}

/* Get the oneDNN engine ready for a call from this thread. */
static dnnl_engine_t dnnl_enter(void)
{
    int threads = __atomic_load_n(&core_threads, __ATOMIC_RELAXED);

    pthread_once(&dnnl_once, dnnl_init);
    /* OpenMP's thread count is a per-thread setting. */
    if (threads && omp_get_max_threads() != threads) {
        omp_set_num_threads(threads);
    }
    return cpu_engine;
}

/* ---- conversions ------------------------------------------------------- */

#ifdef MLU_HAVE_F16C_PATH
static bool have_f16c(void)
{
    return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
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

void mlu_core_to_f32(enum mlu_core_dtype dtype, const void *src, size_t n,
                     float *dst)
{
    const uint16_t *h = src;
    size_t i = 0;

    switch (dtype) {
    case MLU_CORE_F16:
#ifdef MLU_HAVE_F16C_PATH
        if (have_f16c()) {
            i = f16_to_f32_f16c(h, n, dst);
        }
#endif
        for (; i < n; i++) {
            dst[i] = mlu_f16_to_f32(h[i]);
        }
        break;
    case MLU_CORE_BF16:
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

void mlu_core_from_f32(enum mlu_core_dtype dtype, const float *src, size_t n,
                       void *dst)
{
    uint16_t *h = dst;
    size_t i = 0;

    switch (dtype) {
    case MLU_CORE_F16:
#ifdef MLU_HAVE_F16C_PATH
        if (have_f16c()) {
            i = f32_to_f16_f16c(src, n, h);
        }
#endif
        for (; i < n; i++) {
            h[i] = mlu_f32_to_f16(src[i]);
        }
        break;
    case MLU_CORE_BF16:
        for (; i < n; i++) {
            h[i] = mlu_f32_to_bf16(src[i]);
        }
        break;
    default:
        memcpy(dst, src, n * sizeof(float));
        break;
    }
}

/* ---- scratch memory ---------------------------------------------------- */

/*
 * Freshly mapped memory costs a page fault per page on first touch: for a
 * 2048^3 f16 matmul the f32 copies took 20 ms of 110 that way.  Each
 * thread therefore keeps one scratch buffer of up to SCRATCH_KEEP_BYTES
 * between calls (freed when the thread exits); larger requests get memory
 * of their own.  At most one scratch buffer is in use per thread.
 */
#define SCRATCH_KEEP_BYTES  (64u << 20)

struct scratch {
    void *buf;
    size_t size;
};

static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t scratch_key;
static bool scratch_key_ok;

static void scratch_destroy(void *opaque)
{
    struct scratch *s = opaque;

    free(s->buf);
    free(s);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_destroy) == 0;
}

static struct scratch *scratch_of_thread(void)
{
    struct scratch *s;

    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) {
        return NULL;
    }
    s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (s && pthread_setspecific(scratch_key, s)) {
            free(s);
            s = NULL;
        }
    }
    return s;
}

/* @bytes of scratch memory, or NULL; give it back with scratch_put(). */
static void *scratch_get(size_t bytes)
{
    struct scratch *s = bytes <= SCRATCH_KEEP_BYTES ? scratch_of_thread()
                                                   : NULL;

    if (!s) {
        return malloc(bytes);
    }
    if (s->size < bytes) {
        free(s->buf);
        s->buf = malloc(bytes);
        s->size = s->buf ? bytes : 0;
    }
    return s->buf;
}

static void scratch_put(void *p)
{
    struct scratch *s = NULL;

    pthread_once(&scratch_once, scratch_key_init);
    if (scratch_key_ok) {
        s = pthread_getspecific(scratch_key);
    }
    if (!s || p != s->buf) {
        free(p);
    }
}

/* ---- matmul ------------------------------------------------------------ */

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

static void sgemm(const struct mlu_matmul_desc *d, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, d->trans_a ? CblasTrans : CblasNoTrans,
                d->trans_b ? CblasTrans : CblasNoTrans, d->m, d->n, d->k,
                d->alpha, a, lda, b, ldb, beta, c, ldc);
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
static void widen_matrix(enum mlu_core_dtype dtype, const uint16_t *src,
                         uint32_t rows, uint32_t cols, uint32_t ld, float *dst)
{
    uint32_t i;

    for (i = 0; i < rows; i++) {
        mlu_core_to_f32(dtype, src + (size_t)i * ld, cols,
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
            mlu_core_to_f32(d->dtype, out, d->n, old);
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
        mlu_core_from_f32(d->dtype, row, d->n, out);
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
static dnnl_status_t matmul_bf16_dnnl(const struct mlu_matmul_desc *d,
                                      const uint16_t *a, const uint16_t *b,
                                      float *acc)
{
    dnnl_engine_t engine = dnnl_enter();
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
    bool widen = d->dtype == MLU_CORE_F16;
    /* acc, bias, one row of old C, then A and B in f32 when widened. */
    float *acc = scratch_get((mn + 2 * (size_t)d->n +
                              (widen ? mk + kn : 0)) * sizeof(float));
    float *bias32 = acc + mn;
    float *row_buf = bias32 + d->n;
    int ret = 0;

    if (!acc) {
        return -ENOMEM;
    }
    if (d->bias) {
        mlu_core_to_f32(d->dtype, bias, d->n, bias32);
    }
    if (widen) {
        matmul_half_sgemm(d, a, b, row_buf + d->n, row_buf + d->n + mk, acc);
    } else if (matmul_bf16_dnnl(d, a, b, acc) != dnnl_success) {
        ret = matmul_bf16_widened(d, a, b, acc);
    }
    if (!ret) {
        finish_half(d, acc, d->bias ? bias32 : NULL, row_buf, c);
    }
    scratch_put(acc);
    return ret;
}

static int matmul_int8(const struct mlu_matmul_desc *d, const int8_t *a,
                       const int8_t *b, const int32_t *bias, int32_t *c)
{
    const int32_t zero = 0;
    dnnl_status_t st;
    uint32_t i, j;

    if (!dnnl_enter()) {
        return mlu_matmul_ref(d, a, b, bias, c);
    }
    st = dnnl_gemm_s8s8s32(d->trans_a ? 'T' : 'N', d->trans_b ? 'T' : 'N',
                           'F', d->m, d->n, d->k, 1.0f,
                           a, lib_ld(d->trans_a ? d->k : d->m,
                                     d->trans_a ? d->m : d->k, d->lda), 0,
                           b, lib_ld(d->trans_b ? d->n : d->k,
                                     d->trans_b ? d->k : d->n, d->ldb), 0,
                           d->beta, c, lib_ld(d->m, d->n, d->ldc), &zero);
    if (st == dnnl_out_of_memory) {
        return -ENOMEM;
    }
    if (st != dnnl_success) {
        return mlu_matmul_ref(d, a, b, bias, c);
    }
    if (!d->bias && !d->relu) {
        return 0;
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
    case MLU_CORE_F32:
        return matmul_f32(d, a, b, bias, c);
    case MLU_CORE_I8:
        return matmul_int8(d, a, b, bias, c);
    default:
        return matmul_half(d, a, b, bias, c);
    }
}

/* ---- conv2d ------------------------------------------------------------ */

/*
 * Where a conv's activations live in the caller's tensors: @c_total input
 * and @k_total output channels, of which the conv reads c and writes k
 * (fewer when it runs one group of a bigger conv).
 */
struct conv_view {
    uint32_t c_total, k_total;
};

/* @ch channels of a plain tensor with @total channels, as oneDNN sees it. */
static dnnl_status_t act_md(dnnl_memory_desc_t *md, bool nhwc, uint32_t n,
                            uint32_t ch, uint32_t total, uint32_t height,
                            uint32_t width, dnnl_data_type_t type)
{
    dnnl_dims_t dims = { n, ch, height, width };
    dnnl_dims_t strides = {
        (dnnl_dim_t)total * height * width, (dnnl_dim_t)height * width,
        width, 1
    };

    if (nhwc) {
        strides[1] = 1;
        strides[2] = (dnnl_dim_t)width * total;
        strides[3] = total;
    }
    return dnnl_memory_desc_init_by_strides(md, 4, dims, type, strides);
}

/*
 * Memory descriptors of a conv: the caller's plain layout as @view says,
 * or without a view the "let the primitive choose" layout for src,
 * weights and dst.
 */
static dnnl_status_t conv_memory_descs(const struct mlu_conv2d_desc *d,
                                       const struct mlu_conv2d_sizes *sz,
                                       const struct conv_view *view,
                                       dnnl_data_type_t in_type,
                                       dnnl_data_type_t out_type,
                                       dnnl_memory_desc_t *src,
                                       dnnl_memory_desc_t *wei,
                                       dnnl_memory_desc_t *bias,
                                       dnnl_memory_desc_t *dst)
{
    bool nhwc = d->layout == MLU_CORE_NHWC;
    bool any = !view;
    dnnl_dims_t src_dims = { d->n, d->c, d->h, d->w };
    dnnl_dims_t dst_dims = { d->n, d->k, sz->p, sz->q };
    dnnl_dims_t bias_dims = { d->k };
    dnnl_status_t st;

    if (any) {
        st = dnnl_memory_desc_init_by_tag(src, 4, src_dims, in_type,
                                          dnnl_format_tag_any);
        if (st == dnnl_success) {
            st = dnnl_memory_desc_init_by_tag(dst, 4, dst_dims, out_type,
                                              dnnl_format_tag_any);
        }
    } else {
        st = act_md(src, nhwc, d->n, d->c, view->c_total, d->h, d->w,
                    in_type);
        if (st == dnnl_success) {
            st = act_md(dst, nhwc, d->n, d->k, view->k_total, sz->p, sz->q,
                        out_type);
        }
    }
    if (st == dnnl_success) {
        st = dnnl_memory_desc_init_by_tag(bias, 1, bias_dims, out_type,
                                          dnnl_a);
    }
    if (st != dnnl_success) {
        return st;
    }
    if (d->groups == 1) {
        dnnl_dims_t dims = { d->k, d->c, d->r, d->s };

        return dnnl_memory_desc_init_by_tag(wei, 4, dims, in_type,
                                            any ? dnnl_format_tag_any :
                                            nhwc ? dnnl_ohwi : dnnl_oihw);
    } else {
        dnnl_dims_t dims = { d->groups, d->k / d->groups, d->c / d->groups,
                             d->r, d->s };

        return dnnl_memory_desc_init_by_tag(wei, 5, dims, in_type,
                                            any ? dnnl_format_tag_any :
                                            nhwc ? dnnl_gohwi : dnnl_goihw);
    }
}

/*
 * The conv's primitive descriptor, with layouts of its own choosing: on
 * plain NCHW/NHWC tensors oneDNN 2.6 often has only slow kernels (see
 * Documentation/compute-core.rst), while its blocked ones are fast even
 * counting the reorders.  oneDNN caches the kernels behind it.
 */
static dnnl_status_t conv_pd_create(dnnl_engine_t engine,
                                    const struct mlu_conv2d_desc *d,
                                    const struct mlu_conv2d_sizes *sz,
                                    dnnl_data_type_t in_type,
                                    dnnl_data_type_t out_type,
                                    dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_convolution_desc_t conv;
    dnnl_dims_t strides = { d->stride_h, d->stride_w };
    /* oneDNN counts dilation from 0: 0 means a dense filter. */
    dnnl_dims_t dilates = { d->dilation_h - 1, d->dilation_w - 1 };
    dnnl_dims_t padding = { d->pad_h, d->pad_w };
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_status_t st;

    st = conv_memory_descs(d, sz, NULL, in_type, out_type, &src, &wei, &bias,
                           &dst);
    if (st == dnnl_success) {
        st = dnnl_dilated_convolution_forward_desc_init(
            &conv, dnnl_forward_inference, dnnl_convolution_direct, &src,
            &wei, d->bias ? &bias : NULL, &dst, strides, dilates, padding,
            padding);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_attr_create(&attr);
    }
    if (st == dnnl_success && d->relu) {
        st = dnnl_post_ops_create(&post_ops);
        if (st == dnnl_success) {
            st = dnnl_post_ops_append_eltwise(post_ops, 1.0f,
                                              dnnl_eltwise_relu, 0.0f, 0.0f);
        }
        if (st == dnnl_success) {
            st = dnnl_primitive_attr_set_post_ops(attr, post_ops);
        }
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_desc_create(pd, &conv, attr, engine, NULL);
    }
    dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/*
 * One conv operand: the caller's buffer, and when the primitive wants
 * another layout a buffer in that layout plus the reorder between them.
 */
struct conv_operand {
    dnnl_memory_t user;
    dnnl_memory_t lib;                  /* == user when no reorder */
    dnnl_primitive_t reorder;           /* NULL when no reorder */
};

static dnnl_status_t conv_operand_init(dnnl_engine_t engine,
                                       struct conv_operand *op,
                                       const dnnl_memory_desc_t *user_md,
                                       const dnnl_memory_desc_t *lib_md,
                                       void *ptr, bool to_user)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st;

    st = dnnl_memory_create(&op->user, user_md, engine, ptr);
    if (st != dnnl_success) {
        return st;
    }
    if (dnnl_memory_desc_equal(user_md, lib_md)) {
        op->lib = op->user;
        return dnnl_success;
    }
    st = dnnl_memory_create(&op->lib, lib_md, engine, DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success) {
        st = to_user ?
             dnnl_reorder_primitive_desc_create(&pd, lib_md, engine, user_md,
                                                engine, NULL) :
             dnnl_reorder_primitive_desc_create(&pd, user_md, engine, lib_md,
                                                engine, NULL);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&op->reorder, pd);
    }
    dnnl_primitive_desc_destroy(pd);
    return st;
}

static dnnl_status_t conv_operand_reorder(struct conv_operand *op,
                                          dnnl_stream_t stream, bool to_user)
{
    dnnl_exec_arg_t args[] = {
        { DNNL_ARG_FROM, to_user ? op->lib : op->user },
        { DNNL_ARG_TO, to_user ? op->user : op->lib },
    };

    if (!op->reorder) {
        return dnnl_success;
    }
    return dnnl_primitive_execute(op->reorder, stream, 2, args);
}

static void conv_operand_destroy(struct conv_operand *op)
{
    dnnl_primitive_destroy(op->reorder);
    if (op->lib != op->user) {
        dnnl_memory_destroy(op->lib);
    }
    dnnl_memory_destroy(op->user);
}

static dnnl_data_type_t dnnl_in_type(enum mlu_core_dtype dtype)
{
    switch (dtype) {
    case MLU_CORE_F16:
        return dnnl_f16;
    case MLU_CORE_BF16:
        return dnnl_bf16;
    case MLU_CORE_I8:
        return dnnl_s8;
    default:
        return dnnl_f32;
    }
}

enum { CONV_SRC, CONV_WEI, CONV_BIAS, CONV_DST, CONV_OPERANDS };

/*
 * oneDNN 2.6's GEMM-based int8 convolution gives wrong results for some
 * grouped shapes (e.g. 2 groups of 1 -> 4 channels with a 4x2 filter;
 * its direct and depthwise kernels, and every ungrouped shape tested, are
 * right), so the core runs such convs one group at a time.
 */
static bool conv_kernel_trusted(const struct mlu_conv2d_desc *d,
                                const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;

    if (d->dtype != MLU_CORE_I8 || d->groups == 1) {
        return true;
    }
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0,
                                     &impl) == dnnl_success &&
           impl && !strstr(impl, "gemm");
}

/*
 * Run the conv in oneDNN on tensors laid out as @view says; an error if
 * it has no (trusted) kernel for it.
 */
static dnnl_status_t conv_dnnl(const struct mlu_conv2d_desc *d,
                               const struct mlu_conv2d_sizes *sz,
                               const struct conv_view *view,
                               const void *input, const void *weight,
                               const void *bias, void *output)
{
    static const int arg_ids[CONV_OPERANDS] = {
        DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST
    };
    static const dnnl_query_t queries[CONV_OPERANDS] = {
        dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_weights_md,
        dnnl_query_dst_md
    };
    dnnl_engine_t engine = dnnl_enter();
    dnnl_data_type_t in_type = dnnl_in_type(d->dtype);
    dnnl_data_type_t out_type = d->dtype == MLU_CORE_I8 ? dnnl_s32 : in_type;
    dnnl_memory_desc_t user_md[CONV_OPERANDS];
    /* oneDNN wraps caller memory without copying; it only reads inputs. */
    void *const ptrs[CONV_OPERANDS] = {
        (void *)input, (void *)weight, (void *)bias, output
    };
    struct conv_operand ops[CONV_OPERANDS] = { { 0 } };
    dnnl_exec_arg_t args[CONV_OPERANDS];
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t st;
    int nargs = 0;
    int i;

    if (!engine) {
        return dnnl_runtime_error;
    }
    st = conv_memory_descs(d, sz, view, in_type, out_type,
                           &user_md[CONV_SRC], &user_md[CONV_WEI],
                           &user_md[CONV_BIAS], &user_md[CONV_DST]);
    if (st == dnnl_success) {
        st = conv_pd_create(engine, d, sz, in_type, out_type, &pd);
    }
    if (st == dnnl_success && !conv_kernel_trusted(d, pd)) {
        st = dnnl_unimplemented;
    }
    for (i = 0; i < CONV_OPERANDS && st == dnnl_success; i++) {
        /* Bias is the second weights operand and stays plain. */
        const dnnl_memory_desc_t *lib_md = i == CONV_BIAS ? &user_md[i] :
            dnnl_primitive_desc_query_md(pd, queries[i], 0);

        if (i == CONV_BIAS && !d->bias) {
            continue;
        }
        st = conv_operand_init(engine, &ops[i], &user_md[i], lib_md,
                               ptrs[i], i == CONV_DST);
        args[nargs].arg = arg_ids[i];
        args[nargs++].memory = ops[i].lib;
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&prim, pd);
    }
    if (st == dnnl_success) {
        st = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    }
    /* An in-order stream: reorders in, the conv, the reorder out. */
    if (st == dnnl_success) {
        st = conv_operand_reorder(&ops[CONV_SRC], stream, false);
    }
    if (st == dnnl_success) {
        st = conv_operand_reorder(&ops[CONV_WEI], stream, false);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_execute(prim, stream, nargs, args);
    }
    if (st == dnnl_success) {
        st = conv_operand_reorder(&ops[CONV_DST], stream, true);
    }
    if (st == dnnl_success) {
        st = dnnl_stream_wait(stream);
    }
    dnnl_stream_destroy(stream);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    for (i = 0; i < CONV_OPERANDS; i++) {
        conv_operand_destroy(&ops[i]);
    }
    return st;
}

/* A conv oneDNN lacks a kernel for in this dtype: widen to f32 and back. */
static int conv_via_f32(const struct mlu_conv2d_desc *d,
                        const struct mlu_conv2d_sizes *sz, const void *input,
                        const void *weight, const void *bias, void *output)
{
    struct mlu_conv2d_desc d32 = *d;
    size_t in_elems = sz->input / mlu_core_in_size(d->dtype);
    size_t wei_elems = sz->weight / mlu_core_in_size(d->dtype);
    size_t out_elems = sz->output / mlu_core_out_size(d->dtype);
    float *in32 = malloc(in_elems * sizeof(float));
    float *wei32 = malloc(wei_elems * sizeof(float));
    float *out32 = malloc(out_elems * sizeof(float));
    float *bias32 = d->bias ? malloc(d->k * sizeof(float)) : NULL;
    int ret = -ENOMEM;

    d32.dtype = MLU_CORE_F32;
    if (!in32 || !wei32 || !out32 || (d->bias && !bias32)) {
        goto out;
    }
    mlu_core_to_f32(d->dtype, input, in_elems, in32);
    mlu_core_to_f32(d->dtype, weight, wei_elems, wei32);
    if (bias32) {
        mlu_core_to_f32(d->dtype, bias, d->k, bias32);
    }
    struct conv_view view = { d->c, d->k };

    if (conv_dnnl(&d32, sz, &view, in32, wei32, bias32, out32) !=
        dnnl_success) {
        ret = mlu_conv2d_ref(&d32, in32, wei32, bias32, out32);
        if (ret) {
            goto out;
        }
    }
    mlu_core_from_f32(d->dtype, out32, out_elems, output);
    ret = 0;
out:
    free(in32);
    free(wei32);
    free(out32);
    free(bias32);
    return ret;
}

/* Bias and ReLU of an int8 conv, wrapping like the reference. */
static void conv_epilogue_int8(const struct mlu_conv2d_desc *d,
                               const struct mlu_conv2d_sizes *sz,
                               const int32_t *bias, int32_t *out)
{
    size_t plane = (size_t)sz->p * sz->q;
    size_t pixels = d->n * plane;
    size_t i, k;

    for (i = 0; i < pixels; i++) {
        for (k = 0; k < d->k; k++) {
            /* NCHW: channel planes; NHWC: channels innermost. */
            size_t o = d->layout == MLU_CORE_NHWC ? i * d->k + k :
                       (i / plane * d->k + k) * plane + i % plane;
            int32_t v = d->bias ? mlu_wrap_add(out[o], bias[k]) : out[o];

            out[o] = d->relu && v < 0 ? 0 : v;
        }
    }
}

/*
 * A grouped int8 conv as one ungrouped conv per group, each on its slice
 * of the caller's tensors (no copies: oneDNN reads strided views).
 */
static dnnl_status_t conv_int8_by_group(const struct mlu_conv2d_desc *d,
                                        const struct mlu_conv2d_sizes *sz,
                                        const int8_t *input,
                                        const int8_t *weight,
                                        int32_t *output)
{
    struct mlu_conv2d_desc one = *d;
    struct conv_view view = { d->c, d->k };
    bool nhwc = d->layout == MLU_CORE_NHWC;
    size_t c_step, k_step, w_step;
    dnnl_status_t st = dnnl_success;
    uint32_t g;

    one.groups = 1;
    one.c = d->c / d->groups;
    one.k = d->k / d->groups;
    /* Where group g starts, in elements: channels are planes or inner. */
    c_step = nhwc ? one.c : (size_t)one.c * d->h * d->w;
    k_step = nhwc ? one.k : (size_t)one.k * sz->p * sz->q;
    w_step = (size_t)one.k * one.c * d->r * d->s;
    for (g = 0; g < d->groups && st == dnnl_success; g++) {
        st = conv_dnnl(&one, sz, &view, input + g * c_step,
                       weight + g * w_step, NULL, output + g * k_step);
    }
    return st;
}

/*
 * oneDNN's int8 kernels take the int32 accumulator through f32 for bias
 * and post-ops, which rounds sums past 2^24; keep that stage in integers.
 */
static dnnl_status_t conv_int8(const struct mlu_conv2d_desc *d,
                               const struct mlu_conv2d_sizes *sz,
                               const void *input, const void *weight,
                               const int32_t *bias, int32_t *output)
{
    struct mlu_conv2d_desc plain = *d;
    struct conv_view view = { d->c, d->k };
    dnnl_status_t st;

    plain.bias = false;
    plain.relu = false;
    st = conv_dnnl(&plain, sz, &view, input, weight, NULL, output);
    if (st == dnnl_unimplemented && d->groups > 1) {
        st = conv_int8_by_group(&plain, sz, input, weight, output);
    }
    if (st == dnnl_success && (d->bias || d->relu)) {
        conv_epilogue_int8(d, sz, bias, output);
    }
    return st;
}

int mlu_conv2d(const struct mlu_conv2d_desc *d, const void *input,
               const void *weight, const void *bias, void *output)
{
    struct mlu_conv2d_sizes sz;
    dnnl_status_t st;
    int ret = mlu_conv2d_check(d, &sz);

    if (ret) {
        return ret;
    }
    if (d->dtype == MLU_CORE_I8) {
        st = conv_int8(d, &sz, input, weight, bias, output);
    } else {
        struct conv_view view = { d->c, d->k };

        st = conv_dnnl(d, &sz, &view, input, weight, bias, output);
    }
    if (st == dnnl_success) {
        return 0;
    }
    if (st == dnnl_out_of_memory) {
        return -ENOMEM;
    }
    if (d->dtype == MLU_CORE_I8 || d->dtype == MLU_CORE_F32) {
        return mlu_conv2d_ref(d, input, weight, bias, output);
    }
    return conv_via_f32(d, &sz, input, weight, bias, output);
}
