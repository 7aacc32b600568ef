/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: how many threads a call may use.
 *
 * The setting belongs to the calling thread, so that two devices in one
 * process each keep their own.  oneDNN (built with OpenMP by Debian) and
 * the core's own kernels take it per call as an OpenMP team size; OpenBLAS
 * has one process-wide count, so the core runs it single-threaded and
 * splits an sgemm over its own OpenMP team instead (matmul.c).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "mlu_core.h"
#include "mlu_core_int.h"

static __thread int thread_limit;

void mlu_core_set_threads(int threads)
{
    thread_limit = threads < 1 ? 1 : threads;
}

int mlu_core_threads(void)
{
    return thread_limit ? thread_limit : 1;
}
