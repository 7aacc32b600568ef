// SPDX-License-Identifier: MIT
/*
 * Synchronous copies and device memory figures.
 *
 * Queue-ordered copies are mlu_enqueue_copy() (queue.c); a synchronous copy
 * is one on a queue of its own that the call waits for, so it is ordered
 * with nothing else the application enqueued.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>

#include <xf86drm.h>

#include "mlu_internal.h"

MLU_API int mlu_copy(struct mlu_device *device, struct mlu_operand dst,
		     struct mlu_operand src, uint64_t size)
{
	struct mlu_queue *queue;
	int ret;

	if (!device)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = mlu_queue_create(device, 0, &queue);
	if (ret)
		return ret;
	ret = mlu_enqueue_copy(queue, dst, src, size);
	if (!ret)
		ret = mlu_queue_synchronize(queue, UINT64_MAX);
	mlu_queue_destroy(queue);
	return ret;
}

MLU_API int mlu_device_memory_info(struct mlu_device *device, struct mlu_memory_info *info)
{
	struct drm_mlu_device_info dev_info = { 0 };
	struct drm_mlu_dev_query query = {
		.type = DRM_MLU_DEV_QUERY_DEVICE_INFO,
		.size = sizeof(dev_info),
		.pointer = (uintptr_t)&dev_info,
	};

	if (!device || !info)
		return MLU_ERROR_INVALID_ARGUMENT;
	/* devmem_free is new in driver 1.1; older drivers leave it zero. */
	if ((device->info.driver_version & 0xffff) < 1)
		return MLU_ERROR_NOT_SUPPORTED;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_DEV_QUERY, &query))
		return mlu_status_from_errno(errno);
	info->devmem_total = dev_info.devmem_size;
	info->devmem_free = dev_info.devmem_free;
	return MLU_SUCCESS;
}
