// SPDX-License-Identifier: MIT
/*
 * Devices: enumerate, open, query properties.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>

#include "mlu_internal.h"

#define ACCEL_CLASS_DIR	"/sys/class/accel"
#define MAX_CARDS	256

MLU_API int mlu_device_count(unsigned int *count)
{
	unsigned int minors[MAX_CARDS];

	if (!count)
		return MLU_ERROR_INVALID_ARGUMENT;
	return mlu_enumerate(ACCEL_CLASS_DIR, minors, MAX_CARDS, count);
}

MLU_API int mlu_device_open(unsigned int index, struct mlu_device **device)
{
	unsigned int minors[MAX_CARDS], count;
	char path[64];
	int ret;

	if (!device)
		return MLU_ERROR_INVALID_ARGUMENT;
	ret = mlu_enumerate(ACCEL_CLASS_DIR, minors, MAX_CARDS, &count);
	if (ret)
		return ret;
	if (index >= count || index >= MAX_CARDS)
		return MLU_ERROR_NO_DEVICE;
	snprintf(path, sizeof(path), "/dev/accel/accel%u", minors[index]);
	return mlu_device_open_path(path, device);
}

/* The PCI address of the node's device, from sysfs ("" if not PCI). */
static void read_pci_slot(const char *node, char *slot, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *name = strrchr(node, '/');
	const char *base;
	ssize_t n;

	slot[0] = '\0';
	snprintf(link, sizeof(link), "/sys/class/accel/%s/device", name ? name + 1 : node);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) < len)
		memcpy(slot, base, strlen(base) + 1);
}

/* True if fd is a DRM node of the mlu driver. */
static bool is_mlu_node(int fd)
{
	drmVersionPtr version = drmGetVersion(fd);
	bool ok;

	if (!version)
		return false;
	ok = version->name && strcmp(version->name, "mlu") == 0;
	drmFreeVersion(version);
	return ok;
}

MLU_API int mlu_device_open_path(const char *path, struct mlu_device **device)
{
	struct drm_mlu_dev_query query = { 0 };
	struct mlu_device *dev;
	int ret;

	if (!path || !device)
		return MLU_ERROR_INVALID_ARGUMENT;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return MLU_ERROR_OUT_OF_MEMORY;
	dev->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		ret = errno == ENOENT ? MLU_ERROR_NO_DEVICE : mlu_status_from_errno(errno);
		goto err_free;
	}
	if (!is_mlu_node(dev->fd)) {
		ret = MLU_ERROR_NO_DEVICE;
		goto err_close;
	}
	query.type = DRM_MLU_DEV_QUERY_DEVICE_INFO;
	query.size = sizeof(dev->info);
	query.pointer = (uintptr_t)&dev->info;
	if (drmIoctl(dev->fd, DRM_IOCTL_MLU_DEV_QUERY, &query)) {
		ret = mlu_status_from_errno(errno);
		goto err_close;
	}
	if ((dev->info.driver_version >> 16) != DRM_MLU_DRIVER_MAJOR) {
		ret = MLU_ERROR_DRIVER_MISMATCH;
		goto err_close;
	}
	snprintf(dev->node, sizeof(dev->node), "%s", path);
	read_pci_slot(path, dev->pci_slot, sizeof(dev->pci_slot));
	*device = dev;
	return MLU_SUCCESS;

err_close:
	close(dev->fd);
err_free:
	free(dev);
	return ret;
}

MLU_API void mlu_device_close(struct mlu_device *device)
{
	if (!device)
		return;
	close(device->fd);
	free(device);
}

MLU_API int mlu_device_fd(const struct mlu_device *device)
{
	return device ? device->fd : -1;
}

MLU_API int mlu_device_get_props(struct mlu_device *device, struct mlu_device_props *props)
{
	const struct drm_mlu_device_info *info;

	if (!device || !props)
		return MLU_ERROR_INVALID_ARGUMENT;
	info = &device->info;
	memset(props, 0, sizeof(*props));
	snprintf(props->node, sizeof(props->node), "%s", device->node);
	snprintf(props->pci_slot, sizeof(props->pci_slot), "%s", device->pci_slot);
	props->hw_version = info->hw_version;
	props->driver_version = info->driver_version;
	props->capabilities = info->capabilities;
	props->devmem_size = info->devmem_size;
	props->serial = info->serial;
	props->pci_vendor_id = info->pci_vendor_id;
	props->pci_device_id = info->pci_device_id;
	props->num_queues = info->num_queues;
	props->context_id = info->context_id;
	props->va_start = info->va_start;
	props->va_end = info->va_end;
	props->job_timeout_ms = info->job_timeout_ms;
	props->max_ops_per_submit = info->max_packets_per_submit;
	return MLU_SUCCESS;
}
