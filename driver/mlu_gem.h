/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_GEM_H__
#define __MLU_GEM_H__

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

struct dma_buf;
struct drm_device;
struct drm_file;
struct drm_printer;
struct mlu_device;
struct mlu_mmu_ctx;

/**
 * struct mlu_bo - a buffer object in host or device memory, or imported
 * @base: shmem GEM object
 * @flags: DRM_MLU_BO_* creation flags
 * @blocks: device memory blocks of a DRM_MLU_BO_DEVMEM BO (the shmem part
 *	of @base is unused then)
 * @mappings_lock: protects @mappings
 * @mappings: one &struct mlu_bo_mapping per context that has a handle
 * @dev_link: entry in &mlu_device.bo_list while the pages of a host memory
 *	BO are DMA-mapped for the card; empty otherwise
 */
struct mlu_bo {
	struct drm_gem_shmem_object base;
	u32 flags;
	struct list_head blocks;
	struct mutex mappings_lock;	/* protects mappings */
	struct list_head mappings;
	struct list_head dev_link;
};

/**
 * struct mlu_bo_mapping - a BO mapped into one context
 * @ref: one per GEM handle of the BO in the context's file, one per job
 *	that lists the BO
 * @link: entry in &mlu_bo.mappings
 * @bo: the BO, referenced
 * @ctx: the context, referenced
 * @node: device virtual address range (with a trailing guard page)
 */
struct mlu_bo_mapping {
	struct kref ref;
	struct list_head link;
	struct mlu_bo *bo;
	struct mlu_mmu_ctx *ctx;
	struct drm_mm_node node;
};

static inline struct mlu_bo *to_mlu_bo(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct mlu_bo, base);
}

static inline struct drm_gem_object *mlu_bo_gem(struct mlu_bo *bo)
{
	return &bo->base.base;
}

struct drm_gem_object *mlu_gem_create_object(struct drm_device *drm,
					     size_t size);
void mlu_gem_unmap_all(struct drm_device *drm);
int mlu_gem_init(struct mlu_device *mdev);
void mlu_gem_dma_unmap_all(struct mlu_device *mdev);
struct mlu_bo_mapping *mlu_bo_mapping_lookup(struct drm_file *file,
					     u32 handle);
void mlu_bo_mapping_put(struct mlu_bo_mapping *mapping);
int mlu_ioctl_bo_create(struct drm_device *drm, void *data,
			struct drm_file *file);
int mlu_ioctl_bo_info(struct drm_device *drm, void *data,
		      struct drm_file *file);
u64 mlu_gem_devmem_free(struct mlu_device *mdev);
void mlu_gem_show_memory_stats(struct drm_printer *p, struct drm_file *file);

/* mlu_prime.c */
struct dma_buf *mlu_gem_prime_export(struct drm_gem_object *obj, int flags);
struct drm_gem_object *mlu_gem_prime_import(struct drm_device *drm,
					    struct dma_buf *dma_buf);
void mlu_gem_prime_release(struct mlu_bo *bo);
void mlu_bo_track_dma(struct mlu_bo *bo);

#endif /* __MLU_GEM_H__ */
