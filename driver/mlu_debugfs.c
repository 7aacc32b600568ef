// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs: the state of the rings, the clients and their address spaces, a
 * register dump, and the card's fault-injection controls for tests.
 * Files live in /sys/kernel/debug/accel/<PCI address>/; the layout is
 * for people, not an ABI.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>

#include "mlu_drv.h"

/* Write @val to a fault-injection register, if the card has the block. */
static int mlu_debugfs_fi_write(struct mlu_device *mdev, u32 reg, u64 val,
				u64 max)
{
	int idx;

	if (!(mdev->caps & MLU_CAP_FAULT_INJECT))
		return -EOPNOTSUPP;
	if (val > max)
		return -EINVAL;
	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	mlu_write(mdev, reg, val);
	drm_dev_exit(idx);
	return 0;
}

static u64 mlu_debugfs_queue_mask(struct mlu_device *mdev)
{
	return GENMASK_ULL(mdev->num_queues - 1, 0);
}

static int mlu_debugfs_fi_hang_set(void *data, u64 val)
{
	struct mlu_device *mdev = data;

	return mlu_debugfs_fi_write(mdev, MLU_REG_FI_HANG, val,
				    mlu_debugfs_queue_mask(mdev));
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_hang_fops, NULL,
			 mlu_debugfs_fi_hang_set, "%llu\n");

static int mlu_debugfs_fi_fault_set(void *data, u64 val)
{
	struct mlu_device *mdev = data;

	return mlu_debugfs_fi_write(mdev, MLU_REG_FI_FAULT, val,
				    mlu_debugfs_queue_mask(mdev));
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_fault_fops, NULL,
			 mlu_debugfs_fi_fault_set, "%llu\n");

static int mlu_debugfs_fi_device_error_set(void *data, u64 val)
{
	return mlu_debugfs_fi_write(data, MLU_REG_FI_DEVICE_ERROR, val, 1);
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_fi_device_error_fops, NULL,
			 mlu_debugfs_fi_device_error_set, "%llu\n");

static int mlu_debugfs_reset_count_get(void *data, u64 *val)
{
	struct mlu_device *mdev = data;

	*val = atomic_read(&mdev->reset_count);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(mlu_debugfs_reset_count_fops,
			 mlu_debugfs_reset_count_get, NULL, "%llu\n");

/* rings: per queue, the card's and the driver's view, then its jobs. */
static int mlu_debugfs_rings_show(struct seq_file *m, void *unused)
{
	struct mlu_device *mdev = m->private;
	struct drm_printer p = drm_seq_file_printer(m);
	unsigned int i;
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	for (i = 0; i < mdev->num_queues; i++) {
		struct mlu_queue *q = &mdev->queues[i];
		unsigned long flags;
		u64 issued, done;
		u32 tail;

		spin_lock_irqsave(&q->lock, flags);
		tail = q->tail;
		issued = q->seqno;
		spin_unlock_irqrestore(&q->lock, flags);
		done = le64_to_cpu(READ_ONCE(q->fences->seqno));

		drm_printf(&p, "queue %u: status 0x%x head %u tail %u (driver %u) of %u\n",
			   i, mlu_queue_read(q, MLU_RING_STATUS),
			   mlu_queue_read(q, MLU_RING_HEAD),
			   mlu_queue_read(q, MLU_RING_TAIL), tail, MLU_RING_ENTRIES);
		drm_printf(&p, "  seqno issued %llu retired %llu, packets %u, errors %u\n",
			   issued, done, mlu_queue_read(q, MLU_RING_PACKETS_DONE),
			   mlu_queue_read(q, MLU_RING_ERRORS));
		drm_printf(&p, "  in flight:\n");
		mlu_job_print_inflight(q, &p);
	}
	drm_dev_exit(idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mlu_debugfs_rings);

/* clients: every open file, its process and context, busy time per queue. */
static int mlu_debugfs_clients_show(struct seq_file *m, void *unused)
{
	struct mlu_device *mdev = m->private;
	struct drm_device *drm = &mdev->drm;
	struct drm_file *file;
	unsigned int i;

	mutex_lock(&drm->filelist_mutex);
	list_for_each_entry(file, &drm->filelist, lhead) {
		struct mlu_file *mfile = file->driver_priv;
		struct task_struct *task;
		char comm[TASK_COMM_LEN] = "?";
		pid_t pid;

		if (!mfile)
			continue;
		rcu_read_lock();
		pid = pid_vnr(rcu_dereference(file->pid));
		task = pid_task(rcu_dereference(file->pid), PIDTYPE_TGID);
		if (task)
			get_task_comm(comm, task);
		rcu_read_unlock();

		seq_printf(m, "client %llu: pid %d (%s) ctx %u jobs completed %lld\n",
			   file->client_id, pid, comm, mfile->ctx->id,
			   atomic64_read(&mfile->ctx->jobs_completed));
		for (i = 0; i < mdev->num_queues; i++)
			seq_printf(m, "  queue %u busy %lld ns\n", i,
				   atomic64_read(&mfile->ctx->busy_ns[i]));
	}
	mutex_unlock(&drm->filelist_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mlu_debugfs_clients);

/* A run of pages with consecutive targets and the same flags. */
struct mlu_debugfs_run {
	u64 va;
	u64 target;
	u64 flags;
	u64 size;
};

static void mlu_debugfs_run_flush(struct seq_file *m, struct mlu_debugfs_run *run)
{
	if (!run->size)
		return;
	seq_printf(m, "  0x%010llx-0x%010llx -> %s 0x%llx %s\n", run->va,
		   run->va + run->size, run->flags & MLU_PTE_DEVMEM ? "devmem" : "host",
		   run->target, run->flags & MLU_PTE_WRITE ? "rw" : "ro");
	run->size = 0;
}

static void mlu_debugfs_run_add(struct seq_file *m, struct mlu_debugfs_run *run,
				u64 va, u64 pte)
{
	u64 target = pte & MLU_PTE_ADDR_MASK;
	u64 flags = pte & ~MLU_PTE_ADDR_MASK;

	if (run->size && run->va + run->size == va &&
	    run->target + run->size == target && run->flags == flags) {
		run->size += MLU_PAGE_SIZE;
		return;
	}
	mlu_debugfs_run_flush(m, run);
	*run = (struct mlu_debugfs_run){ va, target, flags, MLU_PAGE_SIZE };
}

/* Walk the context's three-level table as the card would. */
static void mlu_debugfs_ctx_mappings(struct seq_file *m, struct mlu_mmu_ctx *ctx)
{
	struct mlu_debugfs_run run = {};
	unsigned int i2, i1, i0;

	lockdep_assert_held(&ctx->lock);

	for (i2 = 0; i2 < MLU_PT_ENTRIES; i2++) {
		struct mlu_pt *l1 = ctx->root.children[i2];

		for (i1 = 0; l1 && i1 < MLU_PT_ENTRIES; i1++) {
			struct mlu_pt *l0 = l1->children[i1];

			for (i0 = 0; l0 && i0 < MLU_PT_ENTRIES; i0++) {
				u64 pte = le64_to_cpu(READ_ONCE(l0->entries[i0]));
				u64 va = ((u64)i2 << 30) | ((u64)i1 << 21) |
					 ((u64)i0 << MLU_PAGE_SHIFT);

				if (pte & MLU_PTE_VALID)
					mlu_debugfs_run_add(m, &run, va, pte);
			}
		}
	}
	mlu_debugfs_run_flush(m, &run);
}

/* mappings: each context's device VA ranges and where they lead. */
static int mlu_debugfs_mappings_show(struct seq_file *m, void *unused)
{
	struct mlu_device *mdev = m->private;
	struct mlu_mmu_ctx *ctx;

	mutex_lock(&mdev->ctx_list_lock);
	list_for_each_entry(ctx, &mdev->ctx_list, link) {
		mutex_lock(&ctx->lock);
		seq_printf(m, "ctx %u%s:\n", ctx->id, ctx->dead ? " (card gone)" : "");
		if (!ctx->dead)
			mlu_debugfs_ctx_mappings(m, ctx);
		mutex_unlock(&ctx->lock);
	}
	mutex_unlock(&mdev->ctx_list_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mlu_debugfs_mappings);

static const struct {
	const char *name;
	u32 reg;
} mlu_debugfs_global_regs[] = {
#define MLU_REG_NAME(r) { #r, MLU_REG_##r }
	MLU_REG_NAME(ID), MLU_REG_NAME(VERSION), MLU_REG_NAME(CAPS),
	MLU_REG_NAME(NUM_RINGS), MLU_REG_NAME(DEVMEM_SIZE_LO),
	MLU_REG_NAME(DEVMEM_SIZE_HI), MLU_REG_NAME(SERIAL_LO),
	MLU_REG_NAME(SERIAL_HI), MLU_REG_NAME(STATUS), MLU_REG_NAME(SCRATCH),
	MLU_REG_NAME(IRQ_STATUS), MLU_REG_NAME(IRQ_MASK),
	MLU_REG_NAME(TIMESTAMP_LO), MLU_REG_NAME(TIMESTAMP_HI),
	MLU_REG_NAME(TEMP_MC), MLU_REG_NAME(POWER_MW),
	MLU_REG_NAME(POWER_MAX_MW), MLU_REG_NAME(TEMP_CRIT_MC),
	MLU_REG_NAME(LOAD), MLU_REG_NAME(MMU_CTX_TABLE_LO),
	MLU_REG_NAME(MMU_CTX_TABLE_HI), MLU_REG_NAME(MMU_CTX_COUNT),
	MLU_REG_NAME(MMU_FAULT_STATUS), MLU_REG_NAME(MMU_FAULT_CTX),
	MLU_REG_NAME(MMU_FAULT_ADDR_LO), MLU_REG_NAME(MMU_FAULT_ADDR_HI),
	MLU_REG_NAME(MMU_FAULT_COUNT), MLU_REG_NAME(FI_HANG),
	MLU_REG_NAME(FI_FAULT),
#undef MLU_REG_NAME
}, mlu_debugfs_queue_regs[] = {
#define MLU_RING_NAME(r) { #r, MLU_RING_##r }
	MLU_RING_NAME(BASE_LO), MLU_RING_NAME(BASE_HI),
	MLU_RING_NAME(SIZE), MLU_RING_NAME(CTRL), MLU_RING_NAME(STATUS),
	MLU_RING_NAME(HEAD), MLU_RING_NAME(TAIL), MLU_RING_NAME(LAST_FENCE_LO),
	MLU_RING_NAME(LAST_FENCE_HI), MLU_RING_NAME(LAST_STATUS),
	MLU_RING_NAME(PACKETS_DONE), MLU_RING_NAME(ERRORS), MLU_RING_NAME(BUSY_NS_LO),
	MLU_RING_NAME(BUSY_NS_HI),
#undef MLU_RING_NAME
};

/* regs: every readable register; reading has no side effect on the card. */
static int mlu_debugfs_regs_show(struct seq_file *m, void *unused)
{
	struct mlu_device *mdev = m->private;
	unsigned int i, q;
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return -ENODEV;
	for (i = 0; i < ARRAY_SIZE(mlu_debugfs_global_regs); i++)
		seq_printf(m, "0x%04x %-18s 0x%08x\n",
			   mlu_debugfs_global_regs[i].reg,
			   mlu_debugfs_global_regs[i].name,
			   mlu_read(mdev, mlu_debugfs_global_regs[i].reg));
	for (q = 0; q < mdev->num_queues; q++) {
		for (i = 0; i < ARRAY_SIZE(mlu_debugfs_queue_regs); i++) {
			u32 reg = MLU_RING_REG(q, mlu_debugfs_queue_regs[i].reg);

			seq_printf(m, "0x%04x Q%u_%-15s 0x%08x\n", reg, q,
				   mlu_debugfs_queue_regs[i].name,
				   mlu_read(mdev, reg));
		}
	}
	drm_dev_exit(idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mlu_debugfs_regs);

/**
 * mlu_debugfs_init() - create the debugfs files of a registered device
 * @mdev: device
 *
 * rings, clients, mappings and regs show the driver's and the card's
 * state; fi_hang and fi_fault take a bit mask of queues, fi_device_error
 * takes 1 (see the card's fault-injection registers); reset_count counts
 * queue and card resets.
 */
void mlu_debugfs_init(struct mlu_device *mdev)
{
	struct dentry *root = mdev->drm.debugfs_root;

	debugfs_create_file_unsafe("fi_hang", 0200, root, mdev,
				   &mlu_debugfs_fi_hang_fops);
	debugfs_create_file_unsafe("fi_fault", 0200, root, mdev,
				   &mlu_debugfs_fi_fault_fops);
	debugfs_create_file_unsafe("fi_device_error", 0200, root, mdev,
				   &mlu_debugfs_fi_device_error_fops);
	debugfs_create_file_unsafe("reset_count", 0400, root, mdev,
				   &mlu_debugfs_reset_count_fops);
	debugfs_create_file("rings", 0400, root, mdev, &mlu_debugfs_rings_fops);
	debugfs_create_file("clients", 0400, root, mdev,
			    &mlu_debugfs_clients_fops);
	debugfs_create_file("mappings", 0400, root, mdev,
			    &mlu_debugfs_mappings_fops);
	debugfs_create_file("regs", 0400, root, mdev, &mlu_debugfs_regs_fops);
	mlu_bench_debugfs_init(mdev);
}
