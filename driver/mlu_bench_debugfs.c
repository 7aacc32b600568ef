// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs benchmarks of the completion path, the floor of a job's round
 * trip; built only with CONFIG_DRM_ACCEL_MLU_BENCH.  Each reports, over many
 * rounds, how long one register write took to wake the reader through
 * ring 0's interrupt and the hardware fence of a kernel job without
 * packets (mlu_job_kernel_rtt()):
 *
 * doorbell_rtt: the write is ring 0's doorbell for the job, which the
 *	card runs and retires like any job: the path of every job minus the
 *	scheduler.
 * irq_rtt: the job's FENCE raises no interrupt; once the card wrote it,
 *	the write is IRQ_RAISE, answered without the card's ring engine.
 *	Shows what the engine adds.
 *
 * A read waits until the jobs on ring 0 retired and holds back those
 * submitted meanwhile, and every ring's recovery, until it is done.  The
 * kernel jobs are counted as context 0's (jobs_submitted, jobs_completed,
 * tracepoints).
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include <drm/drm_drv.h>

#include "mlu_debugfs.h"
#include "mlu_device.h"
#include "mlu_job.h"
#include "mlu_ring.h"

#define MLU_BENCH_IRQ_ROUNDS	1000

static int mlu_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int mlu_bench_rtt_show(struct seq_file *m, bool raise)
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
	ret = mlu_job_kernel_rtt(&mdev->rings[0], raise, rtt_ns, n);
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
	return mlu_bench_rtt_show(m, false);
}
DEFINE_SHOW_ATTRIBUTE(mlu_bench_doorbell_rtt);

static int mlu_bench_irq_rtt_show(struct seq_file *m, void *unused)
{
	return mlu_bench_rtt_show(m, true);
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
