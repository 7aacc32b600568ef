/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Device MMU: the card's page tables and one address space per context.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_MMU_H__
#define __MLU_MMU_H__

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/types.h>

#include <drm/drm_mm.h>

#include "mlu_device.h"

struct gpu_buddy;

/*
 * Device virtual address layout.  Context 0 is the driver's own: it maps
 * each ring's fence area at MLU_KERNEL_FENCE_VA(ring).  User contexts get
 * BOs in [MLU_USER_VA_START, MLU_USER_VA_END); page 0 .. start stays
 * unmapped so that a NULL-ish address always faults.
 */
#define MLU_KERNEL_CTX_ID	0
#define MLU_KERNEL_FENCE_VA(ring)	(SZ_1M + (u64)(ring) * SZ_64K)
#define MLU_USER_VA_START	((u64)SZ_16M)
#define MLU_USER_VA_END		MLU_VA_SIZE

/**
 * struct mlu_pt - one 4 KiB page table of the device MMU
 * @entries: CPU view of the 512 little-endian entries
 * @dma: bus address of the table
 * @children: tables the entries point to (NULL for leaf tables)
 */
struct mlu_pt {
	__le64 *entries;
	dma_addr_t dma;
	struct mlu_pt **children;
};

/**
 * struct mlu_mmu_ctx - a device address space (one per open file + ctx 0)
 * @mdev: owning device
 * @ref: the file and every BO mapping and job of the context hold one
 * @id: context id, the index in the card's context table
 * @lock: protects @mm, the page tables and @dead
 * @mm: allocator of device virtual addresses
 * @root: level-2 page table
 * @dead: the card is gone and mlu_mmu_teardown() freed the page tables;
 *	mapping fails and unmapping only releases the address range
 * @link: entry in &mlu_device.ctx_list, protected by its ctx_list_lock
 * @busy_ns: device time of this context's retired jobs, per hardware
 *	queue (fdinfo drm-engine-*)
 * @jobs_completed: this context's jobs retired without error
 * @guilty_resets: resets that aborted a running job of the context
 * @innocent_resets: resets that stopped a ring holding jobs of the context
 *	that had not started
 * @faults: jobs of the context that ended with a device MMU fault
 * @last_reset: the reset (value of &mlu_device.reset_count) the context was
 *	last counted in, so that a reset counts once; only touched by
 *	recovery, which runs on the ordered &mlu_device.reset_wq
 */
struct mlu_mmu_ctx {
	struct mlu_device *mdev;
	struct kref ref;
	u32 id;
	struct mutex lock;		/* protects mm, page tables, dead */
	struct drm_mm mm;
	struct mlu_pt root;
	bool dead;
	struct list_head link;
	atomic64_t busy_ns[MLU_MAX_RINGS];
	atomic64_t jobs_completed;
	atomic_t guilty_resets;
	atomic_t innocent_resets;
	atomic_t faults;
	u32 last_reset;
};

int mlu_mmu_init(struct mlu_device *mdev);
void mlu_mmu_hw_setup(struct mlu_device *mdev);
struct mlu_mmu_ctx *mlu_mmu_ctx_create(struct mlu_device *mdev);
void mlu_mmu_ctx_put(struct mlu_mmu_ctx *ctx);
void mlu_mmu_teardown(struct mlu_device *mdev);
int mlu_mmu_map_sgt(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node,
		    struct sg_table *sgt, u64 size, bool writable);
int mlu_mmu_map_at(struct mlu_mmu_ctx *ctx, u64 va, dma_addr_t dma, u64 size,
		   bool writable);
int mlu_mmu_map_devmem(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node,
		       struct gpu_buddy *mm, struct list_head *blocks,
		       u64 size, bool writable);
void mlu_mmu_unmap(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node);
void mlu_mmu_report_fault(struct mlu_device *mdev);

static inline void mlu_mmu_ctx_get(struct mlu_mmu_ctx *ctx)
{
	kref_get(&ctx->ref);
}

#endif /* __MLU_MMU_H__ */
