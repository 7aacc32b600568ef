// SPDX-License-Identifier: MIT
/*
 * mlu-trace (tools/mlu-trace) against a known workload: worker processes
 * with known pids submit known numbers of jobs on known cards and queues,
 * each job bracketing its work with its own TIMESTAMP packets, while the
 * tool traces with --json.  The tool must count exactly those jobs per
 * queue and per process, report device times that contain the workload's
 * own timestamp intervals and equal the driver's fdinfo drm-engine times,
 * honour its -p and -c filters, stop on SIGINT or after its duration, and
 * fail clearly without root or without the driver.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <json.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

#define TOOL		"/bin/mlu-trace"
#define MODULE_PATH	"/lib/modules/mlu.ko"
#define READY_LINE	"Tracing MLU jobs"
#define COPY_SIZE	(256 * 1024)
#define MAX_JOBS	16
#define MAX_WORKERS	3
/* The kernel's own TIMESTAMPs run one packet before and after ours. */
#define SLACK_PER_JOB	(10 * MS)

/* ---- running the tool ---- */

struct tracer {
	pid_t pid;
	int out_fd;
	int err_fd;
	char err[4096];		/* its stderr so far */
	size_t err_len;
};

static void read_into(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t n;

	if (*len + 1 >= size)
		return;
	n = read(fd, buf + *len, size - 1 - *len);
	if (n > 0)
		*len += n;
	buf[*len] = '\0';
}

/* Start the tool with argv[1..]; 0 once it is tracing, -1 when it exited. */
static int tracer_start(struct tracer *t, char *const argv[])
{
	int out[2], err[2];
	struct pollfd pfd;

	memset(t, 0, sizeof(*t));
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(TOOL, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	t->out_fd = out[0];
	t->err_fd = err[0];

	/* BPF verification under TCG takes seconds: allow a minute. */
	pfd = (struct pollfd){ .fd = t->err_fd, .events = POLLIN };
	while (!strstr(t->err, READY_LINE)) {
		size_t before = t->err_len;

		if (poll(&pfd, 1, 60000) <= 0)
			return -1;
		read_into(t->err_fd, t->err, sizeof(t->err), &t->err_len);
		if (t->err_len == before)
			return -1;	/* EOF: the tool exited */
	}
	return 0;
}

/* Wait for the tool to exit; its stdout (malloc'ed) and exit status. */
static char *tracer_finish(struct tracer *t, int *status)
{
	size_t len = 0, size = 1 << 16;
	char *out = malloc(size);
	ssize_t n;

	while (out) {
		if (len + 1 >= size)
			out = realloc(out, size *= 2);
		if (!out)
			break;
		n = read(t->out_fd, out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	if (out)
		out[len] = '\0';
	while (t->err_len + 1 < sizeof(t->err)) {
		size_t before = t->err_len;

		read_into(t->err_fd, t->err, sizeof(t->err), &t->err_len);
		if (t->err_len == before)
			break;
	}
	waitpid(t->pid, status, 0);
	close(t->out_fd);
	close(t->err_fd);
	return out;
}

/* Run the tool to completion (it must end by itself). */
static char *tool_run(char *const argv[], int *status, char *err, size_t err_size)
{
	struct tracer t = {};
	int out[2], errp[2];
	char *res;

	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return NULL;
	t.pid = fork();
	if (t.pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		execv(TOOL, argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	t.out_fd = out[0];
	t.err_fd = errp[0];
	res = tracer_finish(&t, status);
	snprintf(err, err_size, "%s", t.err);
	return res;
}

/* ---- JSON ---- */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* An integer member, or -1 when it is missing. */
static int64_t jint(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static json_object *find_queue(json_object *root, int card, int queue)
{
	json_object *queues = jget(root, "queues");
	size_t i;

	for (i = 0; queues && i < json_object_array_length(queues); i++) {
		json_object *q = json_object_array_get_idx(queues, i);

		if (jint(q, "card") == card && jint(q, "queue") == queue)
			return q;
	}
	return NULL;
}

static json_object *find_process(json_object *root, pid_t pid)
{
	json_object *procs = jget(root, "processes");
	size_t i;

	for (i = 0; procs && i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i);

		if (jint(p, "pid") == pid)
			return p;
	}
	return NULL;
}

/* Sum of a histogram's bucket counts. */
static int64_t bucket_total(json_object *hist)
{
	json_object *buckets = jget(hist, "buckets");
	int64_t total = 0;
	size_t i;

	for (i = 0; buckets && i < json_object_array_length(buckets); i++)
		total += jint(json_object_array_get_idx(buckets, i), "count");
	return total;
}

/* The count of the gpu_scheduler "job runs" event, whatever this kernel calls it. */
static int64_t sched_runs(json_object *root)
{
	json_object *ev = jget(root, "sched_events");

	if (jget(ev, "drm_run_job"))
		return jint(ev, "drm_run_job");
	return jint(ev, "drm_sched_job_run");
}

/* ---- the workload ---- */

struct worker_plan {
	int card_index;		/* mlu_open_card() index */
	int minor;		/* the card number mlu-trace reports */
	unsigned int queue;
	unsigned int jobs;
};

struct worker_result {
	pid_t pid;
	unsigned int jobs_ok;
	uint64_t user_ns;	/* sum over jobs of our own end - start timestamps */
	int64_t fdinfo_ns;	/* the fd's drm-engine-queue* sum, -1 if absent */
};

struct workload {
	struct worker_plan plan[MAX_WORKERS];
	pid_t pid[MAX_WORKERS];
	unsigned int nr;
	int go[2];		/* closing go[1] releases the workers */
	int results[2];
};

/* Sum of an open card's drm-engine-queue<N> device times, or -1. */
static int64_t fdinfo_engine_ns(int fd)
{
	char path[64], line[256];
	int64_t sum = -1;
	long long ns;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "drm-engine-queue%*u: %lld ns", &ns) == 1)
			sum = (sum < 0 ? 0 : sum) + ns;
	fclose(f);
	return sum;
}

static void timestamp_init(struct mlu_pkt_timestamp *p, uint64_t addr)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_TIMESTAMP;
	p->addr = addr;
}

/*
 * One worker: jobs of TIMESTAMP, COPY, TIMESTAMP on its queue, all submitted
 * back to back once released; reports the sum of its own device intervals.
 */
static int worker(const struct worker_plan *plan, int go_fd, int result_fd)
{
	struct mlu_pkt_timestamp pkts[3];
	struct worker_result res = { .pid = getpid() };
	uint32_t bo, out[MAX_JOBS];
	uint64_t va, *ts;
	unsigned int j;
	char c;
	unsigned char *p;
	int fd = mlu_open_card(plan->card_index);

	if (fd < 0 || mlu_bo_create(fd, 2 * COPY_SIZE + 4096, 0, &bo, &va))
		return 1;
	p = mlu_bo_map(fd, bo);
	if (!p)
		return 1;
	memset(p, 0x5a, COPY_SIZE);
	ts = (uint64_t *)(p + 2 * COPY_SIZE);
	for (j = 0; j < plan->jobs; j++)
		out[j] = mlu_syncobj_create(fd);

	if (read(go_fd, &c, 1) < 0)
		return 1;
	for (j = 0; j < plan->jobs; j++) {
		uint64_t ts_va = va + 2 * COPY_SIZE + 16 * j;

		timestamp_init(&pkts[0], ts_va);
		mlu_pkt_copy_init((struct mlu_pkt_copy *)&pkts[1], va + COPY_SIZE, va, COPY_SIZE);
		timestamp_init(&pkts[2], ts_va + 8);
		if (mlu_submit_simple(fd, plan->queue, pkts, 3, &bo, 1, 0, out[j]))
			return 1;
	}
	for (j = 0; j < plan->jobs; j++) {
		if (mlu_syncobj_wait(fd, out[j], 60000 * MS) || mlu_fence_status(fd, out[j]) != 1)
			continue;
		res.jobs_ok++;
		res.user_ns += ts[2 * j + 1] - ts[2 * j];
	}
	res.fdinfo_ns = fdinfo_engine_ns(fd);
	if (write(result_fd, &res, sizeof(res)) != sizeof(res))
		return 1;
	close(fd);
	return 0;
}

static int card_minor(int index)
{
	struct stat st;
	int fd = mlu_open_card(index), ret = -1;

	if (fd >= 0 && fstat(fd, &st) == 0)
		ret = minor(st.st_rdev);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Three workers: two queues of the first card and the first queue of the
 * second (of the first again with a single card), with different job counts.
 */
static int workload_plan(struct workload *w)
{
	struct drm_mlu_device_info info = {};
	int cards = mlu_count_cards(), fd = mlu_open_card(0);
	unsigned int second_queue;

	if (fd < 0 || mlu_query_info(fd, &info))
		return -1;
	close(fd);
	second_queue = info.num_queues > 1 ? 1 : 0;
	w->nr = 3;
	w->plan[0] = (struct worker_plan){ .card_index = 0, .queue = 0, .jobs = 4 };
	w->plan[1] = (struct worker_plan){ .card_index = 0, .queue = second_queue, .jobs = 6 };
	w->plan[2] = (struct worker_plan){ .card_index = cards > 1 ? 1 : 0, .queue = 0,
					   .jobs = 5 };
	for (unsigned int i = 0; i < w->nr; i++) {
		w->plan[i].minor = card_minor(w->plan[i].card_index);
		if (w->plan[i].minor < 0)
			return -1;
	}
	return 0;
}

/* Fork the workers, held until workload_release(). */
static int workload_fork(struct workload *w)
{
	unsigned int i;

	/* Close-on-exec: a tool started later must not hold the go pipe open. */
	if (pipe2(w->go, O_CLOEXEC) || pipe2(w->results, O_CLOEXEC))
		return -1;
	for (i = 0; i < w->nr; i++) {
		w->pid[i] = fork();
		if (w->pid[i] < 0)
			return -1;
		if (w->pid[i] == 0) {
			close(w->go[1]);
			close(w->results[0]);
			_exit(worker(&w->plan[i], w->go[0], w->results[1]));
		}
	}
	close(w->go[0]);
	close(w->results[1]);
	return 0;
}

/* Release the workers and collect their results (indexed like w->pid). */
static int workload_release(struct workload *w, struct worker_result *res)
{
	struct worker_result r;
	unsigned int i, got = 0;
	int status, failed = 0;

	close(w->go[1]);
	while (read(w->results[0], &r, sizeof(r)) == sizeof(r)) {
		for (i = 0; i < w->nr; i++)
			if (w->pid[i] == r.pid) {
				res[i] = r;
				got++;
			}
	}
	close(w->results[0]);
	for (i = 0; i < w->nr; i++)
		if (waitpid(w->pid[i], &status, 0) != w->pid[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	return failed || got != w->nr ? -1 : 0;
}

/*
 * Whether the kernel runs BPF programs at all (CONFIG_BPF_SYSCALL): the
 * debug kernel of tests/suites/40-guest-debug.sh does not, and there the
 * tests that trace are skipped and fails_clearly_without_bpf checks the
 * tool's error instead.
 */
static bool kernel_has_bpf(void)
{
	return !(syscall(SYS_bpf, -1, NULL, 0) < 0 && errno == ENOSYS);
}

#define SKIP_UNLESS_TOOL_AND_BPF()							\
	do {										\
		if (access(TOOL, X_OK))							\
			SKIP(return, TOOL " is not in this guest image");		\
		if (!kernel_has_bpf())							\
			SKIP(return, "kernel without BPF (CONFIG_BPF_SYSCALL)");	\
	} while (0)

/* ---- traced workload, with and without filters ---- */

FIXTURE(traced) {
	struct workload w;
	struct worker_result res[MAX_WORKERS];
	json_object *root;
};

FIXTURE_VARIANT(traced) {
	bool by_pid;	/* -p <pid of worker 1> */
	bool by_card;	/* -c <card of worker 2> */
};

FIXTURE_VARIANT_ADD(traced, all) {};
FIXTURE_VARIANT_ADD(traced, pid_filter) { .by_pid = true };
FIXTURE_VARIANT_ADD(traced, card_filter) { .by_card = true };

FIXTURE_SETUP(traced)
{
	char pid_arg[16], card_arg[16];
	char *argv[8] = { "mlu-trace", "--json", "-i", "100" };
	int argc = 4, status;
	struct tracer t;
	char *out;

	self->root = NULL;
	if (mlu_count_cards() == 0) {
		ASSERT_LE(mlu_expected_cards(), 0) TH_LOG("host attached cards but no mlu node");
		SKIP(return, "no MLU card");
	}
	SKIP_UNLESS_TOOL_AND_BPF();
	ASSERT_EQ(0, workload_plan(&self->w));
	if (variant->by_card && self->w.plan[2].minor == self->w.plan[0].minor)
		SKIP(return, "the card filter needs two cards");
	ASSERT_EQ(0, workload_fork(&self->w));

	if (variant->by_pid) {
		snprintf(pid_arg, sizeof(pid_arg), "%d", self->w.pid[1]);
		argv[argc++] = "-p";
		argv[argc++] = pid_arg;
	}
	if (variant->by_card) {
		snprintf(card_arg, sizeof(card_arg), "%d", self->w.plan[2].minor);
		argv[argc++] = "-c";
		argv[argc++] = card_arg;
	}
	argv[argc] = NULL;
	ASSERT_EQ(0, tracer_start(&t, argv)) TH_LOG("mlu-trace did not start: %s", t.err);

	ASSERT_EQ(0, workload_release(&self->w, self->res));
	ASSERT_EQ(0, kill(t.pid, SIGINT));
	out = tracer_finish(&t, &status);
	ASSERT_NE(NULL, out);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("mlu-trace died: %s", t.err);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("mlu-trace failed: %s", t.err);
	self->root = json_tokener_parse(out);
	ASSERT_NE(NULL, self->root) TH_LOG("not JSON: %.300s", out);
	free(out);
}

FIXTURE_TEARDOWN(traced)
{
	if (self->root)
		json_object_put(self->root);
}

/* Whether the variant's filter keeps worker i's jobs. */
static bool traced_wanted(const FIXTURE_VARIANT(traced) *variant,
			  const struct workload *w, unsigned int i)
{
	if (variant->by_pid)
		return i == 1;
	if (variant->by_card)
		return w->plan[i].minor == w->plan[2].minor;
	return true;
}

TEST_F_TIMEOUT(traced, counts_each_job_once_per_process_and_queue, 180)
{
	int64_t total = 0, all_jobs = 0, procs = 0;
	unsigned int i, k;
	json_object *totals = jget(self->root, "totals");

	for (i = 0; i < self->w.nr; i++) {
		ASSERT_EQ(self->w.plan[i].jobs, self->res[i].jobs_ok);
		all_jobs += self->w.plan[i].jobs;
		if (traced_wanted(variant, &self->w, i)) {
			total += self->w.plan[i].jobs;
			procs++;
		}
	}

	EXPECT_EQ(total, jint(totals, "submitted"));
	EXPECT_EQ(total, jint(totals, "started"));
	EXPECT_EQ(total, jint(totals, "completed"));
	EXPECT_EQ(0, jint(totals, "failed"));
	EXPECT_EQ(0, jint(totals, "dropped"));
	EXPECT_EQ(0, jint(totals, "missed"));

	for (i = 0; i < self->w.nr; i++) {
		json_object *p = find_process(self->root, self->w.pid[i]);

		if (!traced_wanted(variant, &self->w, i)) {
			EXPECT_EQ(NULL, p) TH_LOG("worker %u filtered out but reported", i);
			continue;
		}
		ASSERT_NE(NULL, p) TH_LOG("worker %u (pid %d) missing", i, self->w.pid[i]);
		EXPECT_EQ(self->w.plan[i].jobs, jint(p, "submitted"));
		EXPECT_EQ(self->w.plan[i].jobs, jint(p, "completed"));
		EXPECT_EQ(0, jint(p, "failed"));
		EXPECT_STREQ("mlu_trace_test", json_object_get_string(jget(p, "comm")));
	}
	EXPECT_EQ(procs, (int64_t)json_object_array_length(jget(self->root, "processes")));

	/* Per queue: the jobs of every wanted worker on it. */
	for (i = 0; i < self->w.nr; i++) {
		const struct worker_plan *pl = &self->w.plan[i];
		json_object *q = find_queue(self->root, pl->minor, pl->queue);
		int64_t expect = 0;

		for (k = 0; k < self->w.nr; k++)
			if (self->w.plan[k].minor == pl->minor &&
			    self->w.plan[k].queue == pl->queue &&
			    traced_wanted(variant, &self->w, k))
				expect += self->w.plan[k].jobs;
		if (!expect) {
			EXPECT_EQ(NULL, q);
			continue;
		}
		ASSERT_NE(NULL, q) TH_LOG("card %d queue %u missing", pl->minor, pl->queue);
		EXPECT_EQ(expect, jint(q, "submitted"));
		EXPECT_EQ(expect, jint(jget(q, "queued_to_started"), "count"));
		EXPECT_EQ(expect, bucket_total(jget(q, "queued_to_started")));
		EXPECT_EQ(expect, jint(jget(q, "started_to_done"), "count"));
		EXPECT_EQ(expect, bucket_total(jget(q, "started_to_done")));
		/* All done: nothing left queued, and the queue held at least one job. */
		EXPECT_EQ(0, jint(q, "depth"));
		EXPECT_GE(jint(q, "depth_max"), 1);
		EXPECT_LE(jint(q, "depth_max"), expect);
	}

	/* The scheduler events are not filtered: every job of every worker ran once. */
	EXPECT_EQ(all_jobs, sched_runs(self->root));
}

TEST_F_TIMEOUT(traced, device_times_contain_the_jobs_own_timestamps, 180)
{
	uint64_t queue_sum = 0, proc_sum = 0;
	json_object *queues = jget(self->root, "queues");
	unsigned int i;

	for (i = 0; i < self->w.nr; i++) {
		json_object *p = find_process(self->root, self->w.pid[i]);
		int64_t busy;

		if (!traced_wanted(variant, &self->w, i))
			continue;
		ASSERT_NE(NULL, p);
		busy = jint(p, "busy_ns");
		/* The kernel's TIMESTAMP pair encloses ours, one packet either side. */
		EXPECT_GE(busy, (int64_t)self->res[i].user_ns);
		EXPECT_LE(busy, (int64_t)(self->res[i].user_ns +
					  self->w.plan[i].jobs * SLACK_PER_JOB))
			TH_LOG("worker %u: device %lld ns, its own timestamps %llu ns", i,
			       (long long)busy, (unsigned long long)self->res[i].user_ns);
		EXPECT_GT(self->res[i].user_ns, 0);
		/* The driver's per-client fdinfo figure sums the same timestamps. */
		EXPECT_EQ(self->res[i].fdinfo_ns, busy);
		proc_sum += busy;
	}
	for (i = 0; i < json_object_array_length(queues); i++)
		queue_sum += jint(jget(json_object_array_get_idx(queues, i), "started_to_done"),
				  "sum_ns");
	/* The same device intervals, summed per queue and per process. */
	EXPECT_EQ(proc_sum, queue_sum);
	EXPECT_EQ(proc_sum, (uint64_t)jint(jget(self->root, "totals"), "busy_ns"));
}

TEST_F_TIMEOUT(traced, samples_queue_depth_every_interval, 180)
{
	json_object *samples = jget(self->root, "queue_depth");
	int64_t duration = jint(self->root, "duration_ms");
	size_t i, n = json_object_array_length(samples);

	ASSERT_GT(duration, 0);
	/* -i 100: one sample per queue per 100 ms, at least the final one. */
	EXPECT_GE(n, 1);
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(samples, i);

		EXPECT_GE(jint(s, "peak"), jint(s, "depth"));
		EXPECT_GE(jint(s, "depth"), 0);
		EXPECT_LE(jint(s, "time_ms"), duration);
	}
	/* The last sample of each queue is taken after all jobs retired. */
	if (n)
		EXPECT_EQ(0, jint(json_object_array_get_idx(samples, n - 1), "depth"));
}

/* The gpu_scheduler events reported are exactly those this kernel has. */
TEST_F_TIMEOUT(traced, reports_the_scheduler_events_this_kernel_has, 180)
{
	static const char *const known[] = {
		"drm_sched_job", "drm_run_job", "drm_sched_process_job", "drm_sched_job_wait_dep",
		"drm_sched_job_queue", "drm_sched_job_run", "drm_sched_job_done",
		"drm_sched_job_unschedulable",
	};
	json_object *events = jget(self->root, "sched_events");
	int present = 0;
	size_t i;

	ASSERT_NE(NULL, events);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char path[128];
		bool exists;

		snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/gpu_scheduler/%s",
			 known[i]);
		exists = access(path, F_OK) == 0;
		present += exists;
		EXPECT_EQ(exists, jget(events, known[i]) != NULL) TH_LOG("%s", known[i]);
	}
	/* Every kernel with drm_sched has one naming scheme or the other. */
	EXPECT_GE(present, 3);
	EXPECT_EQ(present, json_object_object_length(events));
}

/* ---- standalone runs ---- */

TEST(stops_after_its_duration)
{
	char *argv[] = { "mlu-trace", "--json", "-i", "200", "1", NULL };
	char err[4096];
	json_object *root;
	int status;
	char *out;

	SKIP_UNLESS_TOOL_AND_BPF();

	if (mlu_count_cards() == 0)
		SKIP(return, "no MLU card");
	out = tool_run(argv, &status, err, sizeof(err));
	ASSERT_NE(NULL, out);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s", err);
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("not JSON: %.300s", out);
	EXPECT_GE(jint(root, "duration_ms"), 1000);
	EXPECT_LT(jint(root, "duration_ms"), 5000);
	EXPECT_EQ(0, jint(jget(root, "totals"), "submitted"));
	EXPECT_EQ(0, (int)json_object_array_length(jget(root, "processes")));
	json_object_put(root);
	free(out);
}

TEST(text_output_prints_histograms_and_processes)
{
	struct worker_result res[MAX_WORKERS];
	char *argv[] = { "mlu-trace", NULL };
	struct workload w = { .nr = 1 };
	char line[64];
	struct tracer t;
	int status;
	char *out;

	SKIP_UNLESS_TOOL_AND_BPF();

	if (mlu_count_cards() == 0)
		SKIP(return, "no MLU card");
	w.plan[0] = (struct worker_plan){ .card_index = 0, .queue = 0, .jobs = 3 };
	w.plan[0].minor = card_minor(0);
	ASSERT_EQ(0, workload_fork(&w));
	ASSERT_EQ(0, tracer_start(&t, argv)) TH_LOG("mlu-trace did not start: %s", t.err);
	ASSERT_EQ(0, workload_release(&w, res));
	ASSERT_EQ(0, kill(t.pid, SIGINT));
	out = tracer_finish(&t, &status);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s", t.err);
	snprintf(line, sizeof(line), "card %d queue 0: 3 submitted, 3 started, 3 completed",
		 w.plan[0].minor);
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "queued -> started"));
	EXPECT_NE(NULL, strstr(out, "usecs"));
	snprintf(line, sizeof(line), "%-8d %-16s %10d %10d", w.pid[0], "mlu_trace_test", 3, 3);
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s", out);
	free(out);
}

TEST(fails_clearly_without_root)
{
	char *argv[] = { "mlu-trace", "1", NULL };
	int fds[2], status;
	char err[512];
	pid_t pid;

	if (access(TOOL, X_OK))
		SKIP(return, TOOL " is not in this guest image");

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		if (setgid(65534) || setuid(65534))
			_exit(126);
		execv(TOOL, argv);
		_exit(127);
	}
	close(fds[1]);
	mlu_read_all(fds[0], err, sizeof(err));
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(1, WEXITSTATUS(status));
	EXPECT_NE(NULL, strstr(err, "permission denied")) TH_LOG("stderr: %s", err);
}

/* Without BPF in the kernel the tool says so, and that it cannot run. */
TEST(fails_clearly_without_bpf)
{
	char *argv[] = { "mlu-trace", "1", NULL };
	char err[4096];
	int status;
	char *out;

	if (access(TOOL, X_OK))
		SKIP(return, TOOL " is not in this guest image");
	if (kernel_has_bpf())
		SKIP(return, "this kernel has BPF");
	if (mlu_count_cards() == 0)
		SKIP(return, "no MLU card");
	out = tool_run(argv, &status, err, sizeof(err));
	free(out);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(1, WEXITSTATUS(status));
	EXPECT_NE(NULL, strstr(err, "BPF unavailable")) TH_LOG("stderr: %s", err);
	EXPECT_NE(NULL, strstr(err, "CONFIG_BPF_SYSCALL")) TH_LOG("stderr: %s", err);
}

/*
 * Unloads and reloads the driver, so no file of a card may be open: a
 * fixture of its own, as fixtures run in the order they are declared and
 * this one comes last.
 */
FIXTURE(unloaded) {};
FIXTURE_SETUP(unloaded) {}
FIXTURE_TEARDOWN(unloaded) {}

/* Attached programs pin the module; SIGINT detaches them all. */
TEST_F(unloaded, holds_the_module_until_sigint)
{
	char *argv[] = { "mlu-trace", "--json", NULL };
	struct tracer t;
	int status;
	char *out;

	if (mlu_count_cards() == 0)
		SKIP(return, "no MLU card");
	SKIP_UNLESS_TOOL_AND_BPF();
	ASSERT_EQ(0, tracer_start(&t, argv)) TH_LOG("mlu-trace did not start: %s", t.err);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "mlu", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(0, kill(t.pid, SIGINT));
	out = tracer_finish(&t, &status);
	free(out);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s", t.err);
}

TEST_F(unloaded, fails_clearly_without_the_driver)
{
	char *argv[] = { "mlu-trace", "1", NULL };
	int cards = mlu_count_cards(), status, fd;
	char err[4096];
	char *out;

	if (access(TOOL, X_OK))
		SKIP(return, TOOL " is not in this guest image");

	if (cards == 0)
		SKIP(return, "no MLU card");
	if (access(MODULE_PATH, R_OK))
		SKIP(return, "%s not in the initramfs", MODULE_PATH);
	/* Succeeds only if every earlier mlu-trace detached. */
	ASSERT_EQ(0, syscall(SYS_delete_module, "mlu", O_NONBLOCK)) TH_LOG("rmmod mlu: %m");

	out = tool_run(argv, &status, err, sizeof(err));
	free(out);

	fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0)) TH_LOG("insmod mlu: %m");
	close(fd);
	EXPECT_EQ(cards, mlu_count_cards());

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(1, WEXITSTATUS(status));
	EXPECT_NE(NULL, strstr(err, "is the mlu module loaded")) TH_LOG("stderr: %s", err);
}

TEST_HARNESS_MAIN
