// SPDX-License-Identifier: MIT
/*
 * mlu-trace's BPF side: follows every MLU job from submit through its start
 * on a hardware ring to its completion, with the mlu tracepoints, and counts
 * the gpu_scheduler events of whichever names this kernel has.
 *
 * Raw tracepoints, not the classic (perf) ones: a classic tracepoint's BPF
 * program is skipped whenever any other BPF program, or a bpf() map
 * syscall, is active on that CPU, and mlu_job_done fires in the completion
 * interrupt, so jobs would be lost.  A raw tracepoint program is skipped
 * only when that same program is already running on the CPU.  Its
 * arguments are the tracepoint's TP_PROTO (driver/mlu_trace.h): one plain
 * scalar per record field, in the fields' order, so the programs read no
 * driver structure and need neither the module's BTF nor its layout.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mlu_trace.h"

/* Filters, set by userspace before load: 0 / -1 mean "all". */
const volatile __s32 filter_pid;
const volatile __s32 filter_card = -1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLU_TRACE_MAX_JOBS);
	__type(key, struct mlu_trace_job_key);
	__type(value, struct mlu_trace_job);
} jobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLU_TRACE_MAX_QUEUES);
	__type(key, struct mlu_trace_queue_key);
	__type(value, struct mlu_trace_queue);
} queues SEC(".maps");

/* Highest depth of each queue since userspace last sampled it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLU_TRACE_MAX_QUEUES);
	__type(key, struct mlu_trace_queue_key);
	__type(value, __s64);
} depth_peaks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLU_TRACE_MAX_PROCS);
	__type(key, __s32);
	__type(value, struct mlu_trace_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLU_TRACE_MAX_CARDS);
	__type(key, __u32);
	__type(value, struct mlu_trace_card);
} cards SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLU_TRACE_NR_SCHED_EVENTS);
	__type(key, __u32);
	__type(value, __u64);
} sched_events SEC(".maps");

/* Jobs whose record did not fit in the jobs map (reported, never silent). */
__u64 jobs_dropped;

static const struct mlu_trace_queue zero_queue;
static const struct mlu_trace_proc zero_proc;
static const struct mlu_trace_card zero_card;

/* Look a key up, inserting init first when it is missing. */
static void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static bool card_wanted(__u32 card)
{
	return filter_card < 0 || card == (__u32)filter_card;
}

static __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	/* Bounded for the verifier: at most 64 halvings. */
	for (int i = 0; i < 64 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

static void hist_add(struct mlu_trace_hist *h, __u64 ns)
{
	__u32 slot = log2_u64(ns / 1000);

	if (slot >= MLU_TRACE_SLOTS)
		slot = MLU_TRACE_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

static struct mlu_trace_queue *queue_stats(__u32 card, __u32 queue)
{
	struct mlu_trace_queue_key key = { .card = card, .queue = queue };

	return lookup_or_init(&queues, &key, &zero_queue);
}

/* Racy maxima: a lost update only understates a peak by one job. */
static void note_depth(struct mlu_trace_queue *q, __u32 card, __u32 queue, __s64 depth)
{
	struct mlu_trace_queue_key key = { .card = card, .queue = queue };
	__s64 *peak;

	if (depth > q->depth_max)
		q->depth_max = depth;
	peak = bpf_map_lookup_elem(&depth_peaks, &key);
	if (!peak) {
		bpf_map_update_elem(&depth_peaks, &key, &depth, BPF_NOEXIST);
		return;
	}
	if (depth > *peak)
		*peak = depth;
}

SEC("raw_tp/mlu_job_submit")
int BPF_PROG(handle_job_submit, __u32 card, __u32 mmu_ctx, __u32 queue, __u64 job_id,
	     __u32 packets, __s32 pid)
{
	struct mlu_trace_job_key key = { .card = card, .job = job_id };
	struct mlu_trace_job job = {
		.submit_ns = bpf_ktime_get_ns(),
		.pid = pid,
		.queue = queue,
	};
	struct mlu_trace_queue *qs;
	struct mlu_trace_proc *p;
	__s64 depth;

	if (!card_wanted(card) || (filter_pid && pid != filter_pid))
		return 0;
	if (bpf_map_update_elem(&jobs, &key, &job, BPF_ANY)) {
		__sync_fetch_and_add(&jobs_dropped, 1);
		return 0;
	}

	qs = queue_stats(card, queue);
	if (qs) {
		__sync_fetch_and_add(&qs->submitted, 1);
		depth = __sync_fetch_and_add(&qs->depth, 1) + 1;
		note_depth(qs, card, queue, depth);
	}

	p = lookup_or_init(&procs, &pid, &zero_proc);
	if (p) {
		__sync_fetch_and_add(&p->submitted, 1);
		bpf_get_current_comm(p->comm, sizeof(p->comm));
	}
	return 0;
}

SEC("raw_tp/mlu_job_start")
int BPF_PROG(handle_job_start, __u32 card, __u32 mmu_ctx, __u32 queue, __u64 job_id,
	     __u64 seqno)
{
	struct mlu_trace_job_key key = { .card = card, .job = job_id };
	struct mlu_trace_queue *qs;
	struct mlu_trace_job *job;
	__u64 now = bpf_ktime_get_ns();

	job = bpf_map_lookup_elem(&jobs, &key);
	/* Unknown: filtered out or submitted before tracing began. */
	if (!job || job->start_ns)
		return 0;
	job->start_ns = now;

	qs = queue_stats(key.card, job->queue);
	if (!qs)
		return 0;
	__sync_fetch_and_add(&qs->started, 1);
	hist_add(&qs->queued, now - job->submit_ns);
	return 0;
}

SEC("raw_tp/mlu_job_done")
int BPF_PROG(handle_job_done, __u32 card, __u32 mmu_ctx, __u32 queue, __u64 job_id,
	     __u64 seqno, __s32 error, __u64 dev_start_ns, __u64 duration)
{
	struct mlu_trace_job_key key = { .card = card, .job = job_id };
	struct mlu_trace_queue *qs;
	struct mlu_trace_proc *p;
	struct mlu_trace_job *job;
	bool ok = error == 0;
	__s32 pid;

	job = bpf_map_lookup_elem(&jobs, &key);
	if (!job)
		return 0;
	pid = job->pid;

	qs = queue_stats(key.card, job->queue);
	if (qs) {
		__sync_fetch_and_add(&qs->depth, -1);
		if (ok) {
			__sync_fetch_and_add(&qs->completed, 1);
			hist_add(&qs->device, duration);
		} else {
			__sync_fetch_and_add(&qs->failed, 1);
		}
	}

	p = bpf_map_lookup_elem(&procs, &pid);
	if (p) {
		if (ok) {
			__sync_fetch_and_add(&p->completed, 1);
			__sync_fetch_and_add(&p->busy_ns, duration);
		} else {
			__sync_fetch_and_add(&p->failed, 1);
		}
	}
	bpf_map_delete_elem(&jobs, &key);
	return 0;
}

static void count_card_event(__u32 card, bool fault)
{
	struct mlu_trace_card *c;

	if (!card_wanted(card))
		return;
	c = lookup_or_init(&cards, &card, &zero_card);
	if (!c)
		return;
	if (fault)
		__sync_fetch_and_add(&c->mmu_faults, 1);
	else
		__sync_fetch_and_add(&c->resets, 1);
}

SEC("raw_tp/mlu_mmu_fault")
int BPF_PROG(handle_mmu_fault, __u32 card)
{
	count_card_event(card, true);
	return 0;
}

SEC("raw_tp/mlu_reset")
int BPF_PROG(handle_reset, __u32 card)
{
	count_card_event(card, false);
	return 0;
}

static void count_sched_event(__u32 index)
{
	__u64 *count = bpf_map_lookup_elem(&sched_events, &index);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/*
 * One program per known gpu_scheduler event name; userspace disables the
 * ones this kernel does not have.  Their records differ between kernels,
 * so only the events are counted.
 */
#define SCHED_EVENT_PROG(index, name)				\
	SEC("raw_tp/" #name)					\
	int handle_sched_##name(void *ctx)			\
	{							\
		count_sched_event(index);			\
		return 0;					\
	}
MLU_TRACE_SCHED_EVENTS(SCHED_EVENT_PROG)

char LICENSE[] SEC("license") = "Dual MIT/GPL";
