/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MLU compute core: the process's oneDNN engine.  Not part of the public
 * API; used by the fast matmul and conv.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_CORE_ONEDNN_H
#define MLU_CORE_ONEDNN_H

#include <oneapi/dnnl/dnnl.h>

/*
 * The CPU engine, with the calling thread's OpenMP team sized to its
 * mlu_core_threads(); NULL if oneDNN is unusable.
 */
dnnl_engine_t mlu_core_onednn_engine(void);

#endif /* MLU_CORE_ONEDNN_H */
