/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_GEM_H__
#define __MLU_GEM_H__

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

struct dma_buf;
struct drm_device;
struct drm_file;
struct drm_printer;
struct mlu_device;
struct mlu_mmu_ctx;
struct sg_table;

/**
 * enum mlu_bo_kind - where a BO's memory is
 * @MLU_BO_HOST: host memory, a &struct mlu_shmem_bo
 * @MLU_BO_DEVMEM: the card's memory (DRM_MLU_BO_DEVMEM), a
 *	&struct mlu_devmem_bo
 * @MLU_BO_IMPORT: an imported dma-buf, a &struct mlu_import_bo
 */
enum mlu_bo_kind {
	MLU_BO_HOST,
	MLU_BO_DEVMEM,
	MLU_BO_IMPORT,
};

/**
 * struct mlu_bo - what every kind of buffer object has
 * @obj: the GEM object of the kind's structure this is part of
 * @kind: which structure that is
 * @flags: DRM_MLU_BO_* creation flags (0 for imports)
 * @mappings_lock: protects @mappings
 * @mappings: one &struct mlu_bo_mapping per context that has a handle
 * @dev_link: entry in &mlu_device.bo_list while the BO's memory is
 *	DMA-mapped for the card (host memory BOs from their first mapping
 *	on, imports from import on); empty otherwise
 *
 * Each kind embeds this next to its GEM object: to_mlu_bo() finds it from
 * the object, @obj leads back.
 */
struct mlu_bo {
	struct drm_gem_object *obj;
	enum mlu_bo_kind kind;
	u32 flags;
	struct mutex mappings_lock;	/* protects mappings */
	struct list_head mappings;
	struct list_head dev_link;
};

/**
 * struct mlu_shmem_bo - a BO in host memory
 * @base: shmem GEM object, used through the shmem helpers' API only
 * @bo: common part
 * @pinned: the pages are pinned for the card (from the first mapping until
 *	the BO is freed); protected by the reservation lock
 * @sgt: the pinned pages, DMA-mapped for the card, or NULL before the first
 *	mapping and after removal; protected by the reservation lock
 */
struct mlu_shmem_bo {
	struct drm_gem_shmem_object base;
	struct mlu_bo bo;
	bool pinned;
	struct sg_table *sgt;
};

/**
 * struct mlu_devmem_bo - a BO in the card's memory (BAR2)
 * @base: GEM object, without shmem backing
 * @bo: common part
 * @blocks: the device memory blocks, from the device's buddy allocator
 */
struct mlu_devmem_bo {
	struct drm_gem_object base;
	struct mlu_bo bo;
	struct list_head blocks;
};

/**
 * struct mlu_import_bo - a dma-buf of another exporter, imported
 * @base: GEM object; its import_attach is the card's attachment
 * @bo: common part
 * @sgt: the exporter's mapping of the buffer for the card, pinned; NULL
 *	once given back (at free, or when the card is removed); protected by
 *	the dma-buf's reservation lock
 */
struct mlu_import_bo {
	struct drm_gem_object base;
	struct mlu_bo bo;
	struct sg_table *sgt;
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

struct mlu_bo *to_mlu_bo(struct drm_gem_object *obj);

static inline struct mlu_devmem_bo *to_mlu_devmem_bo(struct mlu_bo *bo)
{
	return container_of(bo, struct mlu_devmem_bo, bo);
}

static inline struct mlu_import_bo *to_mlu_import_bo(struct mlu_bo *bo)
{
	return container_of(bo, struct mlu_import_bo, bo);
}

void mlu_bo_init(struct mlu_bo *bo, struct drm_gem_object *obj,
		 enum mlu_bo_kind kind);
void mlu_bo_fini(struct mlu_bo *bo);
void mlu_bo_track_dma(struct mlu_bo *bo);
void mlu_bo_untrack_dma(struct mlu_bo *bo);
int mlu_gem_open(struct drm_gem_object *obj, struct drm_file *file);
void mlu_gem_close(struct drm_gem_object *obj, struct drm_file *file);
enum drm_gem_object_status mlu_gem_status_resident(struct drm_gem_object *obj);

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
void mlu_gem_prime_release(struct mlu_import_bo *ibo);

#endif /* __MLU_GEM_H__ */
