/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state every layer of the driver shares: the card, its counters and an
 * open file; and access to the card's registers, the bottom layer.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_DEVICE_H__
#define __MLU_DEVICE_H__

#include <linux/atomic.h>
#include <linux/gpu_buddy.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>

#include "mlu_hw.h"

struct mlu_exec_queue;
struct mlu_mmu_ctx;
struct mlu_ring;

#define MLU_DRIVER_NAME		"mlu"
#define MLU_DRIVER_DESC		"MLU PCIe accelerator"

/**
 * struct mlu_stats - card-wide counters since probe
 * @jobs_submitted: jobs accepted by SUBMIT, and the kernel jobs of the
 *	debugfs benchmarks; the last value is the newest job's id
 * @jobs_completed: jobs that completed without error
 * @jobs_failed: jobs that completed with an error (fault, timeout, abort)
 * @busy_ns: device time of the retired jobs, from their timestamps
 * @mmu_faults: MMU faults the card reported
 */
struct mlu_stats {
	atomic64_t jobs_submitted;
	atomic64_t jobs_completed;
	atomic64_t jobs_failed;
	atomic64_t busy_ns;
	atomic64_t mmu_faults;
};

/**
 * struct mlu_device - one MLU card
 * @drm: DRM device
 * @pdev: PCI function
 * @regs: BAR0 register mapping
 * @hw_version: VERSION register
 * @caps: CAPS register
 * @num_rings: number of hardware rings used
 * @devmem_size: size of BAR2
 * @serial: SERIAL register
 * @devmem: CPU mapping of device memory (BAR2), write-combined; NULL when
 *	the card has none
 * @devmem_bus: CPU physical address of BAR2, for user mappings
 * @devmem_lock: protects @devmem_mm
 * @devmem_mm: allocator of device memory
 * @rings: the hardware rings, @num_rings of them (mlu_ring.c)
 * @ctx_table: CPU view of the MMU context table
 * @ctx_table_dma: bus address of the context table
 * @ctx_ida: allocator of user context ids
 * @kernel_ctx: context 0, maps the rings' fence areas
 * @ctx_list_lock: protects @ctx_list; taken before a context's lock
 * @ctx_list: every live context (&mlu_mmu_ctx.link), so that removal can
 *	free their page tables while files still hold them
 * @bo_list_lock: protects @bo_list; taken before a BO's reservation lock
 * @bo_list: host memory BOs and imports whose pages are DMA-mapped for
 *	the card (&mlu_bo.dev_link), so that removal can unmap them
 * @irq_vectors: number of allocated interrupt vectors
 * @msix: one vector per ring plus an error vector
 * @reset_wq: ordered queue running timeouts and resets one at a time
 * @sched_wq: the schedulers' submission work queue (run_job, free_job)
 * @reset_work: full card reset after a fatal device error
 * @reset_count: number of card or ring resets, for diagnostics
 * @last_reset: jiffies of the last card or ring reset (health)
 * @reset_failed: the last card reset left the card unusable (health)
 * @stats: job, busy time and fault counters
 * @job_timeout_ms: time a job may run before recovery starts
 */
struct mlu_device {
	struct drm_device drm;
	struct pci_dev *pdev;
	void __iomem *regs;
	u32 hw_version;
	u32 caps;
	u32 num_rings;
	u64 devmem_size;
	u64 serial;
	void __iomem *devmem;
	resource_size_t devmem_bus;
	struct mutex devmem_lock;	/* protects devmem_mm */
	struct gpu_buddy devmem_mm;
	struct mlu_ring *rings;
	__le64 *ctx_table;
	dma_addr_t ctx_table_dma;
	struct ida ctx_ida;
	struct mlu_mmu_ctx *kernel_ctx;
	struct mutex ctx_list_lock;	/* protects ctx_list */
	struct list_head ctx_list;
	struct mutex bo_list_lock;	/* protects bo_list */
	struct list_head bo_list;
	int irq_vectors;
	bool msix;
	struct workqueue_struct *reset_wq;
	struct workqueue_struct *sched_wq;
	struct work_struct reset_work;
	atomic_t reset_count;
	unsigned long last_reset;
	bool reset_failed;
	struct mlu_stats stats;
	unsigned int job_timeout_ms;
};

/**
 * struct mlu_file - per open file state
 * @mdev: device
 * @ctx: the file's address space
 * @ring_queues: the implicit queue of each hardware ring
 * @queues: queues created with QUEUE_CREATE, by id; its lock protects
 *	taking a reference in a lookup against the last put of destroy
 * @next_queue_id: where the cyclic allocation of queue ids goes on
 * @queue_count: number of queues in @queues
 */
struct mlu_file {
	struct mlu_device *mdev;
	struct mlu_mmu_ctx *ctx;
	struct mlu_exec_queue *ring_queues[MLU_MAX_RINGS];
	struct xarray queues;
	u32 next_queue_id;
	atomic_t queue_count;
};

static inline struct mlu_device *to_mlu_device(struct drm_device *drm)
{
	return container_of(drm, struct mlu_device, drm);
}

/* Global registers (BAR0) of the card. */
static inline u32 mlu_reg_read(struct mlu_device *mdev, u32 reg)
{
	return readl(mdev->regs + reg);
}

static inline void mlu_reg_write(struct mlu_device *mdev, u32 reg, u32 val)
{
	writel(val, mdev->regs + reg);
}

#endif /* __MLU_DEVICE_H__ */
