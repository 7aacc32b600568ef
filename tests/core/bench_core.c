// SPDX-License-Identifier: MIT
/*
 * Benchmark of the MLU compute core against the libraries it is built on.
 *
 * Prints "bench: <name> <value> <unit>" lines.  Every figure is the best of
 * a few timed repetitions after a warm-up, with MLU_BENCH_THREADS threads
 * (default: all online CPUs) in the core and in the libraries alike.
 *
 *   core_*        the core's fast path (mlu_matmul / mlu_conv2d)
 *   openblas_*    cblas_sgemm called directly, the f32 matmul baseline
 *   lib_conv_*    the same conv by oneDNN directly, primitive created once
 *                 (the conv baseline): oneDNN chooses its blocked layouts
 *                 and the reorders from and to the caller's NCHW tensors,
 *                 which change on every call, are timed with it
 *   *_plain       oneDNN run on the plain NCHW tensors themselves
 *   im2col_*      im2col followed by one cblas_sgemm
 *   core_isa      the ISA level of the core's fast path, and its int8
 *                 backend (core_int8_backend)
 * ONEDNN_MAX_CPU_ISA=AVX2 measures the paths an AVX2 host without VNNI
 * runs (the exact int8 kernels among them).
 */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "mlu_core.h"

#define REPS 5

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*bench_fn)(void *ctx);

/* Best time of REPS runs after one warm-up. */
static double best_seconds(bench_fn fn, void *ctx)
{
    double best = 1e30;
    int i;

    fn(ctx);
    for (i = 0; i < REPS; i++) {
        double t0 = now();

        fn(ctx);
        t0 = now() - t0;
        if (t0 < best) {
            best = t0;
        }
    }
    return best;
}

static void report(const char *name, double ops, double seconds,
                   const char *unit)
{
    printf("bench: %s %.1f %s\n", name, ops / seconds * 1e-9, unit);
    fflush(stdout);
}

static void *alloc_or_die(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);

    if (!p) {
        fprintf(stderr, "bench_core: out of memory\n");
        exit(1);
    }
    return p;
}

static void fill_bytes(void *buf, size_t bytes, uint32_t seed)
{
    uint8_t *p = buf;
    size_t i;

    for (i = 0; i < bytes; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = seed >> 24;
    }
}

static void fill_float(enum mlu_dtype dtype, void *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        float v = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;

        if (dtype == MLU_DTYPE_F32) {
            ((float *)buf)[i] = v;
        } else if (dtype == MLU_DTYPE_F16) {
            ((uint16_t *)buf)[i] = mlu_f32_to_f16(v);
        } else {
            ((uint16_t *)buf)[i] = mlu_f32_to_bf16(v);
        }
    }
}

/* Let the previous library's spinning worker threads go to sleep. */
static void settle(void)
{
    usleep(300 * 1000);
}

/* ---- matmul ------------------------------------------------------------ */

struct matmul_ctx {
    struct mlu_matmul_desc d;
    void *a, *b, *c;
};

static void run_core_matmul(void *arg)
{
    struct matmul_ctx *x = arg;

    if (mlu_matmul(&x->d, x->a, x->b, NULL, x->c)) {
        fprintf(stderr, "bench_core: mlu_matmul failed\n");
        exit(1);
    }
}

/* The baselines' OpenBLAS threads; the core runs OpenBLAS on one. */
static int bench_threads;

static void run_openblas(void *arg)
{
    struct matmul_ctx *x = arg;

    openblas_set_num_threads(bench_threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->d.m, x->d.n,
                x->d.k, 1.0f, x->a, x->d.k, x->b, x->d.n, 0.0f, x->c,
                x->d.n);
}

static void bench_matmul(const char *name, enum mlu_dtype dtype,
                         bench_fn fn, const char *unit)
{
    const uint32_t n = 2048;
    struct matmul_ctx x = {
        .d = { .dtype = dtype, .m = n, .n = n, .k = n, .lda = n, .ldb = n,
               .ldc = n, .alpha = 1.0f },
    };
    size_t elems = (size_t)n * n;

    x.a = alloc_or_die(elems * mlu_core_in_size(dtype));
    x.b = alloc_or_die(elems * mlu_core_in_size(dtype));
    x.c = alloc_or_die(elems * mlu_core_out_size(dtype));
    if (dtype == MLU_DTYPE_I8) {
        fill_bytes(x.a, elems, 1);
        fill_bytes(x.b, elems, 2);
    } else {
        fill_float(dtype, x.a, elems);
        fill_float(dtype, x.b, elems);
    }
    report(name, 2.0 * n * n * n, best_seconds(fn, &x), unit);
    free(x.a);
    free(x.b);
    free(x.c);
}

/* ---- conv -------------------------------------------------------------- */

/* ResNet-50 conv2_x 3x3: batch 1, 56x56x64 -> 64, pad 1, stride 1. */
static const struct mlu_conv2d_desc resnet = {
    .dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW,
    .n = 1, .c = 64, .h = 56, .w = 56, .k = 64, .r = 3, .s = 3,
    .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1,
    .dilation_h = 1, .dilation_w = 1, .groups = 1,
};

struct conv_ctx {
    struct mlu_conv2d_desc d;
    struct mlu_conv2d_sizes sz;
    float *in, *wei, *out, *col;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t conv, reorder_src, reorder_wei, reorder_dst;
    dnnl_memory_t m_in, m_wei, m_out;           /* plain, user memory */
    dnnl_memory_t m_bin, m_bwei, m_bout;        /* the conv's own layouts */
};

static double conv_flops(const struct conv_ctx *x)
{
    return 2.0 * x->d.n * x->d.k * x->sz.p * x->sz.q *
           (x->d.c / x->d.groups) * x->d.r * x->d.s;
}

static void run_core_conv(void *arg)
{
    struct conv_ctx *x = arg;

    if (mlu_conv2d(&x->d, x->in, x->wei, NULL, x->out)) {
        fprintf(stderr, "bench_core: mlu_conv2d failed\n");
        exit(1);
    }
}

static void check(dnnl_status_t st, const char *what)
{
    if (st != dnnl_success) {
        fprintf(stderr, "bench_core: %s: oneDNN status %d\n", what, st);
        exit(1);
    }
}

static void exec2(struct conv_ctx *x, dnnl_primitive_t p, int a0,
                  dnnl_memory_t m0, int a1, dnnl_memory_t m1)
{
    dnnl_exec_arg_t args[] = { { a0, m0 }, { a1, m1 } };

    check(dnnl_primitive_execute(p, x->stream, 2, args), "execute");
}

static void run_lib_conv(void *arg)
{
    struct conv_ctx *x = arg;
    dnnl_exec_arg_t args[] = {
        { DNNL_ARG_SRC, x->m_bin ? x->m_bin : x->m_in },
        { DNNL_ARG_WEIGHTS, x->m_bwei ? x->m_bwei : x->m_wei },
        { DNNL_ARG_DST, x->m_bout ? x->m_bout : x->m_out },
    };

    if (x->reorder_src) {
        exec2(x, x->reorder_src, DNNL_ARG_FROM, x->m_in, DNNL_ARG_TO,
              x->m_bin);
    }
    if (x->reorder_wei) {
        exec2(x, x->reorder_wei, DNNL_ARG_FROM, x->m_wei, DNNL_ARG_TO,
              x->m_bwei);
    }
    check(dnnl_primitive_execute(x->conv, x->stream, 3, args), "conv");
    if (x->reorder_dst) {
        exec2(x, x->reorder_dst, DNNL_ARG_FROM, x->m_bout, DNNL_ARG_TO,
              x->m_out);
    }
    check(dnnl_stream_wait(x->stream), "wait");
}

/*
 * A reorder between the user's layout and the conv's, or NULL when they
 * are the same; @conv_mem gets a buffer in the conv's layout.
 */
static dnnl_primitive_t make_reorder(struct conv_ctx *x,
                                     const dnnl_memory_desc_t *from,
                                     const dnnl_memory_desc_t *to,
                                     const dnnl_memory_desc_t *conv_md,
                                     dnnl_memory_t *conv_mem)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;

    if (dnnl_memory_desc_equal(from, to)) {
        *conv_mem = NULL;
        return NULL;
    }
    check(dnnl_memory_create(conv_mem, conv_md, x->engine,
                             DNNL_MEMORY_ALLOCATE), "memory");
    check(dnnl_reorder_primitive_desc_create(&pd, from, x->engine, to,
                                             x->engine, NULL), "reorder pd");
    check(dnnl_primitive_create(&p, pd), "reorder");
    dnnl_primitive_desc_destroy(pd);
    return p;
}

/* oneDNN directly; @blocked lets it pick its layouts (and pay reorders). */
static void setup_lib_conv(struct conv_ctx *x, bool blocked)
{
    const struct mlu_conv2d_desc *d = &x->d;
    dnnl_dims_t src_dims = { d->n, d->c, d->h, d->w };
    dnnl_dims_t wei_dims = { d->k, d->c, d->r, d->s };
    dnnl_dims_t dst_dims = { d->n, d->k, x->sz.p, x->sz.q };
    dnnl_dims_t strides = { d->stride_h, d->stride_w };
    dnnl_dims_t pad = { d->pad_h, d->pad_w };
    dnnl_format_tag_t act = blocked ? dnnl_format_tag_any : dnnl_nchw;
    dnnl_format_tag_t wtag = blocked ? dnnl_format_tag_any : dnnl_oihw;
    dnnl_memory_desc_t src, wei, dst, u_src, u_wei, u_dst;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;

    check(dnnl_engine_create(&x->engine, dnnl_cpu, 0), "engine");
    check(dnnl_stream_create(&x->stream, x->engine,
                             dnnl_stream_default_flags), "stream");
    check(dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, act), "md");
    check(dnnl_memory_desc_init_by_tag(&wei, 4, wei_dims, dnnl_f32, wtag), "md");
    check(dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, act), "md");
    check(dnnl_memory_desc_init_by_tag(&u_src, 4, src_dims, dnnl_f32,
                                       dnnl_nchw), "md");
    check(dnnl_memory_desc_init_by_tag(&u_wei, 4, wei_dims, dnnl_f32,
                                       dnnl_oihw), "md");
    check(dnnl_memory_desc_init_by_tag(&u_dst, 4, dst_dims, dnnl_f32,
                                       dnnl_nchw), "md");
    check(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                             dnnl_convolution_direct, &src,
                                             &wei, NULL, &dst, strides, pad,
                                             pad), "conv desc");
    check(dnnl_primitive_desc_create(&pd, &cd, NULL, x->engine, NULL),
          "conv pd");
    check(dnnl_primitive_create(&x->conv, pd), "conv");
    check(dnnl_memory_create(&x->m_in, &u_src, x->engine, x->in), "memory");
    check(dnnl_memory_create(&x->m_wei, &u_wei, x->engine, x->wei), "memory");
    check(dnnl_memory_create(&x->m_out, &u_dst, x->engine, x->out), "memory");
    {
        const dnnl_memory_desc_t *c_src =
            dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *c_wei =
            dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *c_dst =
            dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);

        x->reorder_src = make_reorder(x, &u_src, c_src, c_src, &x->m_bin);
        x->reorder_wei = make_reorder(x, &u_wei, c_wei, c_wei, &x->m_bwei);
        x->reorder_dst = make_reorder(x, c_dst, &u_dst, c_dst, &x->m_bout);
    }
    dnnl_primitive_desc_destroy(pd);
}

static void teardown_lib_conv(struct conv_ctx *x)
{
    dnnl_primitive_t prims[] = {
        x->conv, x->reorder_src, x->reorder_wei, x->reorder_dst,
    };
    dnnl_memory_t mems[] = {
        x->m_in, x->m_wei, x->m_out, x->m_bin, x->m_bwei, x->m_bout,
    };
    size_t i;

    for (i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
        dnnl_primitive_destroy(prims[i]);
    }
    for (i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
        dnnl_memory_destroy(mems[i]);
    }
    dnnl_stream_destroy(x->stream);
    dnnl_engine_destroy(x->engine);
}

/* im2col (batch 1, NCHW) then out[K][P*Q] = wei[K][C*R*S] * col. */
static void run_im2col(void *arg)
{
    struct conv_ctx *x = arg;
    const struct mlu_conv2d_desc *d = &x->d;
    size_t pq = (size_t)x->sz.p * x->sz.q;
    uint32_t c, r, s, y, xo;

    for (c = 0; c < d->c; c++) {
        for (r = 0; r < d->r; r++) {
            for (s = 0; s < d->s; s++) {
                float *row = x->col + ((size_t)(c * d->r + r) * d->s + s) * pq;

                for (y = 0; y < x->sz.p; y++) {
                    long iy = (long)y * d->stride_h - d->pad_h + r;

                    for (xo = 0; xo < x->sz.q; xo++) {
                        long ix = (long)xo * d->stride_w - d->pad_w + s;

                        row[y * x->sz.q + xo] =
                            iy >= 0 && iy < d->h && ix >= 0 && ix < d->w ?
                            x->in[((size_t)c * d->h + iy) * d->w + ix] : 0.0f;
                    }
                }
            }
        }
    }
    openblas_set_num_threads(bench_threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->k, pq,
                d->c * d->r * d->s, 1.0f, x->wei, d->c * d->r * d->s,
                x->col, pq, 0.0f, x->out, pq);
}

static void bench_conv(void)
{
    struct conv_ctx x = { .d = resnet };
    struct conv_ctx blocked;

    if (mlu_conv2d_check(&x.d, &x.sz)) {
        exit(1);
    }
    x.in = alloc_or_die(x.sz.input);
    x.wei = alloc_or_die(x.sz.weight);
    x.out = alloc_or_die(x.sz.output);
    x.col = alloc_or_die((size_t)x.d.c * x.d.r * x.d.s * x.sz.p * x.sz.q *
                         sizeof(float));
    fill_float(MLU_DTYPE_F32, x.in, x.sz.input / 4);
    fill_float(MLU_DTYPE_F32, x.wei, x.sz.weight / 4);

    blocked = x;
    setup_lib_conv(&x, false);
    setup_lib_conv(&blocked, true);
    report("lib_conv_f32_resnet", conv_flops(&x),
           best_seconds(run_lib_conv, &blocked), "GFLOPS");
    report("core_conv_f32_resnet", conv_flops(&x),
           best_seconds(run_core_conv, &x), "GFLOPS");
    report("lib_conv_f32_resnet_plain", conv_flops(&x),
           best_seconds(run_lib_conv, &x), "GFLOPS");
    x.d.layout = MLU_LAYOUT_NHWC;
    report("core_conv_f32_resnet_nhwc", conv_flops(&x),
           best_seconds(run_core_conv, &x), "GFLOPS");
    x.d.layout = MLU_LAYOUT_NCHW;
    x.d.dtype = MLU_DTYPE_BF16;
    report("core_conv_bf16_resnet", conv_flops(&x),
           best_seconds(run_core_conv, &x), "GFLOPS");
    x.d.dtype = MLU_DTYPE_I8;
    report("core_conv_i8_resnet", conv_flops(&x),
           best_seconds(run_core_conv, &x), "GOPS");
    x.d.dtype = MLU_DTYPE_F32;
    settle();
    report("im2col_sgemm_conv_f32_resnet", conv_flops(&x),
           best_seconds(run_im2col, &x), "GFLOPS");
    teardown_lib_conv(&x);
    teardown_lib_conv(&blocked);
    free(x.in);
    free(x.wei);
    free(x.out);
    free(x.col);
}

int main(void)
{
    const char *env = getenv("MLU_BENCH_THREADS");
    int threads = env ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);

    if (threads < 1) {
        threads = 1;
    }
    /* The same team size for the core and for the direct baselines. */
    bench_threads = threads;
    mlu_core_set_threads(threads);
    omp_set_num_threads(threads);
    printf("bench: core_isa %s isa\n", mlu_core_isa_name(mlu_core_isa()));
    printf("bench: core_int8_backend %s backend\n", mlu_core_int8_backend());

    bench_matmul("openblas_sgemm_f32_2048", MLU_DTYPE_F32, run_openblas,
                 "GFLOPS");
    bench_matmul("core_matmul_f32_2048", MLU_DTYPE_F32, run_core_matmul,
                 "GFLOPS");
    bench_matmul("core_matmul_bf16_2048", MLU_DTYPE_BF16, run_core_matmul,
                 "GFLOPS");
    bench_matmul("core_matmul_f16_2048", MLU_DTYPE_F16, run_core_matmul,
                 "GFLOPS");
    settle();
    bench_matmul("core_matmul_i8_2048", MLU_DTYPE_I8, run_core_matmul, "GOPS");
    bench_conv();
    return 0;
}
