/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mlu: DRM accel driver for the MLU PCIe accelerator card.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef __MLU_DRV_H__
#define __MLU_DRV_H__

#include <linux/completion.h>
#include <linux/dma-fence.h>
#include <linux/gpu_buddy.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_mm.h>
#include <drm/gpu_scheduler.h>

#include "mlu_hw.h"

struct drm_mlu_context_status;
struct drm_printer;

#define MLU_DRIVER_NAME		"mlu"
#define MLU_DRIVER_DESC		"MLU PCIe accelerator"

/* Ring entries per hardware queue: 1024 packets, 128 KiB. */
#define MLU_RING_ENTRIES	1024
/* A job is its packets plus the kernel's FENCE; keep room for several. */
#define MLU_MAX_JOB_PACKETS	255
#define MLU_MAX_JOB_BOS		4096
#define MLU_MAX_JOB_SYNCS	256

/*
 * Device virtual address layout.  Context 0 is the driver's own: it maps
 * each queue's fence area at MLU_KERNEL_FENCE_VA(q).  User contexts get BOs
 * in [MLU_USER_VA_START, MLU_USER_VA_END); page 0 .. start stays unmapped
 * so that a NULL-ish address always faults.
 */
#define MLU_KERNEL_CTX_ID	0
#define MLU_KERNEL_FENCE_VA(q)	(SZ_1M + (u64)(q) * SZ_64K)
#define MLU_USER_VA_START	((u64)SZ_16M)
#define MLU_USER_VA_END		MLU_VA_SIZE

/**
 * struct mlu_fence_area - per-queue memory the card writes completions to
 * @seqno: value of the last kernel FENCE that retired on the queue
 * @probe: value of the last interrupt probe FENCE (mlu_job_emit_probe())
 * @status: job status (enum mlu_cmd_status), indexed by the ring slot of
 *	the job's FENCE packet
 * @start_ns: the card's timestamp counter before the job's first packet,
 *	same index
 * @end_ns: the counter after the job's last packet, same index
 */
struct mlu_fence_area {
	__le64 seqno;
	__le64 probe;
	__le32 status[MLU_RING_ENTRIES];
	__le64 start_ns[MLU_RING_ENTRIES];
	__le64 end_ns[MLU_RING_ENTRIES];
};

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

/**
 * struct mlu_stats - card-wide counters since probe
 * @jobs_submitted: jobs accepted by SUBMIT; the last value is the newest
 *	job's id
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
 * struct mlu_queue - a hardware queue (ring) and its scheduler
 * @mdev: owning device
 * @index: hardware queue number
 * @sched: GPU scheduler feeding the ring
 * @ring: CPU view of the ring (MLU_RING_ENTRIES packets)
 * @ring_dma: bus address of the ring
 * @tail: next ring slot software writes; protected by @lock
 * @fences: completion area written by the card
 * @fences_dma: bus address of @fences
 * @fence_context: dma_fence context of the hardware fences
 * @seqno: last hardware fence seqno handed out; protected by @lock
 * @lock: protects @tail, @seqno, @inflight and signalling of the queue's
 *	hardware fences (it is their dma_fence lock); taken from the IRQ
 * @inflight: jobs written to the ring and not yet retired, oldest first
 * @name: scheduler name
 * @irq_probe: completed by the queue's next interrupt while set; used by
 *	the interrupt round-trip benchmark (mlu_bench_debugfs.c)
 */
struct mlu_queue {
	struct mlu_device *mdev;
	unsigned int index;
	struct drm_gpu_scheduler sched;
	u8 (*ring)[MLU_PKT_SIZE];
	dma_addr_t ring_dma;
	u32 tail;
	struct mlu_fence_area *fences;
	dma_addr_t fences_dma;
	u64 fence_context;
	u64 seqno;
	spinlock_t lock;		/* ring, seqno, inflight, fences */
	struct list_head inflight;
	char name[16];
	struct completion *irq_probe;
};

/**
 * struct mlu_device - one MLU card
 * @drm: DRM device
 * @pdev: PCI function
 * @regs: BAR0 register mapping
 * @hw_version: VERSION register
 * @caps: CAPS register
 * @num_queues: number of hardware queues used
 * @devmem_size: size of BAR2
 * @serial: SERIAL register
 * @devmem: CPU mapping of device memory (BAR2), write-combined; NULL when
 *	the card has none
 * @devmem_bus: CPU physical address of BAR2, for user mappings
 * @devmem_lock: protects @devmem_mm
 * @devmem_mm: allocator of device memory
 * @queues: hardware queues
 * @ctx_table: CPU view of the MMU context table
 * @ctx_table_dma: bus address of the context table
 * @ctx_ida: allocator of user context ids
 * @kernel_ctx: context 0, maps the queues' fence areas
 * @ctx_list_lock: protects @ctx_list; taken before a context's lock
 * @ctx_list: every live context (&mlu_mmu_ctx.link), so that removal can
 *	free their page tables while files still hold them
 * @bo_list_lock: protects @bo_list; taken before a BO's reservation lock
 * @bo_list: host memory BOs whose pages are DMA-mapped for the card
 *	(&mlu_bo.dev_link), so that removal can unmap them
 * @irq_vectors: number of allocated interrupt vectors
 * @msix: one vector per queue plus an error vector
 * @reset_wq: ordered queue running timeouts and resets one at a time
 * @sched_wq: the schedulers' submission work queue (run_job, free_job)
 * @reset_work: full card reset after a fatal device error
 * @reset_count: number of card or queue resets, for diagnostics
 * @last_reset: jiffies of the last card or queue reset (health)
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
	u32 num_queues;
	u64 devmem_size;
	u64 serial;
	void __iomem *devmem;
	resource_size_t devmem_bus;
	struct mutex devmem_lock;	/* protects devmem_mm */
	struct gpu_buddy devmem_mm;
	struct mlu_queue queues[MLU_MAX_RINGS];
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
 * struct mlu_exec_queue - an in-order stream of jobs of a file (mlu_queue.c)
 * @entity: scheduler entity; its priority is the queue's
 * @ref: the file and every submit using the queue hold one
 * @submit_lock: makes arming and pushing a job atomic, so that jobs enter
 *	the entity in the order of their finished-fence seqnos
 * @scheds: the schedulers of the rings the queue may run on
 */
struct mlu_exec_queue {
	struct drm_sched_entity entity;
	struct kref ref;
	struct mutex submit_lock;	/* job arm + push order */
	struct drm_gpu_scheduler *scheds[MLU_MAX_RINGS];
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

static inline u32 mlu_read(struct mlu_device *mdev, u32 reg)
{
	return readl(mdev->regs + reg);
}

static inline void mlu_write(struct mlu_device *mdev, u32 reg, u32 val)
{
	writel(val, mdev->regs + reg);
}

static inline u32 mlu_queue_read(struct mlu_queue *q, u32 reg)
{
	return mlu_read(q->mdev, MLU_RING_REG(q->index, reg));
}

static inline void mlu_queue_write(struct mlu_queue *q, u32 reg, u32 val)
{
	mlu_write(q->mdev, MLU_RING_REG(q->index, reg), val);
}

/* mlu_bench_debugfs.c */
void mlu_bench_debugfs_init(struct mlu_device *mdev);

/* mlu_debugfs.c */
void mlu_debugfs_init(struct mlu_device *mdev);

/* mlu_hwmon.c */
#if IS_REACHABLE(CONFIG_HWMON)
int mlu_hwmon_init(struct mlu_device *mdev);
#else
static inline int mlu_hwmon_init(struct mlu_device *mdev)
{
	return 0;
}
#endif

/* mlu_sysfs.c */
extern const struct attribute_group *mlu_sysfs_groups[];
void mlu_health_count_reset(struct mlu_device *mdev, int error);

/* mlu_hw.c */
int mlu_hw_init(struct mlu_device *mdev);
void mlu_hw_fini(struct mlu_device *mdev);
int mlu_hw_reset(struct mlu_device *mdev);
int mlu_hw_queue_restart(struct mlu_queue *q);
void mlu_hw_queue_ring_doorbell(struct mlu_queue *q);

/* mlu_mmu.c */
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

/* mlu_queue.c */
int mlu_queue_file_open(struct mlu_file *mfile);
void mlu_queue_file_close(struct mlu_file *mfile);
struct mlu_exec_queue *mlu_exec_queue_lookup(struct mlu_file *mfile, u32 queue,
					     bool by_id);
void mlu_exec_queue_put(struct mlu_exec_queue *queue);
int mlu_ioctl_queue_create(struct drm_device *drm, void *data,
			   struct drm_file *file);
int mlu_ioctl_queue_destroy(struct drm_device *drm, void *data,
			    struct drm_file *file);

/* mlu_job.c */
int mlu_job_init(struct mlu_device *mdev);
void mlu_job_fini(struct mlu_device *mdev);
void mlu_job_retire(struct mlu_queue *q);
void mlu_job_emit_probe(struct mlu_queue *q, u64 value);
void mlu_job_cancel_inflight(struct mlu_device *mdev, int error);
void mlu_job_device_error(struct mlu_device *mdev);
int mlu_ioctl_submit(struct drm_device *drm, void *data, struct drm_file *file);
void mlu_job_print_inflight(struct mlu_queue *q, struct drm_printer *p);
void mlu_job_context_status(struct mlu_device *mdev, struct mlu_mmu_ctx *ctx,
			    struct drm_mlu_context_status *status);

#endif /* __MLU_DRV_H__ */
