// SPDX-License-Identifier: MIT
/*
 * Execution path benchmark, run in the guest by tests/bench/35-guest-exec.sh.
 * Prints:
 *   bench: doorbell_irq_rtt_us <v> us   median of one doorbell write, for a
 *                                        kernel job without packets on idle
 *                                        ring 0, until the ring interrupt
 *                                        retired it and its fence woke the
 *                                        waiting kernel thread (debugfs
 *                                        doorbell_rtt: the floor, the job
 *                                        path minus the scheduler)
 *   bench: irq_raise_rtt_us <v> us      the same with IRQ_RAISE instead of
 *                                        the doorbell, after the card wrote
 *                                        the job's fence: the card's ring
 *                                        engine left out (debugfs irq_rtt)
 * The debugfs files exist when mlu.ko was built with
 * CONFIG_DRM_ACCEL_MLU_BENCH=y, as scripts/guest/build.sh builds it.
 *   bench: empty_job_rtt_p50_us <v> us  submit of a job without packets on a
 *   bench: empty_job_rtt_p99_us <v> us  queue until its syncobj wait returns
 *   bench: empty_jobs_per_s_q1 <v> jobs/s  one queue, 32 jobs in flight
 *   bench: empty_jobs_per_s_q4 <v> jobs/s  four queues (one thread each)
 *
 * The floor and the round trip run on ring 0, pinned to the CPU that takes
 * its interrupt, so that they differ by the job path alone.
 *
 * The throughputs are the medians of three alternating rounds, so that a
 * change of load on the host during the run hits both alike.
 *
 * Usage: mlu_exec_bench [rtt_reps [jobs_per_queue]]
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <xf86drm.h>

#include "mlu_guest.h"

#define WINDOW 32
#define MAX_QUEUES 4
#define ROUNDS 3

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int queue_create(int fd, uint32_t ring_mask, uint32_t *id)
{
	struct drm_mlu_queue_create a = {
		.priority = DRM_MLU_QUEUE_PRIORITY_NORMAL,
		.ring_mask = ring_mask,
	};

	if (drmIoctl(fd, DRM_IOCTL_MLU_QUEUE_CREATE, &a))
		return -errno;
	*id = a.queue_id;
	return 0;
}

static int submit_empty(int fd, uint32_t queue, uint32_t out)
{
	struct drm_mlu_submit s = {
		.queue = queue,
		.flags = DRM_MLU_SUBMIT_QUEUE_ID,
		.out_sync = out,
	};

	return mlu_submit(fd, &s);
}

/* The CPU that takes ring 0's interrupt (its MSI-X vector 0); -1 if unknown. */
static int ring0_irq_cpu(int fd)
{
	char path[128], name[64];
	struct dirent *e;
	struct stat st;
	int irq = -1, cpu = -1;
	FILE *f;
	DIR *d;

	if (fstat(fd, &st))
		return -1;
	snprintf(path, sizeof(path), "/sys/class/accel/accel%u/device/msi_irqs", minor(st.st_rdev));
	d = opendir(path);
	if (!d)
		return -1;
	/* Vector 0 has the lowest Linux IRQ number of the device's. */
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (irq < 0 || atoi(e->d_name) < irq))
			irq = atoi(e->d_name);
	closedir(d);
	snprintf(name, sizeof(name), "/proc/irq/%d/effective_affinity_list", irq);
	f = irq >= 0 ? fopen(name, "r") : NULL;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &cpu) != 1)
		cpu = -1;
	fclose(f);
	return cpu;
}

/* p50 of debugfs file @name, an interrupt round trip, in ns; -1 on error. */
static long long debugfs_rtt_p50_ns(int fd, const char *name)
{
	char path[320], line[64];
	long long p50 = -1;
	struct stat st;
	FILE *f;

	if (fstat(fd, &st) || mlu_card_debugfs_path(minor(st.st_rdev), name, path, sizeof(path)))
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "p50_ns %lld", &p50) == 1)
			break;
	fclose(f);
	return p50;
}

static int empty_job_rtt(int fd, unsigned int reps, double *p50_us, double *p99_us)
{
	int64_t *rtt = calloc(reps, sizeof(*rtt));
	uint32_t q = 0, out;
	unsigned int i;
	int ret = -ENOMEM;

	if (!rtt)
		return ret;
	out = mlu_syncobj_create(fd);
	/* Ring 0, like the floor's probe: the same interrupt vector. */
	ret = out ? queue_create(fd, 1, &q) : -ENOMEM;
	/* Warm up: scheduler workers, the queue's ring choice, caches. */
	for (i = 0; !ret && i < 100; i++) {
		ret = submit_empty(fd, q, out);
		if (!ret)
			ret = mlu_syncobj_wait(fd, out, 10000 * MS);
	}
	for (i = 0; !ret && i < reps; i++) {
		int64_t t0 = now_ns();

		ret = submit_empty(fd, q, out);
		if (!ret)
			ret = mlu_syncobj_wait(fd, out, 10000 * MS);
		rtt[i] = now_ns() - t0;
	}
	if (!ret) {
		qsort(rtt, reps, sizeof(*rtt), cmp_i64);
		*p50_us = rtt[reps / 2] / 1e3;
		*p99_us = rtt[reps * 99 / 100] / 1e3;
	}
	free(rtt);
	return ret;
}

struct stream {
	int fd;
	uint32_t queue;
	unsigned int jobs;
	pthread_barrier_t *start;
	int ret;
};

/* Submit stream->jobs empty jobs, at most WINDOW in flight. */
static void *stream_run(void *arg)
{
	struct stream *s = arg;
	uint32_t slots[WINDOW];
	unsigned int i;

	for (i = 0; i < WINDOW; i++) {
		slots[i] = mlu_syncobj_create(s->fd);
		if (!slots[i]) {
			s->ret = -ENOMEM;
			break;
		}
	}
	pthread_barrier_wait(s->start);
	for (i = 0; !s->ret && i < s->jobs; i++) {
		uint32_t slot = slots[i % WINDOW];

		/* The slot's previous job must be done before it is reused. */
		if (i >= WINDOW)
			s->ret = mlu_syncobj_wait(s->fd, slot, 10000 * MS);
		if (!s->ret)
			s->ret = submit_empty(s->fd, s->queue, slot);
	}
	for (i = 0; !s->ret && i < WINDOW; i++)
		s->ret = mlu_syncobj_wait(s->fd, slots[i], 10000 * MS);
	return NULL;
}

/* Busy and total jiffies of all CPUs, from /proc/stat. */
static void cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];	/* minus idle and iowait */
	}
	fclose(f);
}

/* Jobs per second of nq queues, one thread each. */
static int empty_jobs_per_s(int fd, unsigned int nq, unsigned int jobs, double *rate)
{
	struct stream s[MAX_QUEUES] = { 0 };
	pthread_t threads[MAX_QUEUES];
	unsigned long long busy0, total0, busy1, total1;
	pthread_barrier_t start;
	unsigned int i;
	int64_t t0;
	int ret = 0;

	pthread_barrier_init(&start, NULL, nq + 1);
	for (i = 0; i < nq; i++) {
		s[i] = (struct stream){ .fd = fd, .jobs = jobs, .start = &start };
		ret = queue_create(fd, 0, &s[i].queue);
		if (ret)
			return ret;
	}
	for (i = 0; i < nq; i++)
		pthread_create(&threads[i], NULL, stream_run, &s[i]);
	pthread_barrier_wait(&start);
	cpu_jiffies(&busy0, &total0);
	t0 = now_ns();
	for (i = 0; i < nq; i++) {
		pthread_join(threads[i], NULL);
		if (s[i].ret)
			ret = s[i].ret;
	}
	*rate = (double)nq * jobs / ((now_ns() - t0) / 1e9);
	cpu_jiffies(&busy1, &total1);
	/* Not a bench line: tells whether the guest's CPUs were the limit. */
	if (total1 > total0)
		printf("# %u queue(s): %.0f jobs/s, guest CPUs %.0f%% busy\n", nq, *rate,
		       100.0 * (busy1 - busy0) / (total1 - total0));
	pthread_barrier_destroy(&start);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int reps = argc > 1 ? atoi(argv[1]) : 2000;
	unsigned int jobs = argc > 2 ? atoi(argv[2]) : 2000;
	double p50, p99, q1[ROUNDS], q4[ROUNDS];
	long long doorbell, irq;
	cpu_set_t all_cpus;
	int irq_cpu;
	int fd, ret = 0, r;

	fd = mlu_open_card(0);
	if (fd < 0 || !reps || !jobs) {
		fprintf(stderr, "mlu_exec_bench: no card or bad arguments\n");
		return 1;
	}
	/*
	 * The floor and the round trip both run on ring 0, pinned to the CPU
	 * that takes its interrupt, so that they differ by the job path only
	 * and not by whether a wake-up had to cross CPUs.
	 */
	sched_getaffinity(0, sizeof(all_cpus), &all_cpus);
	irq_cpu = ring0_irq_cpu(fd);
	if (irq_cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(irq_cpu, &one);
		if (!sched_setaffinity(0, sizeof(one), &one))
			printf("# floor and round trip pinned to CPU %d (ring 0's interrupt)\n",
			       irq_cpu);
	}
	doorbell = debugfs_rtt_p50_ns(fd, "doorbell_rtt");
	irq = debugfs_rtt_p50_ns(fd, "irq_rtt");
	if (doorbell < 0 || irq < 0) {
		fprintf(stderr, "mlu_exec_bench: debugfs doorbell_rtt or irq_rtt unreadable "
			"(mlu.ko built without CONFIG_DRM_ACCEL_MLU_BENCH=y?)\n");
		return 1;
	}
	printf("bench: doorbell_irq_rtt_us %.1f us\n", doorbell / 1e3);
	printf("bench: irq_raise_rtt_us %.1f us\n", irq / 1e3);

	ret = empty_job_rtt(fd, reps, &p50, &p99);
	if (ret) {
		fprintf(stderr, "mlu_exec_bench: empty job: %s\n", strerror(-ret));
		return 1;
	}
	printf("bench: empty_job_rtt_p50_us %.1f us\n", p50);
	printf("bench: empty_job_rtt_p99_us %.1f us\n", p99);
	sched_setaffinity(0, sizeof(all_cpus), &all_cpus);

	for (r = 0; !ret && r < ROUNDS; r++) {
		ret = empty_jobs_per_s(fd, 1, jobs, &q1[r]);
		if (!ret)
			ret = empty_jobs_per_s(fd, 4, jobs, &q4[r]);
	}
	if (ret) {
		fprintf(stderr, "mlu_exec_bench: job stream: %s\n", strerror(-ret));
		return 1;
	}
	qsort(q1, ROUNDS, sizeof(q1[0]), cmp_double);
	qsort(q4, ROUNDS, sizeof(q4[0]), cmp_double);
	printf("bench: empty_jobs_per_s_q1 %.0f jobs/s\n", q1[ROUNDS / 2]);
	printf("bench: empty_jobs_per_s_q4 %.0f jobs/s\n", q4[ROUNDS / 2]);
	close(fd);
	return 0;
}
