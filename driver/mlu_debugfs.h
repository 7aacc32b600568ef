/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * debugfs: the driver's and the card's state, fault injection, and the
 * benchmarks built with CONFIG_DRM_ACCEL_MLU_BENCH.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_DEBUGFS_H__
#define __MLU_DEBUGFS_H__

#include "mlu_device.h"

void mlu_debugfs_init(struct mlu_device *mdev);

#if IS_ENABLED(CONFIG_DRM_ACCEL_MLU_BENCH)
void mlu_bench_debugfs_init(struct mlu_device *mdev);
#else
static inline void mlu_bench_debugfs_init(struct mlu_device *mdev) { }
#endif

#endif /* __MLU_DEBUGFS_H__ */
