// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffer objects: shmem-backed GEM objects, mapped into the device address
 * space of every file that holds a handle to them.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_print.h>
#include <drm/mlu_accel.h>

#include "mlu_drv.h"
#include "mlu_gem.h"

#define MLU_BO_FLAGS	(DRM_MLU_BO_DEVMEM | DRM_MLU_BO_DEVICE_READ_ONLY)

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

static struct mlu_bo_mapping *mlu_bo_mapping_create(struct mlu_bo *bo,
						    struct mlu_mmu_ctx *ctx)
{
	struct drm_gem_object *obj = &bo->base.base;
	struct mlu_bo_mapping *mapping;
	struct sg_table *sgt;
	int ret;

	mapping = kzalloc(sizeof(*mapping), GFP_KERNEL);
	if (!mapping)
		return ERR_PTR(-ENOMEM);

	sgt = drm_gem_shmem_get_pages_sgt(&bo->base);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_free;
	}

	ret = mlu_mmu_map_sgt(ctx, &mapping->node, sgt, obj->size,
			      !(bo->flags & DRM_MLU_BO_DEVICE_READ_ONLY));
	if (ret)
		goto err_free;

	kref_init(&mapping->ref);
	drm_gem_object_get(obj);
	mapping->bo = bo;
	mlu_mmu_ctx_get(ctx);
	mapping->ctx = ctx;
	return mapping;

err_free:
	kfree(mapping);
	return ERR_PTR(ret);
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
	drm_gem_object_put(&bo->base.base);
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

/* GEM handle created in @file: map the BO into the file's context. */
static int mlu_gem_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct mlu_file *mfile = file->driver_priv;
	struct mlu_bo *bo = to_mlu_bo(obj);
	struct mlu_bo_mapping *mapping;
	int ret = 0;

	mutex_lock(&bo->mappings_lock);
	mapping = mlu_bo_find_mapping(bo, mfile->ctx);
	if (mapping) {
		/* A second handle of the same file shares the mapping. */
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
	return ret;
}

static void mlu_gem_close(struct drm_gem_object *obj, struct drm_file *file)
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

static void mlu_gem_free(struct drm_gem_object *obj)
{
	struct mlu_bo *bo = to_mlu_bo(obj);

	drm_WARN_ON(obj->dev, !list_empty(&bo->mappings));
	mutex_destroy(&bo->mappings_lock);
	drm_gem_shmem_free(&bo->base);
}

static const struct drm_gem_object_funcs mlu_gem_funcs = {
	.free = mlu_gem_free,
	.open = mlu_gem_open,
	.close = mlu_gem_close,
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
 * Return: the embedded GEM object of a new &struct mlu_bo, or an ERR_PTR.
 */
struct drm_gem_object *mlu_gem_create_object(struct drm_device *drm,
					     size_t size)
{
	struct mlu_bo *bo;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);

	mutex_init(&bo->mappings_lock);
	INIT_LIST_HEAD(&bo->mappings);
	bo->base.map_wc = false;
	bo->base.base.funcs = &mlu_gem_funcs;
	return &bo->base.base;
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

/* Refuse sizes the machine could never back, before pinning any page. */
static bool mlu_bo_size_plausible(u64 size)
{
	return size >> PAGE_SHIFT <= totalram_pages();
}

int mlu_ioctl_bo_create(struct drm_device *drm, void *data,
			struct drm_file *file)
{
	struct drm_mlu_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	struct mlu_bo_mapping *mapping;
	struct mlu_bo *bo;
	u32 handle;
	u64 size;
	int ret;

	if (args->flags & ~MLU_BO_FLAGS) {
		drm_dbg(drm, "unknown BO flags 0x%x\n", args->flags);
		return -EINVAL;
	}
	if (args->flags & DRM_MLU_BO_DEVMEM)
		return -EOPNOTSUPP;
	if (!args->size)
		return -EINVAL;
	if (args->size > MLU_USER_VA_END - MLU_USER_VA_START - MLU_PAGE_SIZE)
		return -E2BIG;
	size = PAGE_ALIGN(args->size);
	if (!mlu_bo_size_plausible(size))
		return -ENOMEM;

	shmem = drm_gem_shmem_create(drm, size);
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	bo = container_of(shmem, struct mlu_bo, base);
	bo->flags = args->flags;

	/* Creating the handle maps the BO into the file's context. */
	ret = drm_gem_handle_create(file, &shmem->base, &handle);
	drm_gem_object_put(&shmem->base);
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
	obj = &mapping->bo->base.base;

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
