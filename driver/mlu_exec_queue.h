/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exec queues: the in-order job streams of a file, each a drm_sched entity.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_EXEC_QUEUE_H__
#define __MLU_EXEC_QUEUE_H__

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include <drm/gpu_scheduler.h>

#include "mlu_device.h"

struct drm_file;

/**
 * struct mlu_exec_queue - an in-order stream of jobs of a file (mlu_queue.c)
 * @entity: scheduler entity; its priority is the queue's
 * @ref: the file and every submit using the queue hold one
 * @submit_lock: makes arming and pushing a job atomic, so that jobs enter
 *	the entity in the order of their finished-fence seqnos
 * @scheds: the schedulers of the rings the queue may run on
 */
struct mlu_exec_queue {
	struct drm_sched_entity entity;
	struct kref ref;
	struct mutex submit_lock;	/* job arm + push order */
	struct drm_gpu_scheduler *scheds[MLU_MAX_RINGS];
};

int mlu_exec_queue_file_open(struct mlu_file *mfile);
void mlu_exec_queue_file_close(struct mlu_file *mfile);
struct mlu_exec_queue *mlu_exec_queue_lookup(struct mlu_file *mfile, u32 queue,
					     bool by_id);
void mlu_exec_queue_put(struct mlu_exec_queue *queue);
int mlu_ioctl_queue_create(struct drm_device *drm, void *data,
			   struct drm_file *file);
int mlu_ioctl_queue_destroy(struct drm_device *drm, void *data,
			    struct drm_file *file);

#endif /* __MLU_EXEC_QUEUE_H__ */
