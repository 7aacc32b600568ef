// SPDX-License-Identifier: MIT
/*
 * Buffers: GEM buffer objects of the mlu driver, with their device virtual
 * address and a lazily created CPU mapping.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <xf86drm.h>

#include "mlu_internal.h"

/* Fill a new buffer object for a GEM handle of device from BO_INFO. */
static int buffer_from_handle(struct mlu_device *device, uint32_t handle,
			      struct mlu_buffer **buffer)
{
	struct drm_mlu_bo_info info = { .handle = handle };
	struct mlu_buffer *buf;

	if (drmIoctl(device->fd, DRM_IOCTL_MLU_BO_INFO, &info))
		return mlu_status_from_errno(errno);
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return MLU_ERROR_OUT_OF_MEMORY;
	buf->device = device;
	buf->handle = handle;
	if (info.flags & DRM_MLU_BO_DEVMEM)
		buf->flags |= MLU_BUFFER_DEVMEM;
	if (info.flags & DRM_MLU_BO_DEVICE_READ_ONLY)
		buf->flags |= MLU_BUFFER_READ_ONLY;
	buf->size = info.size;
	buf->device_va = info.device_va;
	buf->mmap_offset = info.mmap_offset;
	*buffer = buf;
	return MLU_SUCCESS;
}

MLU_API int mlu_buffer_alloc(struct mlu_device *device, uint64_t size, unsigned int flags,
			     struct mlu_buffer **buffer)
{
	struct drm_mlu_bo_create create = { 0 };
	int ret;

	if (!device || !buffer || !size ||
	    (flags & ~(MLU_BUFFER_DEVMEM | MLU_BUFFER_READ_ONLY)))
		return MLU_ERROR_INVALID_ARGUMENT;
	create.size = size;
	if (flags & MLU_BUFFER_DEVMEM)
		create.flags |= DRM_MLU_BO_DEVMEM;
	if (flags & MLU_BUFFER_READ_ONLY)
		create.flags |= DRM_MLU_BO_DEVICE_READ_ONLY;
	if (drmIoctl(device->fd, DRM_IOCTL_MLU_BO_CREATE, &create))
		return mlu_status_from_errno(errno);
	ret = buffer_from_handle(device, create.handle, buffer);
	if (ret)
		drmCloseBufferHandle(device->fd, create.handle);
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

/* ---- sharing: dma-buf file descriptors -------------------------------- */

MLU_API int mlu_buffer_export_fd(struct mlu_buffer *buffer, int *fd)
{
	int ret;

	if (!buffer || !fd)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = drmPrimeHandleToFD(buffer->device->fd, buffer->handle, DRM_CLOEXEC | DRM_RDWR,
				 fd);
	return ret ? mlu_status_from_errno(errno) : MLU_SUCCESS;
}

MLU_API int mlu_buffer_import_fd(struct mlu_device *device, int fd, struct mlu_buffer **buffer)
{
	uint32_t handle;
	int ret;

	if (!device || fd < 0 || !buffer)
		return MLU_ERROR_INVALID_ARGUMENT;
	if (drmPrimeFDToHandle(device->fd, fd, &handle))
		return mlu_status_from_errno(errno);
	ret = buffer_from_handle(device, handle, buffer);
	if (ret)
		drmCloseBufferHandle(device->fd, handle);
	return ret;
}

MLU_API unsigned int mlu_buffer_flags(const struct mlu_buffer *buffer)
{
	return buffer ? buffer->flags : 0;
}
