/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the process's oneDNN engine.
 *
 * Debian builds oneDNN with OpenMP, whose thread count is a per-thread
 * setting: each call sizes the calling thread's team from the core's
 * per-thread setting before it enters oneDNN.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <omp.h>
#include <pthread.h>

#include "mlu_core.h"
#include "mlu_core_int.h"
#include "mlu_core_onednn.h"

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
/* One engine for the process, never freed; NULL if oneDNN is unusable. */
static dnnl_engine_t cpu_engine;

static void engine_create(void)
{
    if (dnnl_engine_create(&cpu_engine, dnnl_cpu, 0) != dnnl_success) {
        cpu_engine = NULL;
    }
}

dnnl_engine_t mlu_core_onednn_engine(void)
{
    int threads = mlu_core_threads();

    pthread_once(&engine_once, engine_create);
    if (omp_get_max_threads() != threads) {
        omp_set_num_threads(threads);
    }
    return cpu_engine;
}
