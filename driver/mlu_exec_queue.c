// SPDX-License-Identifier: GPL-2.0-only
/*
 * Queues: the in-order job streams of a file, each a drm_sched entity.
 *
 * Every file has one implicit queue per hardware ring, of normal priority
 * and pinned to its ring (what a ring index in SUBMIT names), and the
 * queues it creates with QUEUE_CREATE: each with a priority (a run queue
 * of the rings' schedulers) and a set of rings.  An entity with several
 * rings moves to the least loaded one whenever it has nothing pending
 * (drm_sched_entity_select_rq()), so a file's queues spread over the card
 * while each stays in order.
 *
 * A queue is reference counted: the file holds one (dropped on destroy or
 * close) and a submit holds one until its job is pushed, so that a queue
 * destroyed by another thread is only torn down once no submit uses it.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/capability.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>
#include <drm/gpu_scheduler.h>
#include <drm/mlu_accel.h>

#include "mlu_device.h"
#include "mlu_exec_queue.h"
#include "mlu_ring.h"

/* Queues a file may have at once, and the range of their ids. */
#define MLU_MAX_FILE_QUEUES	256
#define MLU_MAX_FILE_QUEUE_ID	0xffff

static struct mlu_exec_queue *
mlu_exec_queue_create(struct mlu_file *mfile, enum drm_sched_priority priority,
		      u32 ring_mask)
{
	struct mlu_device *mdev = mfile->mdev;
	struct mlu_exec_queue *queue;
	unsigned int i, n = 0;
	int ret;

	queue = kzalloc(sizeof(*queue), GFP_KERNEL);
	if (!queue)
		return ERR_PTR(-ENOMEM);

	for (i = 0; i < mdev->num_rings; i++) {
		if (ring_mask & BIT(i))
			queue->scheds[n++] = &mdev->rings[i].sched;
	}
	/* The entity keeps a pointer to the list: it lives in the queue. */
	ret = drm_sched_entity_init(&queue->entity, priority, queue->scheds, n,
				    NULL);
	if (ret) {
		kfree(queue);
		return ERR_PTR(ret);
	}
	kref_init(&queue->ref);
	mutex_init(&queue->submit_lock);
	return queue;
}

static void mlu_exec_queue_release(struct kref *ref)
{
	struct mlu_exec_queue *queue = container_of(ref, struct mlu_exec_queue,
						    ref);

	/*
	 * Waits until the queued jobs reached the rings, or completes them
	 * with -ESRCH when the process was killed.
	 */
	drm_sched_entity_destroy(&queue->entity);
	mutex_destroy(&queue->submit_lock);
	kfree(queue);
}

/**
 * mlu_exec_queue_put() - drop a queue reference
 * @queue: queue; its last reference tears it down, which may sleep
 */
void mlu_exec_queue_put(struct mlu_exec_queue *queue)
{
	kref_put(&queue->ref, mlu_exec_queue_release);
}

/**
 * mlu_exec_queue_lookup() - find the queue a submit names
 * @mfile: file
 * @queue: a hardware ring index, or with @by_id a queue id
 * @by_id: @queue is an id from QUEUE_CREATE
 *
 * Return: a referenced queue (release it with mlu_exec_queue_put()),
 * ERR_PTR(-EINVAL) for a ring index out of range or ERR_PTR(-ENOENT) for
 * an unknown id.
 */
struct mlu_exec_queue *mlu_exec_queue_lookup(struct mlu_file *mfile, u32 queue,
					     bool by_id)
{
	struct mlu_exec_queue *found;

	if (!by_id) {
		if (queue >= mfile->mdev->num_rings)
			return ERR_PTR(-EINVAL);
		found = mfile->ring_queues[queue];
		kref_get(&found->ref);
		return found;
	}

	xa_lock(&mfile->queues);
	found = xa_load(&mfile->queues, queue);
	if (found)
		kref_get(&found->ref);
	xa_unlock(&mfile->queues);
	return found ?: ERR_PTR(-ENOENT);
}

/*
 * Priorities as other DRM drivers grant them (amdgpu contexts, panthor
 * groups): anyone may lower theirs, raising it above normal takes
 * CAP_SYS_NICE, as for a CPU scheduling priority.  The kernel run queue
 * stays the driver's own.
 */
static int mlu_queue_sched_priority(u32 priority, enum drm_sched_priority *out)
{
	switch (priority) {
	case DRM_MLU_QUEUE_PRIORITY_LOW:
		*out = DRM_SCHED_PRIORITY_LOW;
		return 0;
	case DRM_MLU_QUEUE_PRIORITY_NORMAL:
		*out = DRM_SCHED_PRIORITY_NORMAL;
		return 0;
	case DRM_MLU_QUEUE_PRIORITY_HIGH:
		if (!capable(CAP_SYS_NICE))
			return -EACCES;
		*out = DRM_SCHED_PRIORITY_HIGH;
		return 0;
	default:
		return -EINVAL;
	}
}

int mlu_ioctl_queue_create(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	struct mlu_file *mfile = file->driver_priv;
	struct drm_mlu_queue_create *args = data;
	u32 all_rings = GENMASK(mdev->num_rings - 1, 0);
	enum drm_sched_priority priority;
	struct mlu_exec_queue *queue;
	u32 id;
	int ret;

	if (args->flags || args->ring_mask & ~all_rings) {
		drm_dbg(drm, "queue create: bad flags or ring mask\n");
		return -EINVAL;
	}
	ret = mlu_queue_sched_priority(args->priority, &priority);
	if (ret) {
		drm_dbg(drm, "queue create: priority %u refused (%d)\n",
			args->priority, ret);
		return ret;
	}

	if (atomic_inc_return(&mfile->queue_count) > MLU_MAX_FILE_QUEUES) {
		ret = -ENOSPC;
		goto err_uncount;
	}
	queue = mlu_exec_queue_create(mfile, priority,
				      args->ring_mask ?: all_rings);
	if (IS_ERR(queue)) {
		ret = PTR_ERR(queue);
		goto err_uncount;
	}

	/* Cyclic, so that a destroyed queue's id does not name a new one soon. */
	ret = xa_alloc_cyclic(&mfile->queues, &id, queue,
			      XA_LIMIT(1, MLU_MAX_FILE_QUEUE_ID),
			      &mfile->next_queue_id, GFP_KERNEL);
	if (ret < 0) {
		mlu_exec_queue_put(queue);
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto err_uncount;
	}
	args->queue_id = id;
	return 0;

err_uncount:
	atomic_dec(&mfile->queue_count);
	return ret;
}

int mlu_ioctl_queue_destroy(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct mlu_file *mfile = file->driver_priv;
	struct drm_mlu_queue_destroy *args = data;
	struct mlu_exec_queue *queue;

	if (args->pad)
		return -EINVAL;
	queue = xa_erase(&mfile->queues, args->queue_id);
	if (!queue)
		return -ENOENT;
	atomic_dec(&mfile->queue_count);
	mlu_exec_queue_put(queue);
	return 0;
}

/**
 * mlu_exec_queue_file_open() - create the implicit queues of a new file
 * @mfile: file
 *
 * Return: 0 or a negative errno.
 */
int mlu_exec_queue_file_open(struct mlu_file *mfile)
{
	struct mlu_device *mdev = mfile->mdev;
	unsigned int i;

	xa_init_flags(&mfile->queues, XA_FLAGS_ALLOC1);
	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_exec_queue *queue;

		queue = mlu_exec_queue_create(mfile, DRM_SCHED_PRIORITY_NORMAL,
					      BIT(i));
		if (IS_ERR(queue)) {
			while (i--)
				mlu_exec_queue_put(mfile->ring_queues[i]);
			return PTR_ERR(queue);
		}
		mfile->ring_queues[i] = queue;
	}
	return 0;
}

/**
 * mlu_exec_queue_file_close() - destroy every queue of a closing file
 * @mfile: file
 *
 * Jobs already handed to the card keep running and hold what they use;
 * jobs still waiting in the queues are flushed to the card, or completed
 * with -ESRCH when the process was killed.
 */
void mlu_exec_queue_file_close(struct mlu_file *mfile)
{
	struct mlu_exec_queue *queue;
	unsigned long id;
	unsigned int i;

	xa_for_each(&mfile->queues, id, queue) {
		xa_erase(&mfile->queues, id);
		mlu_exec_queue_put(queue);
	}
	xa_destroy(&mfile->queues);
	for (i = 0; i < mfile->mdev->num_rings; i++)
		mlu_exec_queue_put(mfile->ring_queues[i]);
}
