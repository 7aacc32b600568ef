/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Jobs: the submit ioctl, the rings' schedulers, completion and recovery.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_JOB_H__
#define __MLU_JOB_H__

#include "mlu_device.h"

struct drm_file;
struct drm_mlu_context_status;
struct drm_printer;
struct mlu_mmu_ctx;
struct mlu_ring;

/* A job is its packets plus the kernel's FENCE; keep room for several. */
#define MLU_MAX_JOB_PACKETS	255
/*
 * Implicit sync holds every BO's reservation lock at once, under one
 * acquire context; lockdep counts such nested ww_mutexes of one class in an
 * 11-bit field (struct held_lock.references), so 2048 of them break it.
 */
#define MLU_MAX_JOB_BOS		1024
#define MLU_MAX_JOB_SYNCS	256

int mlu_job_init(struct mlu_device *mdev);
void mlu_job_fini(struct mlu_device *mdev);
void mlu_job_retire(struct mlu_ring *ring);
int mlu_job_kernel_rtt(struct mlu_ring *ring, bool raise, u64 *rtt_ns,
		       unsigned int rounds);
void mlu_job_cancel_inflight(struct mlu_device *mdev, int error);
void mlu_job_device_error(struct mlu_device *mdev);
int mlu_ioctl_submit(struct drm_device *drm, void *data, struct drm_file *file);
void mlu_job_print_inflight(struct mlu_ring *ring, struct drm_printer *p);
void mlu_job_context_status(struct mlu_device *mdev, struct mlu_mmu_ctx *ctx,
			    struct drm_mlu_context_status *status);

#endif /* __MLU_JOB_H__ */
