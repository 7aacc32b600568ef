// SPDX-License-Identifier: MIT
/*
 * Events: a binary syncobj that receives a copy of a job's fence when it is
 * recorded on a queue (mlu_queue_record_event() in queue.c).  A timing
 * event also owns a small buffer: its record is a job of one TIMESTAMP
 * packet that stores the card's nanosecond counter there, so two events
 * give the device time between them.  sync_file export and import carry an
 * event's fence to other processes and devices.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>

#include "mlu_internal.h"

/* The smallest buffer the driver allocates; the counter takes 8 bytes. */
#define STAMP_BUFFER_SIZE	4096

int mlu_pack_timestamp(uint64_t va, struct mlu_pkt_timestamp *pkt)
{
	if (!va || (va & 7))
		return MLU_ERROR_INVALID_ARGUMENT;
	memset(pkt, 0, sizeof(*pkt));
	pkt->hdr.opcode = MLU_OP_TIMESTAMP;
	pkt->addr = va;
	return MLU_SUCCESS;
}

MLU_API int mlu_event_create_with_flags(struct mlu_device *device, unsigned int flags,
					struct mlu_event **event)
{
	struct mlu_event *ev;
	int ret;

	if (!device || !event || (flags & ~MLU_EVENT_TIMING))
		return MLU_ERROR_INVALID_ARGUMENT;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return MLU_ERROR_OUT_OF_MEMORY;
	ev->device = device;
	ev->flags = flags;
	if (flags & MLU_EVENT_TIMING) {
		ret = mlu_buffer_alloc(device, STAMP_BUFFER_SIZE, 0, &ev->stamp);
		if (ret)
			goto err_free;
	}
	ret = drmSyncobjCreate(device->fd, 0, &ev->syncobj);
	if (ret) {
		ret = mlu_status_from_errno(errno);
		goto err_free;
	}
	*event = ev;
	return MLU_SUCCESS;

err_free:
	mlu_buffer_free(ev->stamp);
	free(ev);
	return ret;
}

MLU_API int mlu_event_create(struct mlu_device *device, struct mlu_event **event)
{
	return mlu_event_create_with_flags(device, 0, event);
}

MLU_API void mlu_event_destroy(struct mlu_event *event)
{
	if (!event)
		return;
	drmSyncobjDestroy(event->device->fd, event->syncobj);
	/* A record job still in flight keeps the buffer alive in the kernel. */
	mlu_buffer_free(event->stamp);
	free(event);
}

MLU_API int mlu_event_wait(struct mlu_event *event, uint64_t timeout_ns)
{
	int ret;

	if (!event)
		return MLU_ERROR_INVALID_ARGUMENT;
	/* A syncobj without a fence (never recorded) is -EINVAL here. */
	ret = mlu_wait_syncobjs(event->device->fd, &event->syncobj, 1, timeout_ns);
	if (ret)
		return ret;
	return mlu_fence_result(event->device->fd, event->syncobj);
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

MLU_API int mlu_event_timestamp_ns(struct mlu_event *event, uint64_t *timestamp_ns)
{
	volatile uint64_t *stamp;
	void *map;
	int ret;

	if (!event || !timestamp_ns || !event->stamped)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = mlu_event_query(event);
	if (ret)
		return ret;
	ret = mlu_buffer_map(event->stamp, &map);
	if (ret)
		return ret;
	/* The card wrote it before the fence signalled. */
	stamp = map;
	*timestamp_ns = *stamp;
	return MLU_SUCCESS;
}

MLU_API int mlu_event_elapsed_ns(struct mlu_event *start, struct mlu_event *end,
				 int64_t *elapsed_ns)
{
	uint64_t t0, t1;
	int ret;

	if (!start || !end || !elapsed_ns || start->device != end->device)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = mlu_event_timestamp_ns(start, &t0);
	if (!ret)
		ret = mlu_event_timestamp_ns(end, &t1);
	if (ret)
		return ret;
	*elapsed_ns = (int64_t)(t1 - t0);
	return MLU_SUCCESS;
}

MLU_API int mlu_event_export_sync_file(struct mlu_event *event, int *sync_file_fd)
{
	int ret;

	if (!event || !sync_file_fd)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = drmSyncobjExportSyncFile(event->device->fd, event->syncobj, sync_file_fd);
	return ret ? mlu_status_from_errno(errno) : MLU_SUCCESS;
}

MLU_API int mlu_event_import_sync_file(struct mlu_event *event, int sync_file_fd)
{
	int ret;

	if (!event || sync_file_fd < 0)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = drmSyncobjImportSyncFile(event->device->fd, event->syncobj, sync_file_fd);
	if (ret)
		return mlu_status_from_errno(errno);
	event->recorded = true;
	event->stamped = false;
	return MLU_SUCCESS;
}
