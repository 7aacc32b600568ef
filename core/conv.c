/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the fast conv2d.
 *
 * oneDNN convolution in layouts of its choosing, the caller's NCHW/NHWC
 * tensors reordered in and out (f32, bf16 and, where oneDNN's int8 kernels
 * are exact, int8 natively; f16 through f32).  Elsewhere int8 runs as an
 * im2col and the core's exact int8 GEMM (igemm.c).
 * Documentation/compute-core.rst has the measurements behind the choices.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlu_core.h"
#include "mlu_core_int.h"
#include "mlu_core_onednn.h"

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
    bool nhwc = d->layout == MLU_LAYOUT_NHWC;
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

static dnnl_data_type_t onednn_in_type(enum mlu_dtype dtype)
{
    switch (dtype) {
    case MLU_DTYPE_F16:
        return dnnl_f16;
    case MLU_DTYPE_BF16:
        return dnnl_bf16;
    case MLU_DTYPE_I8:
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

    if (d->dtype != MLU_DTYPE_I8 || d->groups == 1) {
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
static dnnl_status_t conv_onednn(const struct mlu_conv2d_desc *d,
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
    dnnl_engine_t engine = mlu_core_onednn_engine();
    dnnl_data_type_t in_type = onednn_in_type(d->dtype);
    dnnl_data_type_t out_type = d->dtype == MLU_DTYPE_I8 ? dnnl_s32 : in_type;
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

    d32.dtype = MLU_DTYPE_F32;
    if (!in32 || !wei32 || !out32 || (d->bias && !bias32)) {
        goto out;
    }
    mlu_core_to_f32(mlu_core_isa(), d->dtype, input, in_elems, in32);
    mlu_core_to_f32(mlu_core_isa(), d->dtype, weight, wei_elems, wei32);
    if (bias32) {
        mlu_core_to_f32(mlu_core_isa(), d->dtype, bias, d->k, bias32);
    }
    struct conv_view view = { d->c, d->k };

    if (conv_onednn(&d32, sz, &view, in32, wei32, bias32, out32) !=
        dnnl_success) {
        ret = mlu_conv2d_ref(&d32, in32, wei32, bias32, out32);
        if (ret) {
            goto out;
        }
    }
    mlu_core_from_f32(mlu_core_isa(), d->dtype, out32, out_elems, output);
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
            size_t o = d->layout == MLU_LAYOUT_NHWC ? i * d->k + k :
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
    bool nhwc = d->layout == MLU_LAYOUT_NHWC;
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
        st = conv_onednn(&one, sz, &view, input + g * c_step,
                         weight + g * w_step, NULL, output + g * k_step);
    }
    return st;
}

/* The int8 conv without bias and ReLU by oneDNN, where it is exact. */
static dnnl_status_t conv_int8_onednn(const struct mlu_conv2d_desc *plain,
                                      const struct mlu_conv2d_sizes *sz,
                                      const void *input, const void *weight,
                                      int32_t *output)
{
    struct conv_view view = { plain->c, plain->k };
    dnnl_status_t st;

    st = conv_onednn(plain, sz, &view, input, weight, NULL, output);
    if (st == dnnl_unimplemented && plain->groups > 1) {
        st = conv_int8_by_group(plain, sz, input, weight, output);
    }
    return st;
}

/* im2col buffers hold at most this much (at least one output row). */
#define IM2COL_CHUNK_BYTES (8u << 20)

/* Products in one output of a conv: C/groups x R x S. */
static size_t conv_taps(const struct mlu_conv2d_desc *d)
{
    return (size_t)d->c / d->groups * d->r * d->s;
}

/*
 * NCHW im2col of image @n, group @g, output rows [y0, y1): C/groups x R x S
 * rows (the weights' order) of (y1 - y0) x Q columns.
 */
static void im2col_nchw(const struct mlu_conv2d_desc *d,
                        const struct mlu_conv2d_sizes *sz, const int8_t *in,
                        uint32_t n, uint32_t g, uint32_t y0, uint32_t y1,
                        int8_t *col)
{
    uint32_t cg = d->c / d->groups;
    size_t per_channel = (size_t)d->r * d->s * (y1 - y0) * sz->q;
    int threads = mlu_core_threads();
    long c;

#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (c = 0; c < (long)cg; c++) {
        const int8_t *plane = in + ((size_t)n * d->c + g * cg + c) *
                              d->h * d->w;
        int8_t *out = col + c * per_channel;
        uint32_t r, s, y, x;

        for (r = 0; r < d->r; r++) {
            for (s = 0; s < d->s; s++) {
                for (y = y0; y < y1; y++) {
                    int64_t iy = mlu_conv_src_pos(y, r, d->stride_h, d->pad_h,
                                                  d->dilation_h, d->h);

                    for (x = 0; x < sz->q; x++) {
                        int64_t ix =
                            mlu_conv_src_pos(x, s, d->stride_w, d->pad_w,
                                             d->dilation_w, d->w);

                        *out++ = iy < 0 || ix < 0 ? 0 :
                                 plane[(size_t)iy * d->w + ix];
                    }
                }
            }
        }
    }
}

/*
 * NHWC im2col: (y1 - y0) x Q rows of R x S x C/groups columns (the
 * weights' order), channel runs copied whole.
 */
static void im2col_nhwc(const struct mlu_conv2d_desc *d,
                        const struct mlu_conv2d_sizes *sz, const int8_t *in,
                        uint32_t n, uint32_t g, uint32_t y0, uint32_t y1,
                        int8_t *col)
{
    uint32_t cg = d->c / d->groups;
    size_t per_row = (size_t)sz->q * d->r * d->s * cg;
    int threads = mlu_core_threads();
    long y;

#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (y = y0; y < (long)y1; y++) {
        int8_t *out = col + (y - y0) * per_row;
        uint32_t r, s, x;

        for (x = 0; x < sz->q; x++) {
            for (r = 0; r < d->r; r++) {
                int64_t iy = mlu_conv_src_pos(y, r, d->stride_h, d->pad_h,
                                              d->dilation_h, d->h);

                for (s = 0; s < d->s; s++, out += cg) {
                    int64_t ix = mlu_conv_src_pos(x, s, d->stride_w, d->pad_w,
                                                  d->dilation_w, d->w);

                    if (iy < 0 || ix < 0) {
                        memset(out, 0, cg);
                    } else {
                        memcpy(out, in + (((size_t)n * d->h + iy) * d->w +
                                          ix) * d->c + g * cg, cg);
                    }
                }
            }
        }
    }
}

/*
 * The GEMM for output rows [y0, y1) of image @n, group @g, on the im2col
 * matrix @col: weights x col for NCHW, col x weights^T for NHWC.
 */
static struct mlu_igemm conv_gemm(const struct mlu_conv2d_desc *d,
                                  const struct mlu_conv2d_sizes *sz,
                                  const int8_t *weight, const int8_t *col,
                                  int32_t *out, uint32_t n, uint32_t g,
                                  uint32_t y0, uint32_t y1)
{
    uint32_t kg = d->k / d->groups;
    uint32_t taps = conv_taps(d);     /* the weights' extent bounds it */
    uint32_t cols = (y1 - y0) * sz->q;
    const int8_t *w = weight + (size_t)g * kg * taps;

    if (d->layout == MLU_LAYOUT_NHWC) {
        return (struct mlu_igemm) {
            .m = cols, .n = kg, .k = taps,
            .a = col, .a_rs = taps, .a_cs = 1,
            .b = w, .b_rs = 1, .b_cs = taps,
            .c = out + ((size_t)n * sz->p + y0) * sz->q * d->k + g * kg,
            .ldc = d->k,
        };
    }
    return (struct mlu_igemm) {
        .m = kg, .n = cols, .k = taps,
        .a = w, .a_rs = taps, .a_cs = 1,
        .b = col, .b_rs = cols, .b_cs = 1,
        .c = out + (((size_t)n * d->k + g * kg) * sz->p + y0) * sz->q,
        .ldc = (size_t)sz->p * sz->q,
    };
}

/*
 * The int8 conv without bias and ReLU as im2col and the core's exact
 * GEMM, a chunk of output rows at a time; 0 or -ENOMEM.
 */
static int conv_int8_exact(const struct mlu_conv2d_desc *plain,
                           const struct mlu_conv2d_sizes *sz,
                           const int8_t *input, const int8_t *weight,
                           int32_t *output)
{
    size_t row_bytes = conv_taps(plain) * sz->q;
    uint32_t chunk = IM2COL_CHUNK_BYTES / row_bytes;
    uint32_t n, g, y0;
    int8_t *col;
    int ret = 0;

    chunk = chunk < 1 ? 1 : chunk > sz->p ? sz->p : chunk;
    col = mlu_core_scratch_get(row_bytes * chunk);
    if (!col) {
        return -ENOMEM;
    }
    for (n = 0; n < plain->n && !ret; n++) {
        for (g = 0; g < plain->groups && !ret; g++) {
            for (y0 = 0; y0 < sz->p && !ret; y0 += chunk) {
                uint32_t y1 = sz->p - y0 < chunk ? sz->p : y0 + chunk;
                struct mlu_igemm gemm = conv_gemm(plain, sz, weight, col,
                                                  output, n, g, y0, y1);

                if (plain->layout == MLU_LAYOUT_NHWC) {
                    im2col_nhwc(plain, sz, input, n, g, y0, y1, col);
                } else {
                    im2col_nchw(plain, sz, input, n, g, y0, y1, col);
                }
                ret = mlu_igemm_exact(mlu_core_isa(), &gemm);
            }
        }
    }
    mlu_core_scratch_put(col);
    return ret;
}

/*
 * oneDNN 2.6's int8 convs (VNNI kernels) take their int32 sums through
 * f32 on the way out, which rounds sums past 2^24 (seen on avx2_vnni and
 * avx512_core_vnni/bf16).  A dot product of at most 1024 int8 products
 * stays within 1024 x 2^14 = 2^24, where f32 is exact.
 */
#define ONEDNN_CONV_EXACT_TERMS 1024

/*
 * Grouped int8 convs stay off oneDNN: besides the few-channel shapes its
 * GEMM kernel got wrong, its avx2_vnni depthwise kernel was found wrong
 * outright (a depthwise 2x4 filter with stride 2,1 and dilation 2,1,
 * MLU_CORE_TEST_SEED=49426698); the exact path splits them by group.
 */
static bool conv_int8_onednn_exact(const struct mlu_conv2d_desc *d)
{
    return mlu_core_onednn_int8_exact(mlu_core_isa()) && d->groups == 1 &&
           conv_taps(d) <= ONEDNN_CONV_EXACT_TERMS;
}

/*
 * oneDNN's int8 kernels take the int32 accumulator through f32 for bias
 * and post-ops too; that stage stays in integers here.
 */
static int conv_int8(const struct mlu_conv2d_desc *d,
                     const struct mlu_conv2d_sizes *sz, const void *input,
                     const void *weight, const int32_t *bias,
                     int32_t *output)
{
    struct mlu_conv2d_desc plain = *d;
    int ret = -EOPNOTSUPP;

    plain.bias = false;
    plain.relu = false;
    if (conv_int8_onednn_exact(d)) {
        dnnl_status_t st = conv_int8_onednn(&plain, sz, input, weight,
                                            output);

        if (st == dnnl_success) {
            ret = 0;
        } else if (st == dnnl_out_of_memory) {
            return -ENOMEM;
        }
    }
    if (ret) {
        ret = conv_int8_exact(&plain, sz, input, weight, output);
    }
    if (!ret && (d->bias || d->relu)) {
        conv_epilogue_int8(d, sz, bias, output);
    }
    return ret;
}

int mlu_conv2d(const struct mlu_conv2d_desc *d, const void *input,
               const void *weight, const void *bias, void *output)
{
    struct conv_view view = { d->c, d->k };
    struct mlu_conv2d_sizes sz;
    dnnl_status_t st;
    int ret = mlu_conv2d_check(d, &sz);

    if (ret) {
        return ret;
    }
    if (d->dtype == MLU_DTYPE_I8) {
        return conv_int8(d, &sz, input, weight, bias, output);
    }
    st = conv_onednn(d, &sz, &view, input, weight, bias, output);
    if (st == dnnl_success) {
        return 0;
    }
    if (st == dnnl_out_of_memory) {
        return -ENOMEM;
    }
    if (d->dtype == MLU_DTYPE_F32) {
        return mlu_conv2d_ref(d, input, weight, bias, output);
    }
    return conv_via_f32(d, &sz, input, weight, bias, output);
}
