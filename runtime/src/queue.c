// SPDX-License-Identifier: MIT
/*
 * Queues and operations.
 *
 * A queue submits to a hardware ring of the file (mlu_queue_create()) or
 * to a kernel queue with a priority (mlu_queue_create_with_priority()).
 * Every job gets a binary syncobj as its out-fence; a queue keeps the
 * syncobjs of its jobs in flight in a ring and collects each job's result
 * (the fence error, read through a sync_file) when it waits for it.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/sync_file.h>

#include <xf86drm.h>

#include "mlu_internal.h"

/* Jobs a queue keeps in flight before enqueueing waits for the oldest. */
#define QUEUE_CAPACITY	128

/* drmSyncobjWait() wants an absolute CLOCK_MONOTONIC deadline. */
static int64_t deadline_ns(uint64_t timeout_ns)
{
	struct timespec now;
	int64_t t;

	if (timeout_ns >= INT64_MAX)
		return INT64_MAX;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (t > INT64_MAX - (int64_t)timeout_ns)
		return INT64_MAX;
	return t + (int64_t)timeout_ns;
}

int mlu_wait_syncobjs(int fd, uint32_t *handles, unsigned int count, uint64_t timeout_ns)
{
	int ret = drmSyncobjWait(fd, handles, count, deadline_ns(timeout_ns),
				 DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL);

	if (ret == -ETIME || ret == -ETIMEDOUT)
		return MLU_ERROR_TIMEOUT;
	return ret ? mlu_status_from_errno(ret) : MLU_SUCCESS;
}

/*
 * Result of the fence in a syncobj: MLU_SUCCESS once signalled without an
 * error, MLU_ERROR_NOT_READY while pending, else the job's error.
 */
int mlu_fence_result(int fd, uint32_t syncobj)
{
	struct sync_file_info info = { 0 };
	int sync_fd, ret;

	ret = drmSyncobjExportSyncFile(fd, syncobj, &sync_fd);
	if (ret)
		return mlu_status_from_errno(errno);
	ret = ioctl(sync_fd, SYNC_IOC_FILE_INFO, &info);
	ret = ret ? mlu_status_from_errno(errno) : 0;
	close(sync_fd);
	if (ret)
		return ret;
	if (info.status < 0)
		return mlu_status_from_fence_error(info.status);
	return info.status ? MLU_SUCCESS : MLU_ERROR_NOT_READY;
}

/* ---- queues ------------------------------------------------------------ */

static struct mlu_queue *queue_alloc(struct mlu_device *device)
{
	struct mlu_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->slots = calloc(QUEUE_CAPACITY, sizeof(*q->slots));
	if (!q->slots) {
		free(q);
		return NULL;
	}
	q->device = device;
	q->capacity = QUEUE_CAPACITY;
	return q;
}

MLU_API int mlu_queue_create(struct mlu_device *device, unsigned int hw_queue,
			     struct mlu_queue **queue)
{
	struct mlu_queue *q;

	if (!device || !queue)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (hw_queue >= device->info.num_queues)
		return MLU_ERROR_INVALID_ARGUMENT;
	q = queue_alloc(device);
	if (!q)
		return MLU_ERROR_OUT_OF_MEMORY;
	q->hw_queue = hw_queue;
	*queue = q;
	return MLU_SUCCESS;
}

int mlu_queue_priority_to_uapi(int priority)
{
	switch (priority) {
	case MLU_QUEUE_PRIORITY_LOW:
		return DRM_MLU_QUEUE_PRIORITY_LOW;
	case MLU_QUEUE_PRIORITY_NORMAL:
		return DRM_MLU_QUEUE_PRIORITY_NORMAL;
	case MLU_QUEUE_PRIORITY_HIGH:
		return DRM_MLU_QUEUE_PRIORITY_HIGH;
	}
	return -1;
}

/* Kernel queues came with driver 1.1. */
static bool has_kernel_queues(const struct mlu_device *device)
{
	uint32_t v = device->info.driver_version;

	return v >> 16 > 1 || (v >> 16 == 1 && (v & 0xffff) >= 1);
}

MLU_API int mlu_queue_create_with_priority(struct mlu_device *device,
					   enum mlu_queue_priority priority,
					   struct mlu_queue **queue)
{
	struct drm_mlu_queue_create args = { 0 };
	int uapi_priority = mlu_queue_priority_to_uapi(priority);
	struct mlu_queue *q;

	if (!device || !queue || uapi_priority < 0)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!has_kernel_queues(device))
		return MLU_ERROR_NOT_SUPPORTED;
	q = queue_alloc(device);
	if (!q)
		return MLU_ERROR_OUT_OF_MEMORY;
	args.priority = uapi_priority;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_QUEUE_CREATE, &args)) {
		int ret = mlu_status_from_errno(errno);

		free(q->slots);
		free(q);
		return ret;
	}
	q->queue_id = args.queue_id;
	*queue = q;
	return MLU_SUCCESS;
}

/* Wait for the oldest job in flight and keep its error, if it failed. */
static int collect_oldest(struct mlu_queue *q, uint64_t timeout_ns)
{
	uint32_t syncobj = q->slots[q->head];
	int ret;

	ret = mlu_wait_syncobjs(q->device->fd, &syncobj, 1, timeout_ns);
	if (ret)
		return ret;
	ret = mlu_fence_result(q->device->fd, syncobj);
	if (ret && !q->first_error)
		q->first_error = ret;
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	return MLU_SUCCESS;
}

MLU_API int mlu_queue_synchronize(struct mlu_queue *queue, uint64_t timeout_ns)
{
	uint32_t handles[QUEUE_CAPACITY];
	unsigned int i;
	int ret;

	if (!queue)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (queue->count) {
		for (i = 0; i < queue->count; i++)
			handles[i] = queue->slots[(queue->head + i) % queue->capacity];
		ret = mlu_wait_syncobjs(queue->device->fd, handles, queue->count, timeout_ns);
		if (ret)
			return ret;
	}
	while (queue->count) {
		ret = collect_oldest(queue, 0);
		if (ret)
			return ret;
	}
	ret = queue->first_error;
	queue->first_error = 0;
	return ret;
}

MLU_API void mlu_queue_destroy(struct mlu_queue *queue)
{
	unsigned int i;

	if (!queue)
		return;
	mlu_queue_synchronize(queue, UINT64_MAX);
	for (i = 0; i < queue->capacity; i++)
		if (queue->slots[i])
			drmSyncobjDestroy(queue->device->fd, queue->slots[i]);
	if (queue->queue_id) {
		struct drm_mlu_queue_destroy args = { .queue_id = queue->queue_id };

		drmIoctl(queue->device->fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &args);
	}
	free(queue->slots);
	free(queue);
}

MLU_API int mlu_queue_wait_event(struct mlu_queue *queue, struct mlu_event *event)
{
	if (!queue || !event || event->device != queue->device)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (queue->wait_count == MLU_QUEUE_MAX_WAITS)
		return MLU_ERROR_TOO_LARGE;
	queue->waits[queue->wait_count++] = event->syncobj;
	return MLU_SUCCESS;
}

/* A timing event's record: a job storing the card's counter in its buffer. */
static int record_timestamp(struct mlu_queue *queue, struct mlu_event *event)
{
	struct mlu_pkt_timestamp pkt;
	struct drm_mlu_submit_bo bo = { .handle = event->stamp->handle };
	int ret;

	ret = mlu_pack_timestamp(event->stamp->device_va, &pkt);
	if (!ret)
		ret = mlu_queue_submit(queue, &pkt, 1, &bo, 1);
	return ret;
}

MLU_API int mlu_queue_record_event(struct mlu_queue *queue, struct mlu_event *event)
{
	int fd, sync_fd, ret;
	uint32_t last;

	if (!queue || !event || event->device != queue->device)
		return MLU_ERROR_INVALID_ARGUMENT;
	fd = queue->device->fd;
	event->stamped = false;
	if (event->flags & MLU_EVENT_TIMING) {
		ret = record_timestamp(queue, event);
		if (ret)
			return ret;
		event->stamped = true;
	}
	event->recorded = true;
	if (!queue->count) {
		/* Everything enqueued has completed: an already signalled fence. */
		ret = drmSyncobjSignal(fd, &event->syncobj, 1);
		return ret ? mlu_status_from_errno(errno) : MLU_SUCCESS;
	}
	/* Jobs of a queue complete in order: the last one's fence will do. */
	last = queue->slots[(queue->head + queue->count - 1) % queue->capacity];
	ret = drmSyncobjExportSyncFile(fd, last, &sync_fd);
	if (ret)
		return mlu_status_from_errno(errno);
	ret = drmSyncobjImportSyncFile(fd, event->syncobj, sync_fd);
	close(sync_fd);
	return ret ? mlu_status_from_errno(errno) : MLU_SUCCESS;
}

/* ---- submission -------------------------------------------------------- */

int mlu_queue_submit(struct mlu_queue *q, const void *packets, uint32_t packet_count,
		     const struct drm_mlu_submit_bo *bos, uint32_t bo_count)
{
	struct drm_mlu_sync in[MLU_QUEUE_MAX_WAITS] = { 0 };
	uint32_t handles[MLU_QUEUE_MAX_BOS];
	struct drm_mlu_submit args = { 0 };
	unsigned int i, slot;
	int ret;

	if (bo_count > MLU_QUEUE_MAX_BOS)
		return MLU_ERROR_INVALID_ARGUMENT;

	if (q->count == q->capacity) {
		ret = collect_oldest(q, UINT64_MAX);
		if (ret)
			return ret;
	}
	slot = (q->head + q->count) % q->capacity;
	if (!q->slots[slot]) {
		ret = drmSyncobjCreate(q->device->fd, 0, &q->slots[slot]);
		if (ret)
			return mlu_status_from_errno(errno);
	}
	for (i = 0; i < q->wait_count; i++)
		in[i].handle = q->waits[i];

	args.packets = (uintptr_t)packets;
	args.packet_count = packet_count;
	if (q->queue_id) {
		args.flags = DRM_MLU_SUBMIT_QUEUE_ID;
		args.queue = q->queue_id;
	} else {
		args.queue = q->hw_queue;
	}
	if ((q->device->info.driver_version & 0xffff) >= 2) {
		/* Inputs marked read: jobs that share them need not wait. */
		args.flags |= DRM_MLU_SUBMIT_BO_USAGE;
		args.bo_handles = (uintptr_t)bos;
	} else {
		for (i = 0; i < bo_count; i++)
			handles[i] = bos[i].handle;
		args.bo_handles = (uintptr_t)handles;
	}
	args.bo_handle_count = bo_count;
	args.in_syncs = (uintptr_t)in;
	args.in_sync_count = q->wait_count;
	args.in_sync_stride = sizeof(in[0]);
	args.out_sync = q->slots[slot];
	if (drmIoctl(q->device->fd, DRM_IOCTL_MLU_SUBMIT, &args))
		return mlu_status_from_errno(errno);
	q->count++;
	q->wait_count = 0;
	return MLU_SUCCESS;
}

/* Device address and extent of an operand; absent if it has no buffer. */
static int operand_span(const struct mlu_queue *q, const struct mlu_operand *op,
			struct mlu_span *span)
{
	memset(span, 0, sizeof(*span));
	if (!op->buffer)
		return MLU_SUCCESS;
	if (op->buffer->device != q->device || op->offset >= op->buffer->size)
		return MLU_ERROR_INVALID_ARGUMENT;
	span->va = op->buffer->device_va + op->offset;
	span->bytes = op->buffer->size - op->offset;
	span->present = true;
	return MLU_SUCCESS;
}

/*
 * The submit's BO list: each operand's buffer once, read unless it is the
 * operand @written (the result), which the job writes.
 */
static unsigned int operand_bos(const struct mlu_operand *ops, unsigned int n,
				unsigned int written, struct drm_mlu_submit_bo *bos)
{
	unsigned int i, j, count = 0;

	for (i = 0; i < n; i++) {
		if (!ops[i].buffer)
			continue;
		for (j = 0; j < count && bos[j].handle != ops[i].buffer->handle; j++)
			;
		if (j == count) {
			bos[count].handle = ops[i].buffer->handle;
			bos[count++].flags = DRM_MLU_SUBMIT_BO_READ;
		}
		if (i == written)
			bos[j].flags = 0;
	}
	return count;
}

static int spans_of(const struct mlu_queue *q, const struct mlu_operand *ops,
		    unsigned int n, struct mlu_span *spans)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = operand_span(q, &ops[i], &spans[i]);
		if (ret)
			return ret;
	}
	return MLU_SUCCESS;
}

MLU_API int mlu_enqueue_matmul(struct mlu_queue *queue, const struct mlu_matmul_args *args)
{
	struct mlu_operand ops[MLU_MM_OPERANDS];
	struct mlu_span spans[MLU_MM_OPERANDS];
	struct drm_mlu_submit_bo bos[MLU_MM_OPERANDS];
	struct mlu_pkt_matmul pkt;
	int ret;

	if (!queue || !args)
		return MLU_ERROR_INVALID_ARGUMENT;
	ops[MLU_MM_A] = args->a;
	ops[MLU_MM_B] = args->b;
	ops[MLU_MM_C] = args->c;
	ops[MLU_MM_BIAS] = args->bias;
	ret = spans_of(queue, ops, MLU_MM_OPERANDS, spans);
	if (!ret)
		ret = mlu_pack_matmul(args, spans, &pkt);
	if (ret)
		return ret;
	return mlu_queue_submit(queue, &pkt, 1, bos,
				operand_bos(ops, MLU_MM_OPERANDS, MLU_MM_C, bos));
}

MLU_API int mlu_enqueue_conv2d(struct mlu_queue *queue, const struct mlu_conv2d_args *args)
{
	struct mlu_operand ops[MLU_CV_OPERANDS];
	struct mlu_span spans[MLU_CV_OPERANDS];
	struct drm_mlu_submit_bo bos[MLU_CV_OPERANDS];
	struct mlu_pkt_conv2d pkt;
	int ret;

	if (!queue || !args)
		return MLU_ERROR_INVALID_ARGUMENT;
	ops[MLU_CV_INPUT] = args->input;
	ops[MLU_CV_WEIGHT] = args->weight;
	ops[MLU_CV_OUTPUT] = args->output;
	ops[MLU_CV_BIAS] = args->bias;
	ret = spans_of(queue, ops, MLU_CV_OPERANDS, spans);
	if (!ret)
		ret = mlu_pack_conv2d(args, spans, &pkt);
	if (ret)
		return ret;
	return mlu_queue_submit(queue, &pkt, 1, bos,
				operand_bos(ops, MLU_CV_OPERANDS, MLU_CV_OUTPUT, bos));
}

/* COPY packets per job: 8 GiB; bigger copies are several jobs. */
#define COPY_PACKETS_PER_JOB	16

MLU_API int mlu_enqueue_copy(struct mlu_queue *queue, struct mlu_operand dst,
			     struct mlu_operand src, uint64_t size)
{
	struct mlu_pkt_copy pkts[COPY_PACKETS_PER_JOB];
	struct mlu_operand ops[2] = { dst, src };
	struct drm_mlu_submit_bo bos[2];
	struct mlu_span spans[2];
	uint64_t done;
	int ret, count;

	if (!queue || !dst.buffer || !src.buffer)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = spans_of(queue, ops, 2, spans);
	if (ret)
		return ret;
	do {
		count = mlu_pack_copy_chunks(spans[0], spans[1], size, pkts,
					     COPY_PACKETS_PER_JOB, &done);
		if (count < 0)
			return count;
		ret = mlu_queue_submit(queue, pkts, count, bos, operand_bos(ops, 2, 0, bos));
		if (ret)
			return ret;
		spans[0].va += done;
		spans[0].bytes -= done;
		spans[1].va += done;
		spans[1].bytes -= done;
		size -= done;
	} while (size);
	return MLU_SUCCESS;
}

/* ---- recovery ---------------------------------------------------------- */

MLU_API int mlu_device_get_reset_status(struct mlu_device *device,
					struct mlu_reset_status *status)
{
	struct drm_mlu_context_status cs = { 0 };
	struct drm_mlu_dev_query query = {
		.type = DRM_MLU_DEV_QUERY_CONTEXT_STATUS,
		.size = sizeof(cs),
		.pointer = (uintptr_t)&cs,
	};

	if (!device || !status)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (!has_kernel_queues(device))
		return MLU_ERROR_NOT_SUPPORTED;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_DEV_QUERY, &query))
		return mlu_status_from_errno(errno);
	status->card_resets = cs.card_resets;
	status->guilty_resets = cs.guilty_resets;
	status->innocent_resets = cs.innocent_resets;
	status->faults = cs.faults;
	return MLU_SUCCESS;
}
