// SPDX-License-Identifier: MIT
/*
 * Observability: after a known workload (jobs of known sizes from this
 * process), the driver's sysfs counters, the file's fdinfo, the mlu_*
 * tracepoints (read through a tracefs instance) and `mlu-smi --json` must
 * all tell the same story; debugfs shows a hung job on its ring; hwmon
 * follows the card's load; mlu-smi explains why it has nothing to show.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

#define TRACE_INSTANCE	"mlu_obs_test"
#define SMI		"mlu-smi"
#define KiB		1024ull
#define BO_SIZE		(256 * KiB)
#define WAIT_NS		(30000 * MS)

/* ---- files ------------------------------------------------------------- */

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1 &&
	       (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return n < 0 ? -EIO : 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A sysfs attribute of the card's "mlu" group, as a string or a number. */
static int card_attr(int minor, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/accel/accel%d/device/mlu/%s",
		 minor, name);
	if (read_file(path, buf, size))
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static long long card_num(int minor, const char *name)
{
	char buf[64];

	return card_attr(minor, name, buf, sizeof(buf)) ? -1 : atoll(buf);
}

static int fd_minor(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (int)minor(st.st_rdev);
}

/* The value of @key in a "key:\tvalue" file (fdinfo), or NULL. */
static const char *kv_find(const char *text, const char *key, char *val,
			   size_t size)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, " \t");
			snprintf(val, size, "%.*s", (int)strcspn(p, "\n"), p);
			return val;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* ---- tracefs ----------------------------------------------------------- */

struct event {
	char name[32];
	int n;
	char key[12][24];
	char val[12][48];
};

static const char *ev_str(const struct event *e, const char *key)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->key[i], key))
			return e->val[i];
	return NULL;
}

static long long ev_num(const struct event *e, const char *key)
{
	const char *v = ev_str(e, key);

	return v ? strtoll(v, NULL, 0) : LLONG_MIN;
}

static bool tracing_dir(char *dir, size_t size)
{
	static const char *const roots[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/mlu", roots[i]);
		if (!access(path, F_OK)) {
			snprintf(dir, size, "%s/instances/" TRACE_INSTANCE, roots[i]);
			return true;
		}
	}
	return false;
}

/* Parse the instance's buffer: the mlu_* events, in order. */
static int read_events(const char *inst, struct event *evs, int max)
{
	char path[PATH_MAX], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", inst);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *p = strstr(line, ": mlu_"), *tok, *save;
		struct event *e = &evs[n];

		if (!p || line[0] == '#')
			continue;
		p += 2;
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%.*s", (int)strcspn(p, ":"), p);
		p += strcspn(p, ":") + 1;
		for (tok = strtok_r(p, " \n", &save); tok && e->n < 12;
		     tok = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq = '\0';
			snprintf(e->key[e->n], sizeof(e->key[0]), "%s", tok);
			snprintf(e->val[e->n], sizeof(e->val[0]), "%s", eq + 1);
			e->n++;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* ---- processes --------------------------------------------------------- */

/*
 * Run mlu-smi with the space-separated @args; its stdout and stderr in
 * @out; returns its exit status, or -1.
 */
static int run_smi(const char *args, char *out, size_t size)
{
	char buf[256], *argv[16] = { SMI }, *save;
	int pipefd[2], argc = 1, st;
	pid_t pid;

	snprintf(buf, sizeof(buf), "%s", args);
	for (argv[argc] = strtok_r(buf, " ", &save); argv[argc] && argc < 15;
	     argv[++argc] = strtok_r(NULL, " ", &save))
		;
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execvp(SMI, argv);
		_exit(127);
	}
	close(pipefd[1]);
	mlu_read_all(pipefd[0], out, size);
	close(pipefd[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- fixture ----------------------------------------------------------- */

FIXTURE(obs) {
	int fd;
	int minor;
	struct drm_mlu_device_info info;
	char inst[PATH_MAX];
	bool tracing;
};

FIXTURE_SETUP(obs)
{
	char path[PATH_MAX + 32];

	self->fd = mlu_open_card(0);
	if (self->fd < 0)
		SKIP(return, "no MLU card");
	ASSERT_EQ(0, mlu_query_info(self->fd, &self->info));
	self->minor = fd_minor(self->fd);
	ASSERT_LE(0, self->minor);

	self->tracing = tracing_dir(self->inst, sizeof(self->inst));
	if (self->tracing) {
		rmdir(self->inst);
		ASSERT_EQ(0, mkdir(self->inst, 0755));
		snprintf(path, sizeof(path), "%s/events/mlu/enable", self->inst);
		ASSERT_EQ(0, write_file(path, "1"));
	}
}

FIXTURE_TEARDOWN(obs)
{
	if (self->tracing)
		rmdir(self->inst);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(obs, sysfs_identity_matches_the_device)
{
	char buf[128], link[PATH_MAX], path[PATH_MAX], want[64];
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/accel/accel%d/device", self->minor);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = '\0';
	ASSERT_EQ(0, card_attr(self->minor, "pci_address", buf, sizeof(buf)));
	EXPECT_STREQ(strrchr(link, '/') + 1, buf);

	ASSERT_EQ(0, card_attr(self->minor, "serial", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)self->info.serial);
	EXPECT_STREQ(want, buf);
	ASSERT_EQ(0, card_attr(self->minor, "hw_version", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "%u.%u", self->info.hw_version >> 16,
		 self->info.hw_version & 0xffff);
	EXPECT_STREQ(want, buf);

	/* The PCI core's own attribute; without CONFIG_NUMA there is none, and no node. */
	snprintf(path, sizeof(path), "/sys/class/accel/accel%d/device/numa_node",
		 self->minor);
	ret = read_file(path, buf, sizeof(buf));
	if (ret == -ENOENT)
		strcpy(buf, "-1");
	else
		ASSERT_EQ(0, ret);
	EXPECT_EQ(atoll(buf), card_num(self->minor, "numa_node"));
	EXPECT_EQ(self->minor, card_num(self->minor, "accel_minor"));
	EXPECT_EQ((long long)self->info.devmem_size, card_num(self->minor, "mem_total"));
	ASSERT_EQ(0, card_attr(self->minor, "health", buf, sizeof(buf)));
	EXPECT_TRUE(!strcmp(buf, "ok") || !strcmp(buf, "degraded")) TH_LOG("health %s", buf);
	if (card_num(self->minor, "resets") == 0)
		EXPECT_STREQ("ok", buf);
}

struct counters {
	long long submitted, completed, failed, busy, mem_used, faults, resets;
};

static void counters_read(int minor, struct counters *c)
{
	c->submitted = card_num(minor, "jobs_submitted");
	c->completed = card_num(minor, "jobs_completed");
	c->failed = card_num(minor, "jobs_failed");
	c->busy = card_num(minor, "busy_time_ns");
	c->mem_used = card_num(minor, "mem_used");
	c->faults = card_num(minor, "mmu_faults");
	c->resets = card_num(minor, "resets");
}

#define NJOBS		6
#define WL_QUEUE	1

/* The hwmon directory of the card (name "mlu", same PCI device). */
static bool card_hwmon(int minor, char *dir, size_t size)
{
	char path[PATH_MAX], name[32];
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path),
			 "/sys/class/accel/accel%d/device/hwmon/hwmon%d/name", minor, i);
		if (read_file(path, name, sizeof(name)))
			continue;
		if (strcmp(name, "mlu\n"))
			continue;
		snprintf(dir, size, "/sys/class/accel/accel%d/device/hwmon/hwmon%d",
			 minor, i);
		return true;
	}
	return false;
}

/* The same process, card and client seen by mlu-smi --json. */
static void check_smi_json(struct __test_metadata *_metadata, int minor,
			   const struct counters *c, const char *client_id,
			   long long engine_ns, long long memory)
{
	static char out[256 * 1024];
	json_object *root, *cards, *card = NULL, *procs, *me = NULL, *v, *mem;
	char hwmon[PATH_MAX];
	size_t i;

	ASSERT_EQ(0, run_smi("--json", out, sizeof(out))) TH_LOG("%s", out);
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("not JSON: %.200s", out);
	ASSERT_TRUE(json_object_object_get_ex(root, "cards", &cards));
	for (i = 0; i < json_object_array_length(cards); i++) {
		json_object *idx, *cd = json_object_array_get_idx(cards, i);

		if (json_object_object_get_ex(cd, "index", &idx) &&
		    json_object_get_int(idx) == minor)
			card = cd;
	}
	ASSERT_NE(NULL, card);
	ASSERT_TRUE(json_object_object_get_ex(card, "jobs", &v));
	ASSERT_TRUE(json_object_object_get_ex(v, "completed", &v));
	EXPECT_EQ(c->completed, json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(card, "busy_time_ns", &v));
	EXPECT_EQ(c->busy, json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(card, "memory", &mem));
	ASSERT_TRUE(json_object_object_get_ex(mem, "used_bytes", &v));
	EXPECT_EQ(c->mem_used, json_object_get_int64(v));
	/*
	 * A card with sensors (an hwmon device: the kernel has CONFIG_HWMON)
	 * has a temperature, one without reports null.
	 */
	ASSERT_TRUE(json_object_object_get_ex(card, "temperature_mc", &v));
	if (card_hwmon(minor, hwmon, sizeof(hwmon))) {
		EXPECT_LT(0, json_object_get_int64(v));
	} else {
		EXPECT_EQ(NULL, v);
	}

	ASSERT_TRUE(json_object_object_get_ex(card, "processes", &procs));
	for (i = 0; i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i), *pid;

		if (json_object_object_get_ex(p, "pid", &pid) &&
		    json_object_get_int(pid) == getpid())
			me = p;
	}
	ASSERT_NE(NULL, me) TH_LOG("pid %d not listed", getpid());
	ASSERT_TRUE(json_object_object_get_ex(me, "client_id", &v));
	EXPECT_EQ(atoll(client_id), json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(me, "memory_bytes", &v));
	EXPECT_EQ(memory, json_object_get_int64(v));
	ASSERT_TRUE(json_object_object_get_ex(me, "engines_ns", &v));
	ASSERT_TRUE(json_object_object_get_ex(v, "queue1", &v));
	EXPECT_EQ(engine_ns, json_object_get_int64(v));
	json_object_put(root);
}

TEST_F(obs, known_workload_agrees_in_sysfs_fdinfo_traces_and_mlu_smi)
{
	static struct event evs[256];
	struct mlu_pkt_copy pkts[3];
	uint32_t bos[2], syncs[NJOBS];
	struct counters before, after;
	uint64_t src, dst, sum_dev = 0, job_ids[NJOBS];
	char path[PATH_MAX], fdinfo[4096], val[64], pci[64];
	int i, j, n, submits = 0, starts = 0, dones = 0, creates = 0, frees = 0;

	if (!self->tracing)
		SKIP(return, "tracefs has no mlu events");
	/* Jobs of earlier tests may still be letting go of their BOs. */
	ASSERT_DEVMEM_FREE_SETTLES(self->fd, self->info.devmem_size);
	counters_read(self->minor, &before);

	ASSERT_EQ(0, mlu_bo_create(self->fd, BO_SIZE, 0, &bos[0], &src));
	ASSERT_EQ(0, mlu_bo_create(self->fd, BO_SIZE, DRM_MLU_BO_DEVMEM, &bos[1], &dst));
	/* Job i: i % 3 + 1 copies of (i + 1) pages. */
	for (i = 0; i < NJOBS; i++) {
		for (j = 0; j <= i % 3; j++)
			mlu_pkt_copy_init(&pkts[j], dst + j * 32 * KiB, src,
					  (i + 1) * 4 * KiB);
		syncs[i] = mlu_syncobj_create(self->fd);
		ASSERT_NE(0, syncs[i]);
		ASSERT_EQ(0, mlu_submit_simple(self->fd, WL_QUEUE, pkts, i % 3 + 1,
					       bos, 2, 0, syncs[i]));
	}
	for (i = 0; i < NJOBS; i++) {
		ASSERT_EQ(0, mlu_syncobj_wait(self->fd, syncs[i], WAIT_NS));
		EXPECT_EQ(1, mlu_fence_status(self->fd, syncs[i]));
	}

	/* Tracepoints: each job submitted, started and done, in that order. */
	n = read_events(self->inst, evs, 256);
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++) {
		const struct event *e = &evs[i];

		if (!strcmp(e->name, "mlu_bo_create") && ev_num(e, "pid") == getpid()) {
			EXPECT_EQ(self->minor, ev_num(e, "card"));
			EXPECT_EQ(BO_SIZE, ev_num(e, "size"));
			EXPECT_STREQ(creates ? "devmem" : "host", ev_str(e, "placement"));
			creates++;
		}
		if (strcmp(e->name, "mlu_job_submit") || ev_num(e, "pid") != getpid())
			continue;
		ASSERT_GT(NJOBS, submits);
		EXPECT_EQ(self->minor, ev_num(e, "card"));
		EXPECT_EQ(self->info.context_id, ev_num(e, "ctx"));
		EXPECT_EQ(WL_QUEUE, ev_num(e, "ring"));
		EXPECT_EQ(submits % 3 + 1, ev_num(e, "packets"));
		job_ids[submits++] = ev_num(e, "job");
	}
	EXPECT_EQ(2, creates);
	ASSERT_EQ(NJOBS, submits);
	for (j = 0; j < NJOBS; j++) {
		long long seqno = -1;
		int state = 0;	/* 1 submitted, 2 started, 3 done */

		for (i = 0; i < n; i++) {
			const struct event *e = &evs[i];

			if (ev_num(e, "job") != (long long)job_ids[j] ||
			    ev_num(e, "card") != self->minor)
				continue;
			if (!strcmp(e->name, "mlu_job_submit")) {
				EXPECT_EQ(0, state);
				state = 1;
			} else if (!strcmp(e->name, "mlu_job_start")) {
				EXPECT_EQ(1, state);
				state = 2;
				starts++;
				seqno = ev_num(e, "seqno");
				EXPECT_EQ(WL_QUEUE, ev_num(e, "ring"));
				EXPECT_EQ(self->info.context_id, ev_num(e, "ctx"));
			} else if (!strcmp(e->name, "mlu_job_done")) {
				EXPECT_EQ(2, state);
				state = 3;
				dones++;
				EXPECT_EQ(seqno, ev_num(e, "seqno"));
				EXPECT_EQ(0, ev_num(e, "error"));
				EXPECT_LT(0, ev_num(e, "dev_start_ns"));
				EXPECT_LT(0, ev_num(e, "dev_duration_ns"));
				sum_dev += ev_num(e, "dev_duration_ns");
			}
		}
		EXPECT_EQ(3, state) TH_LOG("job %llu", (unsigned long long)job_ids[j]);
	}
	EXPECT_EQ(NJOBS, starts);
	EXPECT_EQ(NJOBS, dones);

	/* sysfs: the card's counters moved by exactly this workload. */
	counters_read(self->minor, &after);
	EXPECT_EQ(before.submitted + NJOBS, after.submitted);
	EXPECT_EQ(before.completed + NJOBS, after.completed);
	EXPECT_EQ(before.failed, after.failed);
	EXPECT_EQ(before.busy + (long long)sum_dev, after.busy);
	EXPECT_EQ(before.mem_used + (long long)BO_SIZE, after.mem_used);
	EXPECT_EQ(before.faults, after.faults);

	/* fdinfo: this file's client, memory and device time. */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->fd);
	ASSERT_EQ(0, read_file(path, fdinfo, sizeof(fdinfo)));
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-driver", val, sizeof(val)));
	EXPECT_STREQ("mlu", val);
	ASSERT_EQ(0, card_attr(self->minor, "pci_address", pci, sizeof(pci)));
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-pdev", val, sizeof(val)));
	EXPECT_STREQ(pci, val);
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-engine-queue1", val, sizeof(val))) TH_LOG("%s", fdinfo);
	EXPECT_EQ((long long)sum_dev, atoll(val));
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-engine-queue0", val, sizeof(val)));
	EXPECT_EQ(0, atoll(val));
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-total-system", val, sizeof(val))) TH_LOG("%s", fdinfo);
	EXPECT_STREQ("256 KiB", val);
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-total-devmem", val, sizeof(val)));
	EXPECT_STREQ("256 KiB", val);
	ASSERT_NE(NULL, kv_find(fdinfo, "drm-client-id", val, sizeof(val)));

	check_smi_json(_metadata, self->minor, &after, val, sum_dev, 2 * BO_SIZE);

	/*
	 * Freeing the BOs: the jobs hold references until the scheduler
	 * frees them, which may come just after their fences signalled.
	 */
	for (i = 0; i < NJOBS; i++)
		drmSyncobjDestroy(self->fd, syncs[i]);
	ASSERT_EQ(0, mlu_bo_close(self->fd, bos[0]));
	ASSERT_EQ(0, mlu_bo_close(self->fd, bos[1]));
	EXPECT_DEVMEM_FREE_SETTLES(self->fd, self->info.devmem_size);
	EXPECT_EQ(before.mem_used, card_num(self->minor, "mem_used"));
	n = read_events(self->inst, evs, 256);
	for (i = 0; i < n; i++) {
		if (strcmp(evs[i].name, "mlu_bo_free") ||
		    ev_num(&evs[i], "card") != self->minor)
			continue;
		EXPECT_EQ(BO_SIZE, ev_num(&evs[i], "size"));
		EXPECT_STREQ(frees ? "devmem" : "host", ev_str(&evs[i], "placement"));
		frees++;
	}
	EXPECT_EQ(2, frees);
}

TEST_F(obs, mmu_fault_is_counted_and_traced)
{
	static struct event evs[64];
	struct counters before, after;
	struct mlu_pkt_copy pkt;
	uint64_t dst, bad = 0x1000;	/* below the user VA range: never mapped */
	uint32_t bo, sync;
	int i, n, faults = 0, done = 0;

	if (!self->tracing)
		SKIP(return, "tracefs has no mlu events");
	ASSERT_EQ(0, mlu_bo_create(self->fd, 4 * KiB, 0, &bo, &dst));
	counters_read(self->minor, &before);
	mlu_pkt_copy_init(&pkt, dst, bad, 64);
	sync = mlu_syncobj_create(self->fd);
	ASSERT_EQ(0, mlu_submit_simple(self->fd, 0, &pkt, 1, &bo, 1, 0, sync));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, sync, WAIT_NS));
	EXPECT_EQ(-EFAULT, mlu_fence_status(self->fd, sync));
	/* The fault interrupt may land after the job's completion. */
	for (i = 0; i < 100 && card_num(self->minor, "mmu_faults") == before.faults; i++)
		usleep(10000);
	counters_read(self->minor, &after);
	EXPECT_EQ(before.faults + 1, after.faults);
	EXPECT_EQ(before.failed + 1, after.failed);
	EXPECT_EQ(before.completed, after.completed);

	n = read_events(self->inst, evs, 64);
	for (i = 0; i < n; i++) {
		if (!strcmp(evs[i].name, "mlu_mmu_fault")) {
			EXPECT_EQ(self->minor, ev_num(&evs[i], "card"));
			EXPECT_EQ(self->info.context_id, ev_num(&evs[i], "ctx"));
			EXPECT_EQ(bad, ev_num(&evs[i], "addr"));
			EXPECT_EQ(MLU_FAULT_REASON_NOT_PRESENT, ev_num(&evs[i], "reason"));
			faults++;
		} else if (!strcmp(evs[i].name, "mlu_job_done")) {
			EXPECT_EQ(-EFAULT, ev_num(&evs[i], "error"));
			done++;
		}
	}
	EXPECT_EQ(1, faults);
	EXPECT_EQ(1, done);
	drmSyncobjDestroy(self->fd, sync);
	mlu_bo_close(self->fd, bo);
}

/* The mlu_reset events among @evs, each checked to say @card, @queue, @count. */
static int check_reset_events(struct __test_metadata *_metadata, const struct event *evs,
			      int n, int card, long long queue, long long count)
{
	int i, resets = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(evs[i].name, "mlu_reset"))
			continue;
		EXPECT_EQ(card, ev_num(&evs[i], "card"));
		EXPECT_EQ(queue, ev_num(&evs[i], "ring"));
		EXPECT_EQ(count, ev_num(&evs[i], "count"));
		resets++;
	}
	return resets;
}

TEST_F_TIMEOUT(obs, hung_job_shows_in_debugfs_then_reset_degrades_health, 90)
{
	static char text[64 * 1024];
	static struct event evs[64];
	char path[PATH_MAX], want[128], health[32];
	struct mlu_pkt_copy pkt;
	uint64_t src, dst;
	uint32_t bos[2], sync;
	long long resets, job = -1, seqno = -1;
	const int q = 2;
	int i, n;

	if (!(self->info.capabilities & DRM_MLU_CAP_FAULT_INJECT))
		SKIP(return, "card without fault injection");
	if (!self->tracing)
		SKIP(return, "tracefs has no mlu events");
	ASSERT_EQ(0, mlu_bo_create(self->fd, 4 * KiB, 0, &bos[0], &src));
	ASSERT_EQ(0, mlu_bo_create(self->fd, 4 * KiB, DRM_MLU_BO_DEVMEM, &bos[1], &dst));
	resets = card_num(self->minor, "resets");

	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "fi_hang", path, sizeof(path)));
	snprintf(want, sizeof(want), "%d", 1 << q);
	ASSERT_EQ(0, write_file(path, want));
	mlu_pkt_copy_init(&pkt, dst, src, 64);
	sync = mlu_syncobj_create(self->fd);
	ASSERT_EQ(0, mlu_submit_simple(self->fd, q, &pkt, 1, bos, 2, 0, sync));

	/* While it hangs: the job is on its ring, under its id and seqno. */
	for (i = 0; i < 200 && job < 0; i++) {
		n = read_events(self->inst, evs, 64);
		while (n-- > 0)
			if (!strcmp(evs[n].name, "mlu_job_start")) {
				job = ev_num(&evs[n], "job");
				seqno = ev_num(&evs[n], "seqno");
			}
		usleep(10000);
	}
	ASSERT_LE(0, job);
	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "rings", path, sizeof(path)));
	ASSERT_EQ(0, read_file(path, text, sizeof(text)));
	snprintf(want, sizeof(want), "job %lld seqno %lld ctx %u packets 1", job, seqno,
		 self->info.context_id);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);

	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "clients", path, sizeof(path)));
	ASSERT_EQ(0, read_file(path, text, sizeof(text)));
	snprintf(want, sizeof(want), "pid %d (mlu_obs_test) ctx %u", getpid(),
		 self->info.context_id);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);

	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "mappings", path, sizeof(path)));
	ASSERT_EQ(0, read_file(path, text, sizeof(text)));
	snprintf(want, sizeof(want), "0x%010llx-0x%010llx -> devmem",
		 (unsigned long long)dst, (unsigned long long)dst + 4 * KiB);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);
	snprintf(want, sizeof(want), "0x%010llx-0x%010llx -> host",
		 (unsigned long long)src, (unsigned long long)src + 4 * KiB);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);

	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "regs", path, sizeof(path)));
	ASSERT_EQ(0, read_file(path, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "0x0000 ID                 0x4d4c5530")) TH_LOG("%s", text);

	/* The timeout resets the queue: counted, traced, health degraded. */
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, sync, WAIT_NS));
	EXPECT_EQ(-ETIMEDOUT, mlu_fence_status(self->fd, sync));
	EXPECT_EQ(resets + 1, card_num(self->minor, "resets"));
	ASSERT_EQ(0, card_attr(self->minor, "health", health, sizeof(health)));
	EXPECT_STREQ("degraded", health);
	n = read_events(self->inst, evs, 64);
	EXPECT_EQ(1, check_reset_events(_metadata, evs, n, self->minor, q, resets + 1));
	drmSyncobjDestroy(self->fd, sync);
	mlu_bo_close(self->fd, bos[0]);
	mlu_bo_close(self->fd, bos[1]);
}

TEST_F(obs, device_error_resets_the_card_traced_as_queue_minus_one)
{
	static struct event evs[64];
	char path[PATH_MAX], health[32];
	struct mlu_pkt_copy pkt;
	uint32_t bo, sync;
	long long resets;
	int i, n;
	uint64_t va;

	if (!(self->info.capabilities & DRM_MLU_CAP_FAULT_INJECT))
		SKIP(return, "card without fault injection");
	if (!self->tracing)
		SKIP(return, "tracefs has no mlu events");
	resets = card_num(self->minor, "resets");
	ASSERT_EQ(0, mlu_card_debugfs_path(self->minor, "fi_device_error", path, sizeof(path)));
	ASSERT_EQ(0, write_file(path, "1"));
	for (i = 0; i < 500 && card_num(self->minor, "resets") == resets; i++)
		usleep(10000);
	EXPECT_EQ(resets + 1, card_num(self->minor, "resets"));
	ASSERT_EQ(0, card_attr(self->minor, "health", health, sizeof(health)));
	EXPECT_STREQ("degraded", health);

	n = read_events(self->inst, evs, 64);
	EXPECT_EQ(1, check_reset_events(_metadata, evs, n, self->minor, -1, resets + 1));

	/* The card works again. */
	sync = mlu_syncobj_create(self->fd);
	ASSERT_EQ(0, mlu_bo_create(self->fd, 4 * KiB, 0, &bo, &va));
	mlu_pkt_copy_init(&pkt, va + 2 * KiB, va, 64);
	ASSERT_EQ(0, mlu_submit_simple(self->fd, 0, &pkt, 1, &bo, 1, 0, sync));
	ASSERT_EQ(0, mlu_syncobj_wait(self->fd, sync, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(self->fd, sync));
	drmSyncobjDestroy(self->fd, sync);
	mlu_bo_close(self->fd, bo);
}

static int count_hwmon_mlu(void)
{
	char path[PATH_MAX], name[32];
	int i, n = 0;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/hwmon/hwmon%d/name", i);
		if (!read_file(path, name, sizeof(name)) && !strcmp(name, "mlu\n"))
			n++;
	}
	return n;
}

static long long hwmon_num(const char *dir, const char *name)
{
	char path[PATH_MAX + 32], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_file(path, buf, sizeof(buf)) ? LLONG_MIN : atoll(buf);
}

TEST_F_TIMEOUT(obs, hwmon_temperature_and_power_follow_the_load, 90)
{
	struct mlu_matmul_desc d = {
		.dtype = MLU_DTYPE_F32, .m = 256, .n = 256, .k = 256,
		.lda = 256, .ldb = 256, .ldc = 256, .alpha = 1.0f,
	};
	const uint64_t bytes = 256 * 256 * 4;
	long long t_idle, p_idle, t_hot, p_hot, t_cool, p_cool, p_max;
	uint64_t va[3], start;
	uint32_t bos[3], syncs[4] = { 0 };
	struct mlu_pkt_matmul pkt;
	char dir[PATH_MAX], label[32], path[PATH_MAX + 16];
	unsigned int i, jobs = 0;

	if (access("/sys/class/hwmon", F_OK))
		SKIP(return, "kernel without hwmon (CONFIG_HWMON)");
	if (!card_hwmon(self->minor, dir, sizeof(dir)))
		SKIP(return, "card without sensors");
	/* sensors-style readers find one "mlu" chip per card in the class. */
	EXPECT_EQ(mlu_count_cards(), count_hwmon_mlu());
	snprintf(path, sizeof(path), "%s/temp1_label", dir);
	ASSERT_EQ(0, read_file(path, label, sizeof(label)));
	EXPECT_STREQ("die\n", label);
	EXPECT_EQ(95000, hwmon_num(dir, "temp1_crit"));
	/* The card's power limit; idle power is a fifth of it (in mW). */
	p_max = hwmon_num(dir, "power1_max");
	EXPECT_LT(0, p_max);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mlu_bo_create(self->fd, bytes, 0, &bos[i], &va[i]));
	mlu_pkt_matmul_init(&pkt, &d, va[0], va[1], va[2], 0);
	for (i = 0; i < 4; i++) {
		syncs[i] = mlu_syncobj_create(self->fd);
		ASSERT_NE(0, syncs[i]);
	}

	/* Idle for a sensor period first: power is the idle power exactly. */
	usleep(300000);
	hwmon_num(dir, "power1_input");
	usleep(300000);
	p_idle = hwmon_num(dir, "power1_input");
	t_idle = hwmon_num(dir, "temp1_input");
	EXPECT_EQ(p_max / 1000 / 5 * 1000, p_idle);

	/* Two seconds with four jobs in flight. */
	start = now_ns();
	while (now_ns() - start < 2000 * MS) {
		uint32_t s = syncs[jobs % 4];

		if (jobs >= 4)
			ASSERT_EQ(0, mlu_syncobj_wait(self->fd, s, WAIT_NS));
		ASSERT_EQ(0, mlu_submit_simple(self->fd, 0, &pkt, 1, bos, 3, 0, s));
		jobs++;
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mlu_syncobj_wait(self->fd, syncs[i], WAIT_NS));
	p_hot = hwmon_num(dir, "power1_input");
	t_hot = hwmon_num(dir, "temp1_input");
	TH_LOG("%u jobs; idle %lld uW %lld mC, loaded %lld uW %lld mC", jobs,
	       p_idle, t_idle, p_hot, t_hot);
	EXPECT_LT(p_idle + p_max / 15, p_hot);
	EXPECT_LT(t_idle + 1000, t_hot);

	/* Idle again: idle power at once, the temperature falls. */
	sleep(3);
	p_cool = hwmon_num(dir, "power1_input");
	t_cool = hwmon_num(dir, "temp1_input");
	EXPECT_EQ(p_max / 1000 / 5 * 1000, p_cool);
	EXPECT_GT(t_hot - 1000, t_cool);
	for (i = 0; i < 4; i++)
		drmSyncobjDestroy(self->fd, syncs[i]);
	for (i = 0; i < 3; i++)
		mlu_bo_close(self->fd, bos[i]);
}

TEST(mlu_smi_shows_every_card)
{
	static char out[64 * 1024];
	int cards = mlu_count_cards(), i, fd;
	char pci[64], line[32];

	if (cards < 1)
		SKIP(return, "no MLU card");
	ASSERT_EQ(0, run_smi("", out, sizeof(out))) TH_LOG("%s", out);
	for (i = 0; i < cards; i++) {
		fd = mlu_open_card(i);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, card_attr(fd_minor(fd), "pci_address", pci, sizeof(pci)));
		EXPECT_NE(NULL, strstr(out, pci)) TH_LOG("%s missing:\n%s", pci, out);
		close(fd);
	}
	snprintf(line, sizeof(line), "%d card%s", cards, cards == 1 ? "" : "s");
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s", out);
	ASSERT_EQ(0, run_smi("-q", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "Health")) TH_LOG("%s", out);
	EXPECT_EQ(1, run_smi("--no-such-option", out, sizeof(out)));
	EXPECT_EQ(1, run_smi("extra-argument", out, sizeof(out)));
	EXPECT_EQ(1, run_smi("-l 0", out, sizeof(out)));
	EXPECT_EQ(3, run_smi("-i 999", out, sizeof(out)));
}

/* -l: a JSON document per interval until SIGINT, then a clean exit. */
TEST(mlu_smi_refresh_loop_until_interrupted)
{
	static char out[256 * 1024];
	char *argv[] = { SMI, "--json", "-l", "1", NULL }, *p;
	int pipefd[2], st, docs = 0;
	pid_t pid;

	if (mlu_count_cards() < 1)
		SKIP(return, "no MLU card");
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execvp(SMI, argv);
		_exit(127);
	}
	close(pipefd[1]);
	usleep(2500000);
	kill(pid, SIGINT);
	mlu_read_all(pipefd[0], out, sizeof(out));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	for (p = out; (p = strstr(p, "\"timestamp\"")); p++)
		docs++;
	/* At 0, 1 and 2 s; a slow start may miss the last. */
	EXPECT_LE(2, docs);
	EXPECT_GE(3, docs);
}

TEST(mlu_smi_explains_missing_card_driver_and_permission)
{
	char out[4096], root[] = "/tmp/mlu-smi-sys.XXXXXX", path[PATH_MAX], args[128];
	pid_t pid;
	int st;

	ASSERT_NE(NULL, mkdtemp(root));
	snprintf(args, sizeof(args), "--sysfs %s", root);
	EXPECT_EQ(3, run_smi(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "no MLU card found")) TH_LOG("%s", out);

	/* A card on the bus, no driver. */
	snprintf(path, sizeof(path), "%s/bus", root);
	ASSERT_EQ(0, mkdir(path, 0755));
	strcat(path, "/pci");
	ASSERT_EQ(0, mkdir(path, 0755));
	strcat(path, "/devices");
	ASSERT_EQ(0, mkdir(path, 0755));
	strcat(path, "/0000:00:03.0");
	ASSERT_EQ(0, mkdir(path, 0755));
	strcat(path, "/vendor");
	ASSERT_EQ(0, write_file(path, "0x1af4\n"));
	strcpy(strrchr(path, '/'), "/device");
	ASSERT_EQ(0, write_file(path, "0x10fa\n"));
	EXPECT_EQ(2, run_smi(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "driver is not loaded")) TH_LOG("%s", out);

	/* A class directory an unprivileged user cannot read. */
	snprintf(path, sizeof(path), "%s/class", root);
	ASSERT_EQ(0, mkdir(path, 0755));
	strcat(path, "/accel");
	ASSERT_EQ(0, mkdir(path, 0700));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		_exit(run_smi(args, out, sizeof(out)));
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(4, WEXITSTATUS(st));
	snprintf(out, sizeof(out), "rm -rf %s", root);
	EXPECT_EQ(0, system(out));
}

TEST_HARNESS_MAIN
