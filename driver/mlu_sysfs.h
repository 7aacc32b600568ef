/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sysfs and hwmon: the card's identity, health and sensors.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_SYSFS_H__
#define __MLU_SYSFS_H__

#include <linux/kconfig.h>
#include <linux/sysfs.h>

#include "mlu_device.h"

extern const struct attribute_group *mlu_sysfs_groups[];
void mlu_health_count_reset(struct mlu_device *mdev, int error);

#if IS_REACHABLE(CONFIG_HWMON)
int mlu_hwmon_init(struct mlu_device *mdev);
#else
static inline int mlu_hwmon_init(struct mlu_device *mdev)
{
	return 0;
}
#endif

#endif /* __MLU_SYSFS_H__ */
