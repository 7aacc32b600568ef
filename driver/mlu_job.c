// SPDX-License-Identifier: GPL-2.0-only
/*
 * Jobs: the submit ioctl, one drm_sched scheduler per hardware ring,
 * hardware fences signalled from the ring interrupt, and recovery from
 * hung jobs and device errors.
 *
 * A job is written to its ring as the user's packets followed by a kernel
 * FENCE in context 0 that stores the job's seqno in the ring's fence area
 * and its status in the status slot of the FENCE's ring index.  The ring
 * interrupt retires every in-flight job whose seqno the card has reached.
 *
 * A ring holds only a few jobs at a time (ring_jobs): each job takes at
 * least 1/ring_jobs of the ring's scheduler credits, whatever its size, so
 * the rest wait in the scheduler, where priorities and the FIFO order
 * between exec queues decide which runs next.  Holding everything on the ring
 * would make the card's ring order final.
 *
 * Recovery runs on mlu_device.reset_wq, an ordered workqueue shared by all
 * schedulers as their timeout queue, so at most one recovery runs at a time.
 *
 * Copyright (c) 2026 The MLU stack authors
 */

#include <linux/completion.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/iopoll.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/drm_syncobj.h>
#include <drm/gpu_scheduler.h>
#include <drm/mlu_accel.h>

#include "mlu_card.h"
#include "mlu_device.h"
#include "mlu_exec_queue.h"
#include "mlu_gem.h"
#include "mlu_job.h"
#include "mlu_mmu.h"
#include "mlu_ring.h"
#include "mlu_sysfs.h"
#include "mlu_trace.h"

static unsigned int mlu_job_timeout_ms = 5000;
module_param_named(job_timeout_ms, mlu_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms,
		 "Time a job may run before its ring is reset (ms, min 10, default 5000)");

static unsigned int mlu_ring_jobs = 4;
module_param_named(ring_jobs, mlu_ring_jobs, uint, 0444);
MODULE_PARM_DESC(ring_jobs,
		 "Jobs a hardware ring holds at once; the rest wait in the scheduler (1-64, default 4)");

/*
 * Scheduler credits of a ring: its slots, less one that stays free (HEAD ==
 * TAIL is empty) and one for the FENCE of a retired job: the card writes
 * the seqno before it steps HEAD past the FENCE, so a job's credits can
 * return while its last slot is still in use.  The debugfs benchmarks'
 * kernel jobs need none: they run on an idle ring, their scheduler stopped.
 */
#define MLU_RING_CREDITS		(MLU_RING_ENTRIES - 2)

/* Room for future fields of struct drm_mlu_sync, bounded. */
#define MLU_MAX_SYNC_STRIDE		4096

/* Status slot value before the card has written the job's status. */
#define MLU_FENCE_STATUS_PENDING	0xffffffffu

/*
 * Ring slots the kernel adds to every job: a TIMESTAMP before and after
 * the user's packets and the completion FENCE.
 */
#define MLU_JOB_KERNEL_PACKETS		3

/**
 * struct mlu_job - a submitted job
 * @base: scheduler job
 * @ring: hardware ring
 * @ctx: the submitter's context, referenced so that its id is not reused
 *	while the card may run the job
 * @packets: validated copies of the user's packets
 * @packet_count: number of @packets
 * @mappings: BO mappings kept alive until the job is freed
 * @mapping_count: number of @mappings
 * @hw_fence: signalled when the card retired the job's FENCE (or the job
 *	was aborted); initialised when the job first runs
 * @hw_fence_armed: @hw_fence has been initialised (seqno assigned)
 * @seqno: value the job's FENCE writes; protected by &mlu_ring.lock
 * @first_slot: ring index of the job's first packet
 * @fence_slot: ring index of the job's FENCE, its status slot
 * @abort_error: set by recovery: complete with this error instead of
 *	running again
 * @inflight: entry in &mlu_ring.inflight; protected by &mlu_ring.lock
 * @id: card-unique job number, for tracing
 * @dev_start_ns: the card's timestamp when the job started, 0 if unknown
 * @dev_end_ns: the card's timestamp when the job's last packet finished
 */
struct mlu_job {
	struct drm_sched_job base;
	struct mlu_ring *ring;
	struct mlu_mmu_ctx *ctx;
	u8 (*packets)[MLU_PKT_SIZE];
	u32 packet_count;
	struct mlu_bo_mapping **mappings;
	u32 mapping_count;
	struct dma_fence *hw_fence;
	bool hw_fence_armed;
	u64 seqno;
	u32 first_slot;
	u32 fence_slot;
	int abort_error;
	struct list_head inflight;
	u64 id;
	u64 dev_start_ns;
	u64 dev_end_ns;
};

static inline struct mlu_job *to_mlu_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct mlu_job, base);
}

static const char *mlu_fence_get_driver_name(struct dma_fence *fence)
{
	return MLU_DRIVER_NAME;
}

static const char *mlu_fence_get_timeline_name(struct dma_fence *fence)
{
	/* Not the ring's name: the fence may outlive the device. */
	return "mlu-ring";
}

static const struct dma_fence_ops mlu_fence_ops = {
	.get_driver_name = mlu_fence_get_driver_name,
	.get_timeline_name = mlu_fence_get_timeline_name,
};

static int mlu_status_to_errno(u32 status)
{
	switch (status) {
	case MLU_CMD_STATUS_OK:
		return 0;
	case MLU_CMD_STATUS_MMU_FAULT:
		return -EFAULT;
	case MLU_CMD_STATUS_BAD_PACKET:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Account a finished job to the card and to its context. */
static void mlu_job_account(struct mlu_device *mdev, struct mlu_job *job,
			    int error)
{
	u64 busy = 0;

	if (job->dev_start_ns && job->dev_end_ns > job->dev_start_ns)
		busy = job->dev_end_ns - job->dev_start_ns;
	atomic64_add(busy, &mdev->stats.busy_ns);
	atomic64_add(busy, &job->ctx->busy_ns[job->ring->index]);
	if (error) {
		atomic64_inc(&mdev->stats.jobs_failed);
	} else {
		atomic64_inc(&mdev->stats.jobs_completed);
		atomic64_inc(&job->ctx->jobs_completed);
	}
	trace_mlu_job_done(mlu_trace_card(mdev), job->ctx->id, job->ring->index,
			   job->id, job->seqno, error, job->dev_start_ns, busy);
}

/* Read the job's timestamps; a slot the card did not write reads 0. */
static void mlu_job_read_timestamps(struct mlu_ring *ring, struct mlu_job *job)
{
	job->dev_start_ns =
		le64_to_cpu(READ_ONCE(ring->fences->start_ns[job->fence_slot]));
	job->dev_end_ns =
		le64_to_cpu(READ_ONCE(ring->fences->end_ns[job->fence_slot]));
}

static void mlu_job_complete_locked(struct mlu_ring *ring, struct mlu_job *job,
				    int error)
{
	struct dma_fence *fence = dma_fence_get(job->hw_fence);

	lockdep_assert_held(&ring->lock);

	mlu_job_read_timestamps(ring, job);
	mlu_job_account(ring->mdev, job, error);

	/* The job may be freed as soon as its fence has signalled. */
	list_del_init(&job->inflight);
	if (error)
		dma_fence_set_error(fence, error);
	dma_fence_signal_locked(fence);
	dma_fence_put(fence);
}

/**
 * mlu_job_retire() - signal the jobs the card has completed on a ring
 * @ring: ring
 *
 * Called from the ring interrupt and from recovery.
 */
void mlu_job_retire(struct mlu_ring *ring)
{
	struct mlu_job *job, *next;
	unsigned long flags;
	bool fence_cookie;
	u64 done;

	/* Lockdep checks recovery's calls; in the interrupt it is a no-op. */
	fence_cookie = dma_fence_begin_signalling();
	spin_lock_irqsave(&ring->lock, flags);
	done = le64_to_cpu(READ_ONCE(ring->fences->seqno));
	/* The card writes the status before the seqno. */
	dma_rmb();
	list_for_each_entry_safe(job, next, &ring->inflight, inflight) {
		u32 status;

		if (job->seqno > done)
			break;
		status = le32_to_cpu(READ_ONCE(ring->fences->status[job->fence_slot]));
		if (status == MLU_CMD_STATUS_MMU_FAULT)
			atomic_inc(&job->ctx->faults);
		mlu_job_complete_locked(ring, job, mlu_status_to_errno(status));
	}
	spin_unlock_irqrestore(&ring->lock, flags);
	dma_fence_end_signalling(fence_cookie);
}

/*
 * Count reset @reset once in the context of @job: as guilty when it aborts
 * the job, else as innocent.  Guilty jobs are counted first.
 */
static void mlu_job_count_reset(struct mlu_job *job, u32 reset)
{
	struct mlu_mmu_ctx *ctx = job->ctx;

	if (ctx->last_reset == reset)
		return;
	ctx->last_reset = reset;
	if (job->abort_error)
		atomic_inc(&ctx->guilty_resets);
	else
		atomic_inc(&ctx->innocent_resets);
}

/*
 * Before a card reset: the oldest job on the ring is the only one the card
 * can have started (a ring runs one packet at a time, in order); it has
 * when HEAD moved past its first packet or a packet is executing.  It is
 * aborted with @error, the jobs behind it run again after the reset.
 */
static void mlu_job_abort_started(struct mlu_ring *ring, int error)
{
	u32 head = mlu_ring_reg_read(ring, MLU_RING_HEAD);
	u32 status = mlu_ring_reg_read(ring, MLU_RING_STATUS);
	struct mlu_job *job;
	unsigned long flags;

	spin_lock_irqsave(&ring->lock, flags);
	job = list_first_entry_or_null(&ring->inflight, struct mlu_job, inflight);
	if (job && !job->abort_error &&
	    (head != job->first_slot || !(status & MLU_RING_STATUS_IDLE)))
		job->abort_error = error;
	spin_unlock_irqrestore(&ring->lock, flags);
}

/**
 * mlu_job_cancel_inflight() - complete every job on the rings with an error
 * @mdev: device, whose card no longer runs anything
 * @error: errno the jobs complete with
 */
void mlu_job_cancel_inflight(struct mlu_device *mdev, int error)
{
	bool fence_cookie = dma_fence_begin_signalling();
	unsigned int i;

	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_ring *ring = &mdev->rings[i];
		struct mlu_job *job, *next;
		unsigned long flags;

		spin_lock_irqsave(&ring->lock, flags);
		list_for_each_entry_safe(job, next, &ring->inflight, inflight)
			mlu_job_complete_locked(ring, job, error);
		spin_unlock_irqrestore(&ring->lock, flags);
	}
	dma_fence_end_signalling(fence_cookie);
}

static void mlu_job_write_packet(struct mlu_ring *ring, const void *pkt)
{
	lockdep_assert_held(&ring->lock);

	memcpy(ring->slots[ring->tail], pkt, MLU_PKT_SIZE);
	ring->tail = (ring->tail + 1) & (MLU_RING_ENTRIES - 1);
}

/* A kernel TIMESTAMP packet writing the counter to @offset of the area. */
static void mlu_job_write_timestamp(struct mlu_ring *ring, size_t offset)
{
	struct mlu_pkt_timestamp ts = {
		.hdr.opcode = MLU_OP_TIMESTAMP,
		.hdr.ctx = cpu_to_le16(MLU_KERNEL_CTX_ID),
		.addr = cpu_to_le64(MLU_KERNEL_FENCE_VA(ring->index) + offset),
	};

	mlu_job_write_packet(ring, &ts);
}

/*
 * A kernel FENCE raising the ring interrupt: it writes the job status to
 * @status_offset of the fence area, then @value to @offset.
 */
static void mlu_job_write_fence(struct mlu_ring *ring, size_t offset, u64 value,
				size_t status_offset)
{
	u64 area = MLU_KERNEL_FENCE_VA(ring->index);
	struct mlu_pkt_fence fence = {
		.hdr.opcode = MLU_OP_FENCE,
		.hdr.flags = MLU_FENCE_IRQ,
		.hdr.ctx = cpu_to_le16(MLU_KERNEL_CTX_ID),
		.addr = cpu_to_le64(area + offset),
		.value = cpu_to_le64(value),
		.status_addr = cpu_to_le64(area + status_offset),
	};

	mlu_job_write_packet(ring, &fence);
}

/* Write @job to its ring, behind the jobs already there, for the card. */
static void mlu_job_write(struct mlu_ring *ring, struct mlu_job *job)
{
	u32 i;

	lockdep_assert_held(&ring->lock);

	job->first_slot = ring->tail;
	/* The FENCE's slot indexes the job's status and timestamps. */
	job->fence_slot = (ring->tail + job->packet_count + 2) &
			  (MLU_RING_ENTRIES - 1);
	WRITE_ONCE(ring->fences->status[job->fence_slot],
		   cpu_to_le32(MLU_FENCE_STATUS_PENDING));
	WRITE_ONCE(ring->fences->start_ns[job->fence_slot], 0);
	WRITE_ONCE(ring->fences->end_ns[job->fence_slot], 0);

	mlu_job_write_timestamp(ring, offsetof(struct mlu_fence_area,
					       start_ns[job->fence_slot]));
	for (i = 0; i < job->packet_count; i++)
		mlu_job_write_packet(ring, job->packets[i]);
	mlu_job_write_timestamp(ring, offsetof(struct mlu_fence_area,
					       end_ns[job->fence_slot]));

	mlu_job_write_fence(ring, offsetof(struct mlu_fence_area, seqno), job->seqno,
			    offsetof(struct mlu_fence_area,
				     status[job->fence_slot]));

	list_add_tail(&job->inflight, &ring->inflight);
}

/* Tell the card about @job, the last written to its ring. */
static void mlu_job_doorbell(struct mlu_ring *ring, struct mlu_job *job)
{
	mlu_ring_doorbell(ring);
	trace_mlu_job_start(mlu_trace_card(ring->mdev), job->ctx->id, ring->index,
			    job->id, job->seqno);
}

static void mlu_job_emit(struct mlu_ring *ring, struct mlu_job *job)
{
	mlu_job_write(ring, job);
	mlu_job_doorbell(ring, job);
}

/*
 * After @ring was reset, alone or with the card, and with its scheduler
 * stopped: count reset @reset in the contexts of the jobs that were on it;
 * complete with an error the jobs recovery aborted, and those of the hung
 * job's exec queue (whose fence context is @guilty_context, 0 for none),
 * which may depend on it; write the others to the ring again, in order and
 * with their seqnos.
 */
static void mlu_job_replay(struct mlu_ring *ring, u32 reset, u64 guilty_context)
{
	bool present, fence_cookie = dma_fence_begin_signalling();
	struct mlu_job *job, *next;
	unsigned long flags;
	LIST_HEAD(replay);
	int idx;

	present = drm_dev_enter(&ring->mdev->drm, &idx);
	spin_lock_irqsave(&ring->lock, flags);
	/* A context with an aborted job counts the reset as guilty. */
	list_for_each_entry(job, &ring->inflight, inflight) {
		if (job->abort_error)
			mlu_job_count_reset(job, reset);
	}
	list_splice_init(&ring->inflight, &replay);
	list_for_each_entry_safe(job, next, &replay, inflight) {
		int error = job->abort_error;

		mlu_job_count_reset(job, reset);
		list_del_init(&job->inflight);
		if (!error && guilty_context &&
		    job->base.s_fence->scheduled.context == guilty_context)
			error = -ECANCELED;
		if (!error && !present)
			error = -ENODEV;
		if (error)
			mlu_job_complete_locked(ring, job, error);
		else
			mlu_job_emit(ring, job);
	}
	spin_unlock_irqrestore(&ring->lock, flags);
	dma_fence_end_signalling(fence_cookie);
	if (present)
		drm_dev_exit(idx);
}

/*
 * Restart a scheduler that drm_sched_stop() stopped.  drm_sched_stop()
 * dropped the hardware fences of the jobs it kept; each gets its own back,
 * so that the scheduler completes and frees the jobs whose fence has
 * signalled and waits for the others.
 */
static void mlu_job_sched_resume(struct mlu_ring *ring)
{
	struct drm_sched_job *sched_job;

	list_for_each_entry(sched_job, &ring->sched.pending_list, list) {
		struct drm_sched_fence *s_fence = sched_job->s_fence;

		if (!s_fence->parent)
			s_fence->parent = dma_fence_get(to_mlu_job(sched_job)->hw_fence);
	}
	drm_sched_start(&ring->sched);
}

/* Give @job the ring's next seqno and initialise its hardware fence. */
static void mlu_job_arm(struct mlu_ring *ring, struct mlu_job *job)
{
	lockdep_assert_held(&ring->lock);

	job->seqno = ++ring->seqno;
	dma_fence_init(job->hw_fence, &mlu_fence_ops, &ring->lock,
		       ring->fence_context, job->seqno);
	job->hw_fence_armed = true;
}

static struct dma_fence *mlu_job_run(struct drm_sched_job *sched_job)
{
	struct mlu_job *job = to_mlu_job(sched_job);
	int error = sched_job->s_fence->finished.error;
	struct mlu_ring *ring = job->ring;
	struct dma_fence *fence = job->hw_fence;
	unsigned long flags;
	bool fence_cookie;
	int idx;

	/*
	 * The scheduler's finished fence waits on what run_job returns:
	 * nothing in here may allocate memory or wait on other fences.
	 */
	fence_cookie = dma_fence_begin_signalling();
	spin_lock_irqsave(&ring->lock, flags);
	if (!job->hw_fence_armed)
		mlu_job_arm(ring, job);

	if (!error) {
		if (drm_dev_enter(&ring->mdev->drm, &idx)) {
			mlu_job_emit(ring, job);
			drm_dev_exit(idx);
			goto out_unlock;
		}
		error = -ENODEV;
	}
	mlu_job_account(ring->mdev, job, error);
	dma_fence_set_error(fence, error);
	dma_fence_signal_locked(fence);

out_unlock:
	spin_unlock_irqrestore(&ring->lock, flags);
	dma_fence_end_signalling(fence_cookie);
	return dma_fence_get(fence);
}

/*
 * A submitted job that never ran: the scheduler dropped it from a killed
 * entity (its process died, or its queue was destroyed with jobs still
 * waiting) and signalled its finished fence with -ESRCH.  It ends here, so
 * it is accounted here, once, like every other job.
 */
static void mlu_job_account_dropped(struct mlu_job *job)
{
	int error = job->base.s_fence->finished.error;

	mlu_job_account(job->ring->mdev, job, error ?: -ECANCELED);
}

/* What every job holds until it is freed: its context and hardware fence. */
static void mlu_job_put_resources(struct mlu_job *job)
{
	mlu_mmu_ctx_put(job->ctx);
	/* An unarmed fence was never initialised and has no reference count. */
	if (job->hw_fence_armed)
		dma_fence_put(job->hw_fence);
	else
		kfree(job->hw_fence);
	kfree(job);
}

static void mlu_job_free(struct drm_sched_job *sched_job)
{
	struct mlu_job *job = to_mlu_job(sched_job);
	u32 i;

	/* Jobs of failed submits have no id: they were never counted. */
	if (job->id && !job->hw_fence_armed)
		mlu_job_account_dropped(job);
	drm_sched_job_cleanup(sched_job);
	for (i = 0; i < job->mapping_count; i++)
		mlu_bo_mapping_put(job->mappings[i]);
	kvfree(job->mappings);
	kvfree(job->packets);
	mlu_job_put_resources(job);
}

/*
 * Reset the whole card.  The jobs the card was running complete with an
 * error (@bad with its own, -ETIMEDOUT, the others -EIO); the jobs behind
 * them on the rings and those still waiting in the schedulers run
 * afterwards.  @stopped is a ring whose scheduler the caller already
 * stopped, or NULL.
 */
static void mlu_job_recover_device(struct mlu_device *mdev, struct mlu_job *bad,
				   struct mlu_ring *stopped)
{
	unsigned int i;
	u32 reset;
	int ret;

	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_ring *ring = &mdev->rings[i];

		if (ring != stopped)
			drm_sched_stop(&ring->sched,
				       bad && bad->ring == ring ? &bad->base : NULL);
		mlu_job_retire(ring);
		mlu_job_abort_started(ring, -EIO);
	}

	ret = mlu_card_reset(mdev);
	mlu_health_count_reset(mdev, ret);
	/* Recoveries are serialised on reset_wq: this is the count just made. */
	reset = atomic_read(&mdev->reset_count);
	trace_mlu_reset(mlu_trace_card(mdev), -1, reset);

	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_ring *ring = &mdev->rings[i];

		mlu_job_retire(ring);
		mlu_job_replay(ring, reset, 0);
		mlu_job_sched_resume(ring);
	}
}

/*
 * Restart the ring of a hung job.  The ring executes in order, so the
 * jobs behind the hung one never started: they run again unless they come
 * from the same submitter (the scheduler cancels those, they may depend on
 * the hung one).  Other rings are not disturbed.
 */
static void mlu_job_recover_ring(struct mlu_job *bad)
{
	struct mlu_ring *ring = bad->ring;
	struct mlu_device *mdev = ring->mdev;
	u32 reset;

	drm_sched_stop(&ring->sched, &bad->base);
	if (mlu_ring_restart(ring)) {
		drm_warn(&mdev->drm, "ring %u did not stop, resetting the card\n",
			 ring->index);
		mlu_job_recover_device(mdev, bad, ring);
		return;
	}
	mlu_health_count_reset(mdev, 0);
	reset = atomic_read(&mdev->reset_count);
	trace_mlu_reset(mlu_trace_card(mdev), ring->index, reset);

	mlu_job_retire(ring);
	mlu_job_replay(ring, reset, bad->base.s_fence->scheduled.context);
	mlu_job_sched_resume(ring);
}

static enum drm_gpu_sched_stat mlu_job_timedout(struct drm_sched_job *sched_job)
{
	struct mlu_job *job = to_mlu_job(sched_job);
	struct mlu_ring *ring = job->ring;
	struct mlu_device *mdev = ring->mdev;
	int idx;

	/*
	 * The scheduler took the job off its list to call us; drm_sched_stop()
	 * puts it back, so that the scheduler frees it however it ends.
	 */
	if (!drm_dev_enter(&mdev->drm, &idx)) {
		/* Unplugged: removal completes every job on the rings. */
		drm_sched_stop(&ring->sched, sched_job);
		mlu_job_sched_resume(ring);
		return DRM_GPU_SCHED_STAT_ENODEV;
	}

	/* A lost or late interrupt? */
	mlu_job_retire(ring);
	if (dma_fence_is_signaled(job->hw_fence)) {
		drm_sched_stop(&ring->sched, sched_job);
		mlu_job_sched_resume(ring);
		drm_dev_exit(idx);
		return DRM_GPU_SCHED_STAT_NOMINAL;
	}

	dev_warn_ratelimited(mdev->drm.dev,
			     "ring %u: job %llu of context %u timed out\n",
			     ring->index, job->seqno, job->ctx->id);
	job->abort_error = -ETIMEDOUT;
	if (mlu_reg_read(mdev, MLU_REG_STATUS) & MLU_STATUS_FATAL)
		mlu_job_recover_device(mdev, job, NULL);
	else
		mlu_job_recover_ring(job);

	drm_dev_exit(idx);
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static const struct drm_sched_backend_ops mlu_sched_ops = {
	.run_job = mlu_job_run,
	.timedout_job = mlu_job_timedout,
	.free_job = mlu_job_free,
};

static void mlu_job_reset_work(struct work_struct *work)
{
	struct mlu_device *mdev = container_of(work, struct mlu_device,
					       reset_work);
	int idx;

	if (!drm_dev_enter(&mdev->drm, &idx))
		return;
	drm_err(&mdev->drm, "device error, resetting the card\n");
	mlu_job_recover_device(mdev, NULL, NULL);
	drm_dev_exit(idx);
}

/**
 * mlu_job_device_error() - the card reported a fatal error
 * @mdev: device
 *
 * Called from the error interrupt; the reset runs on the reset workqueue.
 */
void mlu_job_device_error(struct mlu_device *mdev)
{
	queue_work(mdev->reset_wq, &mdev->reset_work);
}

/* Copy the user's packets, check each header, tag it with the context. */
static int mlu_job_copy_packets(struct drm_device *drm, struct mlu_job *job,
				u64 uptr, u32 count)
{
	u32 i;

	if (!count)
		return 0;

	job->packets = kvmalloc_array(count, MLU_PKT_SIZE, GFP_KERNEL);
	if (!job->packets)
		return -ENOMEM;
	if (copy_from_user(job->packets, u64_to_user_ptr(uptr),
			   array_size(count, MLU_PKT_SIZE)))
		return -EFAULT;
	job->packet_count = count;

	for (i = 0; i < count; i++) {
		struct mlu_pkt_header *hdr = (void *)job->packets[i];

		switch (hdr->opcode) {
		case MLU_OP_NOP:
		case MLU_OP_MATMUL:
		case MLU_OP_CONV2D:
		case MLU_OP_COPY:
		case MLU_OP_TIMESTAMP:
			break;
		default:
			drm_dbg(drm, "packet %u: opcode %u not allowed\n", i,
				hdr->opcode);
			return -EINVAL;
		}
		if (hdr->flags || hdr->reserved) {
			drm_dbg(drm, "packet %u: reserved header bits set\n", i);
			return -EINVAL;
		}
		hdr->ctx = cpu_to_le16(job->ctx->id);
	}
	return 0;
}

/**
 * struct mlu_submit_bos - the BOs of a submit, for implicit sync
 * @objs: the GEM object of each listed BO, once, for
 *	drm_gem_lock_reservations()
 * @written: bit i is set when the job writes @objs[i]
 * @synced: bit i is set when @objs[i] takes part in implicit sync (it was
 *	listed at least once without DRM_MLU_SUBMIT_BO_EXPLICIT)
 * @count: number of @objs
 * @ticket: the acquire context while the reservations are locked
 *
 * The job's mappings hold the objects; these are borrowed for the submit.
 */
struct mlu_submit_bos {
	struct drm_gem_object **objs;
	unsigned long *written;
	unsigned long *synced;
	u32 count;
	struct ww_acquire_ctx ticket;
};

/* One listed BO while the list is read, sorted and merged. */
struct mlu_submit_bo_use {
	struct drm_gem_object *obj;
	bool write;
	bool sync;
};

static int mlu_submit_bo_use_cmp(const void *a, const void *b)
{
	const struct mlu_submit_bo_use *x = a, *y = b;

	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

/* The user's BO list: plain handles, or with DRM_MLU_SUBMIT_BO_USAGE entries. */
static int mlu_job_read_bo_list(const struct drm_mlu_submit *args,
				struct drm_mlu_submit_bo *entries)
{
	u32 i, count = args->bo_handle_count;
	u32 *handles;

	if (args->flags & DRM_MLU_SUBMIT_BO_USAGE) {
		if (copy_from_user(entries, u64_to_user_ptr(args->bo_handles),
				   array_size(count, sizeof(*entries))))
			return -EFAULT;
		for (i = 0; i < count; i++) {
			if (entries[i].flags & ~(DRM_MLU_SUBMIT_BO_READ |
						 DRM_MLU_SUBMIT_BO_EXPLICIT))
				return -EINVAL;
		}
		return 0;
	}

	/* Unpack in place from the back: a handle is half an entry. */
	handles = (u32 *)entries;
	if (copy_from_user(handles, u64_to_user_ptr(args->bo_handles),
			   array_size(count, sizeof(*handles))))
		return -EFAULT;
	for (i = count; i-- > 0;) {
		u32 handle = handles[i];

		entries[i].handle = handle;
		entries[i].flags = 0;
	}
	return 0;
}

/*
 * Look up the listed BOs: keep their mappings in the job, and collect each
 * object once in @bos, written if any entry of it is written.
 */
static int mlu_job_lookup_bos(struct drm_file *file, struct mlu_job *job,
			      const struct drm_mlu_submit *args,
			      struct mlu_submit_bos *bos)
{
	u32 i, count = args->bo_handle_count;
	struct drm_mlu_submit_bo *entries;
	struct mlu_submit_bo_use *uses;
	int ret;

	if (!count)
		return 0;

	entries = kvmalloc_array(count, sizeof(*entries), GFP_KERNEL);
	uses = kvmalloc_array(count, sizeof(*uses), GFP_KERNEL);
	job->mappings = kvcalloc(count, sizeof(*job->mappings), GFP_KERNEL);
	bos->objs = kvmalloc_array(count, sizeof(*bos->objs), GFP_KERNEL);
	bos->written = bitmap_zalloc(count, GFP_KERNEL);
	bos->synced = bitmap_zalloc(count, GFP_KERNEL);
	if (!entries || !uses || !job->mappings || !bos->objs || !bos->written ||
	    !bos->synced) {
		ret = -ENOMEM;
		goto out;
	}
	ret = mlu_job_read_bo_list(args, entries);
	if (ret)
		goto out;

	for (i = 0; i < count; i++) {
		struct mlu_bo_mapping *mapping;

		mapping = mlu_bo_mapping_lookup(file, entries[i].handle);
		if (IS_ERR(mapping)) {
			ret = PTR_ERR(mapping);
			goto out;
		}
		job->mappings[job->mapping_count++] = mapping;
		uses[i].obj = mapping->bo->obj;
		uses[i].write = !(entries[i].flags & DRM_MLU_SUBMIT_BO_READ);
		uses[i].sync = !(entries[i].flags & DRM_MLU_SUBMIT_BO_EXPLICIT);
	}

	/* A BO listed twice would be locked twice. */
	sort(uses, count, sizeof(*uses), mlu_submit_bo_use_cmp, NULL);
	for (i = 0; i < count; i++) {
		if (!bos->count || bos->objs[bos->count - 1] != uses[i].obj)
			bos->objs[bos->count++] = uses[i].obj;
		if (uses[i].write)
			__set_bit(bos->count - 1, bos->written);
		if (uses[i].sync)
			__set_bit(bos->count - 1, bos->synced);
	}
out:
	kvfree(uses);
	kvfree(entries);
	return ret;
}

static void mlu_submit_bos_free(struct mlu_submit_bos *bos)
{
	kvfree(bos->objs);
	bitmap_free(bos->written);
	bitmap_free(bos->synced);
}

/*
 * Implicit sync, first half: lock the BOs' reservation objects, make room
 * for the job's fence in each, and make the job wait for the fences already
 * there (all of them for a BO it writes, the writers' for one it reads).
 * The reservations stay locked until mlu_job_push() has added the fence.
 */
static int mlu_job_lock_bos(struct mlu_job *job, struct mlu_submit_bos *bos)
{
	u32 i;
	int ret;

	ret = drm_gem_lock_reservations(bos->objs, bos->count, &bos->ticket);
	if (ret)
		return ret;
	for (i = 0; i < bos->count; i++) {
		struct drm_gem_object *obj = bos->objs[i];

		ret = dma_resv_reserve_fences(obj->resv, 1);
		if (ret)
			goto err_unlock;
		if (!test_bit(i, bos->synced))
			continue;
		ret = drm_sched_job_add_implicit_dependencies(&job->base, obj,
							      test_bit(i, bos->written));
		if (ret)
			goto err_unlock;
	}
	return 0;

err_unlock:
	drm_gem_unlock_reservations(bos->objs, bos->count, &bos->ticket);
	return ret;
}

static enum dma_resv_usage mlu_submit_bo_usage(struct mlu_submit_bos *bos, u32 i)
{
	if (!test_bit(i, bos->synced))
		return DMA_RESV_USAGE_BOOKKEEP;
	return test_bit(i, bos->written) ? DMA_RESV_USAGE_WRITE :
					   DMA_RESV_USAGE_READ;
}

/* Implicit sync, second half: the job's completion in every BO it lists. */
static void mlu_job_fence_bos(struct mlu_submit_bos *bos,
			      struct dma_fence *finished)
{
	u32 i;

	for (i = 0; i < bos->count; i++)
		dma_resv_add_fence(bos->objs[i]->resv, finished,
				   mlu_submit_bo_usage(bos, i));
}

static int mlu_job_add_in_syncs(struct drm_file *file, struct mlu_job *job,
				const struct drm_mlu_submit *args)
{
	u32 i;
	int ret;

	if (!args->in_sync_count)
		return 0;
	if (args->in_sync_stride < sizeof(struct drm_mlu_sync) ||
	    args->in_sync_stride > MLU_MAX_SYNC_STRIDE)
		return -EINVAL;

	for (i = 0; i < args->in_sync_count; i++) {
		u64 uptr = args->in_syncs + (u64)i * args->in_sync_stride;
		struct drm_mlu_sync sync;
		struct dma_fence *fence;

		ret = copy_struct_from_user(&sync, sizeof(sync),
					    u64_to_user_ptr(uptr),
					    args->in_sync_stride);
		if (ret)
			return ret == -E2BIG ? -EINVAL : ret;
		if (sync.flags)
			return -EINVAL;

		ret = drm_syncobj_find_fence(file, sync.handle, sync.point, 0,
					     &fence);
		if (ret)
			return ret;
		/* Consumes the fence reference, even on error. */
		ret = drm_sched_job_add_dependency(&job->base, fence);
		if (ret)
			return ret;
	}
	return 0;
}

static int mlu_submit_check_args(const struct drm_mlu_submit *args)
{
	if (args->flags & ~(DRM_MLU_SUBMIT_QUEUE_ID | DRM_MLU_SUBMIT_BO_USAGE) ||
	    args->pad)
		return -EINVAL;
	if (args->out_sync_point && !args->out_sync)
		return -EINVAL;
	if (args->packet_count > MLU_MAX_JOB_PACKETS ||
	    args->bo_handle_count > MLU_MAX_JOB_BOS ||
	    args->in_sync_count > MLU_MAX_JOB_SYNCS)
		return -E2BIG;
	return 0;
}

/*
 * Scheduler credits of a job: the ring slots it takes (its packets and the
 * kernel's), but at least a 1/ring_jobs share of the ring.
 */
static u32 mlu_job_credits(u32 packet_count)
{
	u32 ring_jobs = clamp(mlu_ring_jobs, 1u, 64u);

	return max(packet_count + MLU_JOB_KERNEL_PACKETS,
		   MLU_RING_CREDITS / ring_jobs);
}

/*
 * Publish the job's finished fence in its BOs' reservations (then unlocked)
 * and in the out-syncobj, and queue the job.
 */
static void mlu_job_push(struct mlu_exec_queue *queue, struct mlu_job *job,
			 struct mlu_submit_bos *bos, struct drm_syncobj *syncobj,
			 struct dma_fence_chain *chain, u64 point)
{
	struct dma_fence *finished;

	mutex_lock(&queue->submit_lock);
	drm_sched_job_arm(&job->base);
	/* Arming picked the ring (the entity may move between rings). */
	job->ring = container_of(job->base.sched, struct mlu_ring, sched);
	finished = dma_fence_get(&job->base.s_fence->finished);
	mlu_job_fence_bos(bos, finished);
	trace_mlu_job_submit(mlu_trace_card(job->ring->mdev), job->ctx->id,
			     job->ring->index, job->id, job->packet_count,
			     current->tgid);
	drm_sched_entity_push_job(&job->base);
	mutex_unlock(&queue->submit_lock);
	drm_gem_unlock_reservations(bos->objs, bos->count, &bos->ticket);

	if (syncobj && chain)
		drm_syncobj_add_point(syncobj, chain, finished, point);
	else if (syncobj)
		drm_syncobj_replace_fence(syncobj, finished);
	dma_fence_put(finished);
}

int mlu_ioctl_submit(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	struct mlu_file *mfile = file->driver_priv;
	struct drm_mlu_submit *args = data;
	struct dma_fence_chain *chain = NULL;
	struct mlu_submit_bos bos = {};
	struct drm_syncobj *syncobj = NULL;
	struct mlu_exec_queue *queue;
	struct mlu_job *job;
	int ret;

	ret = mlu_submit_check_args(args);
	if (ret) {
		drm_dbg(drm, "submit: invalid arguments (%d)\n", ret);
		return ret;
	}
	queue = mlu_exec_queue_lookup(mfile, args->queue,
				      args->flags & DRM_MLU_SUBMIT_QUEUE_ID);
	if (IS_ERR(queue)) {
		drm_dbg(drm, "submit: no queue %u\n", args->queue);
		return PTR_ERR(queue);
	}

	if (args->out_sync) {
		syncobj = drm_syncobj_find(file, args->out_sync);
		if (!syncobj) {
			ret = -ENOENT;
			goto err_put_queue;
		}
		if (args->out_sync_point) {
			chain = dma_fence_chain_alloc();
			if (!chain) {
				ret = -ENOMEM;
				goto err_put_syncobj;
			}
		}
	}

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		ret = -ENOMEM;
		goto err_free_chain;
	}
	INIT_LIST_HEAD(&job->inflight);
	mlu_mmu_ctx_get(mfile->ctx);
	job->ctx = mfile->ctx;
	/* Allocated here: run_job must not allocate memory. */
	job->hw_fence = kzalloc(sizeof(*job->hw_fence), GFP_KERNEL);
	if (!job->hw_fence) {
		ret = -ENOMEM;
		goto err_free_job;
	}

	ret = drm_sched_job_init(&job->base, &queue->entity,
				 mlu_job_credits(args->packet_count), mfile,
				 file->client_id);
	if (ret)
		goto err_free_job;

	ret = mlu_job_copy_packets(drm, job, args->packets, args->packet_count);
	if (ret)
		goto err_cleanup_job;
	ret = mlu_job_lookup_bos(file, job, args, &bos);
	if (ret)
		goto err_cleanup_job;
	ret = mlu_job_add_in_syncs(file, job, args);
	if (ret)
		goto err_cleanup_job;
	ret = mlu_job_lock_bos(job, &bos);
	if (ret)
		goto err_cleanup_job;

	job->id = atomic64_inc_return(&mdev->stats.jobs_submitted);
	mlu_job_push(queue, job, &bos, syncobj, chain, args->out_sync_point);
	mlu_submit_bos_free(&bos);
	if (syncobj)
		drm_syncobj_put(syncobj);
	mlu_exec_queue_put(queue);
	return 0;

err_cleanup_job:
	/* mlu_job_free() also runs drm_sched_job_cleanup(). */
	mlu_job_free(&job->base);
	mlu_submit_bos_free(&bos);
	goto err_free_chain;
err_free_job:
	mlu_mmu_ctx_put(job->ctx);
	kfree(job->hw_fence);
	kfree(job);
err_free_chain:
	dma_fence_chain_free(chain);
err_put_syncobj:
	if (syncobj)
		drm_syncobj_put(syncobj);
err_put_queue:
	mlu_exec_queue_put(queue);
	if (ret != -ENOMEM)
		drm_dbg(drm, "submit failed: %d\n", ret);
	return ret;
}

static void mlu_job_release(struct drm_device *drm, void *arg)
{
	struct mlu_device *mdev = to_mlu_device(drm);
	unsigned int i;

	for (i = 0; i < mdev->num_rings; i++) {
		if (mdev->rings[i].sched.ops)
			drm_sched_fini(&mdev->rings[i].sched);
	}
	if (mdev->sched_wq)
		destroy_workqueue(mdev->sched_wq);
	destroy_workqueue(mdev->reset_wq);
}

/**
 * mlu_job_init() - create a scheduler per hardware ring
 * @mdev: device with its rings allocated
 *
 * The schedulers live as long as the DRM device, so that files still open
 * after the card was removed can be closed safely.
 *
 * Return: 0 or a negative errno.
 */
int mlu_job_init(struct mlu_device *mdev)
{
	unsigned int i;
	int ret;

	mdev->job_timeout_ms = max(mlu_job_timeout_ms, 10u);
	INIT_WORK(&mdev->reset_work, mlu_job_reset_work);
	mdev->reset_wq = alloc_ordered_workqueue("mlu-reset", 0);
	if (!mdev->reset_wq)
		return -ENOMEM;
	ret = drmm_add_action_or_reset(&mdev->drm, mlu_job_release, NULL);
	if (ret)
		return ret;
	/*
	 * Per-CPU and high priority: a submit's run_job and a completion's
	 * next run_job run on the CPU that queued them, without waking
	 * another CPU; the schedulers' default is an unbound ordered queue
	 * each.  run_job and free_job of a scheduler may now run in parallel,
	 * which drm_sched allows.
	 */
	mdev->sched_wq = alloc_workqueue("mlu-sched", WQ_HIGHPRI | WQ_MEM_RECLAIM,
					 0);
	if (!mdev->sched_wq)
		return -ENOMEM;

	for (i = 0; i < mdev->num_rings; i++) {
		struct mlu_ring *ring = &mdev->rings[i];
		const struct drm_sched_init_args args = {
			.ops = &mlu_sched_ops,
			.submit_wq = mdev->sched_wq,
			.timeout_wq = mdev->reset_wq,
			.num_rqs = DRM_SCHED_PRIORITY_COUNT,
			.credit_limit = MLU_RING_CREDITS,
			.timeout = msecs_to_jiffies(mdev->job_timeout_ms),
			.name = ring->name,
			.dev = mdev->drm.dev,
		};

		ret = drm_sched_init(&ring->sched, &args);
		if (ret) {
			ring->sched.ops = NULL;
			return ret;
		}
	}
	return 0;
}

/**
 * mlu_job_print_inflight() - list the jobs on a ring, for debugfs
 * @ring: ring
 * @p: where to print, one line per job, oldest first
 */
void mlu_job_print_inflight(struct mlu_ring *ring, struct drm_printer *p)
{
	struct mlu_job *job;
	unsigned long flags;

	spin_lock_irqsave(&ring->lock, flags);
	list_for_each_entry(job, &ring->inflight, inflight)
		drm_printf(p, "    job %llu seqno %llu ctx %u packets %u slot %u\n",
			   job->id, job->seqno, job->ctx->id, job->packet_count,
			   job->fence_slot);
	spin_unlock_irqrestore(&ring->lock, flags);
}

/**
 * mlu_job_context_status() - what recovery did to a context
 * @mdev: device
 * @ctx: the caller's context
 * @status: filled in
 */
void mlu_job_context_status(struct mlu_device *mdev, struct mlu_mmu_ctx *ctx,
			    struct drm_mlu_context_status *status)
{
	status->card_resets = atomic_read(&mdev->reset_count);
	status->guilty_resets = atomic_read(&ctx->guilty_resets);
	status->innocent_resets = atomic_read(&ctx->innocent_resets);
	status->faults = atomic_read(&ctx->faults);
}

#if IS_ENABLED(CONFIG_DRM_ACCEL_MLU_BENCH)
/*
 * Kernel jobs, for the round-trip benchmarks of mlu_bench_debugfs.c: jobs
 * of context 0 without packets, which take the path of every job minus the
 * scheduler.  mlu_job_arm() gives one the ring's next seqno, mlu_job_emit()
 * writes its TIMESTAMP, TIMESTAMP and FENCE and rings the doorbell, the
 * ring interrupt's mlu_job_retire() signals its hardware fence.  Like every
 * job they are counted (jobs_submitted, jobs_completed, the busy time of
 * context 0, which no file reports) and traced, as context 0's.
 *
 * They run on an idle ring: its scheduler stopped, nothing in flight, so
 * they need no scheduler credits; and with the recovery workqueue held
 * (struct mlu_job_hold), so that no recovery restarts the scheduler or
 * finds a kernel job on a ring meanwhile.
 */

/* Time the card has to answer a kernel job, and the ring to go idle. */
#define MLU_KERNEL_JOB_TIMEOUT		HZ

/* A work item that keeps the ordered reset_wq busy, so no recovery runs. */
struct mlu_job_hold {
	struct work_struct work;
	struct completion held;
	struct completion release;
};

static void mlu_job_hold_work(struct work_struct *work)
{
	struct mlu_job_hold *hold = container_of(work, struct mlu_job_hold, work);

	complete(&hold->held);
	wait_for_completion(&hold->release);
}

static void mlu_job_ring_release(struct mlu_ring *ring,
				 struct mlu_job_hold *hold)
{
	drm_sched_wqueue_start(&ring->sched);
	complete(&hold->release);
	flush_work(&hold->work);
	destroy_work_on_stack(&hold->work);
}

/*
 * Hold the recovery workqueue, stop @ring's scheduler and wait until the
 * jobs on the ring retired.  Return: 0, or -EBUSY when they did not in
 * time (the ring runs again then).
 */
static int mlu_job_ring_claim(struct mlu_ring *ring, struct mlu_job_hold *hold)
{
	struct dma_fence *last = NULL;
	unsigned long flags;
	long ret;

	INIT_WORK_ONSTACK(&hold->work, mlu_job_hold_work);
	init_completion(&hold->held);
	init_completion(&hold->release);
	queue_work(ring->mdev->reset_wq, &hold->work);
	wait_for_completion(&hold->held);

	/* Once it returns, run_job no longer runs: nothing else is written. */
	drm_sched_wqueue_stop(&ring->sched);
	spin_lock_irqsave(&ring->lock, flags);
	if (!list_empty(&ring->inflight))
		last = dma_fence_get(list_last_entry(&ring->inflight,
						     struct mlu_job,
						     inflight)->hw_fence);
	spin_unlock_irqrestore(&ring->lock, flags);
	if (!last)
		return 0;

	/* Jobs retire in ring order: the last one signals last. */
	ret = dma_fence_wait_timeout(last, false, MLU_KERNEL_JOB_TIMEOUT);
	dma_fence_put(last);
	if (ret > 0)
		return 0;
	mlu_job_ring_release(ring, hold);
	return -EBUSY;
}

static struct mlu_job *mlu_job_kernel_create(struct mlu_ring *ring)
{
	struct mlu_device *mdev = ring->mdev;
	struct mlu_job *job;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return NULL;
	job->hw_fence = kzalloc(sizeof(*job->hw_fence), GFP_KERNEL);
	if (!job->hw_fence) {
		kfree(job);
		return NULL;
	}
	INIT_LIST_HEAD(&job->inflight);
	job->ring = ring;
	mlu_mmu_ctx_get(mdev->kernel_ctx);
	job->ctx = mdev->kernel_ctx;
	job->id = atomic64_inc_return(&mdev->stats.jobs_submitted);
	trace_mlu_job_submit(mlu_trace_card(mdev), job->ctx->id, ring->index,
			     job->id, 0, current->tgid);
	return job;
}

/*
 * Write a kernel job to its idle ring.  Unless @irq, its FENCE raises no
 * interrupt: the card completes it silently.
 */
static void mlu_job_kernel_emit(struct mlu_job *job, bool irq)
{
	struct mlu_ring *ring = job->ring;
	struct mlu_pkt_header *hdr;
	unsigned long flags;

	spin_lock_irqsave(&ring->lock, flags);
	mlu_job_arm(ring, job);
	mlu_job_write(ring, job);
	if (!irq) {
		hdr = (struct mlu_pkt_header *)ring->slots[job->fence_slot];
		hdr->flags &= ~MLU_FENCE_IRQ;
	}
	mlu_job_doorbell(ring, job);
	spin_unlock_irqrestore(&ring->lock, flags);
}

/*
 * Wait for a kernel job.  When the card does not answer, recover it as a
 * hung job's timeout would (we hold the recovery workqueue) and, should
 * even that not retire the job, take it off the ring.
 */
static int mlu_job_kernel_wait(struct mlu_job *job)
{
	struct mlu_ring *ring = job->ring;
	struct mlu_device *mdev = ring->mdev;
	unsigned long flags;

	if (dma_fence_wait_timeout(job->hw_fence, false,
				   MLU_KERNEL_JOB_TIMEOUT) > 0)
		return min(dma_fence_get_status(job->hw_fence), 0);

	dev_warn(mdev->drm.dev, "ring %u: kernel job %llu timed out\n",
		 ring->index, job->seqno);
	job->abort_error = -ETIMEDOUT;
	mlu_job_recover_device(mdev, NULL, NULL);
	if (dma_fence_wait_timeout(job->hw_fence, false,
				   MLU_KERNEL_JOB_TIMEOUT) <= 0) {
		spin_lock_irqsave(&ring->lock, flags);
		if (!list_empty(&job->inflight))
			mlu_job_complete_locked(ring, job, -ETIMEDOUT);
		spin_unlock_irqrestore(&ring->lock, flags);
	}
	return -ETIMEDOUT;
}

static u64 mlu_job_ring_fenced(struct mlu_ring *ring)
{
	return le64_to_cpu(READ_ONCE(ring->fences->seqno));
}

/**
 * mlu_job_kernel_rtt() - round trips of kernel jobs on an idle ring
 * @ring: ring, of a device the caller holds with drm_dev_enter()
 * @raise: time an IRQ_RAISE write instead of the doorbell: the job's
 *	FENCE raises no interrupt, and once the card wrote it, the write
 *	does; the interrupt retires the job as its own would have
 * @rtt_ns: filled with one round trip per round: from the doorbell (or
 *	IRQ_RAISE) write until the job's hardware fence woke the caller
 * @rounds: number of rounds, one kernel job each
 *
 * Jobs submitted meanwhile wait in the scheduler until the rounds are
 * over; recoveries of every ring wait too.
 *
 * Return: 0, -EBUSY when the jobs on the ring did not retire within a
 * second, -ETIMEDOUT when the card did not answer a kernel job (the card
 * was reset), -ENOMEM, or the error the job completed with.
 */
int mlu_job_kernel_rtt(struct mlu_ring *ring, bool raise, u64 *rtt_ns,
		       unsigned int rounds)
{
	struct mlu_job_hold hold;
	unsigned int i;
	int ret;

	ret = mlu_job_ring_claim(ring, &hold);
	if (ret)
		return ret;

	for (i = 0; i < rounds && !ret; i++) {
		struct mlu_job *job = mlu_job_kernel_create(ring);
		u64 start, fenced;
		int wait;

		if (!job) {
			ret = -ENOMEM;
			break;
		}
		if (raise) {
			mlu_job_kernel_emit(job, false);
			ret = read_poll_timeout(mlu_job_ring_fenced, fenced,
						fenced >= job->seqno, 10,
						USEC_PER_SEC, false, ring);
			start = ktime_get_ns();
			if (!ret)
				mlu_reg_write(ring->mdev, MLU_REG_IRQ_RAISE,
					      MLU_IRQ_RING(ring->index));
		} else {
			start = ktime_get_ns();
			mlu_job_kernel_emit(job, true);
		}
		wait = mlu_job_kernel_wait(job);
		rtt_ns[i] = ktime_get_ns() - start;
		ret = ret ?: wait;
		mlu_job_put_resources(job);
	}

	mlu_job_ring_release(ring, &hold);
	return ret;
}
#endif /* CONFIG_DRM_ACCEL_MLU_BENCH */
