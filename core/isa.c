/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the instruction set level of the fast path, and the
 * int8 backend it implies.
 *
 * oneDNN already knows the host CPU and honours ONEDNN_MAX_CPU_ISA, so the
 * core takes its level from oneDNN: one knob caps oneDNN's kernels and the
 * core's own alike, which is how the tests run every path on one host.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <pthread.h>

#include <oneapi/dnnl/dnnl.h>

#include "mlu_core.h"
#include "mlu_core_int.h"

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static enum mlu_core_isa core_isa;

static enum mlu_core_isa isa_from_onednn(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41:
        return MLU_CORE_ISA_SSE41;
    case dnnl_cpu_isa_avx:
        return MLU_CORE_ISA_AVX;
    case dnnl_cpu_isa_avx2:
        return MLU_CORE_ISA_AVX2;
    case dnnl_cpu_isa_avx2_vnni:
        return MLU_CORE_ISA_AVX2_VNNI;
    case dnnl_cpu_isa_avx512_core:
        return MLU_CORE_ISA_AVX512_CORE;
    case dnnl_cpu_isa_avx512_core_vnni:
        return MLU_CORE_ISA_AVX512_CORE_VNNI;
    case dnnl_cpu_isa_avx512_core_bf16:
        return MLU_CORE_ISA_AVX512_CORE_BF16;
    case dnnl_cpu_isa_avx512_core_amx:
        return MLU_CORE_ISA_AVX512_CORE_AMX;
    default:
        /* Xeon Phi's avx512_mic has no AVX512BW: treat it as AVX2. */
        if (isa == dnnl_cpu_isa_avx512_mic ||
            isa == dnnl_cpu_isa_avx512_mic_4ops) {
            return MLU_CORE_ISA_AVX2;
        }
        return MLU_CORE_ISA_GENERIC;
    }
}

static void isa_detect(void)
{
#if defined(__x86_64__)
    core_isa = isa_from_onednn(dnnl_get_effective_cpu_isa());
#else
    core_isa = MLU_CORE_ISA_GENERIC;
#endif
}

enum mlu_core_isa mlu_core_isa(void)
{
    pthread_once(&isa_once, isa_detect);
    return core_isa;
}

const char *mlu_core_isa_name(enum mlu_core_isa isa)
{
    static const char *const names[] = {
        [MLU_CORE_ISA_GENERIC] = "generic",
        [MLU_CORE_ISA_SSE41] = "sse41",
        [MLU_CORE_ISA_AVX] = "avx",
        [MLU_CORE_ISA_AVX2] = "avx2",
        [MLU_CORE_ISA_AVX2_VNNI] = "avx2_vnni",
        [MLU_CORE_ISA_AVX512_CORE] = "avx512_core",
        [MLU_CORE_ISA_AVX512_CORE_VNNI] = "avx512_core_vnni",
        [MLU_CORE_ISA_AVX512_CORE_BF16] = "avx512_core_bf16",
        [MLU_CORE_ISA_AVX512_CORE_AMX] = "avx512_core_amx",
    };

    if ((unsigned int)isa >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }
    return names[isa];
}

/*
 * oneDNN 2.6's s8s8s32 kernels are exact only where the CPU has a VNNI
 * dot product (vpdpbusd accumulates straight into int32).  Below that
 * they go through vpmaddubsw, which adds two u8 x s8 products into a
 * saturating 16-bit sum: with A shifted to unsigned, 2 x 255 x 127 does
 * not fit, and sums come out wrong (seen on AVX2, AVX-512 and SSE4.1).
 */
bool mlu_core_onednn_int8_exact(enum mlu_core_isa isa)
{
    switch (isa) {
    case MLU_CORE_ISA_AVX2_VNNI:
    case MLU_CORE_ISA_AVX512_CORE_VNNI:
    case MLU_CORE_ISA_AVX512_CORE_BF16:
    case MLU_CORE_ISA_AVX512_CORE_AMX:
        return true;
    default:
        return false;
    }
}

const char *mlu_core_int8_backend(void)
{
    enum mlu_core_isa isa = mlu_core_isa();

    if (mlu_core_onednn_int8_exact(isa)) {
        return "onednn";
    }
    if (isa >= MLU_CORE_ISA_AVX512_CORE) {
        return "exact-avx512";
    }
    if (isa >= MLU_CORE_ISA_AVX2) {
        return "exact-avx2";
    }
    if (isa >= MLU_CORE_ISA_SSE41) {
        return "exact-sse2";
    }
    return "exact-c";
}
