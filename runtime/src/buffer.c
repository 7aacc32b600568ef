// SPDX-License-Identifier: MIT
/*
 * Buffers: GEM buffer objects of the mlu driver, with their device virtual
 * address and a lazily created CPU mapping.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <xf86drm.h>

#include "mlu_internal.h"

MLU_API int mlu_buffer_alloc(struct mlu_device *device, uint64_t size, unsigned int flags,
			     struct mlu_buffer **buffer)
{
	struct drm_mlu_bo_create create = { 0 };
	struct drm_mlu_bo_info info = { 0 };
	struct mlu_buffer *buf;
	int ret;

	if (!device || !buffer || !size ||
	    (flags & ~(MLU_BUFFER_DEVMEM | MLU_BUFFER_READ_ONLY)))
		return MLU_ERROR_INVALID_ARGUMENT;
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return MLU_ERROR_OUT_OF_MEMORY;

	create.size = size;
	if (flags & MLU_BUFFER_DEVMEM)
		create.flags |= DRM_MLU_BO_DEVMEM;
	if (flags & MLU_BUFFER_READ_ONLY)
		create.flags |= DRM_MLU_BO_DEVICE_READ_ONLY;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_BO_CREATE, &create)) {
		ret = mlu_status_from_errno(errno);
		goto err_free;
	}
	info.handle = create.handle;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_BO_INFO, &info)) {
		ret = mlu_status_from_errno(errno);
		goto err_close;
	}
	buf->device = device;
	buf->handle = create.handle;
	buf->flags = flags;
	buf->size = info.size;
	buf->device_va = info.device_va;
	buf->mmap_offset = info.mmap_offset;
	*buffer = buf;
	return MLU_SUCCESS;

err_close:
	drmCloseBufferHandle(device->fd, create.handle);
err_free:
	free(buf);
	return ret;
}

MLU_API void mlu_buffer_free(struct mlu_buffer *buffer)
{
	if (!buffer)
		return;
	if (buffer->map)
		munmap(buffer->map, buffer->size);
	drmCloseBufferHandle(buffer->device->fd, buffer->handle);
	free(buffer);
}

MLU_API int mlu_buffer_map(struct mlu_buffer *buffer, void **ptr)
{
	void *map, *expected = NULL;

	if (!buffer || !ptr)
		return MLU_ERROR_INVALID_ARGUMENT;
	map = __atomic_load_n(&buffer->map, __ATOMIC_ACQUIRE);
	if (!map) {
		map = mmap(NULL, buffer->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   buffer->device->fd, buffer->mmap_offset);
		if (map == MAP_FAILED)
			return mlu_status_from_errno(errno);
		/* Another thread may have mapped it meanwhile: keep one. */
		if (!__atomic_compare_exchange_n(&buffer->map, &expected, map, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			munmap(map, buffer->size);
			map = expected;
		}
	}
	*ptr = map;
	return MLU_SUCCESS;
}

MLU_API uint64_t mlu_buffer_size(const struct mlu_buffer *buffer)
{
	return buffer ? buffer->size : 0;
}

MLU_API uint64_t mlu_buffer_device_address(const struct mlu_buffer *buffer)
{
	return buffer ? buffer->device_va : 0;
}

MLU_API uint32_t mlu_buffer_handle(const struct mlu_buffer *buffer)
{
	return buffer ? buffer->handle : 0;
}
