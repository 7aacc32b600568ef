// SPDX-License-Identifier: MIT
/*
 * Host tests of the MLU compute core: the fast path against the reference
 * over randomised shapes, descriptor validation, f16/bf16 conversions and
 * concurrent use.
 *
 * Randomised tests draw from a seeded generator; the seed is printed and
 * MLU_CORE_TEST_SEED=<n> replays a run.  Tolerances follow the error bound
 * in Documentation/compute-core.rst.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"

#include "mlu_core.h"
#include "mlu_core_int.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ---- seeded random numbers --------------------------------------------- */

static uint64_t test_seed;

static void __attribute__((constructor)) pick_seed(void)
{
    const char *env = getenv("MLU_CORE_TEST_SEED");

    test_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    /* On stderr: stdout must start with the harness's TAP header. */
    fprintf(stderr, "# MLU_CORE_TEST_SEED=%" PRIu64 "\n", test_seed);
}

/* splitmix64: tiny, good enough to pick shapes and fill buffers. */
static uint64_t rnd_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint64_t *state, uint32_t bound)
{
    return rnd_next(state) % bound;
}

static bool rnd_bool(uint64_t *state)
{
    return rnd_next(state) & 1;
}

/* Uniform in [-1, 1). */
static float rnd_unit(uint64_t *state)
{
    return (float)((rnd_next(state) >> 40) * 0x1p-23 - 1.0);
}

/* A dimension, often one the libraries' blocking finds awkward. */
static uint32_t rnd_dim(uint64_t *state, uint32_t max)
{
    static const uint32_t edges[] = { 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 48 };
    uint32_t pick = edges[rnd_below(state, sizeof(edges) / sizeof(edges[0]))];

    if (rnd_bool(state) && pick <= max) {
        return pick;
    }
    return 1 + rnd_below(state, max);
}

static uint64_t seed_for(const char *name)
{
    uint64_t h = test_seed;

    while (*name) {
        h = (h ^ (uint8_t)*name++) * 0x100000001b3ull;
    }
    return h;
}

/* ---- typed buffers ----------------------------------------------------- */

/* Extra bytes after every output, to catch writes past the extent. */
#define GUARD_BYTES 64
#define GUARD_FILL  0xa5

/* Fill an input operand with values representable in its dtype. */
static void fill_input(uint64_t *rng, enum mlu_dtype dtype, void *buf,
                       size_t bytes)
{
    size_t i, n = bytes / mlu_core_in_size(dtype);

    for (i = 0; i < n; i++) {
        if (dtype == MLU_DTYPE_I8) {
            ((int8_t *)buf)[i] = (int8_t)rnd_next(rng);
        } else {
            mlu_store_float(dtype, buf, i, rnd_unit(rng));
        }
    }
}

/* Fill an output-typed operand (C, bias); int32 gets the full range. */
static void fill_output(uint64_t *rng, enum mlu_dtype dtype, void *buf,
                        size_t bytes)
{
    size_t i, n = bytes / mlu_core_out_size(dtype);

    for (i = 0; i < n; i++) {
        if (dtype == MLU_DTYPE_I8) {
            ((int32_t *)buf)[i] = (int32_t)rnd_next(rng);
        } else {
            mlu_store_float(dtype, buf, i, rnd_unit(rng));
        }
    }
}

static void fill_nan(enum mlu_dtype dtype, void *buf, size_t bytes)
{
    size_t i, n = bytes / mlu_core_out_size(dtype);

    for (i = 0; i < n && dtype != MLU_DTYPE_I8; i++) {
        mlu_store_float(dtype, buf, i, NAN);
    }
}

static void *guarded_alloc(size_t bytes)
{
    uint8_t *p = malloc(bytes + GUARD_BYTES);

    if (p) {
        memset(p + bytes, GUARD_FILL, GUARD_BYTES);
    }
    return p;
}

static bool guard_intact(const void *buf, size_t bytes)
{
    const uint8_t *g = (const uint8_t *)buf + bytes;
    size_t i;

    for (i = 0; i < GUARD_BYTES; i++) {
        if (g[i] != GUARD_FILL) {
            return false;
        }
    }
    return true;
}

/* ---- tolerances -------------------------------------------------------- */

/*
 * Both paths compute an f32 dot product of @terms products plus at most
 * four more roundings (alpha, beta * C, the sum, bias).  Each result lies
 * within gamma(terms + 4) * @magnitude of the exact value, where
 * gamma(n) = n * u / (1 - n * u) and u = 2^-24 (Higham, "Accuracy and
 * Stability of Numerical Algorithms", 3.1), so the two paths differ by at
 * most twice that.  A narrower output type adds one unit in the last place
 * of the larger result, since two close values may round to neighbours.
 */
static double ulp_of(enum mlu_dtype dtype, double v)
{
    int mant_bits = dtype == MLU_DTYPE_F16 ? 11 : 8;
    int min_exp = dtype == MLU_DTYPE_F16 ? -14 : -126;
    int e;

    frexp(fabs(v), &e);
    e -= 1;                             /* v in [2^e, 2^(e+1)) */
    if (e < min_exp) {
        e = min_exp;
    }
    return ldexp(1.0, e - (mant_bits - 1));
}

static double float_tolerance(enum mlu_dtype dtype, uint64_t terms,
                              double magnitude, double ref)
{
    double nu = (double)(terms + 4) * 0x1p-24;
    double tol = 2.0 * nu / (1.0 - nu) * magnitude;

    if (dtype != MLU_DTYPE_F32) {
        tol += ulp_of(dtype, fabs(ref) + tol);
    }
    return tol;
}

static double load_any(enum mlu_dtype dtype, const void *buf, size_t i,
                       bool output)
{
    if (dtype == MLU_DTYPE_I8) {
        return output ? ((const int32_t *)buf)[i] : ((const int8_t *)buf)[i];
    }
    return mlu_load_float(dtype, buf, i);
}

/* ---- matmul: fast vs reference ----------------------------------------- */

struct matmul_case {
    struct mlu_matmul_desc d;
    struct mlu_matmul_sizes sz;
    void *a, *b, *bias, *c_in, *c_ref, *c_fast;
};

static size_t mm_a(const struct mlu_matmul_desc *d, uint32_t i, uint32_t l)
{
    return d->trans_a ? (size_t)l * d->lda + i : (size_t)i * d->lda + l;
}

static size_t mm_b(const struct mlu_matmul_desc *d, uint32_t l, uint32_t j)
{
    return d->trans_b ? (size_t)j * d->ldb + l : (size_t)l * d->ldb + j;
}

/* Sum of |alpha * a * b| over the dot product, plus |beta * C| and |bias|. */
static double mm_magnitude(const struct matmul_case *t, uint32_t i,
                           uint32_t j)
{
    const struct mlu_matmul_desc *d = &t->d;
    double sum = 0.0;
    uint32_t l;

    for (l = 0; l < d->k; l++) {
        sum += fabs(load_any(d->dtype, t->a, mm_a(d, i, l), false) *
                    load_any(d->dtype, t->b, mm_b(d, l, j), false));
    }
    sum *= fabs(d->alpha);
    if (d->beta != 0.0f) {
        sum += fabs(d->beta *
                    load_any(d->dtype, t->c_in, (size_t)i * d->ldc + j, true));
    }
    if (d->bias) {
        sum += fabs(load_any(d->dtype, t->bias, j, true));
    }
    return sum;
}

static void matmul_case_free(struct matmul_case *t)
{
    free(t->a);
    free(t->b);
    free(t->bias);
    free(t->c_in);
    free(t->c_ref);
    free(t->c_fast);
}

static int matmul_case_alloc(uint64_t *rng, struct matmul_case *t)
{
    const struct mlu_matmul_desc *d = &t->d;
    int ret = mlu_matmul_check(d, &t->sz);

    if (ret) {
        return ret;
    }
    t->a = malloc(t->sz.a);
    t->b = malloc(t->sz.b);
    t->bias = d->bias ? malloc(t->sz.bias) : NULL;
    t->c_in = malloc(t->sz.c);
    t->c_ref = guarded_alloc(t->sz.c);
    t->c_fast = guarded_alloc(t->sz.c);
    if (!t->a || !t->b || (d->bias && !t->bias) || !t->c_in || !t->c_ref ||
        !t->c_fast) {
        return -ENOMEM;
    }
    fill_input(rng, d->dtype, t->a, t->sz.a);
    fill_input(rng, d->dtype, t->b, t->sz.b);
    if (t->bias) {
        fill_output(rng, d->dtype, t->bias, t->sz.bias);
    }
    /* With beta == 0 C must not be read: poison it. */
    fill_output(rng, d->dtype, t->c_in, t->sz.c);
    if (d->beta == 0.0f) {
        fill_nan(d->dtype, t->c_in, t->sz.c);
    }
    memcpy(t->c_ref, t->c_in, t->sz.c);
    memcpy(t->c_fast, t->c_in, t->sz.c);
    return 0;
}

static void random_matmul_desc(uint64_t *rng, enum mlu_dtype dtype,
                               uint32_t max_dim, struct mlu_matmul_desc *d)
{
    static const float alphas[] = { 1.0f, 0.5f, -2.0f, 1.25f };
    static const float betas[] = { 0.0f, 1.0f, 0.5f, -1.0f };

    memset(d, 0, sizeof(*d));
    d->dtype = dtype;
    d->m = rnd_dim(rng, max_dim);
    d->n = rnd_dim(rng, max_dim);
    d->k = rnd_dim(rng, max_dim);
    d->trans_a = rnd_bool(rng);
    d->trans_b = rnd_bool(rng);
    /* Leading dimensions: tight half the time, else with slack. */
    d->lda = (d->trans_a ? d->m : d->k) + (rnd_bool(rng) ? rnd_below(rng, 5) : 0);
    d->ldb = (d->trans_b ? d->k : d->n) + (rnd_bool(rng) ? rnd_below(rng, 5) : 0);
    d->ldc = d->n + (rnd_bool(rng) ? rnd_below(rng, 5) : 0);
    d->bias = rnd_bool(rng);
    d->relu = rnd_bool(rng);
    if (dtype == MLU_DTYPE_I8) {
        d->alpha = 1.0f;
        d->beta = rnd_bool(rng) ? 1.0f : 0.0f;
    } else {
        d->alpha = alphas[rnd_below(rng, 4)];
        d->beta = betas[rnd_below(rng, 4)];
    }
}

/*
 * Compare the fast result with the reference; returns the number of bad
 * elements and logs the first.
 */
static int matmul_compare(struct __test_metadata *_metadata,
                          const struct matmul_case *t)
{
    const struct mlu_matmul_desc *d = &t->d;
    int bad = 0;
    uint32_t i, j;

    size_t elems = t->sz.c / mlu_core_out_size(d->dtype);

    for (i = 0; i < d->m; i++) {
        for (j = 0; j < d->ldc && (size_t)i * d->ldc + j < elems; j++) {
            size_t o = (size_t)i * d->ldc + j;
            double ref = load_any(d->dtype, t->c_ref, o, true);
            double fast = load_any(d->dtype, t->c_fast, o, true);
            double tol = 0.0;

            if (j >= d->n) {
                /* Padding between rows must be left alone by both. */
                double orig = load_any(d->dtype, t->c_in, o, true);

                if (memcmp(&ref, &orig, sizeof(ref)) ||
                    memcmp(&fast, &orig, sizeof(fast))) {
                    if (!bad++) {
                        TH_LOG("padding C[%u][%u] overwritten", i, j);
                    }
                }
                continue;
            }
            if (d->dtype != MLU_DTYPE_I8) {
                tol = float_tolerance(d->dtype, d->k, mm_magnitude(t, i, j),
                                      ref);
            }
            if (!isfinite(ref) || !isfinite(fast) || fabs(ref - fast) > tol) {
                if (!bad++) {
                    TH_LOG("C[%u][%u]: fast %.9g ref %.9g tol %.3g", i, j,
                           fast, ref, tol);
                }
            }
        }
    }
    return bad;
}

static void log_matmul(struct __test_metadata *_metadata,
                       const struct mlu_matmul_desc *d)
{
    TH_LOG("dtype %d m %u n %u k %u lda %u ldb %u ldc %u ta %d tb %d "
           "bias %d relu %d alpha %g beta %g", d->dtype, d->m, d->n, d->k,
           d->lda, d->ldb, d->ldc, d->trans_a, d->trans_b, d->bias, d->relu,
           d->alpha, d->beta);
}

static void run_matmul_case(struct __test_metadata *_metadata, uint64_t *rng,
                            const struct mlu_matmul_desc *d)
{
    struct matmul_case t = { .d = *d };
    int bad;

    ASSERT_EQ(0, matmul_case_alloc(rng, &t));
    ASSERT_EQ(0, mlu_matmul_ref(d, t.a, t.b, t.bias, t.c_ref));
    ASSERT_EQ(0, mlu_matmul(d, t.a, t.b, t.bias, t.c_fast));
    EXPECT_TRUE(guard_intact(t.c_ref, t.sz.c));
    EXPECT_TRUE(guard_intact(t.c_fast, t.sz.c));
    bad = matmul_compare(_metadata, &t);
    if (bad) {
        log_matmul(_metadata, d);
    }
    EXPECT_EQ(0, bad);
    matmul_case_free(&t);
}

FIXTURE(matmul) {
    uint64_t rng;
};

FIXTURE_VARIANT(matmul) {
    enum mlu_dtype dtype;
};

FIXTURE_VARIANT_ADD(matmul, f32) { .dtype = MLU_DTYPE_F32 };
FIXTURE_VARIANT_ADD(matmul, f16) { .dtype = MLU_DTYPE_F16 };
FIXTURE_VARIANT_ADD(matmul, bf16) { .dtype = MLU_DTYPE_BF16 };
FIXTURE_VARIANT_ADD(matmul, i8) { .dtype = MLU_DTYPE_I8 };

FIXTURE_SETUP(matmul)
{
    self->rng = seed_for(variant->dtype == MLU_DTYPE_F32 ? "mm32" :
                         variant->dtype == MLU_DTYPE_F16 ? "mm16" :
                         variant->dtype == MLU_DTYPE_BF16 ? "mmbf" : "mmi8");
}

FIXTURE_TEARDOWN(matmul)
{
}

/* Many small random shapes: every transpose, ld, bias, relu, alpha, beta. */
TEST_F(matmul, random_small_shapes)
{
    struct mlu_matmul_desc d;
    int i;

    for (i = 0; i < 150; i++) {
        random_matmul_desc(&self->rng, variant->dtype, 48, &d);
        run_matmul_case(_metadata, &self->rng, &d);
    }
}

/* A few shapes past the libraries' block sizes, none a multiple of 16. */
TEST_F(matmul, random_large_shapes)
{
    struct mlu_matmul_desc d;
    int i;

    for (i = 0; i < 3; i++) {
        random_matmul_desc(&self->rng, variant->dtype, 48, &d);
        d.m = (100 + rnd_below(&self->rng, 200)) | 1;
        d.n = (100 + rnd_below(&self->rng, 200)) | 1;
        d.k = (200 + rnd_below(&self->rng, 300)) | 1;
        d.lda = (d.trans_a ? d.m : d.k) + rnd_below(&self->rng, 3);
        d.ldb = (d.trans_b ? d.k : d.n) + rnd_below(&self->rng, 3);
        d.ldc = d.n + rnd_below(&self->rng, 3);
        run_matmul_case(_metadata, &self->rng, &d);
    }
}

/* Vectors and scalars: every dimension 1 in turn. */
TEST_F(matmul, unit_dimensions)
{
    static const uint32_t shapes[][3] = {
        { 1, 1, 1 }, { 1, 37, 19 }, { 37, 1, 19 }, { 37, 19, 1 },
        { 1, 1, 300 }, { 300, 1, 1 },
    };
    struct mlu_matmul_desc d;
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        random_matmul_desc(&self->rng, variant->dtype, 8, &d);
        d.m = shapes[i][0];
        d.n = shapes[i][1];
        d.k = shapes[i][2];
        d.lda = d.trans_a ? d.m : d.k;
        d.ldb = d.trans_b ? d.k : d.n;
        d.ldc = d.n;
        run_matmul_case(_metadata, &self->rng, &d);
    }
}

/* A single row may carry any leading dimension, even past INT_MAX. */
TEST_F(matmul, single_row_huge_ld)
{
    struct mlu_matmul_desc d;

    random_matmul_desc(&self->rng, variant->dtype, 8, &d);
    d.m = 1;
    d.k = 1;
    d.trans_a = false;
    d.trans_b = false;
    d.lda = UINT32_MAX;
    d.ldb = d.n + 1;
    d.ldc = UINT32_MAX;
    run_matmul_case(_metadata, &self->rng, &d);
}

/*
 * Matmuls big enough (2^20 multiply-adds and up) for the fast path to
 * split them over the calling thread's team: the sgemm stripes of rows
 * and of columns (f32, f16, and bf16 without oneDNN), oneDNN's team and
 * the exact int8 GEMM's blocks, with 2 and 3 threads.
 */
TEST_F(matmul, split_over_a_team)
{
    static const uint32_t shapes[][3] = {
        { 300, 40, 100 }, { 20, 500, 150 }, { 1, 1500, 700 },
        { 700, 1, 1500 }, { 129, 131, 67 },
    };
    unsigned int i;
    int threads;

    for (threads = 2; threads <= 3; threads++) {
        mlu_core_set_threads(threads);
        for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            struct mlu_matmul_desc d;
            uint32_t slack = rnd_below(&self->rng, 5);

            random_matmul_desc(&self->rng, variant->dtype, 8, &d);
            d.m = shapes[i][0];
            d.n = shapes[i][1];
            d.k = shapes[i][2];
            d.lda = (d.trans_a ? d.m : d.k) + slack;
            d.ldb = (d.trans_b ? d.k : d.n) + slack;
            d.ldc = d.n + slack;
            run_matmul_case(_metadata, &self->rng, &d);
        }
    }
    mlu_core_set_threads(1);
}

/* The int32 accumulator wraps modulo 2^32 in both paths. */
TEST(matmul_int8_accumulator_wraps)
{
    /* 16384 * 2^18 = 2^32: the exact sum of k products of -128 * -128. */
    const uint32_t k = (1u << 18) + 3;
    const int32_t want = (int32_t)(uint32_t)(16384ull * k);
    struct mlu_matmul_desc d = {
        .dtype = MLU_DTYPE_I8, .m = 2, .n = 3, .k = k,
        .lda = k, .ldb = 3, .ldc = 3, .alpha = 1.0f,
    };
    int8_t *a = malloc((size_t)d.m * k), *b = malloc((size_t)k * d.n);
    int32_t c_ref[6], c_fast[6];
    int i;

    ASSERT_TRUE(a && b);
    memset(a, -128, (size_t)d.m * k);
    memset(b, -128, (size_t)k * d.n);
    ASSERT_EQ(0, mlu_matmul_ref(&d, a, b, NULL, c_ref));
    ASSERT_EQ(0, mlu_matmul(&d, a, b, NULL, c_fast));
    for (i = 0; i < 6; i++) {
        EXPECT_EQ(want, c_ref[i]);
        EXPECT_EQ(want, c_fast[i]);
    }
    free(a);
    free(b);
}

/* ---- conv2d: fast vs reference ----------------------------------------- */

struct conv_case {
    struct mlu_conv2d_desc d;
    struct mlu_conv2d_sizes sz;
    void *in, *wei, *bias, *out_ref, *out_fast;
};

static size_t conv_act(const struct mlu_conv2d_desc *d, uint32_t ch,
                       uint32_t hh, uint32_t ww, uint32_t n, uint32_t c,
                       uint32_t y, uint32_t x)
{
    if (d->layout == MLU_LAYOUT_NHWC) {
        return (((size_t)n * hh + y) * ww + x) * ch + c;
    }
    return (((size_t)n * ch + c) * hh + y) * ww + x;
}

static size_t conv_wei(const struct mlu_conv2d_desc *d, uint32_t k,
                       uint32_t cg, uint32_t r, uint32_t s)
{
    uint32_t cpg = d->c / d->groups;

    if (d->layout == MLU_LAYOUT_NHWC) {
        return (((size_t)k * d->r + r) * d->s + s) * cpg + cg;
    }
    return (((size_t)k * cpg + cg) * d->r + r) * d->s + s;
}

/* Sum of |input * weight| over one output's receptive field, plus |bias|. */
static double conv_magnitude(const struct conv_case *t, uint32_t n,
                             uint32_t k, uint32_t y, uint32_t x)
{
    const struct mlu_conv2d_desc *d = &t->d;
    uint32_t cpg = d->c / d->groups;
    uint32_t c0 = k / (d->k / d->groups) * cpg;
    double sum = 0.0;
    uint32_t cg, r, s;

    for (cg = 0; cg < cpg; cg++) {
        for (r = 0; r < d->r; r++) {
            for (s = 0; s < d->s; s++) {
                int64_t iy = (int64_t)y * d->stride_h - d->pad_h +
                             (int64_t)r * d->dilation_h;
                int64_t ix = (int64_t)x * d->stride_w - d->pad_w +
                             (int64_t)s * d->dilation_w;

                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) {
                    continue;
                }
                sum += fabs(load_any(d->dtype, t->in,
                                     conv_act(d, d->c, d->h, d->w, n,
                                              c0 + cg, iy, ix), false) *
                            load_any(d->dtype, t->wei,
                                     conv_wei(d, k, cg, r, s), false));
            }
        }
    }
    if (d->bias) {
        sum += fabs(load_any(d->dtype, t->bias, k, true));
    }
    return sum;
}

static int conv_compare(struct __test_metadata *_metadata,
                        const struct conv_case *t)
{
    const struct mlu_conv2d_desc *d = &t->d;
    uint64_t terms = (uint64_t)d->c / d->groups * d->r * d->s;
    uint32_t n, k, y, x;
    int bad = 0;

    for (n = 0; n < d->n; n++) {
        for (k = 0; k < d->k; k++) {
            for (y = 0; y < t->sz.p; y++) {
                for (x = 0; x < t->sz.q; x++) {
                    size_t o = conv_act(d, d->k, t->sz.p, t->sz.q, n, k, y, x);
                    double ref = load_any(d->dtype, t->out_ref, o, true);
                    double fast = load_any(d->dtype, t->out_fast, o, true);
                    double tol = 0.0;

                    if (d->dtype != MLU_DTYPE_I8) {
                        tol = float_tolerance(d->dtype, terms,
                                              conv_magnitude(t, n, k, y, x),
                                              ref);
                    }
                    if (!isfinite(ref) || !isfinite(fast) ||
                        fabs(ref - fast) > tol) {
                        if (!bad++) {
                            TH_LOG("out[n %u k %u y %u x %u]: fast %.9g "
                                   "ref %.9g tol %.3g", n, k, y, x, fast,
                                   ref, tol);
                        }
                    }
                }
            }
        }
    }
    return bad;
}

static void conv_case_free(struct conv_case *t)
{
    free(t->in);
    free(t->wei);
    free(t->bias);
    free(t->out_ref);
    free(t->out_fast);
}

static void log_conv(struct __test_metadata *_metadata,
                     const struct mlu_conv2d_desc *d)
{
    TH_LOG("dtype %d layout %d n %u c %u h %u w %u k %u r %u s %u "
           "stride %u,%u pad %u,%u dil %u,%u groups %u bias %d relu %d",
           d->dtype, d->layout, d->n, d->c, d->h, d->w, d->k, d->r, d->s,
           d->stride_h, d->stride_w, d->pad_h, d->pad_w, d->dilation_h,
           d->dilation_w, d->groups, d->bias, d->relu);
}

static void run_conv_case(struct __test_metadata *_metadata, uint64_t *rng,
                          const struct mlu_conv2d_desc *d)
{
    struct conv_case t = { .d = *d };
    int bad;

    ASSERT_EQ(0, mlu_conv2d_check(d, &t.sz));
    t.in = malloc(t.sz.input);
    t.wei = malloc(t.sz.weight);
    t.bias = d->bias ? malloc(t.sz.bias) : NULL;
    t.out_ref = guarded_alloc(t.sz.output);
    t.out_fast = guarded_alloc(t.sz.output);
    ASSERT_TRUE(t.in && t.wei && (t.bias || !d->bias) && t.out_ref &&
                t.out_fast);
    fill_input(rng, d->dtype, t.in, t.sz.input);
    fill_input(rng, d->dtype, t.wei, t.sz.weight);
    if (t.bias) {
        fill_output(rng, d->dtype, t.bias, t.sz.bias);
    }
    /* The output is write-only: start both from poison. */
    fill_nan(d->dtype, t.out_ref, t.sz.output);
    fill_nan(d->dtype, t.out_fast, t.sz.output);
    ASSERT_EQ(0, mlu_conv2d_ref(d, t.in, t.wei, t.bias, t.out_ref));
    ASSERT_EQ(0, mlu_conv2d(d, t.in, t.wei, t.bias, t.out_fast));
    EXPECT_TRUE(guard_intact(t.out_ref, t.sz.output));
    EXPECT_TRUE(guard_intact(t.out_fast, t.sz.output));
    bad = conv_compare(_metadata, &t);
    if (bad) {
        log_conv(_metadata, d);
    }
    EXPECT_EQ(0, bad);
    conv_case_free(&t);
}

/* A random valid conv descriptor of small size. */
static void random_conv_desc(uint64_t *rng, enum mlu_dtype dtype,
                             enum mlu_layout layout,
                             struct mlu_conv2d_desc *d)
{
    static const uint32_t group_counts[] = { 1, 1, 2, 3, 4 };

    do {
        uint32_t groups = group_counts[rnd_below(rng, 5)];

        memset(d, 0, sizeof(*d));
        d->dtype = dtype;
        d->layout = layout;
        d->groups = groups;
        d->n = 1 + rnd_below(rng, 2);
        d->c = groups * (1 + rnd_below(rng, 6));
        d->k = groups * (1 + rnd_below(rng, 6));
        d->h = 1 + rnd_below(rng, 14);
        d->w = 1 + rnd_below(rng, 14);
        d->r = 1 + rnd_below(rng, 5);
        d->s = 1 + rnd_below(rng, 5);
        d->stride_h = 1 + rnd_below(rng, 3);
        d->stride_w = 1 + rnd_below(rng, 3);
        d->pad_h = rnd_below(rng, 3);
        d->pad_w = rnd_below(rng, 3);
        d->dilation_h = 1 + (rnd_below(rng, 4) == 0 ? rnd_below(rng, 3) : 0);
        d->dilation_w = 1 + (rnd_below(rng, 4) == 0 ? rnd_below(rng, 3) : 0);
        d->bias = rnd_bool(rng);
        d->relu = rnd_bool(rng);
    } while (mlu_conv2d_check(d, NULL));
}

FIXTURE(conv2d) {
    uint64_t rng;
};

FIXTURE_VARIANT(conv2d) {
    enum mlu_dtype dtype;
    enum mlu_layout layout;
};

FIXTURE_VARIANT_ADD(conv2d, f32_nchw) { MLU_DTYPE_F32, MLU_LAYOUT_NCHW };
FIXTURE_VARIANT_ADD(conv2d, f32_nhwc) { MLU_DTYPE_F32, MLU_LAYOUT_NHWC };
FIXTURE_VARIANT_ADD(conv2d, f16_nchw) { MLU_DTYPE_F16, MLU_LAYOUT_NCHW };
FIXTURE_VARIANT_ADD(conv2d, f16_nhwc) { MLU_DTYPE_F16, MLU_LAYOUT_NHWC };
FIXTURE_VARIANT_ADD(conv2d, bf16_nchw) { MLU_DTYPE_BF16, MLU_LAYOUT_NCHW };
FIXTURE_VARIANT_ADD(conv2d, bf16_nhwc) { MLU_DTYPE_BF16, MLU_LAYOUT_NHWC };
FIXTURE_VARIANT_ADD(conv2d, i8_nchw) { MLU_DTYPE_I8, MLU_LAYOUT_NCHW };
FIXTURE_VARIANT_ADD(conv2d, i8_nhwc) { MLU_DTYPE_I8, MLU_LAYOUT_NHWC };

FIXTURE_SETUP(conv2d)
{
    char name[32];

    snprintf(name, sizeof(name), "conv%d.%d", variant->dtype, variant->layout);
    self->rng = seed_for(name);
}

FIXTURE_TEARDOWN(conv2d)
{
}

/* Random stride, padding, dilation, groups, bias and ReLU. */
TEST_F(conv2d, random_params)
{
    struct mlu_conv2d_desc d;
    int i;

    for (i = 0; i < 60; i++) {
        random_conv_desc(&self->rng, variant->dtype, variant->layout, &d);
        run_conv_case(_metadata, &self->rng, &d);
    }
}

/* Depthwise (groups == c, channel multiplier 1 or 2) and 1x1 convs. */
TEST_F(conv2d, depthwise_and_pointwise)
{
    struct mlu_conv2d_desc d;
    int i;

    for (i = 0; i < 8; i++) {
        random_conv_desc(&self->rng, variant->dtype, variant->layout, &d);
        d.c = 8 + rnd_below(&self->rng, 9);
        d.groups = i < 6 ? d.c : 1;
        d.k = i < 6 ? d.c * (1 + i % 2) : 5 + rnd_below(&self->rng, 20);
        if (i >= 6) {
            d.r = 1;
            d.s = 1;
        }
        if (mlu_conv2d_check(&d, NULL)) {
            d.pad_h = d.r;
            d.pad_w = d.s;
        }
        run_conv_case(_metadata, &self->rng, &d);
    }
}

/*
 * Grouped shapes with few channels per group, where oneDNN 2.6's GEMM int8
 * convolution was found wrong (the core splits those by group).
 */
TEST_F(conv2d, grouped_few_channels)
{
    static const uint32_t shapes[][6] = {
        /* c, k, groups, r, s, stride */
        { 2, 8, 2, 4, 2, 1 }, { 2, 8, 2, 8, 1, 1 }, { 2, 8, 2, 1, 8, 2 },
        { 4, 8, 2, 4, 1, 1 }, { 12, 18, 3, 4, 4, 2 }, { 8, 8, 4, 4, 1, 2 },
    };
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct mlu_conv2d_desc d = {
            .dtype = variant->dtype, .layout = variant->layout,
            .n = 2, .c = shapes[i][0], .h = 12, .w = 9, .k = shapes[i][1],
            .r = shapes[i][3], .s = shapes[i][4],
            .stride_h = shapes[i][5], .stride_w = shapes[i][5] + 1,
            .pad_h = 1, .pad_w = 1, .dilation_h = 1, .dilation_w = 1,
            .groups = shapes[i][2], .bias = i & 1, .relu = i & 2,
        };

        run_conv_case(_metadata, &self->rng, &d);
    }
}

/*
 * A depthwise filter, strided and dilated, that oneDNN's avx2_vnni int8
 * kernel got wrong (first seen with MLU_CORE_TEST_SEED=49426698).
 */
TEST_F(conv2d, depthwise_strided_dilated)
{
    struct mlu_conv2d_desc d = {
        .dtype = variant->dtype, .layout = variant->layout,
        .n = 1, .c = 16, .h = 8, .w = 12, .k = 16, .r = 2, .s = 4,
        .stride_h = 2, .stride_w = 1, .pad_h = 0, .pad_w = 2,
        .dilation_h = 2, .dilation_w = 1, .groups = 16, .relu = true,
    };

    run_conv_case(_metadata, &self->rng, &d);
}

/* One bigger layer, in the shape of the ResNet bench but smaller. */
TEST_F(conv2d, resnet_like)
{
    struct mlu_conv2d_desc d = {
        .dtype = variant->dtype, .layout = variant->layout,
        .n = 1, .c = 32, .h = 15, .w = 13, .k = 24, .r = 3, .s = 3,
        .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1,
        .dilation_h = 1, .dilation_w = 1, .groups = 1,
        .bias = true, .relu = true,
    };
    int threads;

    /* Also on a team: im2col, the GEMM and oneDNN split their work. */
    for (threads = 1; threads <= 3; threads += 2) {
        mlu_core_set_threads(threads);
        run_conv_case(_metadata, &self->rng, &d);
    }
    mlu_core_set_threads(1);
}

/* ---- descriptor validation --------------------------------------------- */

#define MM_OK   .dtype = MLU_DTYPE_F32, .m = 4, .n = 5, .k = 6, \
                .lda = 6, .ldb = 5, .ldc = 5, .alpha = 1.0f

static const struct {
    const char *what;
    struct mlu_matmul_desc d;
    int err;
} bad_matmuls[] = {
    { "bad dtype", { MM_OK, .dtype = (enum mlu_dtype)4 }, -EINVAL },
    { "negative dtype", { MM_OK, .dtype = (enum mlu_dtype)-1 }, -EINVAL },
    { "m 0", { MM_OK, .m = 0 }, -EINVAL },
    { "n 0", { MM_OK, .n = 0, .ldb = 1, .ldc = 1 }, -EINVAL },
    { "k 0", { MM_OK, .k = 0 }, -EINVAL },
    { "lda < k", { MM_OK, .lda = 5 }, -EINVAL },
    { "lda < m transposed", { MM_OK, .trans_a = true, .lda = 3 }, -EINVAL },
    { "ldb < n", { MM_OK, .ldb = 4 }, -EINVAL },
    { "ldb < k transposed", { MM_OK, .trans_b = true, .ldb = 5 }, -EINVAL },
    { "ldc < n", { MM_OK, .ldc = 4 }, -EINVAL },
    { "ld 0", { MM_OK, .lda = 0, .ldb = 0, .ldc = 0 }, -EINVAL },
    { "alpha NaN", { MM_OK, .alpha = NAN }, -EINVAL },
    { "beta Inf", { MM_OK, .beta = INFINITY }, -EINVAL },
    { "i8 alpha 2", { MM_OK, .dtype = MLU_DTYPE_I8, .alpha = 2.0f }, -EINVAL },
    { "i8 alpha 0", { MM_OK, .dtype = MLU_DTYPE_I8, .alpha = 0.0f }, -EINVAL },
    { "i8 beta 0.5", { MM_OK, .dtype = MLU_DTYPE_I8, .beta = 0.5f }, -EINVAL },
    { "i8 beta -1", { MM_OK, .dtype = MLU_DTYPE_I8, .beta = -1.0f }, -EINVAL },
    { "A over limit", { MM_OK, .m = 1, .k = (128u << 20) + 1,
                        .lda = (128u << 20) + 1 }, -E2BIG },
    { "C over limit", { MM_OK, .m = 2, .n = 1, .ldb = 1,
                        .ldc = (128u << 20) + 1 }, -E2BIG },
    { "A overflows 64 bits", { MM_OK, .m = UINT32_MAX, .k = UINT32_MAX,
                               .lda = UINT32_MAX }, -E2BIG },
    { "B over limit transposed", { MM_OK, .trans_b = true, .n = 2, .ldc = 2,
                                   .ldb = (128u << 20) + 1 }, -E2BIG },
};

TEST(matmul_bad_descriptors)
{
    size_t i;

    for (i = 0; i < sizeof(bad_matmuls) / sizeof(bad_matmuls[0]); i++) {
        const struct mlu_matmul_desc *d = &bad_matmuls[i].d;
        struct mlu_matmul_sizes sz = { 1, 2, 3, 4 };

        TH_LOG("%s", bad_matmuls[i].what);
        EXPECT_EQ(bad_matmuls[i].err, mlu_matmul_check(d, &sz));
        /* Sizes are only written on success. */
        EXPECT_EQ(1, sz.a);
        /* No operand may be touched: NULL pointers would crash. */
        EXPECT_EQ(bad_matmuls[i].err, mlu_matmul(d, NULL, NULL, NULL, NULL));
        EXPECT_EQ(bad_matmuls[i].err,
                  mlu_matmul_ref(d, NULL, NULL, NULL, NULL));
    }
}

TEST(matmul_extents)
{
    struct mlu_matmul_desc d = { MM_OK, .lda = 7, .trans_b = true, .ldb = 9,
                                 .ldc = 8, .bias = true };
    struct mlu_matmul_sizes sz;

    ASSERT_EQ(0, mlu_matmul_check(&d, &sz));
    EXPECT_EQ((3 * 7 + 6) * 4, sz.a);   /* 4 rows of 6, ld 7 */
    EXPECT_EQ((4 * 9 + 6) * 4, sz.b);   /* B^T: 5 rows of 6, ld 9 */
    EXPECT_EQ((3 * 8 + 5) * 4, sz.c);
    EXPECT_EQ(5 * 4, sz.bias);

    d.dtype = MLU_DTYPE_I8;
    d.bias = false;
    ASSERT_EQ(0, mlu_matmul_check(&d, &sz));
    EXPECT_EQ(3 * 7 + 6, sz.a);
    EXPECT_EQ((3 * 8 + 5) * 4, sz.c);   /* int32 output */
    EXPECT_EQ(0, sz.bias);

    /* Exactly at the limit is accepted. */
    d = (struct mlu_matmul_desc){ MM_OK, .m = 1, .n = 1, .k = 128u << 20,
                                  .lda = 128u << 20, .ldb = 1, .ldc = 1 };
    ASSERT_EQ(0, mlu_matmul_check(&d, &sz));
    EXPECT_EQ(MLU_CORE_MAX_OPERAND_BYTES, sz.a);
}

#define CONV_OK .dtype = MLU_DTYPE_F32, .layout = MLU_LAYOUT_NCHW, \
                .n = 1, .c = 4, .h = 8, .w = 8, .k = 6, .r = 3, .s = 3, \
                .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, \
                .dilation_h = 1, .dilation_w = 1, .groups = 2

static const struct {
    const char *what;
    struct mlu_conv2d_desc d;
    int err;
} bad_convs[] = {
    { "bad dtype", { CONV_OK, .dtype = (enum mlu_dtype)9 }, -EINVAL },
    { "bad layout", { CONV_OK, .layout = (enum mlu_layout)2 }, -EINVAL },
    { "n 0", { CONV_OK, .n = 0 }, -EINVAL },
    { "c 0", { CONV_OK, .c = 0 }, -EINVAL },
    { "h 0", { CONV_OK, .h = 0 }, -EINVAL },
    { "w 0", { CONV_OK, .w = 0 }, -EINVAL },
    { "k 0", { CONV_OK, .k = 0 }, -EINVAL },
    { "r 0", { CONV_OK, .r = 0 }, -EINVAL },
    { "s 0", { CONV_OK, .s = 0 }, -EINVAL },
    { "stride_h 0", { CONV_OK, .stride_h = 0 }, -EINVAL },
    { "stride_w 0", { CONV_OK, .stride_w = 0 }, -EINVAL },
    { "dilation_h 0", { CONV_OK, .dilation_h = 0 }, -EINVAL },
    { "dilation_w 0", { CONV_OK, .dilation_w = 0 }, -EINVAL },
    { "groups 0", { CONV_OK, .groups = 0 }, -EINVAL },
    { "groups not dividing c", { CONV_OK, .c = 5 }, -EINVAL },
    { "groups not dividing k", { CONV_OK, .k = 7 }, -EINVAL },
    { "filter taller than input", { CONV_OK, .r = 11 }, -EINVAL },
    { "dilated filter too wide", { CONV_OK, .dilation_w = 5 }, -EINVAL },
    { "filter span overflows 32 bits", { CONV_OK, .r = 3,
                                         .dilation_h = UINT32_MAX }, -EINVAL },
    { "input over limit", { CONV_OK, .n = 1u << 20, .c = 2, .groups = 1,
                            .h = 16, .w = 16 }, -E2BIG },
    { "output over limit", { CONV_OK, .c = 1, .groups = 1, .r = 1, .s = 1,
                             .pad_h = 0, .pad_w = 0, .k = 1u << 24 }, -E2BIG },
    { "output height past 32 bits", { CONV_OK, .h = UINT32_MAX,
                                      .pad_h = UINT32_MAX }, -E2BIG },
    { "input overflows 64 bits", { CONV_OK, .n = UINT32_MAX, .c = UINT32_MAX,
                                   .groups = 1, .h = UINT32_MAX,
                                   .w = UINT32_MAX }, -E2BIG },
};

TEST(conv2d_bad_descriptors)
{
    size_t i;

    for (i = 0; i < sizeof(bad_convs) / sizeof(bad_convs[0]); i++) {
        const struct mlu_conv2d_desc *d = &bad_convs[i].d;

        TH_LOG("%s", bad_convs[i].what);
        EXPECT_EQ(bad_convs[i].err, mlu_conv2d_check(d, NULL));
        EXPECT_EQ(bad_convs[i].err, mlu_conv2d(d, NULL, NULL, NULL, NULL));
        EXPECT_EQ(bad_convs[i].err,
                  mlu_conv2d_ref(d, NULL, NULL, NULL, NULL));
    }
}

TEST(conv2d_extents)
{
    struct mlu_conv2d_desc d = {
        .dtype = MLU_DTYPE_BF16, .layout = MLU_LAYOUT_NHWC,
        .n = 2, .c = 64, .h = 56, .w = 55, .k = 32, .r = 3, .s = 5,
        .stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 0,
        .dilation_h = 1, .dilation_w = 2, .groups = 4, .bias = true,
    };
    struct mlu_conv2d_sizes sz;

    ASSERT_EQ(0, mlu_conv2d_check(&d, &sz));
    EXPECT_EQ((56 + 2 - 3) / 2 + 1, sz.p);      /* 28 */
    EXPECT_EQ(55 - (2 * 4 + 1) + 1, sz.q);      /* 47 */
    EXPECT_EQ(2ull * 64 * 56 * 55 * 2, sz.input);
    EXPECT_EQ(32ull * 16 * 3 * 5 * 2, sz.weight);
    EXPECT_EQ(2ull * 32 * 28 * 47 * 2, sz.output);
    EXPECT_EQ(32 * 2, sz.bias);

    d.dtype = MLU_DTYPE_I8;
    ASSERT_EQ(0, mlu_conv2d_check(&d, &sz));
    EXPECT_EQ(2ull * 64 * 56 * 55, sz.input);
    EXPECT_EQ(2ull * 32 * 28 * 47 * 4, sz.output);
    EXPECT_EQ(32 * 4, sz.bias);
}

/* ---- conversions ------------------------------------------------------- */

static float from_bits(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static const struct {
    uint32_t f32;
    uint16_t f16;
} to_f16_cases[] = {
    { 0x3f800000, 0x3c00 },     /* 1 */
    { 0xc0000000, 0xc000 },     /* -2 */
    { 0x80000000, 0x8000 },     /* -0 */
    { 0x477fe000, 0x7bff },     /* 65504, largest half */
    { 0x477fefff, 0x7bff },     /* just below the halfway point */
    { 0x477ff000, 0x7c00 },     /* 65520: halfway, ties to even = Inf */
    { 0x7f7fffff, 0x7c00 },     /* FLT_MAX */
    { 0xff800000, 0xfc00 },     /* -Inf */
    { 0x3f801000, 0x3c00 },     /* 1 + 2^-11: tie, to even (down) */
    { 0x3f803000, 0x3c02 },     /* 1 + 3 * 2^-11: tie, to even (up) */
    { 0x3f801001, 0x3c01 },     /* just above the tie */
    { 0x38800000, 0x0400 },     /* 2^-14, smallest normal */
    { 0x387fc000, 0x03ff },     /* largest subnormal */
    { 0x387fe000, 0x0400 },     /* rounds up into the normals */
    { 0x33800000, 0x0001 },     /* 2^-24, smallest subnormal */
    { 0x33000000, 0x0000 },     /* 2^-25: tie, to even = 0 */
    { 0x33000001, 0x0001 },     /* just above: 2^-24 */
    { 0x34400000, 0x0003 },     /* 3 * 2^-24, exact */
    { 0x33c00000, 0x0002 },     /* 1.5 * 2^-24: tie, to even = 2 */
    { 0x00000001, 0x0000 },     /* f32 subnormal */
    { 0x80000001, 0x8000 },
    { 0x7fc00000, 0x7e00 },     /* quiet NaN */
    { 0x7f800001, 0x7e00 },     /* signalling NaN comes out quiet */
    { 0xffe00000, 0xff00 },     /* NaN sign and top payload bit kept */
};

TEST(f16_known_bits)
{
    size_t i;

    for (i = 0; i < sizeof(to_f16_cases) / sizeof(to_f16_cases[0]); i++) {
        uint16_t h = mlu_f32_to_f16(from_bits(to_f16_cases[i].f32));

        if (h != to_f16_cases[i].f16) {
            TH_LOG("f32 0x%08x -> f16 0x%04x, want 0x%04x",
                   to_f16_cases[i].f32, h, to_f16_cases[i].f16);
        }
        EXPECT_EQ(to_f16_cases[i].f16, h);
    }
    EXPECT_EQ(1.0f, mlu_f16_to_f32(0x3c00));
    EXPECT_EQ(65504.0f, mlu_f16_to_f32(0x7bff));
    EXPECT_EQ(0x1p-24f, mlu_f16_to_f32(0x0001));
    EXPECT_EQ(0x3ffp-24f, mlu_f16_to_f32(0x03ff));
    EXPECT_EQ(-0x1p-14f, mlu_f16_to_f32(0x8400));
    EXPECT_EQ(0.333251953125f, mlu_f16_to_f32(0x3555));
    EXPECT_TRUE(isinf(mlu_f16_to_f32(0x7c00)));
    EXPECT_TRUE(signbit(mlu_f16_to_f32(0x8000)));
    EXPECT_TRUE(isnan(mlu_f16_to_f32(0x7c01)));
}

static const struct {
    uint32_t f32;
    uint16_t bf16;
} to_bf16_cases[] = {
    { 0x3f800000, 0x3f80 },     /* 1 */
    { 0x3f808000, 0x3f80 },     /* tie, to even (down) */
    { 0x3f818000, 0x3f82 },     /* tie, to even (up) */
    { 0x3f808001, 0x3f81 },     /* just above the tie */
    { 0x3f807fff, 0x3f80 },     /* just below the tie */
    { 0x7f7fffff, 0x7f80 },     /* FLT_MAX rounds to Inf */
    { 0x7f7f7fff, 0x7f7f },     /* largest that stays finite */
    { 0xff800000, 0xff80 },     /* -Inf */
    { 0x00018000, 0x0002 },     /* subnormal tie, to even (up) */
    { 0x00008000, 0x0000 },     /* subnormal tie, to even (down) */
    { 0x80000000, 0x8000 },     /* -0 */
    { 0x7f800001, 0x7fc0 },     /* signalling NaN comes out quiet */
    { 0xffc00000, 0xffc0 },     /* NaN sign kept */
    { 0x7fffffff, 0x7fff },     /* NaN payload not rounded into Inf */
};

TEST(bf16_known_bits)
{
    size_t i;

    for (i = 0; i < sizeof(to_bf16_cases) / sizeof(to_bf16_cases[0]); i++) {
        uint16_t b = mlu_f32_to_bf16(from_bits(to_bf16_cases[i].f32));

        if (b != to_bf16_cases[i].bf16) {
            TH_LOG("f32 0x%08x -> bf16 0x%04x, want 0x%04x",
                   to_bf16_cases[i].f32, b, to_bf16_cases[i].bf16);
        }
        EXPECT_EQ(to_bf16_cases[i].bf16, b);
    }
    EXPECT_EQ(1.0f, mlu_bf16_to_f32(0x3f80));
    EXPECT_EQ(-0x1p-133f, mlu_bf16_to_f32(0x8001));
}

/* Every f16 and bf16 value survives a trip through f32 exactly. */
TEST(round_trip_exhaustive)
{
    uint32_t v;

    for (v = 0; v <= 0xffff; v++) {
        uint16_t h = v;
        float f16 = mlu_f16_to_f32(h);
        float bf = mlu_bf16_to_f32(h);

        if (isnan(f16)) {
            /* NaNs keep sign and payload and come back quiet. */
            ASSERT_EQ((uint16_t)(h | 0x0200), mlu_f32_to_f16(f16));
        } else {
            ASSERT_EQ(h, mlu_f32_to_f16(f16));
        }
        if (isnan(bf)) {
            ASSERT_EQ((uint16_t)(h | 0x40), mlu_f32_to_bf16(bf));
        } else {
            ASSERT_EQ(h, mlu_f32_to_bf16(bf));
        }
    }
}

/*
 * Round to nearest, ties to even, checked from its definition: the chosen
 * value is at least as close as both neighbours, and even on a tie.
 */
static bool nearest_even(float x, uint16_t got, float (*widen)(uint16_t))
{
    uint16_t mag = got & 0x7fff;
    double ax = fabs((double)x);
    double d = fabs(ax - fabs((double)widen(mag)));
    double up = fabs(ax - fabs((double)widen(mag + 1)));
    double down = mag ? fabs(ax - fabs((double)widen(mag - 1))) : INFINITY;

    if (!!signbit(x) != !!(got & 0x8000)) {
        return false;
    }
    if (d > up || d > down) {
        return false;
    }
    return (d != up && d != down) || !(mag & 1);
}

TEST(conversions_round_to_nearest_even)
{
    uint64_t rng = seed_for("convert");
    int i;

    for (i = 0; i < 1000000; i++) {
        /* Magnitudes around each format's normal and subnormal range. */
        float x = from_bits((uint32_t)rnd_next(&rng));
        float xh = ldexpf(rnd_unit(&rng), (int)rnd_below(&rng, 44) - 28);

        if (isfinite(x) && fabsf(x) < 0x1.fefffep127f &&
            !nearest_even(x, mlu_f32_to_bf16(x), mlu_bf16_to_f32)) {
            TH_LOG("bf16 of %a is 0x%04x", x, mlu_f32_to_bf16(x));
            ASSERT_TRUE(false);
        }
        if (fabsf(xh) < 65504.0f &&
            !nearest_even(xh, mlu_f32_to_f16(xh), mlu_f16_to_f32)) {
            TH_LOG("f16 of %a is 0x%04x", xh, mlu_f32_to_f16(xh));
            ASSERT_TRUE(false);
        }
    }
}

/*
 * The vectorised array conversions agree bit for bit with the scalar ones,
 * at every ISA level up to the core's.
 */
TEST(array_conversions_match_scalar)
{
    enum { N = 4099 };
    static uint32_t bits[N];
    static uint16_t half[N], out[N];
    static float narrow_in[N], wide[N];
    uint64_t rng = seed_for("arrays");
    enum mlu_core_isa isa;
    int t, i;

    for (i = 0; i < N; i++) {
        bits[i] = (uint32_t)rnd_next(&rng);
        /* Half of them near f16's range so that not all saturate. */
        if (i & 1) {
            bits[i] = (bits[i] & 0x807fffff) | (uint32_t)(100 + i % 50) << 23;
        }
        half[i] = bits[i] >> 16;
    }
    memcpy(narrow_in, bits, sizeof(bits));
    for (isa = MLU_CORE_ISA_GENERIC; isa <= mlu_core_isa(); isa++)
    for (t = MLU_DTYPE_F16; t <= MLU_DTYPE_BF16; t++) {
        mlu_core_from_f32(isa, t, narrow_in, N, out);
        for (i = 0; i < N; i++) {
            uint16_t want = t == MLU_DTYPE_F16 ?
                            mlu_f32_to_f16(from_bits(bits[i])) :
                            mlu_f32_to_bf16(from_bits(bits[i]));

            ASSERT_EQ(want, out[i]) TH_LOG("%s dtype %d f32 0x%08x",
                                            mlu_core_isa_name(isa), t, bits[i]);
        }
        mlu_core_to_f32(isa, t, half, N, wide);
        for (i = 0; i < N; i++) {
            float want = t == MLU_DTYPE_F16 ? mlu_f16_to_f32(half[i]) :
                                             mlu_bf16_to_f32(half[i]);

            ASSERT_EQ(0, memcmp(&want, &wide[i], sizeof(want)))
                TH_LOG("%s dtype %d 0x%04x", mlu_core_isa_name(isa), t,
                       half[i]);
        }
    }
}

#if defined(__x86_64__)
/* The CPU's own conversion instruction as a second oracle for f16. */
__attribute__((target("f16c")))
static uint16_t hw_f32_to_f16(float f)
{
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

TEST(f16_matches_f16c)
{
    uint64_t rng = seed_for("f16c");
    int i;

    if (!__builtin_cpu_supports("f16c")) {
        SKIP(return, "CPU has no F16C");
    }
    for (i = 0; i < 1000000; i++) {
        uint32_t u = (uint32_t)rnd_next(&rng);
        float f = from_bits(u);

        ASSERT_EQ(hw_f32_to_f16(f), mlu_f32_to_f16(f))
            TH_LOG("f32 0x%08x", u);
    }
}
#endif

/* ---- int8 exactness on every kernel ------------------------------------ */

/*
 * The worst cases for a saturating 16-bit multiply-add: every product is
 * one of 127 x 127, 127 x -128, -128 x 127 or -128 x -128 (row i of A and
 * column j of B hold one extreme each).  The sums have a closed form, so
 * this checks the fast path against arithmetic, not against the reference.
 */
static int8_t extreme(uint32_t index)
{
    return index & 1 ? 127 : -128;
}

TEST(matmul_int8_extremes_exact)
{
    const uint32_t m = 37, n = 41, k = 301;
    struct mlu_matmul_desc d = {
        .dtype = MLU_DTYPE_I8, .m = m, .n = n, .k = k,
        .lda = k, .ldb = n, .ldc = n, .alpha = 1.0f,
    };
    int8_t *a = malloc((size_t)m * k), *b = malloc((size_t)k * n);
    int32_t *c = malloc((size_t)m * n * sizeof(*c));
    uint32_t i, j, l;

    ASSERT_TRUE(a && b && c);
    for (l = 0; l < k; l++) {
        for (i = 0; i < m; i++) {
            a[(size_t)i * k + l] = extreme(i);
        }
        for (j = 0; j < n; j++) {
            b[(size_t)l * n + j] = extreme(j / 2);
        }
    }
    ASSERT_EQ(0, mlu_matmul(&d, a, b, NULL, c));
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            int32_t want = (int32_t)k * extreme(i) * extreme(j / 2);

            ASSERT_EQ(want, c[(size_t)i * n + j])
                TH_LOG("C[%u][%u] on %s (%s)", i, j,
                       mlu_core_isa_name(mlu_core_isa()),
                       mlu_core_int8_backend());
        }
    }
    free(a);
    free(b);
    free(c);
}

/*
 * A conv whose every dot product is odd and past 2^24 in magnitude: an
 * accumulator that goes through f32 anywhere loses its last bit.
 */
TEST(conv2d_int8_long_dot_products_exact)
{
    /* 129 channels x 3 x 3 = 1161 terms of 127 x 127 = 16129 each. */
    struct mlu_conv2d_desc d = {
        .dtype = MLU_DTYPE_I8, .n = 1, .c = 129, .h = 3, .w = 3, .k = 2,
        .r = 3, .s = 3, .stride_h = 1, .stride_w = 1, .dilation_h = 1,
        .dilation_w = 1, .groups = 1,
    };
    const int32_t want = 1161 * 16129;
    struct mlu_conv2d_sizes sz;
    int8_t in[129 * 9], wei[2 * 129 * 9];
    int32_t out[2];
    int layout;

    memset(in, 127, sizeof(in));
    memset(wei, 127, sizeof(wei));
    for (layout = MLU_LAYOUT_NCHW; layout <= MLU_LAYOUT_NHWC; layout++) {
        d.layout = layout;
        ASSERT_EQ(0, mlu_conv2d_check(&d, &sz));
        ASSERT_EQ(sizeof(out), sz.output);
        ASSERT_EQ(0, mlu_conv2d(&d, in, wei, NULL, out));
        EXPECT_EQ(want, out[0]) TH_LOG("layout %d on %s (%s)", layout,
                                       mlu_core_isa_name(mlu_core_isa()),
                                       mlu_core_int8_backend());
        EXPECT_EQ(want, out[1]);
    }
}

/* Random op(A), op(B) and C for one exact-GEMM case, and its oracle. */
static void igemm_check(struct __test_metadata *_metadata, uint64_t *rng,
                        enum mlu_core_isa isa, struct mlu_matmul_desc *d)
{
    struct matmul_case t = { .d = *d };
    struct mlu_igemm g;

    ASSERT_EQ(0, matmul_case_alloc(rng, &t));
    ASSERT_EQ(0, mlu_matmul_ref(&t.d, t.a, t.b, NULL, t.c_ref));
    g = mlu_igemm_of_matmul(d, t.a, t.b, t.c_fast);
    ASSERT_EQ(0, mlu_igemm_exact(isa, &g));
    EXPECT_EQ(0, matmul_compare(_metadata, &t))
        TH_LOG("kernel for %s", mlu_core_isa_name(isa));
    matmul_case_free(&t);
}

/*
 * Every tile kernel of the exact int8 GEMM that this CPU can run, whatever
 * the core itself picked: shapes around the tile and block edges, both
 * transposes, C accumulated or not, several team sizes.
 */
TEST(igemm_every_kernel_matches_reference)
{
    static const enum mlu_core_isa levels[] = {
        MLU_CORE_ISA_GENERIC, MLU_CORE_ISA_SSE41, MLU_CORE_ISA_AVX2,
        MLU_CORE_ISA_AVX512_CORE,
    };
    uint64_t rng = seed_for("igemm");
    unsigned int li;
    int iter;

    for (li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
        if (levels[li] > mlu_core_isa()) {
            continue;
        }
        for (iter = 0; iter < 24; iter++) {
            struct mlu_matmul_desc d;

            random_matmul_desc(&rng, MLU_DTYPE_I8, iter < 22 ? 40 : 300, &d);
            d.bias = false;
            d.relu = false;
            if (iter >= 22) {
                /* Past one block of k (1024), ending on an odd k. */
                d.k = 1025 + 2 * rnd_below(&rng, 500);
                d.lda = d.trans_a ? d.m : d.k;
                d.ldb = d.trans_b ? d.k : d.n;
            }
            mlu_core_set_threads(1 + iter % 3);
            igemm_check(_metadata, &rng, levels[li], &d);
        }
    }
    mlu_core_set_threads(1);
}

/* The team size belongs to the thread that set it. */
static void *read_threads(void *arg)
{
    int *seen = arg;

    seen[0] = mlu_core_threads();
    mlu_core_set_threads(5);
    seen[1] = mlu_core_threads();
    return NULL;
}

TEST(threads_setting_is_per_thread)
{
    pthread_t t;
    int seen[2];

    mlu_core_set_threads(3);
    ASSERT_EQ(0, pthread_create(&t, NULL, read_threads, seen));
    ASSERT_EQ(0, pthread_join(t, NULL));
    EXPECT_EQ(1, seen[0]);
    EXPECT_EQ(5, seen[1]);
    EXPECT_EQ(3, mlu_core_threads());
    mlu_core_set_threads(0);
    EXPECT_EQ(1, mlu_core_threads());
}

/* ---- concurrency ------------------------------------------------------- */

struct worker {
    struct __test_metadata *metadata;
    int id;
    int failures;
};

/* Each worker runs its own mix of ops and checks every result. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = test_seed ^ (0x1234567ull * (w->id + 1));
    int iter;

    /* Each caller its own team size, as each card has. */
    mlu_core_set_threads(1 + w->id % 2);

    for (iter = 0; iter < 6; iter++) {
        enum mlu_dtype dtype = (enum mlu_dtype)((w->id + iter) % 4);
        struct matmul_case t = { 0 };
        struct conv_case ct = { 0 };

        random_matmul_desc(&rng, dtype, 64, &t.d);
        if (matmul_case_alloc(&rng, &t) ||
            mlu_matmul_ref(&t.d, t.a, t.b, t.bias, t.c_ref) ||
            mlu_matmul(&t.d, t.a, t.b, t.bias, t.c_fast) ||
            matmul_compare(w->metadata, &t)) {
            w->failures++;
        }
        matmul_case_free(&t);

        random_conv_desc(&rng, dtype, (enum mlu_layout)(iter & 1), &ct.d);
        if (mlu_conv2d_check(&ct.d, &ct.sz)) {
            w->failures++;
            continue;
        }
        ct.in = malloc(ct.sz.input);
        ct.wei = malloc(ct.sz.weight);
        ct.bias = malloc(ct.sz.bias ? ct.sz.bias : 1);
        ct.out_ref = malloc(ct.sz.output);
        ct.out_fast = malloc(ct.sz.output);
        if (!ct.in || !ct.wei || !ct.bias || !ct.out_ref || !ct.out_fast) {
            w->failures++;
            conv_case_free(&ct);
            continue;
        }
        fill_input(&rng, dtype, ct.in, ct.sz.input);
        fill_input(&rng, dtype, ct.wei, ct.sz.weight);
        fill_output(&rng, dtype, ct.bias, ct.sz.bias);
        if (mlu_conv2d_ref(&ct.d, ct.in, ct.wei, ct.bias, ct.out_ref) ||
            mlu_conv2d(&ct.d, ct.in, ct.wei, ct.bias, ct.out_fast) ||
            conv_compare(w->metadata, &ct)) {
            w->failures++;
        }
        conv_case_free(&ct);
    }
    return NULL;
}

TEST(concurrent_callers)
{
    enum { WORKERS = 4 };
    pthread_t threads[WORKERS];
    struct worker workers[WORKERS];
    int i;

    for (i = 0; i < WORKERS; i++) {
        workers[i] = (struct worker){ .metadata = _metadata, .id = i };
        ASSERT_EQ(0, pthread_create(&threads[i], NULL, worker_main,
                                    &workers[i]));
    }
    for (i = 0; i < WORKERS; i++) {
        ASSERT_EQ(0, pthread_join(threads[i], NULL));
    }
    for (i = 0; i < WORKERS; i++) {
        EXPECT_EQ(0, workers[i].failures) TH_LOG("worker %d", i);
    }
}

TEST_HARNESS_MAIN
