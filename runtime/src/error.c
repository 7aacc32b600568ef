// SPDX-License-Identifier: MIT
/*
 * Status codes: strings, and the mapping from kernel errno values.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>

#include "mlu_internal.h"

MLU_API unsigned int mlu_version(void)
{
	return MLU_VERSION;
}

MLU_API const char *mlu_strerror(int status)
{
	switch (status) {
	case MLU_SUCCESS:
		return "success";
	case MLU_ERROR_INVALID_ARGUMENT:
		return "invalid argument";
	case MLU_ERROR_NO_DEVICE:
		return "no such MLU device, or it was removed";
	case MLU_ERROR_OUT_OF_MEMORY:
		return "out of host, device or address-space memory";
	case MLU_ERROR_NOT_SUPPORTED:
		return "not supported by this card or driver";
	case MLU_ERROR_TIMEOUT:
		return "wait timed out";
	case MLU_ERROR_NOT_READY:
		return "not complete yet";
	case MLU_ERROR_DEVICE_FAULT:
		return "a job accessed an unmapped or read-only device address";
	case MLU_ERROR_BAD_COMMAND:
		return "the card rejected a command";
	case MLU_ERROR_DEVICE:
		return "device error (the card was reset)";
	case MLU_ERROR_JOB_TIMEOUT:
		return "a job exceeded the job timeout and was aborted";
	case MLU_ERROR_CANCELED:
		return "a job was canceled by a reset";
	case MLU_ERROR_PERMISSION:
		return "permission denied on the device node";
	case MLU_ERROR_TOO_LARGE:
		return "size or count above a limit";
	case MLU_ERROR_DRIVER_MISMATCH:
		return "unsupported kernel driver version";
	case MLU_ERROR_SYSTEM:
		return "system call failed";
	}
	return "unknown status";
}

/* errno of a failed ioctl, open or mmap (positive or negative). */
int mlu_status_from_errno(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return MLU_SUCCESS;
	case EINVAL:
	case ENOENT:
	case EBADF:
	case EFAULT:
		return MLU_ERROR_INVALID_ARGUMENT;
	case ENODEV:
	case ENXIO:
		return MLU_ERROR_NO_DEVICE;
	case ENOMEM:
	case ENOSPC:
		return MLU_ERROR_OUT_OF_MEMORY;
	case EOPNOTSUPP:
	case ENOTTY:
		return MLU_ERROR_NOT_SUPPORTED;
	case ETIME:
	case ETIMEDOUT:
		return MLU_ERROR_TIMEOUT;
	case EACCES:
	case EPERM:
		return MLU_ERROR_PERMISSION;
	case E2BIG:
	case EOVERFLOW:
		return MLU_ERROR_TOO_LARGE;
	}
	return MLU_ERROR_SYSTEM;
}

/* Error of a completed job's fence (see struct drm_mlu_submit). */
int mlu_status_from_fence_error(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return MLU_SUCCESS;
	case EFAULT:
		return MLU_ERROR_DEVICE_FAULT;
	case EINVAL:
		return MLU_ERROR_BAD_COMMAND;
	case EIO:
		return MLU_ERROR_DEVICE;
	case ETIMEDOUT:
		return MLU_ERROR_JOB_TIMEOUT;
	case ECANCELED:
	case ESRCH:	/* the submitting process was killed first */
		return MLU_ERROR_CANCELED;
	case ENODEV:
		return MLU_ERROR_NO_DEVICE;
	}
	return MLU_ERROR_SYSTEM;
}
