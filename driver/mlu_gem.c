// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffer objects, mapped into the device address space of every file that
 * holds a handle to them.  Three kinds share &struct mlu_bo: host memory
 * (shmem GEM objects), device memory (plain GEM objects over BAR2 blocks)
 * and imported dma-bufs (mlu_prime.c).  One mapping core serves them all.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/gpu_buddy.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/mlu_accel.h>

#include "mlu_device.h"
#include "mlu_gem.h"
#include "mlu_mmu.h"
#include "mlu_trace.h"

#define MLU_BO_FLAGS	(DRM_MLU_BO_DEVMEM | DRM_MLU_BO_DEVICE_READ_ONLY)

/* ---- What every kind shares ---- */

/**
 * mlu_bo_init() - initialise the common part of a BO
 * @bo: common part, zeroed
 * @obj: the GEM object of the same BO, initialised
 * @kind: the structure @bo and @obj are part of
 */
void mlu_bo_init(struct mlu_bo *bo, struct drm_gem_object *obj,
		 enum mlu_bo_kind kind)
{
	bo->obj = obj;
	bo->kind = kind;
	mutex_init(&bo->mappings_lock);
	INIT_LIST_HEAD(&bo->mappings);
	INIT_LIST_HEAD(&bo->dev_link);
}

/**
 * mlu_bo_fini() - undo mlu_bo_init() when the BO is freed
 * @bo: common part of a BO no context maps any more
 */
void mlu_bo_fini(struct mlu_bo *bo)
{
	mlu_bo_untrack_dma(bo);
	drm_WARN_ON(bo->obj->dev, !list_empty(&bo->mappings));
	mutex_destroy(&bo->mappings_lock);
}

/**
 * mlu_bo_track_dma() - list a BO whose memory is DMA-mapped for the card
 * @bo: a host memory BO, from its first mapping on, or an import
 *
 * Removal gives up the mappings of every listed BO, mlu_gem_dma_unmap_all().
 */
void mlu_bo_track_dma(struct mlu_bo *bo)
{
	struct mlu_device *mdev = to_mlu_device(bo->obj->dev);

	mutex_lock(&mdev->bo_list_lock);
	if (list_empty(&bo->dev_link))
		list_add_tail(&bo->dev_link, &mdev->bo_list);
	mutex_unlock(&mdev->bo_list_lock);
}

/**
 * mlu_bo_untrack_dma() - take a BO off the device's list of DMA-mapped BOs
 * @bo: BO being freed
 */
void mlu_bo_untrack_dma(struct mlu_bo *bo)
{
	struct mlu_device *mdev = to_mlu_device(bo->obj->dev);

	mutex_lock(&mdev->bo_list_lock);
	list_del_init(&bo->dev_link);
	mutex_unlock(&mdev->bo_list_lock);
}

/**
 * mlu_gem_status_resident() - &drm_gem_object_funcs.status of BOs whose
 *	memory is there from creation on (device memory, imports)
 * @obj: BO
 *
 * Return: DRM_GEM_OBJECT_RESIDENT.
 */
enum drm_gem_object_status mlu_gem_status_resident(struct drm_gem_object *obj)
{
	return DRM_GEM_OBJECT_RESIDENT;
}

/* ---- Host memory BOs: shmem, through the shmem helpers' API ---- */

static inline struct mlu_shmem_bo *to_mlu_shmem_bo(struct mlu_bo *bo)
{
	return container_of(bo, struct mlu_shmem_bo, bo);
}

static inline struct mlu_shmem_bo *obj_to_mlu_shmem_bo(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct mlu_shmem_bo,
			    base);
}

/*
 * shmem reports a failed inode allocation and a failed memory commitment
 * for pages as -ENOSPC (a full file system, to tmpfs).  For a BO both are
 * running out of memory, which the UAPI reports as -ENOMEM.
 */
static int mlu_shmem_errno(int err)
{
	return err == -ENOSPC ? -ENOMEM : err;
}

/*
 * Pin the pages and DMA-map them for the card, once: the first mapping
 * into a context does it, later ones reuse the table.  The table is the
 * driver's own (not the shmem helpers' cached one), so that removal can
 * give up the DMA mapping while the BO lives on.
 */
static struct sg_table *mlu_shmem_bo_dma_map(struct mlu_shmem_bo *sbo)
{
	struct drm_gem_object *obj = &sbo->base.base;
	struct sg_table *sgt;
	int ret;

	dma_resv_lock(obj->resv, NULL);
	if (sbo->sgt) {
		sgt = sbo->sgt;
		goto out_unlock;
	}
	if (!sbo->pinned) {
		ret = drm_gem_shmem_pin_locked(&sbo->base);
		if (ret) {
			sgt = ERR_PTR(mlu_shmem_errno(ret));
			goto out_unlock;
		}
		sbo->pinned = true;
	}
	/* A failure leaves the pages pinned until the BO is freed. */
	sgt = drm_gem_shmem_get_sg_table(&sbo->base);
	if (IS_ERR(sgt))
		goto out_unlock;
	ret = dma_map_sgtable(obj->dev->dev, sgt, DMA_BIDIRECTIONAL, 0);
	if (ret) {
		sg_free_table(sgt);
		kfree(sgt);
		sgt = ERR_PTR(ret);
		goto out_unlock;
	}
	sbo->sgt = sgt;
out_unlock:
	dma_resv_unlock(obj->resv);
	return sgt;
}

/* Give up the DMA mapping; the pages stay pinned until the BO is freed. */
static void mlu_shmem_bo_dma_unmap(struct mlu_shmem_bo *sbo)
{
	struct drm_gem_object *obj = &sbo->base.base;

	dma_resv_lock(obj->resv, NULL);
	if (sbo->sgt) {
		dma_unmap_sgtable(obj->dev->dev, sbo->sgt, DMA_BIDIRECTIONAL, 0);
		sg_free_table(sbo->sgt);
		kfree(sbo->sgt);
		sbo->sgt = NULL;
	}
	dma_resv_unlock(obj->resv);
}

static void mlu_shmem_bo_free(struct drm_gem_object *obj)
{
	struct mlu_shmem_bo *sbo = obj_to_mlu_shmem_bo(obj);

	trace_mlu_bo_free(mlu_trace_card(to_mlu_device(obj->dev)), obj->size,
			  MLU_TRACE_BO_HOST, current->tgid);
	mlu_bo_fini(&sbo->bo);
	mlu_shmem_bo_dma_unmap(sbo);
	if (sbo->pinned)
		drm_gem_shmem_unpin(&sbo->base);
	drm_gem_shmem_free(&sbo->base);
}

/* Pages come with the first mapping, which every handle has. */
static enum drm_gem_object_status mlu_shmem_bo_status(struct drm_gem_object *obj)
{
	return READ_ONCE(obj_to_mlu_shmem_bo(obj)->pinned) ?
	       DRM_GEM_OBJECT_RESIDENT : 0;
}

static const struct drm_gem_object_funcs mlu_shmem_funcs = {
	.free = mlu_shmem_bo_free,
	.open = mlu_gem_open,
	.close = mlu_gem_close,
	.export = mlu_gem_prime_export,
	.status = mlu_shmem_bo_status,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/**
 * mlu_gem_create_object() - &drm_driver.gem_create_object hook
 * @drm: device
 * @size: object size
 *
 * drm_gem_shmem_create() allocates host memory BOs through this.
 *
 * Return: the GEM object of a new &struct mlu_shmem_bo, or an ERR_PTR.
 */
struct drm_gem_object *mlu_gem_create_object(struct drm_device *drm,
					     size_t size)
{
	struct mlu_shmem_bo *sbo;

	sbo = kzalloc(sizeof(*sbo), GFP_KERNEL);
	if (!sbo)
		return ERR_PTR(-ENOMEM);

	sbo->base.map_wc = false;
	sbo->base.base.funcs = &mlu_shmem_funcs;
	mlu_bo_init(&sbo->bo, &sbo->base.base, MLU_BO_HOST);
	trace_mlu_bo_create(mlu_trace_card(to_mlu_device(drm)), size,
			    MLU_TRACE_BO_HOST, current->tgid);
	return &sbo->base.base;
}

/* Refuse sizes the machine could never back, before pinning any page. */
static bool mlu_bo_size_plausible(u64 size)
{
	return size >> PAGE_SHIFT <= totalram_pages();
}

/* Create a host memory BO. */
static struct drm_gem_object *mlu_shmem_bo_create(struct drm_device *drm,
						  u64 size)
{
	struct drm_gem_shmem_object *shmem;

	if (!mlu_bo_size_plausible(size))
		return ERR_PTR(-ENOMEM);
	shmem = drm_gem_shmem_create(drm, size);
	if (IS_ERR(shmem))
		return ERR_PTR(mlu_shmem_errno(PTR_ERR(shmem)));
	return &shmem->base;
}

/* ---- Device memory BOs: the card's BAR2, from the buddy allocator ---- */

static inline struct mlu_devmem_bo *obj_to_mlu_devmem_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct mlu_devmem_bo, base);
}

static void mlu_devmem_bo_free(struct drm_gem_object *obj)
{
	struct mlu_device *mdev = to_mlu_device(obj->dev);
	struct mlu_devmem_bo *dbo = obj_to_mlu_devmem_bo(obj);

	trace_mlu_bo_free(mlu_trace_card(mdev), obj->size, MLU_TRACE_BO_DEVMEM,
			  current->tgid);
	mlu_bo_fini(&dbo->bo);
	mutex_lock(&mdev->devmem_lock);
	gpu_buddy_free_list(&mdev->devmem_mm, &dbo->blocks, 0);
	mutex_unlock(&mdev->devmem_lock);
	drm_gem_object_release(obj);
	kfree(dbo);
}

/*
 * CPU mapping of device memory: BAR2 pages, write-combined, no faults.
 * A dma-buf mmap may start at an offset into the BO: vm_pgoff is the GEM
 * fake offset plus that.
 */
static int mlu_devmem_bo_mmap(struct drm_gem_object *obj,
			      struct vm_area_struct *vma)
{
	struct mlu_device *mdev = to_mlu_device(obj->dev);
	u64 skip = (u64)(vma->vm_pgoff - drm_vma_node_start(&obj->vma_node))
		   << PAGE_SHIFT;
	struct mlu_devmem_bo *dbo = obj_to_mlu_devmem_bo(obj);
	struct gpu_buddy_block *block;
	unsigned long addr = vma->vm_start;
	int ret = 0;
	int idx;

	if (!drm_dev_enter(obj->dev, &idx))
		return -ENODEV;

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	list_for_each_entry(block, &dbo->blocks, link) {
		u64 size = gpu_buddy_block_size(&mdev->devmem_mm, block);
		u64 phys = mdev->devmem_bus + gpu_buddy_block_offset(block);
		u64 len;

		if (skip >= size) {
			skip -= size;
			continue;
		}
		len = min_t(u64, size - skip, vma->vm_end - addr);
		ret = io_remap_pfn_range(vma, addr, PHYS_PFN(phys + skip), len,
					 vma->vm_page_prot);
		if (ret)
			break;
		skip = 0;
		addr += len;
		if (addr >= vma->vm_end)
			break;
	}
	drm_dev_exit(idx);
	return ret;
}

static void mlu_devmem_bo_print_info(struct drm_printer *p, unsigned int indent,
				     const struct drm_gem_object *obj)
{
	const struct mlu_devmem_bo *dbo =
		container_of_const(obj, struct mlu_devmem_bo, base);
	const struct gpu_buddy_block *block;
	unsigned int count = 0;
	u64 offset = 0;

	list_for_each_entry(block, &dbo->blocks, link) {
		if (!count++)
			offset = gpu_buddy_block_offset(block);
	}
	drm_printf_indent(p, indent, "devmem_blocks=%u\n", count);
	drm_printf_indent(p, indent, "devmem_offset=0x%llx\n", offset);
}

static const struct vm_operations_struct mlu_devmem_vm_ops = {
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static const struct drm_gem_object_funcs mlu_devmem_funcs = {
	.free = mlu_devmem_bo_free,
	.open = mlu_gem_open,
	.close = mlu_gem_close,
	.export = mlu_gem_prime_export,
	.print_info = mlu_devmem_bo_print_info,
	.status = mlu_gem_status_resident,
	.mmap = mlu_devmem_bo_mmap,
	.vm_ops = &mlu_devmem_vm_ops,
};

/* Allocate and clear device memory for a DRM_MLU_BO_DEVMEM BO. */
static struct drm_gem_object *mlu_devmem_bo_create(struct mlu_device *mdev,
						   u64 size)
{
	struct gpu_buddy_block *block;
	struct mlu_devmem_bo *dbo;
	int ret, idx;

	dbo = kzalloc(sizeof(*dbo), GFP_KERNEL);
	if (!dbo)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&dbo->blocks);
	drm_gem_private_object_init(&mdev->drm, &dbo->base, size);
	dbo->base.funcs = &mlu_devmem_funcs;
	mlu_bo_init(&dbo->bo, &dbo->base, MLU_BO_DEVMEM);
	trace_mlu_bo_create(mlu_trace_card(mdev), size, MLU_TRACE_BO_DEVMEM,
			    current->tgid);

	mutex_lock(&mdev->devmem_lock);
	ret = gpu_buddy_alloc_blocks(&mdev->devmem_mm, 0, mdev->devmem_mm.size,
				     size, PAGE_SIZE, &dbo->blocks, 0);
	mutex_unlock(&mdev->devmem_lock);
	if (ret) {
		/* The buddy allocator says -ENOSPC when it is full. */
		ret = -ENOMEM;
		goto err_put;
	}

	/* Device memory keeps old contents; hand out zeroes only. */
	if (!drm_dev_enter(&mdev->drm, &idx)) {
		ret = -ENODEV;
		goto err_put;
	}
	list_for_each_entry(block, &dbo->blocks, link)
		memset_io(mdev->devmem + gpu_buddy_block_offset(block), 0,
			  gpu_buddy_block_size(&mdev->devmem_mm, block));
	drm_dev_exit(idx);
	return &dbo->base;

err_put:
	drm_gem_object_put(&dbo->base);
	return ERR_PTR(ret);
}

/**
 * to_mlu_bo() - the common part of a BO
 * @obj: a GEM object of the device: every one is of one of the three kinds
 *
 * Return: the &struct mlu_bo of @obj.
 */
struct mlu_bo *to_mlu_bo(struct drm_gem_object *obj)
{
	if (obj->funcs == &mlu_shmem_funcs)
		return &obj_to_mlu_shmem_bo(obj)->bo;
	if (obj->funcs == &mlu_devmem_funcs)
		return &obj_to_mlu_devmem_bo(obj)->bo;
	return &container_of(obj, struct mlu_import_bo, base)->bo;
}

/* ---- The mapping core: any kind of BO into a context ---- */

static struct mlu_bo_mapping *mlu_bo_find_mapping(struct mlu_bo *bo,
						  struct mlu_mmu_ctx *ctx)
{
	struct mlu_bo_mapping *mapping;

	lockdep_assert_held(&bo->mappings_lock);

	list_for_each_entry(mapping, &bo->mappings, link) {
		if (mapping->ctx == ctx)
			return mapping;
	}
	return NULL;
}

/*
 * Map @bo at a new range of @ctx: device memory by its blocks, everything
 * else by the sg table of its DMA addresses for the card.
 */
static int mlu_bo_mmu_map(struct mlu_bo *bo, struct mlu_mmu_ctx *ctx,
			  struct drm_mm_node *node)
{
	bool writable = !(bo->flags & DRM_MLU_BO_DEVICE_READ_ONLY);
	struct mlu_device *mdev = to_mlu_device(bo->obj->dev);
	u64 size = bo->obj->size;
	struct sg_table *sgt;

	switch (bo->kind) {
	case MLU_BO_DEVMEM:
		return mlu_mmu_map_devmem(ctx, node, &mdev->devmem_mm,
					  &to_mlu_devmem_bo(bo)->blocks, size,
					  writable);
	case MLU_BO_HOST:
		sgt = mlu_shmem_bo_dma_map(to_mlu_shmem_bo(bo));
		if (IS_ERR(sgt))
			return PTR_ERR(sgt);
		mlu_bo_track_dma(bo);
		break;
	case MLU_BO_IMPORT:
		/* Given back only at removal, after which nothing maps. */
		sgt = to_mlu_import_bo(bo)->sgt;
		if (!sgt)
			return -ENODEV;
		break;
	default:
		return -EINVAL;
	}
	return mlu_mmu_map_sgt(ctx, node, sgt, size, writable);
}

static struct mlu_bo_mapping *mlu_bo_mapping_create(struct mlu_bo *bo,
						    struct mlu_mmu_ctx *ctx)
{
	struct mlu_bo_mapping *mapping;
	int ret;

	mapping = kzalloc(sizeof(*mapping), GFP_KERNEL);
	if (!mapping)
		return ERR_PTR(-ENOMEM);

	ret = mlu_bo_mmu_map(bo, ctx, &mapping->node);
	if (ret) {
		kfree(mapping);
		return ERR_PTR(ret);
	}

	kref_init(&mapping->ref);
	drm_gem_object_get(bo->obj);
	mapping->bo = bo;
	mlu_mmu_ctx_get(ctx);
	mapping->ctx = ctx;
	return mapping;
}

/* Called by kref_put_mutex() with mappings_lock held; drops it. */
static void mlu_bo_mapping_release(struct kref *ref)
{
	struct mlu_bo_mapping *mapping =
		container_of(ref, struct mlu_bo_mapping, ref);
	struct mlu_bo *bo = mapping->bo;

	list_del(&mapping->link);
	mutex_unlock(&bo->mappings_lock);

	mlu_mmu_unmap(mapping->ctx, &mapping->node);
	mlu_mmu_ctx_put(mapping->ctx);
	drm_gem_object_put(bo->obj);
	kfree(mapping);
}

/**
 * mlu_bo_mapping_put() - drop a reference to a mapping
 * @mapping: mapping
 *
 * The last reference unmaps the BO from the context (the device stops
 * seeing its pages) and drops the BO and context references.
 */
void mlu_bo_mapping_put(struct mlu_bo_mapping *mapping)
{
	kref_put_mutex(&mapping->ref, mlu_bo_mapping_release,
		       &mapping->bo->mappings_lock);
}

/**
 * mlu_gem_open() - &drm_gem_object_funcs.open of every kind of BO
 * @obj: BO
 * @file: file in which a handle to @obj was created
 *
 * Maps the BO into the file's context; a second handle of the same file
 * shares the mapping.
 *
 * Return: 0 or a negative errno.
 */
int mlu_gem_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct mlu_file *mfile = file->driver_priv;
	struct mlu_bo *bo = to_mlu_bo(obj);
	struct mlu_bo_mapping *mapping;
	int ret = 0;
	int idx;

	/* No DMA mapping may appear after mlu_gem_dma_unmap_all(). */
	if (!drm_dev_enter(obj->dev, &idx))
		return -ENODEV;

	mutex_lock(&bo->mappings_lock);
	mapping = mlu_bo_find_mapping(bo, mfile->ctx);
	if (mapping) {
		kref_get(&mapping->ref);
		goto out_unlock;
	}
	mapping = mlu_bo_mapping_create(bo, mfile->ctx);
	if (IS_ERR(mapping)) {
		ret = PTR_ERR(mapping);
		goto out_unlock;
	}
	list_add_tail(&mapping->link, &bo->mappings);
out_unlock:
	mutex_unlock(&bo->mappings_lock);
	drm_dev_exit(idx);
	return ret;
}

/**
 * mlu_gem_close() - &drm_gem_object_funcs.close of every kind of BO
 * @obj: BO
 * @file: file in which a handle to @obj was closed
 */
void mlu_gem_close(struct drm_gem_object *obj, struct drm_file *file)
{
	struct mlu_file *mfile = file->driver_priv;
	struct mlu_bo *bo = to_mlu_bo(obj);
	struct mlu_bo_mapping *mapping;

	mutex_lock(&bo->mappings_lock);
	mapping = mlu_bo_find_mapping(bo, mfile->ctx);
	mutex_unlock(&bo->mappings_lock);
	/*
	 * Only the handle's own reference is dropped here.  The mapping can
	 * be missing when another thread closed a handle whose open() had
	 * not run yet: userspace can cause that, so no WARN.
	 */
	if (mapping)
		mlu_bo_mapping_put(mapping);
	else
		drm_dbg(obj->dev, "closing a handle without a mapping\n");
}

/**
 * mlu_bo_mapping_lookup() - the mapping of a file's BO handle, referenced
 * @file: DRM file
 * @handle: GEM handle
 *
 * Return: the mapping with a new reference, or ERR_PTR(-ENOENT).
 */
struct mlu_bo_mapping *mlu_bo_mapping_lookup(struct drm_file *file,
					     u32 handle)
{
	struct mlu_file *mfile = file->driver_priv;
	struct mlu_bo_mapping *mapping;
	struct drm_gem_object *obj;
	struct mlu_bo *bo;

	obj = drm_gem_object_lookup(file, handle);
	if (!obj)
		return ERR_PTR(-ENOENT);

	bo = to_mlu_bo(obj);
	mutex_lock(&bo->mappings_lock);
	mapping = mlu_bo_find_mapping(bo, mfile->ctx);
	if (mapping && !kref_get_unless_zero(&mapping->ref))
		mapping = NULL;
	mutex_unlock(&bo->mappings_lock);
	drm_gem_object_put(obj);

	return mapping ?: ERR_PTR(-ENOENT);
}

/* ---- Device removal ---- */

/**
 * mlu_gem_unmap_all() - revoke every CPU mapping of the device's BOs
 * @drm: device being removed
 *
 * Device memory mappings point into BAR2, which the driver gives up;
 * later accesses get SIGBUS.  Host memory mappings simply fault back in.
 */
void mlu_gem_unmap_all(struct drm_device *drm)
{
	unmap_mapping_range(drm->anon_inode->i_mapping, 0, 0, 1);
}

/**
 * mlu_gem_dma_unmap_all() - give up the DMA mappings of every BO's memory
 * @mdev: device being removed, quiesced: the card does no more DMA
 *
 * The DMA-API ties the mappings to the device, which the driver lets go of
 * while files may still hold the BOs.  The pages themselves stay with the
 * BO until it is freed, which then finds no mapping left to undo.  Imports
 * are unmapped and unpinned through their attachment (which the exporter
 * made for this device) and stay attached until freed.
 */
void mlu_gem_dma_unmap_all(struct mlu_device *mdev)
{
	struct mlu_bo *bo;

	mutex_lock(&mdev->bo_list_lock);
	list_for_each_entry(bo, &mdev->bo_list, dev_link) {
		switch (bo->kind) {
		case MLU_BO_HOST:
			mlu_shmem_bo_dma_unmap(to_mlu_shmem_bo(bo));
			break;
		case MLU_BO_IMPORT:
			mlu_gem_prime_release(to_mlu_import_bo(bo));
			break;
		case MLU_BO_DEVMEM:
			/* BAR2 is the card's own: nothing is DMA-mapped. */
			break;
		}
	}
	mutex_unlock(&mdev->bo_list_lock);
}

/**
 * mlu_gem_init() - set up the device's BO tracking
 * @mdev: device
 *
 * Return: 0 or a negative errno.
 */
int mlu_gem_init(struct mlu_device *mdev)
{
	INIT_LIST_HEAD(&mdev->bo_list);
	return drmm_mutex_init(&mdev->drm, &mdev->bo_list_lock);
}

/* ---- Ioctls and fdinfo ---- */

int mlu_ioctl_bo_create(struct drm_device *drm, void *data,
			struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	struct drm_mlu_bo_create *args = data;
	struct mlu_bo_mapping *mapping;
	struct drm_gem_object *obj;
	u32 handle;
	u64 size;
	int ret;

	if (args->flags & ~MLU_BO_FLAGS) {
		drm_dbg(drm, "unknown BO flags 0x%x\n", args->flags);
		return -EINVAL;
	}
	if ((args->flags & DRM_MLU_BO_DEVMEM) && !mdev->devmem)
		return -EOPNOTSUPP;
	if (!args->size)
		return -EINVAL;
	if (args->size > MLU_USER_VA_END - MLU_USER_VA_START - MLU_PAGE_SIZE)
		return -E2BIG;
	size = PAGE_ALIGN(args->size);

	if (args->flags & DRM_MLU_BO_DEVMEM)
		obj = mlu_devmem_bo_create(mdev, size);
	else
		obj = mlu_shmem_bo_create(drm, size);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	to_mlu_bo(obj)->flags = args->flags;

	/* Creating the handle maps the BO into the file's context. */
	ret = drm_gem_handle_create(file, obj, &handle);
	drm_gem_object_put(obj);
	if (ret)
		return ret;

	mapping = mlu_bo_mapping_lookup(file, handle);
	if (IS_ERR(mapping)) {
		/* Another thread closed the handle already. */
		return PTR_ERR(mapping);
	}
	args->device_va = mapping->node.start;
	mlu_bo_mapping_put(mapping);

	args->size = size;
	args->handle = handle;
	return 0;
}

int mlu_ioctl_bo_info(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct drm_mlu_bo_info *args = data;
	struct mlu_bo_mapping *mapping;
	struct drm_gem_object *obj;
	int ret;

	if (args->pad)
		return -EINVAL;

	mapping = mlu_bo_mapping_lookup(file, args->handle);
	if (IS_ERR(mapping))
		return PTR_ERR(mapping);
	obj = mapping->bo->obj;

	ret = drm_gem_create_mmap_offset(obj);
	if (!ret) {
		args->flags = mapping->bo->flags;
		args->size = obj->size;
		args->mmap_offset = drm_vma_node_offset_addr(&obj->vma_node);
		args->device_va = mapping->node.start;
	}
	mlu_bo_mapping_put(mapping);
	return ret;
}

/**
 * mlu_gem_devmem_free() - device memory not allocated to any BO
 * @mdev: device
 *
 * Return: free bytes of device memory, 0 when the card has none.
 */
u64 mlu_gem_devmem_free(struct mlu_device *mdev)
{
	u64 avail;

	if (!mdev->devmem)
		return 0;
	mutex_lock(&mdev->devmem_lock);
	avail = mdev->devmem_mm.avail;
	mutex_unlock(&mdev->devmem_lock);
	return avail;
}

/* fdinfo regions: the card's memory, and everything else. */
enum mlu_mem_region {
	MLU_MEM_SYSTEM,
	MLU_MEM_DEVMEM,
	MLU_MEM_REGIONS,
};

static const char *const mlu_mem_region_names[MLU_MEM_REGIONS] = {
	[MLU_MEM_SYSTEM] = "system",
	[MLU_MEM_DEVMEM] = "devmem",
};

/*
 * Imports of another device's BOs count as system memory: from this card
 * they are memory across the bus, whoever owns it.
 */
static enum mlu_mem_region mlu_bo_region(struct drm_gem_object *obj)
{
	if (to_mlu_bo(obj)->kind == MLU_BO_DEVMEM)
		return MLU_MEM_DEVMEM;
	return MLU_MEM_SYSTEM;
}

/**
 * mlu_gem_show_memory_stats() - fdinfo memory figures per region
 * @p: printer
 * @file: DRM file
 *
 * drm_show_memory_stats() knows one region only; this prints the same
 * drm-total-, drm-shared-, drm-active- and drm-resident- keys for
 * "system" (host memory BOs and imports) and "devmem" (the card's memory).
 */
void mlu_gem_show_memory_stats(struct drm_printer *p, struct drm_file *file)
{
	struct drm_memory_stats stats[MLU_MEM_REGIONS] = {};
	struct drm_gem_object *obj;
	int id, r;

	spin_lock(&file->table_lock);
	idr_for_each_entry(&file->object_idr, obj, id) {
		struct drm_memory_stats *s = &stats[mlu_bo_region(obj)];

		if (drm_gem_object_is_shared_for_memory_stats(obj))
			s->shared += obj->size;
		else
			s->private += obj->size;
		if (obj->funcs->status(obj) & DRM_GEM_OBJECT_RESIDENT)
			s->resident += obj->funcs->rss ? obj->funcs->rss(obj) :
							 obj->size;
		if (!dma_resv_test_signaled(obj->resv, dma_resv_usage_rw(true)))
			s->active += obj->size;
	}
	spin_unlock(&file->table_lock);

	for (r = 0; r < MLU_MEM_REGIONS; r++)
		drm_print_memory_stats(p, &stats[r], DRM_GEM_OBJECT_RESIDENT,
				       mlu_mem_region_names[r]);
}
