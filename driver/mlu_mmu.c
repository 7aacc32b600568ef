// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device MMU: contexts, their three-level page tables and VA allocators.
 *
 * The context table and the page tables live in DMA-coherent host memory
 * that the card walks.  Context 0 belongs to the driver; every open file
 * gets a context id from an IDA in 1 .. MLU_MAX_CONTEXTS - 1.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "mlu_device.h"
#include "mlu_mmu.h"
#include "mlu_trace.h"

#define MLU_PT_BYTES	(MLU_PT_ENTRIES * sizeof(__le64))

static int mlu_pt_alloc(struct mlu_device *mdev, struct mlu_pt *pt, bool leaf)
{
	pt->entries = dma_alloc_coherent(mdev->drm.dev, MLU_PT_BYTES, &pt->dma,
					 GFP_KERNEL);
	if (!pt->entries)
		return -ENOMEM;
	if (!leaf) {
		pt->children = kcalloc(MLU_PT_ENTRIES, sizeof(*pt->children),
				       GFP_KERNEL);
		if (!pt->children) {
			dma_free_coherent(mdev->drm.dev, MLU_PT_BYTES,
					  pt->entries, pt->dma);
			pt->entries = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void mlu_pt_free(struct mlu_device *mdev, struct mlu_pt *pt)
{
	unsigned int i;

	if (pt->children) {
		for (i = 0; i < MLU_PT_ENTRIES; i++) {
			if (!pt->children[i])
				continue;
			mlu_pt_free(mdev, pt->children[i]);
			kfree(pt->children[i]);
		}
		kfree(pt->children);
	}
	if (pt->entries)
		dma_free_coherent(mdev->drm.dev, MLU_PT_BYTES, pt->entries,
				  pt->dma);
}

/* Return the child table of @pt for @va at @level, allocating it. */
static struct mlu_pt *mlu_pt_child(struct mlu_mmu_ctx *ctx, struct mlu_pt *pt,
				   u64 va, unsigned int level)
{
	unsigned int idx = MLU_PT_INDEX(va, level);
	struct mlu_pt *child = pt->children[idx];

	lockdep_assert_held(&ctx->lock);

	if (child)
		return child;

	child = kzalloc(sizeof(*child), GFP_KERNEL);
	if (!child)
		return NULL;
	if (mlu_pt_alloc(ctx->mdev, child, level == 1)) {
		kfree(child);
		return NULL;
	}
	pt->children[idx] = child;
	/* The table must be complete before the card can see the entry. */
	dma_wmb();
	WRITE_ONCE(pt->entries[idx], cpu_to_le64((child->dma & MLU_PTE_ADDR_MASK) |
						  MLU_PTE_VALID));
	return child;
}

/* Leaf table covering @va, or NULL; allocates missing tables if @alloc. */
static struct mlu_pt *mlu_pt_leaf(struct mlu_mmu_ctx *ctx, u64 va, bool alloc)
{
	struct mlu_pt *pt = &ctx->root;
	unsigned int level;

	lockdep_assert_held(&ctx->lock);

	for (level = MLU_PT_LEVELS - 1; level > 0; level--) {
		if (alloc)
			pt = mlu_pt_child(ctx, pt, va, level);
		else
			pt = pt->children[MLU_PT_INDEX(va, level)];
		if (!pt)
			return NULL;
	}
	return pt;
}

static void mlu_mmu_invalidate(struct mlu_mmu_ctx *ctx)
{
	struct mlu_device *mdev = ctx->mdev;
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return;
	mlu_reg_write(mdev, MLU_REG_MMU_INVALIDATE, ctx->id);
	drm_dev_exit(idx);
}

static void mlu_mmu_clear_range(struct mlu_mmu_ctx *ctx, u64 va, u64 size)
{
	u64 end = va + size;
	struct mlu_pt *leaf;

	lockdep_assert_held(&ctx->lock);

	for (; va < end; va += MLU_PAGE_SIZE) {
		leaf = mlu_pt_leaf(ctx, va, false);
		if (leaf)
			WRITE_ONCE(leaf->entries[MLU_PT_INDEX(va, 0)], 0);
	}
}

/* Map @size bytes at @va to @addr (a bus address or a device memory offset). */
static int mlu_mmu_set_range(struct mlu_mmu_ctx *ctx, u64 va, u64 addr,
			     u64 size, u64 flags)
{
	struct mlu_pt *leaf;
	u64 off;

	lockdep_assert_held(&ctx->lock);

	for (off = 0; off < size; off += MLU_PAGE_SIZE) {
		leaf = mlu_pt_leaf(ctx, va + off, true);
		if (!leaf)
			return -ENOMEM;
		WRITE_ONCE(leaf->entries[MLU_PT_INDEX(va + off, 0)],
			   cpu_to_le64(((addr + off) & MLU_PTE_ADDR_MASK) | flags));
	}
	return 0;
}

/*
 * Reserve @size bytes plus an unmapped guard page of @ctx's address space
 * for a new mapping.
 */
static int mlu_mmu_reserve_range(struct mlu_mmu_ctx *ctx,
				 struct drm_mm_node *node, u64 size)
{
	lockdep_assert_held(&ctx->lock);

	if (ctx->dead)
		return -ENODEV;
	if (drm_mm_insert_node_generic(&ctx->mm, node, size + MLU_PAGE_SIZE,
				       MLU_PAGE_SIZE, 0, DRM_MM_INSERT_BEST))
		return -ENOMEM;
	return 0;
}

/* Undo a mapping that failed after @mapped bytes of @node were written. */
static void mlu_mmu_abort_range(struct mlu_mmu_ctx *ctx,
				struct drm_mm_node *node, u64 mapped)
{
	lockdep_assert_held(&ctx->lock);

	mlu_mmu_clear_range(ctx, node->start, mapped);
	drm_mm_remove_node(node);
	mlu_mmu_invalidate(ctx);
}

/**
 * mlu_mmu_map_sgt() - give a DMA-mapped sg table a device address
 * @ctx: address space
 * @node: zeroed node; receives the VA range (@size plus a guard page)
 * @sgt: DMA-mapped pages, at least @size bytes
 * @size: bytes to map, page aligned
 * @writable: whether the card may write the pages
 *
 * The unmapped guard page after each range makes overruns fault instead of
 * reaching the next buffer.
 *
 * Return: 0, -ENOMEM (no memory or no free address range) or -ENODEV (the
 * card is gone).
 */
int mlu_mmu_map_sgt(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node,
		    struct sg_table *sgt, u64 size, bool writable)
{
	u64 flags = MLU_PTE_VALID | (writable ? MLU_PTE_WRITE : 0);
	struct scatterlist *sg;
	u64 mapped = 0;
	unsigned int i;
	int ret;

	mutex_lock(&ctx->lock);
	ret = mlu_mmu_reserve_range(ctx, node, size);
	if (ret)
		goto out_unlock;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u64 len = min_t(u64, sg_dma_len(sg), size - mapped);

		if (!len)
			break;
		ret = mlu_mmu_set_range(ctx, node->start + mapped,
					sg_dma_address(sg), len, flags);
		if (ret)
			break;
		mapped += len;
	}
	if (!ret && mapped < size)
		ret = -EINVAL;
	if (ret)
		mlu_mmu_abort_range(ctx, node, mapped);
out_unlock:
	mutex_unlock(&ctx->lock);
	return ret;
}

/**
 * mlu_mmu_map_devmem() - give device memory blocks a device address
 * @ctx: address space
 * @node: zeroed node; receives the VA range (@size plus a guard page)
 * @mm: the device memory allocator the blocks come from
 * @blocks: &struct gpu_buddy_block list, at least @size bytes
 * @size: bytes to map, page aligned
 * @writable: whether the card may write the pages
 *
 * The blocks are mapped back to back in list order, the order the CPU
 * mapping of the BO uses too.
 *
 * Return: 0, -ENOMEM (no memory or no free address range) or -ENODEV (the
 * card is gone).
 */
int mlu_mmu_map_devmem(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node,
		       struct gpu_buddy *mm, struct list_head *blocks,
		       u64 size, bool writable)
{
	u64 flags = MLU_PTE_VALID | MLU_PTE_DEVMEM |
		    (writable ? MLU_PTE_WRITE : 0);
	struct gpu_buddy_block *block;
	u64 mapped = 0;
	int ret;

	mutex_lock(&ctx->lock);
	ret = mlu_mmu_reserve_range(ctx, node, size);
	if (ret)
		goto out_unlock;

	list_for_each_entry(block, blocks, link) {
		u64 len = min(gpu_buddy_block_size(mm, block), size - mapped);

		if (!len)
			break;
		ret = mlu_mmu_set_range(ctx, node->start + mapped,
					gpu_buddy_block_offset(block), len,
					flags);
		if (ret)
			break;
		mapped += len;
	}
	if (!ret && mapped < size)
		ret = -EINVAL;
	if (ret)
		mlu_mmu_abort_range(ctx, node, mapped);
out_unlock:
	mutex_unlock(&ctx->lock);
	return ret;
}

/**
 * mlu_mmu_map_at() - map a contiguous DMA range at a fixed address
 * @ctx: address space (used for the kernel context)
 * @va: page-aligned device virtual address
 * @dma: page-aligned bus address
 * @size: page-aligned size
 * @writable: whether the card may write
 *
 * Return: 0, -ENOMEM or -ENODEV (the card is gone).
 */
int mlu_mmu_map_at(struct mlu_mmu_ctx *ctx, u64 va, dma_addr_t dma, u64 size,
		   bool writable)
{
	u64 flags = MLU_PTE_VALID | (writable ? MLU_PTE_WRITE : 0);
	int ret = -ENODEV;

	mutex_lock(&ctx->lock);
	if (!ctx->dead)
		ret = mlu_mmu_set_range(ctx, va, dma, size, flags);
	mutex_unlock(&ctx->lock);
	return ret;
}

/**
 * mlu_mmu_unmap() - remove a range mapped by mlu_mmu_map_sgt()
 * @ctx: address space
 * @node: the range; removed from the allocator
 *
 * The card is told to drop cached translations before the range (and the
 * pages behind it) can be reused.  Once the card is gone the page tables
 * are too, and only the range is released.
 */
void mlu_mmu_unmap(struct mlu_mmu_ctx *ctx, struct drm_mm_node *node)
{
	mutex_lock(&ctx->lock);
	if (!ctx->dead) {
		mlu_mmu_clear_range(ctx, node->start, node->size);
		mlu_mmu_invalidate(ctx);
	}
	drm_mm_remove_node(node);
	mutex_unlock(&ctx->lock);
}

static void mlu_mmu_ctx_set_entry(struct mlu_mmu_ctx *ctx, bool valid)
{
	struct mlu_device *mdev = ctx->mdev;
	u64 entry = valid ? (ctx->root.dma | MLU_CTX_VALID) : 0;
	int idx;

	/* The context table is device-managed memory: gone after unplug. */
	if (!drm_dev_enter(&mdev->drm, &idx))
		return;
	dma_wmb();
	WRITE_ONCE(mdev->ctx_table[ctx->id], cpu_to_le64(entry));
	if (!valid)
		mlu_reg_write(mdev, MLU_REG_MMU_INVALIDATE, ctx->id);
	drm_dev_exit(idx);
}

static struct mlu_mmu_ctx *mlu_mmu_ctx_alloc(struct mlu_device *mdev, u32 id,
					     u64 va_start, u64 va_end)
{
	struct mlu_mmu_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return NULL;
	if (mlu_pt_alloc(mdev, &ctx->root, false)) {
		kfree(ctx);
		return NULL;
	}
	ctx->mdev = mdev;
	ctx->id = id;
	kref_init(&ctx->ref);
	mutex_init(&ctx->lock);
	drm_mm_init(&ctx->mm, va_start, va_end - va_start);
	mlu_mmu_ctx_set_entry(ctx, true);

	mutex_lock(&mdev->ctx_list_lock);
	list_add_tail(&ctx->link, &mdev->ctx_list);
	mutex_unlock(&mdev->ctx_list_lock);
	return ctx;
}

/**
 * mlu_mmu_ctx_create() - create a user address space
 * @mdev: device
 *
 * Return: the context with one reference, or an ERR_PTR: -EBUSY when every
 * context id is in use, -ENOMEM, -ENODEV when the card is gone.
 */
struct mlu_mmu_ctx *mlu_mmu_ctx_create(struct mlu_device *mdev)
{
	struct mlu_mmu_ctx *ctx;
	int id, idx;

	/* No page tables may appear after mlu_mmu_teardown(). */
	if (!drm_dev_enter(&mdev->drm, &idx))
		return ERR_PTR(-ENODEV);

	id = ida_alloc_range(&mdev->ctx_ida, MLU_KERNEL_CTX_ID + 1,
			     MLU_MAX_CONTEXTS - 1, GFP_KERNEL);
	if (id < 0) {
		ctx = ERR_PTR(id == -ENOSPC ? -EBUSY : id);
		goto out_exit;
	}

	ctx = mlu_mmu_ctx_alloc(mdev, id, MLU_USER_VA_START, MLU_USER_VA_END);
	if (!ctx) {
		ida_free(&mdev->ctx_ida, id);
		ctx = ERR_PTR(-ENOMEM);
	}
out_exit:
	drm_dev_exit(idx);
	return ctx;
}

static void mlu_mmu_ctx_release(struct kref *ref)
{
	struct mlu_mmu_ctx *ctx = container_of(ref, struct mlu_mmu_ctx, ref);
	struct mlu_device *mdev = ctx->mdev;

	mutex_lock(&mdev->ctx_list_lock);
	list_del(&ctx->link);
	mutex_unlock(&mdev->ctx_list_lock);

	/*
	 * Every BO mapping holds a reference, so the allocator is empty.  The
	 * kernel context goes with the DRM device, after the card's memory.
	 * Off the list, nothing else can look at @dead any more.
	 */
	if (!ctx->dead) {
		if (ctx->id != MLU_KERNEL_CTX_ID)
			mlu_mmu_ctx_set_entry(ctx, false);
		mlu_pt_free(mdev, &ctx->root);
	}
	drm_mm_takedown(&ctx->mm);
	mutex_destroy(&ctx->lock);
	if (ctx->id != MLU_KERNEL_CTX_ID)
		ida_free(&mdev->ctx_ida, ctx->id);
	kfree(ctx);
}

/**
 * mlu_mmu_ctx_put() - drop a context reference
 * @ctx: context, may be NULL
 *
 * The last reference invalidates the context table entry, frees the page
 * tables and releases the id.  Jobs hold a reference, so an id is never
 * reused while the card may still run work tagged with it.
 */
void mlu_mmu_ctx_put(struct mlu_mmu_ctx *ctx)
{
	if (ctx)
		kref_put(&ctx->ref, mlu_mmu_ctx_release);
}

/**
 * mlu_mmu_hw_setup() - point the card at the context table
 * @mdev: device, just reset
 */
void mlu_mmu_hw_setup(struct mlu_device *mdev)
{
	mlu_reg_write(mdev, MLU_REG_MMU_CTX_TABLE_LO, lower_32_bits(mdev->ctx_table_dma));
	mlu_reg_write(mdev, MLU_REG_MMU_CTX_TABLE_HI, upper_32_bits(mdev->ctx_table_dma));
	mlu_reg_write(mdev, MLU_REG_MMU_CTX_COUNT, MLU_MAX_CONTEXTS);
}

/**
 * mlu_mmu_report_fault() - log and acknowledge the latched MMU fault
 * @mdev: device
 *
 * The faulting job learns about it from its FENCE status; this is for the
 * administrator, ratelimited because a user can trigger it at will.
 */
void mlu_mmu_report_fault(struct mlu_device *mdev)
{
	u32 status = mlu_reg_read(mdev, MLU_REG_MMU_FAULT_STATUS);
	u64 addr;
	u32 ctx;

	if (!(status & MLU_FAULT_VALID))
		return;

	atomic64_inc(&mdev->stats.mmu_faults);
	ctx = mlu_reg_read(mdev, MLU_REG_MMU_FAULT_CTX);
	addr = mlu_reg_read(mdev, MLU_REG_MMU_FAULT_ADDR_LO) |
	       (u64)mlu_reg_read(mdev, MLU_REG_MMU_FAULT_ADDR_HI) << 32;
	trace_mlu_mmu_fault(mlu_trace_card(mdev), ctx, addr,
			    FIELD_GET(MLU_FAULT_REASON_MASK, status));
	dev_warn_ratelimited(mdev->drm.dev,
			     "MMU fault: ctx %u ring %u %s va 0x%llx reason %u%s\n",
			     ctx, FIELD_GET(MLU_FAULT_RING_MASK, status),
			     status & MLU_FAULT_WRITE ? "write" : "read", addr,
			     FIELD_GET(MLU_FAULT_REASON_MASK, status),
			     status & MLU_FAULT_OVERFLOW ? " (more dropped)" : "");
	mlu_reg_write(mdev, MLU_REG_MMU_FAULT_STATUS,
		      MLU_FAULT_VALID | MLU_FAULT_OVERFLOW);
}

/**
 * mlu_mmu_teardown() - free the page tables of every context
 * @mdev: device being removed, quiesced: no job can reach the card and the
 *	card does no more DMA
 *
 * Files and jobs may hold contexts long after the driver let go of the
 * device, but their page tables are DMA memory of the device and must go
 * with it.  The contexts are marked dead; their mappings are released later
 * without touching the tables.
 */
void mlu_mmu_teardown(struct mlu_device *mdev)
{
	struct mlu_mmu_ctx *ctx;

	mutex_lock(&mdev->ctx_list_lock);
	list_for_each_entry(ctx, &mdev->ctx_list, link) {
		mutex_lock(&ctx->lock);
		if (!ctx->dead) {
			mlu_pt_free(mdev, &ctx->root);
			memset(&ctx->root, 0, sizeof(ctx->root));
			ctx->dead = true;
		}
		mutex_unlock(&ctx->lock);
	}
	mutex_unlock(&mdev->ctx_list_lock);
}

static void mlu_mmu_release(struct drm_device *drm, void *arg)
{
	struct mlu_device *mdev = to_mlu_device(drm);

	mlu_mmu_ctx_put(mdev->kernel_ctx);
	ida_destroy(&mdev->ctx_ida);
}

/**
 * mlu_mmu_init() - allocate the context table and the kernel context
 * @mdev: device
 *
 * Return: 0 or a negative errno.
 */
int mlu_mmu_init(struct mlu_device *mdev)
{
	size_t table_size = MLU_MAX_CONTEXTS * sizeof(__le64);
	int ret;

	INIT_LIST_HEAD(&mdev->ctx_list);
	ret = drmm_mutex_init(&mdev->drm, &mdev->ctx_list_lock);
	if (ret)
		return ret;

	mdev->ctx_table = dmam_alloc_coherent(mdev->drm.dev, table_size,
					      &mdev->ctx_table_dma, GFP_KERNEL);
	if (!mdev->ctx_table)
		return -ENOMEM;
	ida_init(&mdev->ctx_ida);

	mdev->kernel_ctx = mlu_mmu_ctx_alloc(mdev, MLU_KERNEL_CTX_ID, 0,
					     MLU_USER_VA_START);
	if (!mdev->kernel_ctx)
		return -ENOMEM;

	return drmm_add_action_or_reset(&mdev->drm, mlu_mmu_release, NULL);
}
