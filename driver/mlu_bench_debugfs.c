// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs benchmarks of the interrupt path, the floor of a job's round trip.
 * Each reports how long one register write took to wake the reader through
 * ring 0's interrupt, over many rounds:
 *
 * doorbell_rtt: the write is ring 0's doorbell, for a ring holding one
 *	kernel FENCE and nothing else, so the card's ring engine fetches and
 *	runs it as it would a job's last packet.  No job, no scheduler.
 * irq_rtt: the write is IRQ_RAISE, which the card answers without its
 *	ring engine.  Not a path jobs take; shows what the engine adds.
 *
 * Meant for an idle card: a job completing on ring 0 meanwhile ends a
 * round early.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include <drm/drm_drv.h>

#include "mlu_debugfs.h"
#include "mlu_device.h"
#include "mlu_job.h"
#include "mlu_ring.h"

#define MLU_BENCH_IRQ_ROUNDS	1000

/* One benchmark at a time per module: they share ring 0's probe. */
static DEFINE_MUTEX(mlu_bench_lock);

static int mlu_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

enum mlu_bench_kick {
	MLU_BENCH_DOORBELL,
	MLU_BENCH_IRQ_RAISE,
};

/* Interrupt round trips of ring 0 into @rtt_ns; 0 or a negative errno. */
static int mlu_bench_irq_rounds(struct mlu_device *mdev,
				enum mlu_bench_kick kick, u64 *rtt_ns,
				unsigned int rounds)
{
	struct mlu_ring *ring = &mdev->rings[0];
	DECLARE_COMPLETION_ONSTACK(done);
	unsigned int i;
	int ret = 0;

	WRITE_ONCE(ring->irq_probe, &done);
	for (i = 0; i < rounds; i++) {
		u64 start;

		reinit_completion(&done);
		start = ktime_get_ns();
		if (kick == MLU_BENCH_DOORBELL)
			mlu_job_emit_probe(ring, i);
		else
			mlu_reg_write(mdev, MLU_REG_IRQ_RAISE, MLU_IRQ_QUEUE(0));
		if (!wait_for_completion_timeout(&done, HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		rtt_ns[i] = ktime_get_ns() - start;
	}
	WRITE_ONCE(ring->irq_probe, NULL);
	/* Queue 0 uses vector 0 with MSI-X and with a shared vector. */
	synchronize_irq(pci_irq_vector(mdev->pdev, 0));
	return ret;
}

static int mlu_bench_rtt_show(struct seq_file *m, enum mlu_bench_kick kick)
{
	struct mlu_device *mdev = m->private;
	unsigned int n = MLU_BENCH_IRQ_ROUNDS;
	u64 *rtt_ns;
	int ret, idx;

	rtt_ns = kcalloc(n, sizeof(*rtt_ns), GFP_KERNEL);
	if (!rtt_ns)
		return -ENOMEM;
	if (!drm_dev_enter(&mdev->drm, &idx)) {
		kfree(rtt_ns);
		return -ENODEV;
	}
	mutex_lock(&mlu_bench_lock);
	ret = mlu_bench_irq_rounds(mdev, kick, rtt_ns, n);
	mutex_unlock(&mlu_bench_lock);
	drm_dev_exit(idx);

	if (!ret) {
		sort(rtt_ns, n, sizeof(*rtt_ns), mlu_bench_cmp_u64, NULL);
		seq_printf(m, "rounds %u\nmin_ns %llu\np50_ns %llu\np99_ns %llu\n",
			   n, rtt_ns[0], rtt_ns[n / 2], rtt_ns[n * 99 / 100]);
	}
	kfree(rtt_ns);
	return ret;
}

static int mlu_bench_doorbell_rtt_show(struct seq_file *m, void *unused)
{
	return mlu_bench_rtt_show(m, MLU_BENCH_DOORBELL);
}
DEFINE_SHOW_ATTRIBUTE(mlu_bench_doorbell_rtt);

static int mlu_bench_irq_rtt_show(struct seq_file *m, void *unused)
{
	return mlu_bench_rtt_show(m, MLU_BENCH_IRQ_RAISE);
}
DEFINE_SHOW_ATTRIBUTE(mlu_bench_irq_rtt);

/**
 * mlu_bench_debugfs_init() - create the benchmark files
 * @mdev: registered device
 */
void mlu_bench_debugfs_init(struct mlu_device *mdev)
{
	debugfs_create_file("doorbell_rtt", 0400, mdev->drm.debugfs_root, mdev,
			    &mlu_bench_doorbell_rtt_fops);
	debugfs_create_file("irq_rtt", 0400, mdev->drm.debugfs_root, mdev,
			    &mlu_bench_irq_rtt_fops);
}
