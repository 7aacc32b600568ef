// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs: identity, memory, activity counters and health of a card, in the
 * "mlu" attribute group of its PCI device
 * (/sys/bus/pci/devices/<address>/mlu/, also reached as
 * /sys/class/accel/accel<N>/device/mlu/).  Documented in
 * Documentation/ABI/testing/sysfs-driver-mlu.
 *
 * Like ivpu and amdgpu the files sit on the PCI device, which the driver
 * owns, rather than on the accel minor, which belongs to the DRM core.
 * They are the driver's dev_groups: the driver core creates them before
 * the bind uevent and removes them before mlu_remove() runs, so a reader
 * never sees a half-removed device.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/pci.h>
#include <linux/sysfs.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>

#include "mlu_device.h"
#include "mlu_sysfs.h"

/* A reset this recent makes the card "degraded". */
#define MLU_HEALTH_WINDOW	(60 * HZ)

static struct mlu_device *mlu_sysfs_mdev(struct device *dev)
{
	return pci_get_drvdata(to_pci_dev(dev));
}

/**
 * mlu_health_count_reset() - account a card or ring reset
 * @mdev: device
 * @error: result of a card reset (0 for ring resets)
 *
 * The time of the reset and whether the card came back feed the health
 * state.
 */
void mlu_health_count_reset(struct mlu_device *mdev, int error)
{
	atomic_inc(&mdev->reset_count);
	WRITE_ONCE(mdev->last_reset, jiffies);
	WRITE_ONCE(mdev->reset_failed, error != 0);
}

enum mlu_health {
	MLU_HEALTH_OK,
	MLU_HEALTH_DEGRADED,
	MLU_HEALTH_FAILED,
};

static const char *const mlu_health_names[] = {
	[MLU_HEALTH_OK] = "ok",
	[MLU_HEALTH_DEGRADED] = "degraded",
	[MLU_HEALTH_FAILED] = "failed",
};

/*
 * failed: the last card reset did not bring the card back, or the card no
 * longer answers (registers read all ones).  degraded: the card reports a
 * fatal error that recovery has not cleared yet, or a ring or card was
 * reset in the last MLU_HEALTH_WINDOW.  ok otherwise.  MMU faults do not
 * count: they are a program's bad addresses, not a sick card.
 */
static enum mlu_health mlu_health(struct mlu_device *mdev)
{
	unsigned long last = READ_ONCE(mdev->last_reset);
	enum mlu_health health = MLU_HEALTH_OK;
	u32 status;
	int idx;

	if (READ_ONCE(mdev->reset_failed))
		return MLU_HEALTH_FAILED;
	if (!drm_dev_enter(&mdev->drm, &idx))
		return MLU_HEALTH_FAILED;
	status = mlu_reg_read(mdev, MLU_REG_STATUS);
	drm_dev_exit(idx);
	if (status == ~0u)
		return MLU_HEALTH_FAILED;
	if (status & MLU_STATUS_FATAL)
		health = MLU_HEALTH_DEGRADED;
	if (atomic_read(&mdev->reset_count) &&
	    time_before(jiffies, last + MLU_HEALTH_WINDOW))
		health = MLU_HEALTH_DEGRADED;
	return health;
}

static ssize_t health_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  mlu_health_names[mlu_health(mlu_sysfs_mdev(dev))]);
}
static DEVICE_ATTR_RO(health);

static ssize_t hw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);

	return sysfs_emit(buf, "%u.%u\n", mdev->hw_version >> 16,
			  mdev->hw_version & 0xffff);
}
static DEVICE_ATTR_RO(hw_version);

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%016llx\n", mlu_sysfs_mdev(dev)->serial);
}
static DEVICE_ATTR_RO(serial);

static ssize_t pci_address_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", pci_name(to_pci_dev(dev)));
}
static DEVICE_ATTR_RO(pci_address);

static ssize_t numa_node_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", dev_to_node(dev));
}
static DEVICE_ATTR_RO(numa_node);

static ssize_t accel_minor_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct drm_minor *minor = mlu_sysfs_mdev(dev)->drm.accel;

	return sysfs_emit(buf, "%d\n", minor ? minor->index : -1);
}
static DEVICE_ATTR_RO(accel_minor);

static ssize_t mem_total_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);

	return sysfs_emit(buf, "%llu\n",
			  mdev->devmem ? mdev->devmem_mm.size : 0);
}
static DEVICE_ATTR_RO(mem_total);

static ssize_t mem_used_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);
	u64 used = 0;

	if (mdev->devmem) {
		mutex_lock(&mdev->devmem_lock);
		used = mdev->devmem_mm.size - mdev->devmem_mm.avail;
		mutex_unlock(&mdev->devmem_lock);
	}
	return sysfs_emit(buf, "%llu\n", used);
}
static DEVICE_ATTR_RO(mem_used);

static ssize_t busy_time_ns_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&mdev->stats.busy_ns));
}
static DEVICE_ATTR_RO(busy_time_ns);

static ssize_t utilization_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);
	u32 load;
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	load = mlu_reg_read(mdev, MLU_REG_LOAD);
	drm_dev_exit(idx);
	load = min_t(u32, load, MLU_LOAD_FULL);
	return sysfs_emit(buf, "%u\n",
			  DIV_ROUND_CLOSEST(load, MLU_LOAD_FULL / 100));
}
static DEVICE_ATTR_RO(utilization);

#define MLU_STAT_ATTR(name, expr)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct mlu_device *mdev = mlu_sysfs_mdev(dev);			\
									\
	return sysfs_emit(buf, "%lld\n", (long long)(expr));		\
}									\
static DEVICE_ATTR_RO(name)

MLU_STAT_ATTR(jobs_submitted, atomic64_read(&mdev->stats.jobs_submitted));
MLU_STAT_ATTR(jobs_completed, atomic64_read(&mdev->stats.jobs_completed));
MLU_STAT_ATTR(jobs_failed, atomic64_read(&mdev->stats.jobs_failed));
MLU_STAT_ATTR(mmu_faults, atomic64_read(&mdev->stats.mmu_faults));
MLU_STAT_ATTR(resets, atomic_read(&mdev->reset_count));

static struct attribute *mlu_sysfs_attrs[] = {
	&dev_attr_hw_version.attr,
	&dev_attr_serial.attr,
	&dev_attr_pci_address.attr,
	&dev_attr_numa_node.attr,
	&dev_attr_accel_minor.attr,
	&dev_attr_mem_total.attr,
	&dev_attr_mem_used.attr,
	&dev_attr_busy_time_ns.attr,
	&dev_attr_utilization.attr,
	&dev_attr_jobs_submitted.attr,
	&dev_attr_jobs_completed.attr,
	&dev_attr_jobs_failed.attr,
	&dev_attr_mmu_faults.attr,
	&dev_attr_resets.attr,
	&dev_attr_health.attr,
	NULL
};

/* utilization comes from the card's sensors, which older cards lack. */
static umode_t mlu_sysfs_is_visible(struct kobject *kobj,
				    struct attribute *attr, int n)
{
	struct mlu_device *mdev = mlu_sysfs_mdev(kobj_to_dev(kobj));

	if (attr == &dev_attr_utilization.attr &&
	    !(mdev->caps & MLU_CAP_SENSORS))
		return 0;
	return attr->mode;
}

static const struct attribute_group mlu_sysfs_group = {
	.name = "mlu",
	.attrs = mlu_sysfs_attrs,
	.is_visible = mlu_sysfs_is_visible,
};

const struct attribute_group *mlu_sysfs_groups[] = {
	&mlu_sysfs_group,
	NULL
};
