/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: matmul and conv2d on host buffers.
 *
 * A plain C library with no QEMU dependency.  The device model gathers the
 * operands of a command into host buffers, calls one of the functions below
 * and scatters the result back; host unit tests and benchmarks call it
 * directly.
 *
 * Two implementations of every operation:
 *   mlu_*_ref()  straightforward loops, the oracle for tests;
 *   mlu_*()      the fast path, built on OpenBLAS / oneDNN and the core's
 *                own exact int8 kernels, chosen from the host CPU's
 *                features at run time (mlu_core_isa()).
 * Both accept exactly the same descriptors and return the same errors, and
 * int8 results are bit-identical on every host.
 *
 * All functions are thread safe; they may be called concurrently from
 * several device worker threads.  Each calling thread keeps up to 64 MiB
 * of scratch memory between calls (freed when the thread exits).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_CORE_H
#define MLU_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum mlu_dtype and enum mlu_layout: the packets' own values. */
#include "mlu_hw.h"

/* Largest extent of any single operand, in bytes; larger ones are -E2BIG. */
#define MLU_CORE_MAX_OPERAND_BYTES  (512ull << 20)

/*
 * C = alpha * op(A) * op(B) + beta * C, then + bias[j] on every row, then
 * ReLU.  All matrices are row-major with leading dimensions in elements:
 * op(A) is m x k (A is k x m when trans_a), op(B) is k x n (B is n x k when
 * trans_b), C is m x n.  Float types accumulate in f32; C and bias have the
 * input type.  For MLU_DTYPE_I8, C and bias are int32, alpha must be 1 and
 * beta 0 or 1.  When beta is 0, C is not read (it may hold NaNs).
 */
struct mlu_matmul_desc {
    enum mlu_dtype dtype;
    uint32_t m, n, k;
    uint32_t lda, ldb, ldc;
    bool trans_a, trans_b;
    bool bias, relu;
    float alpha, beta;
};

/* Bytes each operand spans (0 when unused), filled in by mlu_matmul_check(). */
struct mlu_matmul_sizes {
    uint64_t a, b, c, bias;
};

/*
 * 2-D convolution, symmetric zero padding, output in the input's layout:
 * p = (h + 2 * pad_h - dilation_h * (r - 1) - 1) / stride_h + 1, likewise q.
 * c and k must be multiples of groups.  Float types accumulate in f32 and
 * write the input type; MLU_DTYPE_I8 writes int32 (bias int32).
 */
struct mlu_conv2d_desc {
    enum mlu_dtype dtype;
    enum mlu_layout layout;
    uint32_t n, c, h, w;
    uint32_t k, r, s;
    uint32_t stride_h, stride_w;
    uint32_t pad_h, pad_w;
    uint32_t dilation_h, dilation_w;
    uint32_t groups;
    bool bias, relu;
};

struct mlu_conv2d_sizes {
    uint32_t p, q;              /* output height and width */
    uint64_t input, weight, output, bias;
};

/*
 * Validate a descriptor and compute operand extents with overflow checks.
 * Returns 0, -EINVAL for an inconsistent descriptor (zero or mismatched
 * dimensions, leading dimension too small, bad dtype/layout, alpha/beta
 * not finite or not allowed for the dtype, groups not dividing c and k,
 * zero stride/dilation, empty output), or -E2BIG when an operand exceeds
 * MLU_CORE_MAX_OPERAND_BYTES (or its size overflows).  @sz may be NULL and
 * is written only on success.  Never trusts any field.
 */
int mlu_matmul_check(const struct mlu_matmul_desc *d,
                     struct mlu_matmul_sizes *sz);
int mlu_conv2d_check(const struct mlu_conv2d_desc *d,
                     struct mlu_conv2d_sizes *sz);

/*
 * Run an operation.  Operand pointers cover at least the extents from the
 * check function (bias may be NULL when unused).  Return 0, a negative
 * errno from the check, or -ENOMEM.
 */
int mlu_matmul(const struct mlu_matmul_desc *d, const void *a, const void *b,
           const void *bias, void *c);
int mlu_matmul_ref(const struct mlu_matmul_desc *d, const void *a,
           const void *b, const void *bias, void *c);
int mlu_conv2d(const struct mlu_conv2d_desc *d, const void *input,
           const void *weight, const void *bias, void *output);
int mlu_conv2d_ref(const struct mlu_conv2d_desc *d, const void *input,
           const void *weight, const void *bias, void *output);

/*
 * Threads the fast path may use for each call made from the calling thread
 * (>= 1, smaller values count as 1).  A per-thread setting, so that each
 * caller (one device's worker threads, say) has its own; a thread that
 * never called it uses 1.
 */
void mlu_core_set_threads(int threads);

/*
 * The instruction set level the fast path uses: the host CPU's features,
 * capped by ONEDNN_MAX_CPU_ISA when that is set (the names below are its
 * values, lowercase).  Fixed for the life of the process.
 */
enum mlu_core_isa {
    MLU_CORE_ISA_GENERIC,       /* plain C; not an x86-64 host */
    MLU_CORE_ISA_SSE41,
    MLU_CORE_ISA_AVX,
    MLU_CORE_ISA_AVX2,
    MLU_CORE_ISA_AVX2_VNNI,
    MLU_CORE_ISA_AVX512_CORE,
    MLU_CORE_ISA_AVX512_CORE_VNNI,
    MLU_CORE_ISA_AVX512_CORE_BF16,
    MLU_CORE_ISA_AVX512_CORE_AMX,
};

enum mlu_core_isa mlu_core_isa(void);
const char *mlu_core_isa_name(enum mlu_core_isa isa);

/*
 * Which int8 backend the fast path runs on this host: "onednn" where
 * oneDNN's int8 kernels are exact (VNNI and later), else "exact-<isa>",
 * the core's own kernels (operands widened to 16 bits, a multiply-add
 * that cannot saturate, int32 accumulation that wraps).
 */
const char *mlu_core_int8_backend(void);

/* Element size of a dtype's inputs, and of its outputs (4 for I8). */
size_t mlu_core_in_size(enum mlu_dtype dtype);
size_t mlu_core_out_size(enum mlu_dtype dtype);

/* IEEE half and bfloat16 conversions, round to nearest even. */
float mlu_f16_to_f32(uint16_t h);
uint16_t mlu_f32_to_f16(float f);
float mlu_bf16_to_f32(uint16_t b);
uint16_t mlu_f32_to_bf16(float f);

#endif /* MLU_CORE_H */
