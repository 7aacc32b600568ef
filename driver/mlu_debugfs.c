// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs: the card's fault-injection controls for tests, and counters.
 * Files live in /sys/kernel/debug/accel/<minor>/.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/debugfs.h>

#include <drm/drm_drv.h>

#include "mlu_drv.h"

/* Write @val to a fault-injection register, if the card has the block. */
static int mlu_debugfs_fi_write(struct mlu_device *mdev, u32 reg, u64 val,
				u64 max)
{
	int idx;

	if (!(mdev->caps & MLU_CAP_FAULT_INJECT))
		return -EOPNOTSUPP;
	if (val > max)
		return -EINVAL;
	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	mlu_write(mdev, reg, val);
	drm_dev_exit(idx);
	return 0;
}

static u64 mlu_debugfs_queue_mask(struct mlu_device *mdev)
{
	return GENMASK_ULL(mdev->num_queues - 1, 0);
}

static int mlu_debugfs_fi_hang_set(void *data, u64 val)
{
	struct mlu_device *mdev = data;

	return mlu_debugfs_fi_write(mdev, MLU_REG_FI_HANG, val,
				    mlu_debugfs_queue_mask(mdev));
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_hang_fops, NULL,
			 mlu_debugfs_fi_hang_set, "%llu\n");

static int mlu_debugfs_fi_fault_set(void *data, u64 val)
{
	struct mlu_device *mdev = data;

	return mlu_debugfs_fi_write(mdev, MLU_REG_FI_FAULT, val,
				    mlu_debugfs_queue_mask(mdev));
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_fault_fops, NULL,
			 mlu_debugfs_fi_fault_set, "%llu\n");

static int mlu_debugfs_fi_device_error_set(void *data, u64 val)
{
	return mlu_debugfs_fi_write(data, MLU_REG_FI_DEVICE_ERROR, val, 1);
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_device_error_fops, NULL,
			 mlu_debugfs_fi_device_error_set, "%llu\n");

static int mlu_debugfs_reset_count_get(void *data, u64 *val)
{
	struct mlu_device *mdev = data;

	*val = atomic_read(&mdev->reset_count);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_reset_count_fops,
			 mlu_debugfs_reset_count_get, NULL, "%llu\n");

/**
 * mlu_debugfs_init() - create the debugfs files of a registered device
 * @mdev: device
 *
 * fi_hang and fi_fault take a bit mask of queues, fi_device_error takes 1
 * (see the card's fault-injection registers); reset_count counts queue
 * and card resets.
 */
void mlu_debugfs_init(struct mlu_device *mdev)
{
	struct dentry *root = mdev->drm.debugfs_root;

	debugfs_create_file_unsafe("fi_hang", 0200, root, mdev,
				   &mlu_debugfs_fi_hang_fops);
	debugfs_create_file_unsafe("fi_fault", 0200, root, mdev,
				   &mlu_debugfs_fi_fault_fops);
	debugfs_create_file_unsafe("fi_device_error", 0200, root, mdev,
				   &mlu_debugfs_fi_device_error_fops);
	debugfs_create_file_unsafe("reset_count", 0400, root, mdev,
				   &mlu_debugfs_reset_count_fops);
	mlu_bench_debugfs_init(mdev);
}
