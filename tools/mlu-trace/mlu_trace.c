// SPDX-License-Identifier: MIT
/*
 * mlu-trace: per-queue latency histograms, per-process job counts and busy
 * time, and queue depth over time for MLU accelerator jobs, from the mlu
 * tracepoints with BPF (Documentation/tools/mlu-trace.rst).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mlu_trace.h"
#include "mlu_trace.skel.h"

#define NSEC_PER_MSEC	1000000ull

static struct env {
	int pid;		/* 0: every process */
	int card;		/* -1: every card */
	unsigned int interval_ms;
	double duration_s;	/* 0: until Ctrl-C */
	bool json;
	bool verbose;
} env = {
	.card = -1,
	.interval_ms = 1000,
};

static volatile sig_atomic_t exiting;

/* ---- command line ---- */

const char *argp_program_version = "mlu-trace 1.0";
static const char doc[] =
"Trace MLU accelerator jobs: per-queue latency histograms (submit -> start\n"
"on the ring, and device execution time), per-process job counts and busy\n"
"time, and queue depth over time, for DURATION seconds or until Ctrl-C.\n"
"\n"
"EXAMPLES:\n"
"    mlu-trace             # trace until Ctrl-C, text output\n"
"    mlu-trace 10          # trace for 10 seconds\n"
"    mlu-trace -c 0 -p 42  # only jobs of process 42 on card 0\n"
"    mlu-trace -j -i 100 5 # JSON, queue depth sampled every 100 ms\n";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Only jobs submitted by this process", 0 },
	{ "card", 'c', "CARD", 0, "Only this card (the N of /dev/accel/accelN)", 0 },
	{ "interval", 'i', "MS", 0, "Queue depth sampling interval (default 1000 ms)", 0 },
	{ "json", 'j', NULL, 0, "JSON output on stdout", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf debug messages", 0 },
	{},
};

static long parse_long(const char *arg, long min, long max, struct argp_state *state,
		       const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		argp_error(state, "invalid %s: %s", what, arg);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'p':
		env.pid = parse_long(arg, 1, INT_MAX, state, "pid");
		break;
	case 'c':
		env.card = parse_long(arg, 0, INT_MAX, state, "card");
		break;
	case 'i':
		env.interval_ms = parse_long(arg, 1, 3600 * 1000, state, "interval");
		break;
	case 'j':
		env.json = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "too many arguments");
		errno = 0;
		env.duration_s = strtod(arg, &end);
		if (errno || end == arg || *end || !(env.duration_s > 0 && env.duration_s < 1e9))
			argp_error(state, "invalid duration: %s", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- environment checks: clear errors before libbpf's own ---- */

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("mlu-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or the capabilities that loading and attaching need. */
static bool privileged(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return has_cap(data, CAP_SYS_ADMIN) ||
	       (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON));
}

static char tracefs[64];

/*
 * Where tracefs lists the events (to probe which exist), mounting it when
 * nothing is mounted yet.
 */
static void find_tracefs(void)
{
	static const char *const dirs[] = { "/sys/kernel/debug/tracing", "/sys/kernel/tracing" };
	char path[96];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (access(path, F_OK) == 0) {
			snprintf(tracefs, sizeof(tracefs), "%s", dirs[i]);
			return;
		}
	}
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    access("/sys/kernel/tracing/events", F_OK) == 0) {
		snprintf(tracefs, sizeof(tracefs), "/sys/kernel/tracing");
		return;
	}
	die("tracefs unavailable: neither /sys/kernel/tracing nor /sys/kernel/debug/tracing "
	    "has events, and mounting tracefs failed (%s); the kernel needs CONFIG_FTRACE",
	    strerror(errno));
}

static bool event_exists(const char *system, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/%s/%s", tracefs, system, name);
	return access(path, F_OK) == 0;
}

static void check_bpf(void)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL);

	if (ret == -EPERM || ret == -EACCES)
		die("permission denied loading BPF programs (locked down kernel?)");
	if (ret <= 0)
		die("BPF unavailable: the kernel cannot run BPF raw tracepoint programs "
		    "(needs CONFIG_BPF_SYSCALL and CONFIG_BPF_EVENTS): %s",
		    strerror(-ret ?: ENOTSUP));
}

/* ---- the mlu tracepoints ---- */

/*
 * The programs read only the tracepoints' scalar arguments
 * (mlu_trace.bpf.c): they need the module loaded, not its BTF.  Checked
 * before BPF support, the more likely thing to be missing.
 */
static void check_mlu_loaded(void)
{
	if (!event_exists("mlu", ""))
		die("no mlu tracepoints in %s/events: is the mlu module loaded? "
		    "(modprobe mlu)", tracefs);
}

static void check_mlu_events(struct mlu_trace_bpf *obj)
{
#define MLU_EVENT(name, required) { "mlu_" #name, required },
	static const struct {
		const char *name;
		bool required;
	} events[] = { MLU_TRACE_MLU_EVENTS(MLU_EVENT) };
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].required && !event_exists("mlu", events[i].name))
			die("tracepoint mlu:%s missing: this mlu driver is too old for mlu-trace",
			    events[i].name);
	if (!event_exists("mlu", "mlu_mmu_fault"))
		bpf_program__set_autoload(obj->progs.handle_mmu_fault, false);
	if (!event_exists("mlu", "mlu_reset"))
		bpf_program__set_autoload(obj->progs.handle_reset, false);
}

/*
 * Events a program missed because it was already running on that CPU
 * (kernel >= 5.12 counts them): reported, so a count is never silently low.
 */
static __u64 recursion_misses(struct mlu_trace_bpf *obj)
{
	struct bpf_program *prog;
	__u64 misses = 0;

	bpf_object__for_each_program(prog, obj->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			misses += info.recursion_misses;
	}
	return misses;
}

/* ---- gpu_scheduler events: whichever names this kernel has ---- */

#define SCHED_NAME(index, name) [index] = #name,
static const char *const sched_names[MLU_TRACE_NR_SCHED_EVENTS] = {
	MLU_TRACE_SCHED_EVENTS(SCHED_NAME)
};

static bool sched_present[MLU_TRACE_NR_SCHED_EVENTS];

static struct bpf_program *sched_prog(struct mlu_trace_bpf *obj, int index)
{
	char name[96];

	snprintf(name, sizeof(name), "handle_sched_%s", sched_names[index]);
	return bpf_object__find_program_by_name(obj->obj, name);
}

static void probe_sched_events(struct mlu_trace_bpf *obj)
{
	int i;

	for (i = 0; i < MLU_TRACE_NR_SCHED_EVENTS; i++) {
		sched_present[i] = event_exists("gpu_scheduler", sched_names[i]);
		bpf_program__set_autoload(sched_prog(obj, i), sched_present[i]);
	}
}

/* ---- queue depth samples ---- */

struct depth_sample {
	__u64 time_ms;
	struct mlu_trace_queue_key key;
	__s64 depth;
	__s64 peak;
};

static struct depth_sample *samples;
static size_t nr_samples, max_samples;

static void add_sample(const struct depth_sample *s)
{
	if (nr_samples == max_samples) {
		max_samples = max_samples ? 2 * max_samples : 64;
		samples = realloc(samples, max_samples * sizeof(*samples));
		if (!samples)
			die("out of memory");
	}
	samples[nr_samples++] = *s;
}

/* Each queue's current depth and its peak since the previous sample. */
static void sample_depths(struct mlu_trace_bpf *obj, __u64 time_ms)
{
	int queues_fd = bpf_map__fd(obj->maps.queues);
	int peaks_fd = bpf_map__fd(obj->maps.depth_peaks);
	struct mlu_trace_queue_key key, next, *prev = NULL;
	struct mlu_trace_queue q;
	struct depth_sample s;

	while (bpf_map_get_next_key(queues_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(queues_fd, &key, &q))
			continue;
		s = (struct depth_sample){ .time_ms = time_ms, .key = key, .depth = q.depth };
		if (bpf_map_lookup_elem(peaks_fd, &key, &s.peak))
			s.peak = q.depth;
		if (s.peak < s.depth)
			s.peak = s.depth;
		/* The next interval's peak starts from the depth now. */
		bpf_map_update_elem(peaks_fd, &key, &s.depth, BPF_ANY);
		add_sample(&s);
	}
}

/* ---- reading the maps ---- */

struct queue_entry {
	struct mlu_trace_queue_key key;
	struct mlu_trace_queue q;
};

struct proc_entry {
	__s32 pid;
	struct mlu_trace_proc p;
};

struct card_entry {
	__u32 card;
	struct mlu_trace_card c;
};

/* Every entry of a hash map into a malloc'ed array of {key, value} records. */
static void *read_map(struct bpf_map *map, size_t key_size, size_t value_off,
		      size_t entry_size, size_t *count)
{
	int fd = bpf_map__fd(map);
	char key[64], next[64];
	bool first = true;
	char *out = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		first = false;
		memcpy(key, next, key_size);
		out = realloc(out, (n + 1) * entry_size);
		if (!out)
			die("out of memory");
		memset(out + n * entry_size, 0, entry_size);
		memcpy(out + n * entry_size, key, key_size);
		if (bpf_map_lookup_elem(fd, key, out + n * entry_size + value_off) == 0)
			n++;
	}
	*count = n;
	return out;
}

static int cmp_queue(const void *a, const void *b)
{
	const struct mlu_trace_queue_key *x = a, *y = b;

	if (x->card != y->card)
		return x->card < y->card ? -1 : 1;
	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_card(const void *a, const void *b)
{
	const struct card_entry *x = a, *y = b;

	return x->card < y->card ? -1 : x->card > y->card;
}

struct results {
	struct queue_entry *queues;
	size_t nr_queues;
	struct proc_entry *procs;
	size_t nr_procs;
	struct card_entry *cards;
	size_t nr_cards;
	__u64 sched[MLU_TRACE_NR_SCHED_EVENTS];
	__u64 dropped;
	__u64 missed;
	__u64 elapsed_ms;
};

static void collect(struct mlu_trace_bpf *obj, struct results *r)
{
	__u32 i;

	r->queues = read_map(obj->maps.queues, sizeof(struct mlu_trace_queue_key),
			     offsetof(struct queue_entry, q), sizeof(struct queue_entry),
			     &r->nr_queues);
	qsort(r->queues, r->nr_queues, sizeof(*r->queues), cmp_queue);
	r->procs = read_map(obj->maps.procs, sizeof(__s32), offsetof(struct proc_entry, p),
			    sizeof(struct proc_entry), &r->nr_procs);
	qsort(r->procs, r->nr_procs, sizeof(*r->procs), cmp_proc);
	r->cards = read_map(obj->maps.cards, sizeof(__u32), offsetof(struct card_entry, c),
			    sizeof(struct card_entry), &r->nr_cards);
	qsort(r->cards, r->nr_cards, sizeof(*r->cards), cmp_card);
	for (i = 0; i < MLU_TRACE_NR_SCHED_EVENTS; i++)
		if (bpf_map_lookup_elem(bpf_map__fd(obj->maps.sched_events), &i, &r->sched[i]))
			r->sched[i] = 0;
	r->dropped = obj->bss->jobs_dropped;
	r->missed = recursion_misses(obj);
}

/* ---- text output ---- */

static void print_stars(__u64 val, __u64 max, int width)
{
	int stars = max ? (int)(val * width / max) : 0, i;

	for (i = 0; i < width; i++)
		putchar(i < stars ? '*' : ' ');
	if (val > max)
		putchar('+');
}

/* Bucket i of a log2 histogram covers [low, high] microseconds. */
static __u64 bucket_low(int i)
{
	return i ? 1ull << i : 0;
}

static __u64 bucket_high(int i)
{
	return (1ull << (i + 1)) - 1;
}

static int last_used_slot(const struct mlu_trace_hist *h)
{
	int i;

	for (i = MLU_TRACE_SLOTS - 1; i >= 0; i--)
		if (h->slots[i])
			return i;
	return -1;
}

static void print_log2_hist(const struct mlu_trace_hist *h, const char *unit)
{
	int last = last_used_slot(h), i;
	__u64 max = 0;

	if (last < 0) {
		printf("     (no samples)\n");
		return;
	}
	for (i = 0; i <= last; i++)
		if (h->slots[i] > max)
			max = h->slots[i];
	printf("%*s%-*s : count    distribution\n", 5, "", 19, unit);
	for (i = 0; i <= last; i++) {
		printf("%*llu -> %-*llu : %-8llu |", 10, (unsigned long long)bucket_low(i),
		       10, (unsigned long long)bucket_high(i), (unsigned long long)h->slots[i]);
		print_stars(h->slots[i], max, 40);
		printf("|\n");
	}
	printf("     count %llu, average %llu us, total %llu us\n",
	       (unsigned long long)h->count,
	       (unsigned long long)(h->count ? h->sum_ns / h->count / 1000 : 0),
	       (unsigned long long)(h->sum_ns / 1000));
}

static void print_text(const struct results *r)
{
	size_t i;
	int e;

	printf("\nTraced %llu ms\n", (unsigned long long)r->elapsed_ms);
	for (i = 0; i < r->nr_queues; i++) {
		const struct mlu_trace_queue *q = &r->queues[i].q;

		printf("\ncard %u queue %u: %llu submitted, %llu started, %llu completed, "
		       "%llu failed, max depth %lld\n",
		       r->queues[i].key.card, r->queues[i].key.queue,
		       (unsigned long long)q->submitted, (unsigned long long)q->started,
		       (unsigned long long)q->completed, (unsigned long long)q->failed,
		       (long long)q->depth_max);
		printf("  queued -> started (submit to ring, CPU time):\n");
		print_log2_hist(&q->queued, "usecs");
		printf("  started -> done (device time):\n");
		print_log2_hist(&q->device, "usecs");
	}
	if (!r->nr_queues)
		printf("\nno MLU jobs\n");

	printf("\n%-8s %-16s %10s %10s %8s %14s\n", "PID", "COMM", "SUBMITTED", "COMPLETED",
	       "FAILED", "BUSY(us)");
	for (i = 0; i < r->nr_procs; i++) {
		const struct mlu_trace_proc *p = &r->procs[i].p;

		printf("%-8d %-16.16s %10llu %10llu %8llu %14llu\n", r->procs[i].pid,
		       p->comm[0] ? p->comm : "?", (unsigned long long)p->submitted,
		       (unsigned long long)p->completed, (unsigned long long)p->failed,
		       (unsigned long long)(p->busy_ns / 1000));
	}

	printf("\nqueue depth (submitted, not done; peak within the interval):\n");
	printf("%-10s %5s %6s %6s %6s\n", "TIME(ms)", "CARD", "QUEUE", "DEPTH", "PEAK");
	for (i = 0; i < nr_samples; i++)
		printf("%-10llu %5u %6u %6lld %6lld\n", (unsigned long long)samples[i].time_ms,
		       samples[i].key.card, samples[i].key.queue,
		       (long long)samples[i].depth, (long long)samples[i].peak);

	for (i = 0; i < r->nr_cards; i++)
		printf("\ncard %u: %llu MMU faults, %llu resets\n", r->cards[i].card,
		       (unsigned long long)r->cards[i].c.mmu_faults,
		       (unsigned long long)r->cards[i].c.resets);

	printf("\ngpu_scheduler events (all cards and processes):");
	for (e = 0; e < MLU_TRACE_NR_SCHED_EVENTS; e++)
		if (sched_present[e])
			printf(" %s=%llu", sched_names[e], (unsigned long long)r->sched[e]);
	printf("\n");
	if (r->dropped)
		printf("\nWARNING: %llu jobs not traced (job table full)\n",
		       (unsigned long long)r->dropped);
	if (r->missed)
		printf("\nWARNING: %llu events missed (a program was already running on the CPU)\n",
		       (unsigned long long)r->missed);
}

/* ---- JSON output ---- */

static void json_string(const char *s, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_hist(const char *name, const struct mlu_trace_hist *h)
{
	int last = last_used_slot(h), i;

	printf("\"%s\": {\"unit\": \"usecs\", \"count\": %llu, \"sum_ns\": %llu, \"buckets\": [",
	       name, (unsigned long long)h->count, (unsigned long long)h->sum_ns);
	for (i = 0; i <= last; i++)
		printf("%s{\"low\": %llu, \"high\": %llu, \"count\": %llu}", i ? ", " : "",
		       (unsigned long long)bucket_low(i), (unsigned long long)bucket_high(i),
		       (unsigned long long)h->slots[i]);
	printf("]}");
}

static void print_json(const struct results *r)
{
	__u64 submitted = 0, started = 0, completed = 0, failed = 0, busy = 0;
	bool first = true;
	size_t i;
	int e;

	for (i = 0; i < r->nr_queues; i++) {
		submitted += r->queues[i].q.submitted;
		started += r->queues[i].q.started;
		completed += r->queues[i].q.completed;
		failed += r->queues[i].q.failed;
		busy += r->queues[i].q.device.sum_ns;
	}

	printf("{\n\"version\": 1,\n\"duration_ms\": %llu,\n", (unsigned long long)r->elapsed_ms);
	printf("\"filter\": {\"pid\": ");
	env.pid ? printf("%d", env.pid) : printf("null");
	printf(", \"card\": ");
	env.card >= 0 ? printf("%d", env.card) : printf("null");
	printf("},\n\"totals\": {\"submitted\": %llu, \"started\": %llu, \"completed\": %llu, "
	       "\"failed\": %llu, \"busy_ns\": %llu, \"dropped\": %llu, \"missed\": %llu},\n",
	       (unsigned long long)submitted, (unsigned long long)started,
	       (unsigned long long)completed, (unsigned long long)failed,
	       (unsigned long long)busy, (unsigned long long)r->dropped,
	       (unsigned long long)r->missed);

	printf("\"queues\": [");
	for (i = 0; i < r->nr_queues; i++) {
		const struct mlu_trace_queue *q = &r->queues[i].q;

		printf("%s\n  {\"card\": %u, \"queue\": %u, \"submitted\": %llu, "
		       "\"started\": %llu, \"completed\": %llu, \"failed\": %llu, \"depth\": %lld, \"depth_max\": %lld,\n   ",
		       i ? "," : "", r->queues[i].key.card, r->queues[i].key.queue,
		       (unsigned long long)q->submitted, (unsigned long long)q->started,
		       (unsigned long long)q->completed, (unsigned long long)q->failed,
		       (long long)q->depth, (long long)q->depth_max);
		json_hist("queued_to_started", &q->queued);
		printf(",\n   ");
		json_hist("started_to_done", &q->device);
		printf("}");
	}
	printf("\n],\n\"processes\": [");
	for (i = 0; i < r->nr_procs; i++) {
		const struct mlu_trace_proc *p = &r->procs[i].p;

		printf("%s\n  {\"pid\": %d, \"comm\": ", i ? "," : "", r->procs[i].pid);
		json_string(p->comm, sizeof(p->comm));
		printf(", \"submitted\": %llu, \"completed\": %llu, \"failed\": %llu, "
		       "\"busy_ns\": %llu}",
		       (unsigned long long)p->submitted, (unsigned long long)p->completed,
		       (unsigned long long)p->failed, (unsigned long long)p->busy_ns);
	}
	printf("\n],\n\"cards\": [");
	for (i = 0; i < r->nr_cards; i++)
		printf("%s\n  {\"card\": %u, \"mmu_faults\": %llu, \"resets\": %llu}", i ? "," : "",
		       r->cards[i].card, (unsigned long long)r->cards[i].c.mmu_faults,
		       (unsigned long long)r->cards[i].c.resets);
	printf("\n],\n\"queue_depth\": [");
	for (i = 0; i < nr_samples; i++)
		printf("%s\n  {\"time_ms\": %llu, \"card\": %u, \"queue\": %u, \"depth\": %lld, "
		       "\"peak\": %lld}", i ? "," : "", (unsigned long long)samples[i].time_ms,
		       samples[i].key.card, samples[i].key.queue, (long long)samples[i].depth,
		       (long long)samples[i].peak);
	printf("\n],\n\"sched_events\": {");
	for (e = 0; e < MLU_TRACE_NR_SCHED_EVENTS; e++) {
		if (!sched_present[e])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", sched_names[e],
		       (unsigned long long)r->sched[e]);
		first = false;
	}
	printf("}\n}\n");
}

/* ---- main ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void on_signal(int sig)
{
	exiting = 1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Sleep until deadline_ns or a signal. */
static void sleep_until(__u64 deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / 1000000000ull,
		.tv_nsec = deadline_ns % 1000000000ull,
	};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void trace_loop(struct mlu_trace_bpf *obj, struct results *r)
{
	__u64 start = now_ns(), interval = env.interval_ms * NSEC_PER_MSEC, next = start;
	__u64 end = env.duration_s > 0 ? start + (__u64)(env.duration_s * 1e9) : 0;

	while (!exiting) {
		next += interval;
		if (end && next > end)
			next = end;
		sleep_until(next);
		sample_depths(obj, (now_ns() - start) / NSEC_PER_MSEC);
		if (end && now_ns() >= end)
			break;
	}
	r->elapsed_ms = (now_ns() - start) / NSEC_PER_MSEC;
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.args_doc = "[DURATION]",
		.doc = doc,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct results results = {};
	struct mlu_trace_bpf *obj;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;
	libbpf_set_print(libbpf_print);
	/* From here on Ctrl-C ends tracing (at once when it comes before). */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (!privileged())
		die("permission denied: run as root (loading BPF programs needs CAP_BPF and "
		    "CAP_PERFMON, or CAP_SYS_ADMIN)");
	find_tracefs();
	check_mlu_loaded();
	check_bpf();

	obj = mlu_trace_bpf__open();
	if (!obj)
		die("cannot open the BPF object: %s", strerror(errno));
	check_mlu_events(obj);
	probe_sched_events(obj);
	obj->rodata->filter_pid = env.pid;
	obj->rodata->filter_card = env.card;

	err = mlu_trace_bpf__load(obj);
	if (err) {
		mlu_trace_bpf__destroy(obj);
		die("loading the BPF programs failed: %s", strerror(-err));
	}
	err = mlu_trace_bpf__attach(obj);
	if (err) {
		mlu_trace_bpf__destroy(obj);
		die("attaching to the tracepoints failed: %s", strerror(-err));
	}

	fprintf(stderr, "Tracing MLU jobs... Hit Ctrl-C to end.\n");

	trace_loop(obj, &results);
	collect(obj, &results);
	mlu_trace_bpf__destroy(obj);

	if (env.json)
		print_json(&results);
	else
		print_text(&results);
	free(results.queues);
	free(results.procs);
	free(results.cards);
	free(samples);
	return 0;
}
