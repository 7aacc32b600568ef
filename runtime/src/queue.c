// SPDX-License-Identifier: MIT
/*
 * Queues, operations and events.
 *
 * Every job gets a binary syncobj as its out-fence; a queue keeps the
 * syncobjs of its jobs in flight in a ring and collects each job's result
 * (the fence error, read through a sync_file) when it waits for it.  Events
 * are syncobjs that receive a copy of a job's fence.
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

static int wait_syncobjs(int fd, uint32_t *handles, unsigned int count, uint64_t timeout_ns)
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
static int fence_result(int fd, uint32_t syncobj)
{
	struct sync_file_info info = { 0 };
	int sync_fd, ret;

	ret = drmSyncobjExportSyncFile(fd, syncobj, &sync_fd);
	if (ret)
		return mlu_status_from_errno(ret);
	ret = ioctl(sync_fd, SYNC_IOC_FILE_INFO, &info);
	ret = ret ? mlu_status_from_errno(errno) : 0;
	close(sync_fd);
	if (ret)
		return ret;
	if (info.status < 0)
		return mlu_status_from_fence_error(info.status);
	return info.status ? MLU_SUCCESS : MLU_ERROR_NOT_READY;
}

/* ---- events ------------------------------------------------------------ */

MLU_API int mlu_event_create(struct mlu_device *device, struct mlu_event **event)
{
	struct mlu_event *ev;
	int ret;

	if (!device || !event)
		return MLU_ERROR_INVALID_ARGUMENT;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return MLU_ERROR_OUT_OF_MEMORY;
	ret = drmSyncobjCreate(device->fd, 0, &ev->syncobj);
	if (ret) {
		free(ev);
		return mlu_status_from_errno(ret);
	}
	ev->device = device;
	*event = ev;
	return MLU_SUCCESS;
}

MLU_API void mlu_event_destroy(struct mlu_event *event)
{
	if (!event)
		return;
	drmSyncobjDestroy(event->device->fd, event->syncobj);
	free(event);
}

MLU_API int mlu_event_wait(struct mlu_event *event, uint64_t timeout_ns)
{
	int ret;

	if (!event)
		return MLU_ERROR_INVALID_ARGUMENT;
	/* A syncobj without a fence (never recorded) is -EINVAL here. */
	ret = wait_syncobjs(event->device->fd, &event->syncobj, 1, timeout_ns);
	if (ret)
		return ret;
	return fence_result(event->device->fd, event->syncobj);
}

MLU_API int mlu_event_query(struct mlu_event *event)
{
	int ret;

	if (!event)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = mlu_event_wait(event, 0);
	return ret == MLU_ERROR_TIMEOUT ? MLU_ERROR_NOT_READY : ret;
}

MLU_API uint32_t mlu_event_handle(const struct mlu_event *event)
{
	return event ? event->syncobj : 0;
}

/* ---- queues ------------------------------------------------------------ */

MLU_API int mlu_queue_create(struct mlu_device *device, unsigned int hw_queue,
			     struct mlu_queue **queue)
{
	struct mlu_queue *q;

	if (!device || !queue)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (hw_queue >= device->info.num_queues)
		return MLU_ERROR_INVALID_ARGUMENT;
	q = calloc(1, sizeof(*q));
	if (!q)
		return MLU_ERROR_OUT_OF_MEMORY;
	q->slots = calloc(QUEUE_CAPACITY, sizeof(*q->slots));
	if (!q->slots) {
		free(q);
		return MLU_ERROR_OUT_OF_MEMORY;
	}
	q->device = device;
	q->hw_queue = hw_queue;
	q->capacity = QUEUE_CAPACITY;
	*queue = q;
	return MLU_SUCCESS;
}

/* Wait for the oldest job in flight and keep its error, if it failed. */
static int collect_oldest(struct mlu_queue *q, uint64_t timeout_ns)
{
	uint32_t syncobj = q->slots[q->head];
	int ret;

	ret = wait_syncobjs(q->device->fd, &syncobj, 1, timeout_ns);
	if (ret)
		return ret;
	ret = fence_result(q->device->fd, syncobj);
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
		ret = wait_syncobjs(queue->device->fd, handles, queue->count, timeout_ns);
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

MLU_API int mlu_queue_record_event(struct mlu_queue *queue, struct mlu_event *event)
{
	int fd, sync_fd, ret;
	uint32_t last;

	if (!queue || !event || event->device != queue->device)
		return MLU_ERROR_INVALID_ARGUMENT;
	fd = queue->device->fd;
	if (!queue->count) {
		/* Everything enqueued has completed: an already signalled fence. */
		ret = drmSyncobjSignal(fd, &event->syncobj, 1);
		return ret ? mlu_status_from_errno(ret) : MLU_SUCCESS;
	}
	/* Jobs of a queue complete in order: the last one's fence will do. */
	last = queue->slots[(queue->head + queue->count - 1) % queue->capacity];
	ret = drmSyncobjExportSyncFile(fd, last, &sync_fd);
	if (ret)
		return mlu_status_from_errno(ret);
	ret = drmSyncobjImportSyncFile(fd, event->syncobj, sync_fd);
	close(sync_fd);
	return ret ? mlu_status_from_errno(ret) : MLU_SUCCESS;
}

/* ---- submission -------------------------------------------------------- */

static int submit(struct mlu_queue *q, const void *packets, uint32_t packet_count,
		  const uint32_t *bos, uint32_t bo_count)
{
	struct drm_mlu_sync in[MLU_QUEUE_MAX_WAITS] = { 0 };
	struct drm_mlu_submit args = { 0 };
	unsigned int i, slot;
	int ret;

	if (q->count == q->capacity) {
		ret = collect_oldest(q, UINT64_MAX);
		if (ret)
			return ret;
	}
	slot = (q->head + q->count) % q->capacity;
	if (!q->slots[slot]) {
		ret = drmSyncobjCreate(q->device->fd, 0, &q->slots[slot]);
		if (ret)
			return mlu_status_from_errno(ret);
	}
	for (i = 0; i < q->wait_count; i++)
		in[i].handle = q->waits[i];

	args.packets = (uintptr_t)packets;
	args.packet_count = packet_count;
	args.queue = q->hw_queue;
	args.bo_handles = (uintptr_t)bos;
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

/* Distinct GEM handles of the operands, for the submit's BO list. */
static unsigned int operand_handles(const struct mlu_operand *ops, unsigned int n,
				    uint32_t *handles)
{
	unsigned int i, j, count = 0;

	for (i = 0; i < n; i++) {
		if (!ops[i].buffer)
			continue;
		for (j = 0; j < count && handles[j] != ops[i].buffer->handle; j++)
			;
		if (j == count)
			handles[count++] = ops[i].buffer->handle;
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
	uint32_t handles[MLU_MM_OPERANDS];
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
	return submit(queue, &pkt, 1, handles, operand_handles(ops, MLU_MM_OPERANDS, handles));
}

MLU_API int mlu_enqueue_conv2d(struct mlu_queue *queue, const struct mlu_conv2d_args *args)
{
	struct mlu_operand ops[MLU_CV_OPERANDS];
	struct mlu_span spans[MLU_CV_OPERANDS];
	uint32_t handles[MLU_CV_OPERANDS];
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
	return submit(queue, &pkt, 1, handles, operand_handles(ops, MLU_CV_OPERANDS, handles));
}

/* COPY packets per job: 8 GiB; bigger copies are several jobs. */
#define COPY_PACKETS_PER_JOB	16

MLU_API int mlu_enqueue_copy(struct mlu_queue *queue, struct mlu_operand dst,
			     struct mlu_operand src, uint64_t size)
{
	struct mlu_pkt_copy pkts[COPY_PACKETS_PER_JOB];
	struct mlu_operand ops[2] = { dst, src };
	struct mlu_span spans[2];
	uint32_t handles[2];
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
		ret = submit(queue, pkts, count, handles, operand_handles(ops, 2, handles));
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
