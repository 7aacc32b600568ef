// SPDX-License-Identifier: GPL-2.0-only
/*
 * hwmon: the card's temperature and power sensors (MLU_CAP_SENSORS) as
 * /sys/class/hwmon/hwmon<N>/ with name "mlu", for lm-sensors and friends.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/device.h>
#include <linux/hwmon.h>

#include <drm/drm_drv.h>
#include <drm/drm_print.h>

#include "mlu_device.h"
#include "mlu_sysfs.h"

static umode_t mlu_hwmon_is_visible(const void *data,
				    enum hwmon_sensor_types type, u32 attr,
				    int channel)
{
	return 0444;
}

/* A sensor register, or -ENODEV once the card is gone. */
static int mlu_hwmon_read_reg(struct mlu_device *mdev, u32 reg, u32 *val)
{
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	*val = mlu_reg_read(mdev, reg);
	drm_dev_exit(idx);
	return 0;
}

static int mlu_hwmon_read(struct device *dev, enum hwmon_sensor_types type,
			  u32 attr, int channel, long *val)
{
	struct mlu_device *mdev = dev_get_drvdata(dev);
	u32 reg, raw;
	int ret;

	switch (type) {
	case hwmon_temp:
		reg = attr == hwmon_temp_crit ? MLU_REG_TEMP_CRIT_MC :
						MLU_REG_TEMP_MC;
		break;
	case hwmon_power:
		reg = attr == hwmon_power_max ? MLU_REG_POWER_MAX_MW :
						MLU_REG_POWER_MW;
		break;
	default:
		return -EOPNOTSUPP;
	}

	ret = mlu_hwmon_read_reg(mdev, reg, &raw);
	if (ret)
		return ret;
	if (type == hwmon_temp)
		*val = (s32)raw;		/* millidegrees Celsius */
	else
		*val = (long)raw * 1000;	/* mW to microwatts */
	return 0;
}

static int mlu_hwmon_read_string(struct device *dev,
				 enum hwmon_sensor_types type, u32 attr,
				 int channel, const char **str)
{
	*str = type == hwmon_temp ? "die" : "board";
	return 0;
}

static const struct hwmon_ops mlu_hwmon_ops = {
	.is_visible = mlu_hwmon_is_visible,
	.read = mlu_hwmon_read,
	.read_string = mlu_hwmon_read_string,
};

static const struct hwmon_channel_info *const mlu_hwmon_info[] = {
	HWMON_CHANNEL_INFO(temp, HWMON_T_INPUT | HWMON_T_CRIT | HWMON_T_LABEL),
	HWMON_CHANNEL_INFO(power, HWMON_P_INPUT | HWMON_P_MAX | HWMON_P_LABEL),
	NULL
};

static const struct hwmon_chip_info mlu_hwmon_chip_info = {
	.ops = &mlu_hwmon_ops,
	.info = mlu_hwmon_info,
};

/**
 * mlu_hwmon_init() - register the card's sensors with hwmon
 * @mdev: device
 *
 * Device-managed: the hwmon device goes away with the PCI device.  A card
 * without sensors registers nothing.
 *
 * Return: 0 or a negative errno.
 */
int mlu_hwmon_init(struct mlu_device *mdev)
{
	struct device *hwmon;

	if (!(mdev->caps & MLU_CAP_SENSORS))
		return 0;
	hwmon = devm_hwmon_device_register_with_info(mdev->drm.dev,
						     MLU_DRIVER_NAME, mdev,
						     &mlu_hwmon_chip_info, NULL);
	return PTR_ERR_OR_ZERO(hwmon);
}
