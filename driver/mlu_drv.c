// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlu: DRM accel driver for the MLU PCIe accelerator card.
 * PCI probe/remove, the DRM driver, file open/close and device queries.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_accel.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_print.h>
#include <drm/mlu_accel.h>

#include "mlu_card.h"
#include "mlu_debugfs.h"
#include "mlu_device.h"
#include "mlu_exec_queue.h"
#include "mlu_gem.h"
#include "mlu_job.h"
#include "mlu_mmu.h"
#include "mlu_sysfs.h"

#define MLU_QUERY_MAX_SIZE	4096

static int mlu_open(struct drm_device *drm, struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	struct mlu_file *mfile;
	int ret;

	mfile = kzalloc(sizeof(*mfile), GFP_KERNEL);
	if (!mfile)
		return -ENOMEM;
	mfile->mdev = mdev;

	mfile->ctx = mlu_mmu_ctx_create(mdev);
	if (IS_ERR(mfile->ctx)) {
		ret = PTR_ERR(mfile->ctx);
		goto err_free;
	}

	ret = mlu_exec_queue_file_open(mfile);
	if (ret)
		goto err_put_ctx;

	file->driver_priv = mfile;
	return 0;

err_put_ctx:
	mlu_mmu_ctx_put(mfile->ctx);
err_free:
	kfree(mfile);
	return ret;
}

static void mlu_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct mlu_file *mfile = file->driver_priv;

	/* BO handles are gone already; jobs in flight hold the context. */
	mlu_exec_queue_file_close(mfile);
	mlu_mmu_ctx_put(mfile->ctx);
	kfree(mfile);
}

/* The card's CAPS bits and the UAPI capability bits they become. */
static const struct {
	u32 hw;
	u64 uapi;
} mlu_cap_map[] = {
	{ MLU_CAP_MATMUL, DRM_MLU_CAP_MATMUL },
	{ MLU_CAP_CONV2D, DRM_MLU_CAP_CONV2D },
	{ MLU_CAP_COPY, DRM_MLU_CAP_COPY },
	{ MLU_CAP_TIMESTAMP, DRM_MLU_CAP_TIMESTAMP },
	{ MLU_CAP_DTYPE_F32, DRM_MLU_CAP_DTYPE_F32 },
	{ MLU_CAP_DTYPE_F16, DRM_MLU_CAP_DTYPE_F16 },
	{ MLU_CAP_DTYPE_BF16, DRM_MLU_CAP_DTYPE_BF16 },
	{ MLU_CAP_DTYPE_I8, DRM_MLU_CAP_DTYPE_I8 },
	{ MLU_CAP_FAULT_INJECT, DRM_MLU_CAP_FAULT_INJECT },
};

static u64 mlu_capabilities(struct mlu_device *mdev)
{
	u64 caps = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mlu_cap_map); i++) {
		if (mdev->caps & mlu_cap_map[i].hw)
			caps |= mlu_cap_map[i].uapi;
	}
	if (mdev->devmem)
		caps |= DRM_MLU_CAP_BO_DEVMEM;
	return caps;
}

static void mlu_fill_device_info(struct mlu_device *mdev, struct mlu_file *mfile,
				 struct drm_mlu_device_info *info)
{
	struct pci_dev *pdev = mdev->pdev;

	info->hw_version = mdev->hw_version;
	info->driver_version = DRM_MLU_DRIVER_MAJOR << 16 | DRM_MLU_DRIVER_MINOR;
	info->capabilities = mlu_capabilities(mdev);
	info->devmem_size = mdev->devmem_size;
	info->serial = mdev->serial;
	info->pci_vendor_id = pdev->vendor;
	info->pci_device_id = pdev->device;
	info->pci_subsystem_vendor_id = pdev->subsystem_vendor;
	info->pci_subsystem_device_id = pdev->subsystem_device;
	info->pci_revision = pdev->revision;
	info->num_queues = mdev->num_rings;
	info->max_packets_per_submit = MLU_MAX_JOB_PACKETS;
	info->max_bos_per_submit = MLU_MAX_JOB_BOS;
	info->max_syncs_per_submit = MLU_MAX_JOB_SYNCS;
	info->context_id = mfile->ctx->id;
	info->va_start = MLU_USER_VA_START;
	info->va_end = MLU_USER_VA_END;
	info->job_timeout_ms = mdev->job_timeout_ms;
	info->devmem_free = mlu_gem_devmem_free(mdev);
}

/*
 * Write min(usize, ksize) bytes and clear the rest of the user's buffer, so
 * that fields this kernel does not know read as zero.
 */
static int mlu_copy_query_result(u64 uptr, u32 usize, const void *kbuf,
				 size_t ksize)
{
	void __user *dst = u64_to_user_ptr(uptr);
	size_t n = min_t(size_t, usize, ksize);

	if (copy_to_user(dst, kbuf, n))
		return -EFAULT;
	if (usize > n && clear_user(dst + n, usize - n))
		return -EFAULT;
	return 0;
}

static int mlu_query_context_status(struct mlu_device *mdev,
				    struct mlu_file *mfile,
				    struct drm_mlu_dev_query *args)
{
	struct drm_mlu_context_status status = {};

	BUILD_BUG_ON(sizeof(status) < DRM_MLU_CONTEXT_STATUS_SIZE_V1);
	if (!args->pointer) {
		args->size = sizeof(status);
		return 0;
	}
	if (args->size < DRM_MLU_CONTEXT_STATUS_SIZE_V1 ||
	    args->size > MLU_QUERY_MAX_SIZE)
		return -EINVAL;
	mlu_job_context_status(mdev, mfile->ctx, &status);
	return mlu_copy_query_result(args->pointer, args->size, &status,
				     sizeof(status));
}

static int mlu_ioctl_dev_query(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	struct drm_mlu_dev_query *args = data;
	struct drm_mlu_device_info info = {};

	if (args->pad)
		return -EINVAL;

	switch (args->type) {
	case DRM_MLU_DEV_QUERY_DEVICE_INFO:
		BUILD_BUG_ON(sizeof(info) < DRM_MLU_DEVICE_INFO_SIZE_V1);
		if (!args->pointer) {
			args->size = sizeof(info);
			return 0;
		}
		if (args->size < DRM_MLU_DEVICE_INFO_SIZE_V1 ||
		    args->size > MLU_QUERY_MAX_SIZE)
			return -EINVAL;
		mlu_fill_device_info(mdev, file->driver_priv, &info);
		return mlu_copy_query_result(args->pointer, args->size, &info,
					     sizeof(info));
	case DRM_MLU_DEV_QUERY_CONTEXT_STATUS:
		return mlu_query_context_status(mdev, file->driver_priv, args);
	default:
		drm_dbg(drm, "unknown query type %u\n", args->type);
		return -EINVAL;
	}
}

#define MLU_IOCTL(n, func) \
	DRM_IOCTL_DEF_DRV(MLU_##n, mlu_ioctl_##func, DRM_RENDER_ALLOW)

static const struct drm_ioctl_desc mlu_ioctls[] = {
	MLU_IOCTL(DEV_QUERY, dev_query),
	MLU_IOCTL(BO_CREATE, bo_create),
	MLU_IOCTL(BO_INFO, bo_info),
	MLU_IOCTL(SUBMIT, submit),
	MLU_IOCTL(QUEUE_CREATE, queue_create),
	MLU_IOCTL(QUEUE_DESTROY, queue_destroy),
};

/* drm-engine-queue<N>: device time of the client's jobs on hardware ring N. */
static void mlu_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(file->minor->dev);
	struct mlu_file *mfile = file->driver_priv;
	unsigned int i;

	for (i = 0; i < mdev->num_rings; i++)
		drm_printf(p, "drm-engine-queue%u:\t%lld ns\n", i,
			   atomic64_read(&mfile->ctx->busy_ns[i]));
	mlu_gem_show_memory_stats(p, file);
}

static const struct file_operations mlu_fops = {
	.owner = THIS_MODULE,
	DRM_ACCEL_FOPS,
	.show_fdinfo = drm_show_fdinfo,
};

static const struct drm_driver mlu_drm_driver = {
	.driver_features = DRIVER_COMPUTE_ACCEL | DRIVER_GEM |
			   DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE,
	.open = mlu_open,
	.postclose = mlu_postclose,
	.gem_create_object = mlu_gem_create_object,
	.gem_prime_import = mlu_gem_prime_import,
	.show_fdinfo = mlu_show_fdinfo,
	.ioctls = mlu_ioctls,
	.num_ioctls = ARRAY_SIZE(mlu_ioctls),
	.fops = &mlu_fops,
	.name = MLU_DRIVER_NAME,
	.desc = MLU_DRIVER_DESC,
	.major = DRM_MLU_DRIVER_MAJOR,
	.minor = DRM_MLU_DRIVER_MINOR,
};

static int mlu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct mlu_device *mdev;
	int ret;

	mdev = devm_drm_dev_alloc(&pdev->dev, &mlu_drm_driver,
				  struct mlu_device, drm);
	if (IS_ERR(mdev))
		return PTR_ERR(mdev);
	mdev->pdev = pdev;
	pci_set_drvdata(pdev, mdev);

	ret = mlu_gem_init(mdev);
	if (ret)
		return ret;

	ret = mlu_card_init(mdev);
	if (ret)
		return ret;

	ret = mlu_job_init(mdev);
	if (ret)
		goto err_hw_fini;

	ret = mlu_hwmon_init(mdev);
	if (ret)
		goto err_hw_fini;

	ret = drm_dev_register(&mdev->drm, 0);
	if (ret)
		goto err_hw_fini;
	mlu_debugfs_init(mdev);

	drm_info(&mdev->drm, "MLU card %u.%u, %u rings, %llu MiB device memory, %s\n",
		 mdev->hw_version >> 16, mdev->hw_version & 0xffff,
		 mdev->num_rings, mdev->devmem_size >> 20,
		 mdev->msix ? "MSI-X" : "shared interrupt");
	return 0;

err_hw_fini:
	mlu_card_fini(mdev);
	return ret;
}

static void mlu_remove(struct pci_dev *pdev)
{
	struct mlu_device *mdev = pci_get_drvdata(pdev);

	/* New ioctls fail with -ENODEV; running hardware sections finish. */
	drm_dev_unplug(&mdev->drm);
	mlu_gem_unmap_all(&mdev->drm);
	cancel_work_sync(&mdev->reset_work);
	mlu_card_fini(mdev);
	/* Nothing on the rings will complete any more. */
	mlu_job_cancel_inflight(mdev, -ENODEV);
	/*
	 * Open files keep their contexts and BOs, but the DMA memory and
	 * mappings of the device must not outlive the driver's hold on it.
	 */
	mlu_mmu_teardown(mdev);
	mlu_gem_dma_unmap_all(mdev);
}

static const struct pci_device_id mlu_pci_ids[] = {
	{ PCI_DEVICE(MLU_PCI_VENDOR_ID, MLU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mlu_pci_ids);

static struct pci_driver mlu_pci_driver = {
	.name = MLU_DRIVER_NAME,
	.id_table = mlu_pci_ids,
	.probe = mlu_probe,
	.remove = mlu_remove,
	.dev_groups = mlu_sysfs_groups,
};
module_pci_driver(mlu_pci_driver);

MODULE_DESCRIPTION("DRM accel driver for the MLU PCIe accelerator");
MODULE_AUTHOR("The MLU stack authors");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
