// SPDX-License-Identifier: GPL-2.0-only
/*
 * PRIME: BOs exported as dma-bufs, and dma-bufs imported as BOs.
 *
 * Host memory BOs export through the GEM helpers: an importer gets the
 * shmem pages, DMA-mapped for its own device.  Device memory BOs have no
 * struct pages; their dma-buf hands out bus addresses of the BAR2 range,
 * mapped for the importing device with dma_map_resource(), so that a peer
 * device reads and writes the card's memory directly (peer-to-peer).  Only
 * importers that declare they can handle such addresses get them, and when
 * the kernel can judge the PCI topology (CONFIG_PCI_P2PDMA) it must agree.
 *
 * Imports attach dynamically (peer-to-peer allowed) and pin the buffer for
 * the BO's lifetime: the card's page tables hold its bus addresses, and the
 * driver has no way to stop the card to remap them.  An import is a BO kind
 * of its own (&struct mlu_import_bo, a plain GEM object over the
 * attachment's sg table), mapped into contexts by the same core as the
 * card's own BOs.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/gpu_buddy.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>
#include <drm/mlu_accel.h>

#include "mlu_device.h"
#include "mlu_gem.h"
#include "mlu_mmu.h"
#include "mlu_trace.h"

/* sg entries carry 32-bit lengths: split device memory blocks into these. */
#define MLU_DEVMEM_SG_MAX	SZ_1G

/*
 * Pinning is implied: device memory never moves, and a host memory BO's
 * pages stay pinned from attach to detach (drm_gem_map_attach()).  Having
 * pin and unpin makes the dma-buf dynamic: a dynamic importer, such as
 * another card, then gets its mapping made and undone when it asks, where
 * otherwise the core would hold it until detach.  A card being removed
 * thus gives up its mappings of other cards' memory at once.
 */
static int mlu_dmabuf_pin(struct dma_buf_attachment *attach)
{
	return 0;
}

static void mlu_dmabuf_unpin(struct dma_buf_attachment *attach)
{
}

/*
 * The shmem helpers' fault handler maps from the start of the BO whatever
 * the offset: refuse offsets rather than map the wrong pages.
 */
static int mlu_shmem_dmabuf_mmap(struct dma_buf *dma_buf,
				 struct vm_area_struct *vma)
{
	if (vma->vm_pgoff)
		return -EINVAL;
	return drm_gem_dmabuf_mmap(dma_buf, vma);
}

static const struct dma_buf_ops mlu_shmem_dmabuf_ops = {
	.attach = drm_gem_map_attach,
	.detach = drm_gem_map_detach,
	.pin = mlu_dmabuf_pin,
	.unpin = mlu_dmabuf_unpin,
	.map_dma_buf = drm_gem_map_dma_buf,
	.unmap_dma_buf = drm_gem_unmap_dma_buf,
	.release = drm_gem_dmabuf_release,
	.mmap = mlu_shmem_dmabuf_mmap,
	.vmap = drm_gem_dmabuf_vmap,
	.vunmap = drm_gem_dmabuf_vunmap,
};

/*
 * A peer may only get bus addresses of BAR2 if it said it can use memory
 * without struct pages, and if the kernel, when it can tell, confirms that
 * the PCI topology routes traffic between the two devices.  Without
 * CONFIG_PCI_P2PDMA (Debian's kernels) the driver trusts the platform.
 */
static int mlu_devmem_dmabuf_attach(struct dma_buf *dma_buf,
				    struct dma_buf_attachment *attach)
{
	struct drm_gem_object *obj = dma_buf->priv;
	struct mlu_device *mdev = to_mlu_device(obj->dev);
	int idx;

	/* After removal BAR2 is no longer the card's to hand out. */
	if (!drm_dev_enter(obj->dev, &idx))
		return -ENODEV;
	drm_dev_exit(idx);
	if (!attach->peer2peer || !dev_is_pci(attach->dev)) {
		drm_dbg(obj->dev, "%s cannot reach device memory: no peer-to-peer\n",
			dev_name(attach->dev));
		return -EOPNOTSUPP;
	}
	if (IS_ENABLED(CONFIG_PCI_P2PDMA) &&
	    pci_p2pdma_distance(mdev->pdev, attach->dev, true) < 0)
		return -EOPNOTSUPP;
	return 0;
}

static unsigned int mlu_devmem_sg_count(struct mlu_devmem_bo *dbo,
					struct gpu_buddy *mm)
{
	struct gpu_buddy_block *block;
	unsigned int count = 0;

	list_for_each_entry(block, &dbo->blocks, link)
		count += DIV_ROUND_UP_ULL(gpu_buddy_block_size(mm, block),
					  MLU_DEVMEM_SG_MAX);
	return count;
}

static void mlu_devmem_sg_unmap(struct device *dev, struct sg_table *sgt,
				unsigned int mapped,
				enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(sgt->sgl, sg, mapped, i)
		dma_unmap_resource(dev, sg_dma_address(sg), sg_dma_len(sg), dir,
				   DMA_ATTR_SKIP_CPU_SYNC);
}

/* Bus addresses of the BO's BAR2 range, as the importing device sees them. */
static struct sg_table *mlu_devmem_map_dma_buf(struct dma_buf_attachment *attach,
					       enum dma_data_direction dir)
{
	struct drm_gem_object *obj = attach->dmabuf->priv;
	struct mlu_device *mdev = to_mlu_device(obj->dev);
	struct mlu_devmem_bo *dbo = to_mlu_devmem_bo(to_mlu_bo(obj));
	struct gpu_buddy_block *block;
	unsigned int mapped = 0;
	struct scatterlist *sg;
	struct sg_table *sgt;
	int ret;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, mlu_devmem_sg_count(dbo, &mdev->devmem_mm),
			     GFP_KERNEL);
	if (ret)
		goto err_free;

	sg = sgt->sgl;
	list_for_each_entry(block, &dbo->blocks, link) {
		u64 size = gpu_buddy_block_size(&mdev->devmem_mm, block);
		u64 offset = gpu_buddy_block_offset(block);
		u64 done, len;
		dma_addr_t addr;

		for (done = 0; done < size; done += len) {
			len = min_t(u64, size - done, MLU_DEVMEM_SG_MAX);
			addr = dma_map_resource(attach->dev,
						mdev->devmem_bus + offset + done,
						len, dir, DMA_ATTR_SKIP_CPU_SYNC);
			ret = dma_mapping_error(attach->dev, addr);
			if (ret)
				goto err_unmap;
			sg_set_page(sg, NULL, len, 0);
			sg_dma_address(sg) = addr;
			sg_dma_len(sg) = len;
			sg = sg_next(sg);
			mapped++;
		}
	}
	return sgt;

err_unmap:
	mlu_devmem_sg_unmap(attach->dev, sgt, mapped, dir);
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void mlu_devmem_unmap_dma_buf(struct dma_buf_attachment *attach,
				     struct sg_table *sgt,
				     enum dma_data_direction dir)
{
	mlu_devmem_sg_unmap(attach->dev, sgt, sgt->orig_nents, dir);
	sg_free_table(sgt);
	kfree(sgt);
}

/*
 * drm_gem_prime_mmap() adds the BO's GEM fake offset to vm_pgoff and
 * mlu_devmem_mmap() subtracts it again to find the offset into the BO.
 * Create the fake offset first, so that a BO_INFO creating it in between
 * cannot make the two differ (and the mapping come out empty).
 */
static int mlu_devmem_dmabuf_mmap(struct dma_buf *dma_buf,
				  struct vm_area_struct *vma)
{
	int ret = drm_gem_create_mmap_offset(dma_buf->priv);

	if (ret)
		return ret;
	return drm_gem_dmabuf_mmap(dma_buf, vma);
}

/* Device memory is never moved or evicted: no move_notify. */
static const struct dma_buf_ops mlu_devmem_dmabuf_ops = {
	.attach = mlu_devmem_dmabuf_attach,
	.pin = mlu_dmabuf_pin,
	.unpin = mlu_dmabuf_unpin,
	.map_dma_buf = mlu_devmem_map_dma_buf,
	.unmap_dma_buf = mlu_devmem_unmap_dma_buf,
	.release = drm_gem_dmabuf_release,
	.mmap = mlu_devmem_dmabuf_mmap,
};

/**
 * mlu_gem_prime_export() - &drm_gem_object_funcs.export of every BO
 * @obj: BO to export
 * @flags: file flags of the dma-buf
 *
 * Return: the dma-buf, or an ERR_PTR.
 */
struct dma_buf *mlu_gem_prime_export(struct drm_gem_object *obj, int flags)
{
	struct dma_buf_export_info exp_info = {
		.exp_name = KBUILD_MODNAME,
		.owner = THIS_MODULE,
		.size = obj->size,
		.flags = flags,
		.priv = obj,
		.resv = obj->resv,
	};

	/* Imports never get here: PRIME hands out their original dma-buf. */
	if (to_mlu_bo(obj)->kind == MLU_BO_DEVMEM)
		exp_info.ops = &mlu_devmem_dmabuf_ops;
	else
		exp_info.ops = &mlu_shmem_dmabuf_ops;
	return drm_gem_dmabuf_export(obj->dev, &exp_info);
}

static bool mlu_dmabuf_is_mlu(const struct dma_buf *dma_buf)
{
	return dma_buf->ops == &mlu_shmem_dmabuf_ops ||
	       dma_buf->ops == &mlu_devmem_dmabuf_ops;
}

static void mlu_prime_move_notify(struct dma_buf_attachment *attach)
{
	dev_warn_ratelimited(attach->dev,
			     "exporter moved a pinned dma-buf; ignored\n");
}

static const struct dma_buf_attach_ops mlu_prime_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = mlu_prime_move_notify,
};

/* Attach, pin and map @dma_buf for the card; the mapping or an ERR_PTR. */
static struct sg_table *mlu_prime_attach_pinned(struct dma_buf_attachment *attach)
{
	struct dma_buf *dma_buf = attach->dmabuf;
	struct sg_table *sgt;
	int ret;

	dma_resv_lock(dma_buf->resv, NULL);
	ret = dma_buf_pin(attach);
	if (ret) {
		sgt = ERR_PTR(ret);
		goto out_unlock;
	}
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		dma_buf_unpin(attach);
out_unlock:
	dma_resv_unlock(dma_buf->resv);
	return sgt;
}

/* ---- Imports ---- */

static inline struct mlu_import_bo *obj_to_mlu_import_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct mlu_import_bo, base);
}

/**
 * mlu_gem_prime_release() - undo mlu_gem_prime_import()'s mapping and pin
 * @ibo: imported BO being freed, or whose card is being removed
 *
 * Only the first call does anything.  The BO stays attached until freed.
 */
void mlu_gem_prime_release(struct mlu_import_bo *ibo)
{
	struct dma_buf_attachment *attach = ibo->base.import_attach;
	struct dma_buf *dma_buf = attach->dmabuf;

	dma_resv_lock(dma_buf->resv, NULL);
	if (ibo->sgt) {
		dma_buf_unmap_attachment(attach, ibo->sgt, DMA_BIDIRECTIONAL);
		ibo->sgt = NULL;
		dma_buf_unpin(attach);
	}
	dma_resv_unlock(dma_buf->resv);
}

static void mlu_import_bo_free(struct drm_gem_object *obj)
{
	struct mlu_import_bo *ibo = obj_to_mlu_import_bo(obj);

	trace_mlu_bo_free(mlu_trace_card(to_mlu_device(obj->dev)), obj->size,
			  MLU_TRACE_BO_HOST, current->tgid);
	mlu_bo_fini(&ibo->bo);
	mlu_gem_prime_release(ibo);
	/* Detaches and drops the dma-buf reference taken at import. */
	drm_prime_gem_destroy(obj, NULL);
	drm_gem_object_release(obj);
	kfree(ibo);
}

/*
 * CPU mappings of an import are the exporter's: hand the VMA over to the
 * dma-buf, with neither the GEM VMA operations nor the GEM reference that
 * drm_gem_mmap_obj() set up (as drm_gem_shmem_mmap() does for imports).
 */
static int mlu_import_bo_mmap(struct drm_gem_object *obj,
			      struct vm_area_struct *vma)
{
	int ret;

	vma->vm_private_data = NULL;
	vma->vm_ops = NULL;
	ret = dma_buf_mmap(obj->dma_buf, vma, 0);
	if (!ret)
		drm_gem_object_put(obj);
	return ret;
}

/* No export: PRIME hands out the imported dma-buf itself. */
static const struct drm_gem_object_funcs mlu_import_funcs = {
	.free = mlu_import_bo_free,
	.open = mlu_gem_open,
	.close = mlu_gem_close,
	.status = mlu_gem_status_resident,
	.mmap = mlu_import_bo_mmap,
};

/**
 * mlu_gem_prime_import() - &drm_driver.gem_prime_import
 * @drm: importing device
 * @dma_buf: buffer to import
 *
 * A BO of the same card comes back as itself.  Anything else (another
 * card's BO, a udmabuf, ...) becomes a &struct mlu_import_bo over the
 * pages or bus addresses the exporter mapped for this card.
 *
 * Return: the GEM object, or an ERR_PTR: -E2BIG when the buffer cannot fit
 * the device address space, -EOPNOTSUPP when the exporter refuses this
 * card (e.g. device memory without a peer-to-peer path), or the
 * exporter's error.
 */
struct drm_gem_object *mlu_gem_prime_import(struct drm_device *drm,
					    struct dma_buf *dma_buf)
{
	struct dma_buf_attachment *attach;
	struct mlu_import_bo *ibo;
	struct drm_gem_object *obj;
	struct sg_table *sgt;
	size_t size;
	int ret;

	if (mlu_dmabuf_is_mlu(dma_buf)) {
		obj = dma_buf->priv;
		if (obj->dev == drm) {
			drm_gem_object_get(obj);
			return obj;
		}
	}
	if (dma_buf->size > MLU_USER_VA_END - MLU_USER_VA_START - MLU_PAGE_SIZE)
		return ERR_PTR(-E2BIG);
	/* GEM objects are whole pages (and the card maps whole pages). */
	size = PAGE_ALIGN(dma_buf->size);

	ibo = kzalloc(sizeof(*ibo), GFP_KERNEL);
	if (!ibo)
		return ERR_PTR(-ENOMEM);

	attach = dma_buf_dynamic_attach(dma_buf, drm->dev,
					&mlu_prime_importer_ops, NULL);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_free;
	}
	get_dma_buf(dma_buf);

	sgt = mlu_prime_attach_pinned(attach);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_detach;
	}

	obj = &ibo->base;
	drm_gem_private_object_init(drm, obj, size);
	obj->funcs = &mlu_import_funcs;
	obj->import_attach = attach;
	obj->resv = dma_buf->resv;
	ibo->sgt = sgt;
	mlu_bo_init(&ibo->bo, obj, MLU_BO_IMPORT);
	trace_mlu_bo_create(mlu_trace_card(to_mlu_device(drm)), obj->size,
			    MLU_TRACE_BO_HOST, current->tgid);
	mlu_bo_track_dma(&ibo->bo);
	return obj;

err_detach:
	dma_buf_detach(dma_buf, attach);
	dma_buf_put(dma_buf);
err_free:
	kfree(ibo);
	return ERR_PTR(ret);
}
