// SPDX-License-Identifier: MIT
/*
 * Execution: queues with priorities, the order the scheduler hands jobs to
 * a ring, explicit fences across queues and processes (timeline syncobjs,
 * sync_file), timing events, recovery from injected hangs, faults and
 * device errors, killed processes, fdinfo usage and a stress run.
 *
 * Ordering tests read the card's TIMESTAMP counter: every job stores it in
 * a slot of a shared buffer when it starts, so the slots give the order the
 * card ran the jobs in.  A "blocker" job of large matmuls keeps the ring
 * busy while the jobs under test are submitted, so that they all wait in
 * the scheduler, which then decides their order.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sync_file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <xf86drm.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"
#include "mlu/mlu.h"

#define WAIT_NS (30000 * MS)
/* Slots of a timestamp buffer (one page of u64). */
#define TS_SLOTS 512
/* Matmul size of a blocker packet: 512^3 f32, a few ms on the card. */
#define BLOCK_N 512

struct card {
	int fd;
	int minor;
	struct drm_mlu_device_info info;
};

#define OPEN_CARD_OR_SKIP(c)	MLU_SKIP_UNLESS_CARD(card_open(c) == 0, 0)

static int card_open(struct card *c)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->fd = mlu_open_card(0);
	if (c->fd < 0)
		return -1;
	if (fstat(c->fd, &st) || mlu_query_info(c->fd, &c->info)) {
		close(c->fd);
		return -1;
	}
	c->minor = minor(st.st_rdev);
	return 0;
}

/* Another open file (context) of the same card. */
static int card_reopen(const struct card *c)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/accel/accel%d", c->minor);
	return open(path, O_RDWR | O_CLOEXEC);
}

static int debugfs_write(const struct card *c, const char *name, unsigned long long val)
{
	char path[320], buf[32];
	int fd, len, ret = 0;

	if (mlu_card_debugfs_path(c->minor, name, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu\n", val);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static long long debugfs_read(const struct card *c, const char *name)
{
	char path[320], buf[32] = "";
	int fd;
	ssize_t n;

	if (mlu_card_debugfs_path(c->minor, name, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -EIO;
}

static unsigned int ring_jobs(void)
{
	FILE *f = fopen("/sys/module/mlu/parameters/ring_jobs", "r");
	unsigned int v = 0;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int ioctl_err(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

static int queue_create(int fd, uint32_t priority, uint32_t ring_mask, uint32_t *id)
{
	struct drm_mlu_queue_create a = { .priority = priority, .ring_mask = ring_mask };
	int ret = ioctl_err(fd, DRM_IOCTL_MLU_QUEUE_CREATE, &a);

	if (!ret)
		*id = a.queue_id;
	return ret;
}

static int queue_destroy(int fd, uint32_t id)
{
	struct drm_mlu_queue_destroy a = { .queue_id = id };

	return ioctl_err(fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &a);
}

/* One job on created queue qid: in-syncs, an out-sync at out_point (0: binary). */
static int submit_q(int fd, uint32_t qid, const void *pkts, uint32_t n, const uint32_t *bos,
		    uint32_t nbo, const struct drm_mlu_sync *in, uint32_t nin, uint32_t out,
		    uint64_t out_point)
{
	struct drm_mlu_submit s = {
		.packets = (uintptr_t)pkts,
		.packet_count = n,
		.queue = qid,
		.flags = DRM_MLU_SUBMIT_QUEUE_ID,
		.bo_handles = (uintptr_t)bos,
		.bo_handle_count = nbo,
		.in_syncs = (uintptr_t)in,
		.in_sync_count = nin,
		.in_sync_stride = sizeof(*in),
		.out_sync = out,
		.out_sync_point = out_point,
	};

	return mlu_submit(fd, &s);
}

static int context_status(int fd, struct drm_mlu_context_status *st)
{
	struct drm_mlu_dev_query q = {
		.type = DRM_MLU_DEV_QUERY_CONTEXT_STATUS,
		.size = sizeof(*st),
		.pointer = (uintptr_t)st,
	};

	memset(st, 0xff, sizeof(*st));
	return ioctl_err(fd, DRM_IOCTL_MLU_DEV_QUERY, &q);
}

/* A "key: value" line of the fd's fdinfo, or -1. */
static long long fdinfo_value(int fd, const char *key)
{
	char path[64], line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = atoll(line + len + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The client's device time: the sum of fdinfo's drm-engine-queue<N>, or -1. */
static long long fdinfo_engine_ns(int fd, unsigned int rings)
{
	long long sum = 0, v;
	char key[32];
	unsigned int i;

	for (i = 0; i < rings; i++) {
		snprintf(key, sizeof(key), "drm-engine-queue%u", i);
		v = fdinfo_value(fd, key);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

static void ts_pkt(struct mlu_pkt_timestamp *p, uint64_t va)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_TIMESTAMP;
	p->addr = va;
}

/* A mapped BO. */
struct bo {
	uint32_t handle;
	uint64_t va;
	uint64_t size;
	void *map;
};

static int bo_new(int fd, uint64_t size, uint32_t flags, struct bo *b)
{
	int ret = mlu_bo_create(fd, size, flags, &b->handle, &b->va);

	if (ret)
		return ret;
	b->size = size;
	b->map = mlu_bo_map(fd, b->handle);
	return b->map ? 0 : -ENOMEM;
}

static uint64_t ts_slot(const struct bo *ts, unsigned int i)
{
	return ((volatile uint64_t *)ts->map)[i];
}

/*
 * A blocker: n MATMUL packets of BLOCK_N^3 f32 on one BO (A, B, C; zero
 * data, the card's work is the same), optionally followed by a TIMESTAMP.
 */
struct blocker {
	struct bo bo;
	struct mlu_pkt_matmul pkts[64];
	unsigned int n;
};

static int blocker_init(int fd, struct blocker *b, unsigned int n)
{
	const uint64_t mat = (uint64_t)BLOCK_N * BLOCK_N * 4;
	struct mlu_matmul_desc d = {
		.dtype = MLU_DTYPE_F32, .m = BLOCK_N, .n = BLOCK_N, .k = BLOCK_N,
		.lda = BLOCK_N, .ldb = BLOCK_N, .ldc = BLOCK_N, .alpha = 1.0f,
	};
	unsigned int i;
	int ret;

	if (n > 64)
		return -EINVAL;
	ret = bo_new(fd, 3 * mat, 0, &b->bo);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		mlu_pkt_matmul_init(&b->pkts[i], &d, b->bo.va, b->bo.va + mat,
				    b->bo.va + 2 * mat, 0);
	b->n = n;
	return 0;
}

/* A copy job whose result is checked exactly: src pattern -> dst. */
struct copy_job {
	struct bo bo;
	uint64_t len;
	uint32_t seed;
	struct mlu_pkt_copy pkt;
};

static uint8_t pattern(uint32_t seed, uint64_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;

	return (uint8_t)(x >> 13);
}

static int copy_job_init(int fd, struct copy_job *j, uint64_t len, uint32_t seed)
{
	uint8_t *src;
	uint64_t i;
	int ret;

	ret = bo_new(fd, 2 * len, 0, &j->bo);
	if (ret)
		return ret;
	j->len = len;
	j->seed = seed;
	src = j->bo.map;
	for (i = 0; i < len; i++)
		src[i] = pattern(seed, i);
	mlu_pkt_copy_init(&j->pkt, j->bo.va + len, j->bo.va, len);
	return 0;
}

/* 0 when the copy landed, else 1 + the first wrong offset. */
static uint64_t copy_job_check(const struct copy_job *j)
{
	const uint8_t *dst = (const uint8_t *)j->bo.map + j->len;
	uint64_t i;

	for (i = 0; i < j->len; i++)
		if (dst[i] != pattern(j->seed, i))
			return i + 1;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Wait for a timeline point; 0, -ETIME or -errno. */
static int wait_point(int fd, uint32_t syncobj, uint64_t point, uint64_t timeout_ns)
{
	return drmSyncobjTimelineWait(fd, &syncobj, &point, 1, now_ns() + (int64_t)timeout_ns,
				      DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL);
}

/* Fence status of a timeline point: 1, 0 pending, or its error. */
static int point_status(int fd, uint32_t syncobj, uint64_t point)
{
	uint32_t tmp = mlu_syncobj_create(fd);
	int ret;

	if (!tmp)
		return -ENOMEM;
	ret = drmSyncobjTransfer(fd, tmp, 0, syncobj, point, 0);
	if (!ret)
		ret = mlu_fence_status(fd, tmp);
	drmSyncobjDestroy(fd, tmp);
	return ret;
}

/* ---- queue objects ------------------------------------------------------ */

TEST(queue_create_destroy_arguments)
{
	struct drm_mlu_queue_create bad = { 0 };
	struct drm_mlu_queue_destroy d = { 0 };
	struct mlu_pkt_timestamp pkt;
	struct drm_mlu_submit s;
	int other;
	uint32_t ids[256], id, extra;
	struct card c;
	struct bo ts;
	unsigned int i;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_GE(c.info.driver_version & 0xffff, 1);

	bad.flags = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(c.fd, DRM_IOCTL_MLU_QUEUE_CREATE, &bad));
	bad.flags = 0;
	bad.priority = 3;
	EXPECT_EQ(-EINVAL, ioctl_err(c.fd, DRM_IOCTL_MLU_QUEUE_CREATE, &bad));
	bad.priority = DRM_MLU_QUEUE_PRIORITY_NORMAL;
	bad.ring_mask = 1u << c.info.num_queues;
	EXPECT_EQ(-EINVAL, ioctl_err(c.fd, DRM_IOCTL_MLU_QUEUE_CREATE, &bad));

	EXPECT_EQ(-ENOENT, queue_destroy(c.fd, 0));
	EXPECT_EQ(-ENOENT, queue_destroy(c.fd, 12345));
	d.pad = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(c.fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &d));

	/* Ids are non-zero and distinct; a file has at most 256 queues. */
	for (i = 0; i < 256; i++) {
		ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_LOW, 0, &ids[i]));
		ASSERT_NE(0, ids[i]);
		if (i)
			ASSERT_NE(ids[i - 1], ids[i]);
	}
	EXPECT_EQ(-ENOSPC, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_LOW, 0, &extra));
	ASSERT_EQ(0, queue_destroy(c.fd, ids[17]));
	EXPECT_EQ(-ENOENT, queue_destroy(c.fd, ids[17]));
	/* A destroyed queue's id is not handed out again right away. */
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &id));
	EXPECT_NE(ids[17], id);
	EXPECT_EQ(-ENOSPC, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_LOW, 0, &extra));

	/* Submitting to a destroyed or unknown id, or with unknown flags. */
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts));
	ts_pkt(&pkt, ts.va);
	EXPECT_EQ(-ENOENT, submit_q(c.fd, ids[17], &pkt, 1, &ts.handle, 1, NULL, 0, 0, 0));
	EXPECT_EQ(-ENOENT, submit_q(c.fd, 0, &pkt, 1, &ts.handle, 1, NULL, 0, 0, 0));
	s = (struct drm_mlu_submit){
		.packets = (uintptr_t)&pkt, .packet_count = 1, .queue = id,
		.flags = 2, .bo_handles = (uintptr_t)&ts.handle, .bo_handle_count = 1,
	};
	EXPECT_EQ(-EINVAL, mlu_submit(c.fd, &s));
	/* Without the flag, queue is a ring index again. */
	s.flags = 0;
	s.queue = c.info.num_queues;
	EXPECT_EQ(-EINVAL, mlu_submit(c.fd, &s));

	/* Queues of another file are not ours. */
	other = card_reopen(&c);
	ASSERT_GE(other, 0);
	EXPECT_EQ(-ENOENT, submit_q(other, id, &pkt, 0, NULL, 0, NULL, 0, 0, 0));
	EXPECT_EQ(-ENOENT, queue_destroy(other, id));
	close(other);
	/* Closing the file with its queues releases them. */
	close(c.fd);
}

/* drop CAP_SYS_NICE from the effective set of this process */
static int drop_cap_sys_nice(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

TEST(high_priority_needs_cap_sys_nice)
{
	int status, fd;
	struct card c;
	uint32_t id;
	pid_t pid;

	OPEN_CARD_OR_SKIP(&c);
	/* The guest runs tests as root, which has CAP_SYS_NICE. */
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_HIGH, 0, &id));
	close(c.fd);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		fd = mlu_open_card(0);
		if (fd < 0 || drop_cap_sys_nice())
			_exit(10);
		if (queue_create(fd, DRM_MLU_QUEUE_PRIORITY_HIGH, 0, &id) != -EACCES)
			_exit(11);
		if (queue_create(fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &id) ||
		    queue_create(fd, DRM_MLU_QUEUE_PRIORITY_LOW, 0, &id))
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(queue_runs_jobs_in_order_with_verified_results)
{
	struct copy_job jobs[24];
	struct card c;
	uint32_t id, tl;
	unsigned int i;
	struct bo ts;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &id));
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts));
	tl = mlu_syncobj_create(c.fd);
	ASSERT_NE(0, tl);
	for (i = 0; i < 24; i++) {
		struct mlu_pkt_copy pkts[2];
		uint32_t bos[2];

		ASSERT_EQ(0, copy_job_init(c.fd, &jobs[i], 4096 * (1 + i % 5), 100 + i));
		pkts[0] = jobs[i].pkt;
		ts_pkt((void *)&pkts[1], ts.va + 8 * i);
		bos[0] = jobs[i].bo.handle;
		bos[1] = ts.handle;
		ASSERT_EQ(0, submit_q(c.fd, id, pkts, 2, bos, 2, NULL, 0, tl, i + 1));
	}
	ASSERT_EQ(0, wait_point(c.fd, tl, 24, WAIT_NS));
	for (i = 0; i < 24; i++) {
		EXPECT_EQ(1, point_status(c.fd, tl, i + 1));
		EXPECT_EQ(0, copy_job_check(&jobs[i])) TH_LOG("job %u", i);
		EXPECT_NE(0, ts_slot(&ts, i));
		if (i)
			EXPECT_GT(ts_slot(&ts, i), ts_slot(&ts, i - 1)) TH_LOG("job %u", i);
	}
	ASSERT_EQ(0, queue_destroy(c.fd, id));
	close(c.fd);
}

/* The figures a debugfs round-trip benchmark file prints. */
struct rtt_report {
	long long rounds, min_ns, p50_ns, p99_ns;
};

static int debugfs_rtt(const struct card *c, const char *name, struct rtt_report *r)
{
	char path[320], line[64];
	int found = 0;
	FILE *f;

	if (mlu_card_debugfs_path(c->minor, name, path, sizeof(path)))
		return -ENOENT;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		found += sscanf(line, "rounds %lld", &r->rounds) +
			 sscanf(line, "min_ns %lld", &r->min_ns) +
			 sscanf(line, "p50_ns %lld", &r->p50_ns) +
			 sscanf(line, "p99_ns %lld", &r->p99_ns);
	if (ferror(f))
		found = -errno;
	fclose(f);
	return found == 4 ? 0 : found < 0 ? found : -EPROTO;
}

struct rtt_thread {
	const struct card *c;
	const char *name;
	struct rtt_report report;
	int ret;
};

static void *rtt_thread_run(void *arg)
{
	struct rtt_thread *t = arg;

	t->ret = debugfs_rtt(t->c, t->name, &t->report);
	return NULL;
}

/*
 * The interrupt round-trip benchmarks report sane figures, and both, whose
 * kernel jobs need ring 0 idle, can run while jobs fill that ring: they all
 * still complete, in order, with the right results.
 */
TEST(doorbell_probe_runs_beside_jobs_on_its_ring)
{
	struct rtt_thread probes[2] = {
		{ .name = "doorbell_rtt" }, { .name = "irq_rtt" },
	};
	struct copy_job jobs[32];
	char path[320];
	struct card c;
	pthread_t thread;
	uint32_t id, tl;
	unsigned int i, p;

	OPEN_CARD_OR_SKIP(&c);
	if (debugfs_read(&c, "reset_count") < 0)
		SKIP(return, "no debugfs");
	if (mlu_card_debugfs_path(c.minor, "doorbell_rtt", path, sizeof(path)) ||
	    access(path, F_OK))
		SKIP(return, "mlu.ko built without CONFIG_DRM_ACCEL_MLU_BENCH=y");
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &id));
	tl = mlu_syncobj_create(c.fd);
	ASSERT_NE(0, tl);
	for (p = 0; p < 2; p++) {
		probes[p].c = &c;
		ASSERT_EQ(0, pthread_create(&thread, NULL, rtt_thread_run, &probes[p]));
		for (i = 0; i < 32; i++) {
			ASSERT_EQ(0, copy_job_init(c.fd, &jobs[i], 4096 * (1 + i % 7), 7 * i + p));
			ASSERT_EQ(0, submit_q(c.fd, id, &jobs[i].pkt, 1, &jobs[i].bo.handle, 1,
					      NULL, 0, tl, 32 * p + i + 1));
		}
		ASSERT_EQ(0, pthread_join(thread, NULL));
		ASSERT_EQ(0, wait_point(c.fd, tl, 32 * p + 32, WAIT_NS));
		for (i = 0; i < 32; i++) {
			EXPECT_EQ(1, point_status(c.fd, tl, 32 * p + i + 1)) TH_LOG("job %u", i);
			EXPECT_EQ(0, copy_job_check(&jobs[i])) TH_LOG("job %u", i);
		}
		ASSERT_EQ(0, probes[p].ret) TH_LOG("%s: %s", probes[p].name,
						   strerror(-probes[p].ret));
		EXPECT_EQ(1000, probes[p].report.rounds);
		EXPECT_LT(0, probes[p].report.min_ns);
		EXPECT_LE(probes[p].report.min_ns, probes[p].report.p50_ns);
		EXPECT_LE(probes[p].report.p50_ns, probes[p].report.p99_ns);
		/* A round waits at most a second, or the file fails. */
		EXPECT_GT(1000000000LL, probes[p].report.p99_ns);
	}
	ASSERT_EQ(0, queue_destroy(c.fd, id));
	close(c.fd);
}

/* Queues that may use every ring spread over them and run at once. */
TEST(queues_spread_over_rings)
{
	struct mlu_pkt_matmul pkts[10];
	struct blocker b[4];
	unsigned int i, j, nq;
	uint32_t id[4], out[4];
	struct card c;
	struct bo ts;

	OPEN_CARD_OR_SKIP(&c);
	nq = c.info.num_queues < 4 ? c.info.num_queues : 4;
	if (nq < 2)
		SKIP(return, "one ring only");
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts));
	for (i = 0; i < nq; i++) {
		ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &id[i]));
		ASSERT_EQ(0, blocker_init(c.fd, &b[i], 8));
		out[i] = mlu_syncobj_create(c.fd);
	}
	for (i = 0; i < nq; i++) {
		/* Every job writes its own slots of ts: no implicit sync on it. */
		struct drm_mlu_submit_bo bos[2] = {
			{ .handle = b[i].bo.handle },
			{ .handle = ts.handle, .flags = DRM_MLU_SUBMIT_BO_EXPLICIT },
		};
		struct drm_mlu_submit s = {
			.packets = (uintptr_t)pkts, .packet_count = 10,
			.queue = id[i], .flags = DRM_MLU_SUBMIT_QUEUE_ID | DRM_MLU_SUBMIT_BO_USAGE,
			.bo_handles = (uintptr_t)bos, .bo_handle_count = 2,
			.out_sync = out[i],
		};

		ts_pkt((void *)&pkts[0], ts.va + 16 * i);
		memcpy(&pkts[1], b[i].pkts, 8 * sizeof(pkts[0]));
		ts_pkt((void *)&pkts[9], ts.va + 16 * i + 8);
		ASSERT_EQ(0, mlu_submit(c.fd, &s));
	}
	for (i = 0; i < nq; i++) {
		ASSERT_EQ(0, mlu_syncobj_wait(c.fd, out[i], WAIT_NS));
		EXPECT_EQ(1, mlu_fence_status(c.fd, out[i]));
	}
	/* Every job started before every other one ended: different rings. */
	for (i = 0; i < nq; i++)
		for (j = 0; j < nq; j++)
			EXPECT_LT(ts_slot(&ts, 2 * i), ts_slot(&ts, 2 * j + 1))
				TH_LOG("queue %u started after queue %u ended", i, j);
	close(c.fd);
}

/*
 * Destroying a queue while another thread submits to it: every submit
 * either queues a job that then completes, or fails with -ENOENT once the
 * id is gone; nothing leaks or crashes (the guest log is checked).
 */
#define RACE_BACKLOG 16

struct race {
	int fd;
	volatile uint32_t id;
	volatile bool stop;
	unsigned int queued, refused, other;
};

static void *race_submitter(void *arg)
{
	struct race *r = arg;
	uint32_t out = mlu_syncobj_create(r->fd);

	while (!r->stop) {
		int ret = submit_q(r->fd, r->id, NULL, 0, NULL, 0, NULL, 0, out, 0);

		/*
		 * Keep the backlog short: destroying a queue waits for its
		 * queued jobs, and a slow debug guest must not spend the
		 * test's time limit draining thousands of them.
		 */
		if (!ret && ++r->queued % RACE_BACKLOG == 0 &&
		    mlu_syncobj_wait(r->fd, out, WAIT_NS))
			r->other++;
		if (!ret)
			continue;
		if (ret == -ENOENT)
			r->refused++;
		else
			r->other++;
	}
	/* The last queued job's fence signals although its queue is gone. */
	if (r->queued && mlu_syncobj_wait(r->fd, out, WAIT_NS))
		r->other++;
	return NULL;
}

TEST(queue_destroy_races_submit)
{
	struct race r = { 0 };
	pthread_t thread;
	unsigned int i;
	struct card c;
	uint32_t id;

	OPEN_CARD_OR_SKIP(&c);
	r.fd = c.fd;
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &id));
	r.id = id;
	ASSERT_EQ(0, pthread_create(&thread, NULL, race_submitter, &r));
	for (i = 0; i < 300; i++) {
		uint32_t next;

		ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &next));
		r.id = next;
		ASSERT_EQ(0, queue_destroy(c.fd, id));
		id = next;
		if (i % 2)
			usleep(100);
	}
	r.stop = true;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%u jobs queued, %u submits refused", r.queued, r.refused);
	EXPECT_EQ(0, r.other);
	EXPECT_GT(r.queued, 0);
	close(c.fd);
}

/* ---- priorities and order under contention ------------------------------ */

/*
 * Ring 0 runs a blocker from queue "low_q", which then queues n_low
 * one-TIMESTAMP jobs; queue "high_q" (possibly of another file) queues one
 * TIMESTAMP job after them.  Returns how many low jobs ran before it.
 */
static int jobs_before_late_job(struct __test_metadata *_metadata, int low_fd, uint32_t low_prio, int high_fd, uint32_t high_prio,
				unsigned int n_low)
{
	struct mlu_pkt_timestamp pkt;
	struct bo ts_low, ts_high;
	uint32_t low_q, high_q, blocked, out, done;
	struct blocker blk;
	unsigned int i;
	int before = 0;

	if (queue_create(low_fd, low_prio, 1, &low_q) ||
	    queue_create(high_fd, high_prio, 1, &high_q) ||
	    bo_new(low_fd, 4096, 0, &ts_low) || bo_new(high_fd, 4096, 0, &ts_high) ||
	    blocker_init(low_fd, &blk, 24))
		return -1;
	blocked = mlu_syncobj_create(low_fd);
	out = mlu_syncobj_create(low_fd);
	done = mlu_syncobj_create(high_fd);

	if (submit_q(low_fd, low_q, blk.pkts, blk.n, &blk.bo.handle, 1, NULL, 0, blocked, 0))
		return -1;
	for (i = 0; i < n_low; i++) {
		ts_pkt(&pkt, ts_low.va + 8 * i);
		if (submit_q(low_fd, low_q, &pkt, 1, &ts_low.handle, 1, NULL, 0, out, 0))
			return -1;
	}
	ts_pkt(&pkt, ts_high.va);
	if (submit_q(high_fd, high_q, &pkt, 1, &ts_high.handle, 1, NULL, 0, done, 0))
		return -1;
	/* Everything waited behind the blocker, or the test proves nothing. */
	EXPECT_EQ(0, mlu_fence_status(low_fd, blocked))
		TH_LOG("the blocker finished before the jobs were queued");

	if (mlu_syncobj_wait(low_fd, out, WAIT_NS) || mlu_syncobj_wait(high_fd, done, WAIT_NS))
		return -1;
	for (i = 0; i < n_low; i++) {
		EXPECT_NE(0, ts_slot(&ts_low, i));
		if (ts_slot(&ts_low, i) < ts_slot(&ts_high, 0))
			before++;
	}
	queue_destroy(low_fd, low_q);
	queue_destroy(high_fd, high_q);
	return before;
}

TEST(high_priority_overtakes_queued_low_jobs)
{
	unsigned int rj = ring_jobs();
	struct card c;
	int other, before;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_GT(rj, 0);
	other = card_reopen(&c);
	ASSERT_GE(other, 0);
	/* Only the jobs already on the ring with the blocker run first. */
	before = jobs_before_late_job(_metadata, c.fd, DRM_MLU_QUEUE_PRIORITY_LOW, other,
				      DRM_MLU_QUEUE_PRIORITY_HIGH, 12);
	ASSERT_GE(before, 0);
	EXPECT_LE(before, (int)rj - 1);
	close(other);
	close(c.fd);
}

TEST(normal_priority_overtakes_queued_low_jobs)
{
	unsigned int rj = ring_jobs();
	struct card c;
	int before;

	OPEN_CARD_OR_SKIP(&c);
	before = jobs_before_late_job(_metadata, c.fd, DRM_MLU_QUEUE_PRIORITY_LOW, c.fd,
				      DRM_MLU_QUEUE_PRIORITY_NORMAL, 12);
	ASSERT_GE(before, 0);
	EXPECT_LE(before, (int)rj - 1);
	close(c.fd);
}

TEST(equal_priority_keeps_submission_order)
{
	struct card c;
	int other, before;

	OPEN_CARD_OR_SKIP(&c);
	other = card_reopen(&c);
	ASSERT_GE(other, 0);
	before = jobs_before_late_job(_metadata, c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, other,
				      DRM_MLU_QUEUE_PRIORITY_NORMAL, 12);
	EXPECT_EQ(12, before);
	close(other);
	close(c.fd);
}

/*
 * Fair progress between contexts: a context's backlog does not hold back
 * another context's job beyond the jobs submitted before it.  A queues 12
 * jobs, B one, A 12 more, all behind a blocker on ring 0: B's job runs
 * after A's first 12 and before A's last 12.
 */
TEST(contexts_progress_in_submission_order)
{
	struct mlu_pkt_timestamp pkt;
	uint32_t qa, qb, out_a, out_b;
	struct bo ts_a, ts_b;
	struct blocker blk;
	unsigned int i;
	struct card c;
	int fd_b;

	OPEN_CARD_OR_SKIP(&c);
	fd_b = card_reopen(&c);
	ASSERT_GE(fd_b, 0);
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &qa));
	ASSERT_EQ(0, queue_create(fd_b, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &qb));
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts_a));
	ASSERT_EQ(0, bo_new(fd_b, 4096, 0, &ts_b));
	ASSERT_EQ(0, blocker_init(c.fd, &blk, 24));
	out_a = mlu_syncobj_create(c.fd);
	out_b = mlu_syncobj_create(fd_b);

	ASSERT_EQ(0, submit_q(c.fd, qa, blk.pkts, blk.n, &blk.bo.handle, 1, NULL, 0, 0, 0));
	for (i = 0; i < 24; i++) {
		if (i == 12) {
			ts_pkt(&pkt, ts_b.va);
			ASSERT_EQ(0, submit_q(fd_b, qb, &pkt, 1, &ts_b.handle, 1, NULL, 0,
					      out_b, 0));
		}
		ts_pkt(&pkt, ts_a.va + 8 * i);
		ASSERT_EQ(0, submit_q(c.fd, qa, &pkt, 1, &ts_a.handle, 1, NULL, 0, out_a, 0));
	}
	ASSERT_EQ(0, mlu_syncobj_wait(c.fd, out_a, WAIT_NS));
	ASSERT_EQ(0, mlu_syncobj_wait(fd_b, out_b, WAIT_NS));
	for (i = 0; i < 24; i++) {
		bool before_b = ts_slot(&ts_a, i) < ts_slot(&ts_b, 0);

		EXPECT_EQ(i < 12, before_b) TH_LOG("A job %u", i);
	}
	close(fd_b);
	close(c.fd);
}

/* ---- fences ------------------------------------------------------------- */

TEST(timeline_points_order_jobs_across_queues)
{
	struct drm_mlu_sync in;
	struct mlu_pkt_matmul pkts[9];
	uint32_t qa, qb, tl, out;
	struct blocker blk;
	struct card c;
	struct bo ts;

	OPEN_CARD_OR_SKIP(&c);
	if (c.info.num_queues < 2)
		SKIP(return, "one ring only");
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &qa));
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 2, &qb));
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts));
	ASSERT_EQ(0, blocker_init(c.fd, &blk, 8));
	tl = mlu_syncobj_create(c.fd);
	out = mlu_syncobj_create(c.fd);

	/* A (ring 0): a long job ending with a timestamp, signalling point 7. */
	memcpy(pkts, blk.pkts, 8 * sizeof(pkts[0]));
	ts_pkt((void *)&pkts[8], ts.va);
	{
		uint32_t bos[2] = { blk.bo.handle, ts.handle };

		ASSERT_EQ(0, submit_q(c.fd, qa, pkts, 9, bos, 2, NULL, 0, tl, 7));
	}
	/* B (ring 1): waits for point 7, then stores its start time. */
	in = (struct drm_mlu_sync){ .handle = tl, .point = 7 };
	ts_pkt((void *)&pkts[0], ts.va + 8);
	ASSERT_EQ(0, submit_q(c.fd, qb, pkts, 1, &ts.handle, 1, &in, 1, out, 0));
	EXPECT_EQ(0, mlu_fence_status(c.fd, out));

	ASSERT_EQ(0, mlu_syncobj_wait(c.fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(c.fd, out));
	EXPECT_EQ(1, point_status(c.fd, tl, 7));
	EXPECT_NE(0, ts_slot(&ts, 0));
	EXPECT_GE(ts_slot(&ts, 1), ts_slot(&ts, 0));
	close(c.fd);
}

/* sync_file export of a job's fence: poll, status, import, error. */
TEST(sync_file_round_trip)
{
	struct sync_file_info info = { 0 };
	struct mlu_pkt_copy bad, good;
	uint32_t q, out_ok, out_bad, imported;
	struct pollfd pfd;
	int sf_ok, sf_bad;
	struct copy_job j;
	struct card c;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &q));
	ASSERT_EQ(0, copy_job_init(c.fd, &j, 8192, 7));
	good = j.pkt;
	/* Page 0 is never mapped: the copy faults. */
	mlu_pkt_copy_init(&bad, j.bo.va, 0x1000, 64);
	out_ok = mlu_syncobj_create(c.fd);
	out_bad = mlu_syncobj_create(c.fd);
	imported = mlu_syncobj_create(c.fd);
	ASSERT_EQ(0, submit_q(c.fd, q, &good, 1, &j.bo.handle, 1, NULL, 0, out_ok, 0));
	ASSERT_EQ(0, submit_q(c.fd, q, &bad, 1, &j.bo.handle, 1, NULL, 0, out_bad, 0));

	ASSERT_EQ(0, drmSyncobjExportSyncFile(c.fd, out_ok, &sf_ok));
	ASSERT_EQ(0, drmSyncobjExportSyncFile(c.fd, out_bad, &sf_bad));
	pfd = (struct pollfd){ .fd = sf_bad, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 30000));
	ASSERT_EQ(0, ioctl(sf_bad, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(-EFAULT, info.status);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(sf_ok, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.status);
	EXPECT_EQ(0, copy_job_check(&j));

	/* Imported into another syncobj, the fence keeps its result. */
	ASSERT_EQ(0, drmSyncobjImportSyncFile(c.fd, imported, sf_bad));
	EXPECT_EQ(-EFAULT, mlu_fence_status(c.fd, imported));
	ASSERT_EQ(0, drmSyncobjImportSyncFile(c.fd, imported, sf_ok));
	EXPECT_EQ(1, mlu_fence_status(c.fd, imported));
	close(sf_ok);
	close(sf_bad);
	close(c.fd);
}

/*
 * Another process's job as an in-fence: the child's job (a blocker that
 * ends with a timestamp) is exported as a sync_file over a unix socket; the
 * parent's job waits for it and stores its own start time.
 */
TEST(job_waits_for_another_process_sync_file)
{
	int sv[2], status, sf;
	uint64_t child_ts = 0;
	struct drm_mlu_sync in;
	struct mlu_pkt_timestamp pkt;
	uint32_t q, imported, out;
	struct card c;
	struct bo ts;
	pid_t pid;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mlu_pkt_matmul pkts[13];
		struct blocker blk;
		uint32_t cq, cout, bos[2];
		struct bo cts;
		int fd = mlu_open_card(0), csf;

		if (fd < 0 || queue_create(fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &cq) ||
		    bo_new(fd, 4096, 0, &cts) || blocker_init(fd, &blk, 12))
			_exit(10);
		cout = mlu_syncobj_create(fd);
		memcpy(pkts, blk.pkts, 12 * sizeof(pkts[0]));
		ts_pkt((void *)&pkts[12], cts.va);
		bos[0] = blk.bo.handle;
		bos[1] = cts.handle;
		if (submit_q(fd, cq, pkts, 13, bos, 2, NULL, 0, cout, 0) ||
		    drmSyncobjExportSyncFile(fd, cout, &csf) || mlu_send_fd(sv[1], csf))
			_exit(11);
		if (mlu_syncobj_wait(fd, cout, WAIT_NS) || mlu_fence_status(fd, cout) != 1)
			_exit(12);
		child_ts = ts_slot(&cts, 0);
		if (write(sv[1], &child_ts, sizeof(child_ts)) != sizeof(child_ts))
			_exit(13);
		_exit(0);
	}
	sf = mlu_recv_fd(sv[0]);
	ASSERT_GE(sf, 0);
	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &q));
	ASSERT_EQ(0, bo_new(c.fd, 4096, 0, &ts));
	imported = mlu_syncobj_create(c.fd);
	out = mlu_syncobj_create(c.fd);
	ASSERT_EQ(0, drmSyncobjImportSyncFile(c.fd, imported, sf));
	close(sf);
	in = (struct drm_mlu_sync){ .handle = imported };
	ts_pkt(&pkt, ts.va);
	ASSERT_EQ(0, submit_q(c.fd, q, &pkt, 1, &ts.handle, 1, &in, 1, out, 0));
	ASSERT_EQ(0, mlu_syncobj_wait(c.fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(c.fd, out));

	ASSERT_EQ(sizeof(child_ts), read(sv[0], &child_ts, sizeof(child_ts)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(0, child_ts);
	EXPECT_GE(ts_slot(&ts, 0), child_ts);
	close(sv[0]);
	close(sv[1]);
	close(c.fd);
}

/* ---- events with device time (libmlu) ----------------------------------- */

/* 512^3 f32 matmuls between the two timing events. */
#define ELAPSED_MATMULS 24

TEST(event_elapsed_time_matches_device_busy_time)
{
	struct mlu_event *e0, *e1, *plain;
	struct mlu_device_props props;
	struct mlu_buffer *buf;
	struct mlu_queue *q;
	struct mlu_device *dev;
	struct mlu_matmul_args mm = {
		.dtype = MLU_TYPE_F32, .m = BLOCK_N, .n = BLOCK_N, .k = BLOCK_N,
		.alpha = 1.0f,
	};
	const uint64_t mat = (uint64_t)BLOCK_N * BLOCK_N * 4;
	long long busy0, busy1;
	int64_t elapsed, back, wall0, wall1, busy;
	uint64_t t0, t1;
	int i, ret;

	if (mlu_device_open(0, &dev))
		SKIP(return, "no MLU card");
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create_with_priority(dev, MLU_QUEUE_PRIORITY_NORMAL, &q));
	ASSERT_EQ(MLU_SUCCESS, mlu_buffer_alloc(dev, 3 * mat, 0, &buf));
	mm.a = (struct mlu_operand){ buf, 0 };
	mm.b = (struct mlu_operand){ buf, mat };
	mm.c = (struct mlu_operand){ buf, 2 * mat };
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create_with_flags(dev, MLU_EVENT_TIMING, &e0));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create_with_flags(dev, MLU_EVENT_TIMING, &e1));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create(dev, &plain));
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_event_elapsed_ns(e0, e1, &elapsed));

	ASSERT_EQ(MLU_SUCCESS, mlu_device_get_props(dev, &props));
	busy0 = fdinfo_engine_ns(mlu_device_fd(dev), props.num_queues);
	ASSERT_GE(busy0, 0);
	wall0 = now_ns();
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(q, e0));
	for (i = 0; i < ELAPSED_MATMULS; i++)
		ASSERT_EQ(MLU_SUCCESS, mlu_enqueue_matmul(q, &mm));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(q, e1));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(q, plain));
	/*
	 * The matmuls take tens of milliseconds on a fast host: e1 is still
	 * pending.  A debug guest on a loaded host can take that long to
	 * submit them; then elapsed time is simply available already.
	 */
	ret = mlu_event_elapsed_ns(e0, e1, &elapsed);
	if (ret == MLU_SUCCESS)
		TH_LOG("the matmuls ended before the pending check");
	else
		EXPECT_EQ(MLU_ERROR_NOT_READY, ret);
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_synchronize(q, WAIT_NS));
	wall1 = now_ns();
	busy1 = fdinfo_engine_ns(mlu_device_fd(dev), props.num_queues);

	ASSERT_EQ(MLU_SUCCESS, mlu_event_timestamp_ns(e0, &t0));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_timestamp_ns(e1, &t1));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_elapsed_ns(e0, e1, &elapsed));
	EXPECT_EQ((int64_t)(t1 - t0), elapsed);
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_event_elapsed_ns(e0, plain, &elapsed));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_elapsed_ns(e0, e1, &elapsed));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_elapsed_ns(e1, e0, &back));
	EXPECT_EQ(-elapsed, back);

	/*
	 * The card's busy time of this client (fdinfo, from the kernel's own
	 * TIMESTAMP packets around each job) covers the matmuls and the tiny
	 * event jobs; the events' elapsed time spans the matmuls plus the gaps
	 * between jobs on the ring (longer when the host is loaded).  Both
	 * come from the card's counter: the elapsed time is at least the busy
	 * time of the matmuls, and at most the wall time around it all (the
	 * counter runs at the guest clock's rate).
	 */
	busy = busy1 - busy0;
	TH_LOG("elapsed %lld ns, busy %lld ns, wall %lld ns", (long long)elapsed,
	       (long long)busy, (long long)(wall1 - wall0));
	EXPECT_GT(busy, 1000000);
	EXPECT_GE(elapsed, busy - 500000);
	EXPECT_LE(elapsed, wall1 - wall0 + 500000);

	mlu_event_destroy(e0);
	mlu_event_destroy(e1);
	mlu_event_destroy(plain);
	mlu_buffer_free(buf);
	mlu_queue_destroy(q);
	mlu_device_close(dev);
}

/* Cross-process: an event's sync_file makes another process's queue wait. */
TEST(event_sync_file_orders_queues_of_two_processes)
{
	int sv[2], status, sf;
	uint64_t child_ts = 0, ts;
	struct mlu_event *imported, *after;
	struct mlu_device *dev;
	struct mlu_queue *q;
	pid_t pid;

	if (mlu_device_open(0, &dev))
		SKIP(return, "no MLU card");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		const uint64_t mat = (uint64_t)BLOCK_N * BLOCK_N * 4;
		struct mlu_matmul_args mm = {
			.dtype = MLU_TYPE_F32, .m = BLOCK_N, .n = BLOCK_N, .k = BLOCK_N,
			.alpha = 1.0f,
		};
		struct mlu_device *cdev;
		struct mlu_buffer *buf;
		struct mlu_queue *cq;
		struct mlu_event *ev;
		int csf, i;

		if (mlu_device_open(0, &cdev) ||
		    mlu_queue_create_with_priority(cdev, MLU_QUEUE_PRIORITY_LOW, &cq) ||
		    mlu_buffer_alloc(cdev, 3 * mat, 0, &buf) ||
		    mlu_event_create_with_flags(cdev, MLU_EVENT_TIMING, &ev))
			_exit(10);
		mm.a = (struct mlu_operand){ buf, 0 };
		mm.b = (struct mlu_operand){ buf, mat };
		mm.c = (struct mlu_operand){ buf, 2 * mat };
		for (i = 0; i < 8; i++)
			if (mlu_enqueue_matmul(cq, &mm))
				_exit(11);
		if (mlu_queue_record_event(cq, ev) || mlu_event_export_sync_file(ev, &csf) ||
		    mlu_send_fd(sv[1], csf))
			_exit(12);
		if (mlu_event_wait(ev, WAIT_NS) || mlu_event_timestamp_ns(ev, &child_ts))
			_exit(13);
		if (write(sv[1], &child_ts, sizeof(child_ts)) != sizeof(child_ts))
			_exit(14);
		_exit(0);
	}
	sf = mlu_recv_fd(sv[0]);
	ASSERT_GE(sf, 0);
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_create_with_priority(dev, MLU_QUEUE_PRIORITY_NORMAL, &q));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create(dev, &imported));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_create_with_flags(dev, MLU_EVENT_TIMING, &after));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_import_sync_file(imported, sf));
	close(sf);
	EXPECT_EQ(MLU_ERROR_INVALID_ARGUMENT, mlu_event_timestamp_ns(imported, &ts));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_wait_event(q, imported));
	ASSERT_EQ(MLU_SUCCESS, mlu_queue_record_event(q, after));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_wait(after, WAIT_NS));
	ASSERT_EQ(MLU_SUCCESS, mlu_event_timestamp_ns(after, &ts));
	EXPECT_EQ(MLU_SUCCESS, mlu_event_query(imported));

	ASSERT_EQ(sizeof(child_ts), read(sv[0], &child_ts, sizeof(child_ts)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_GT(ts, child_ts);
	mlu_event_destroy(imported);
	mlu_event_destroy(after);
	mlu_queue_destroy(q);
	mlu_device_close(dev);
	close(sv[0]);
	close(sv[1]);
}

TEST(context_status_query)
{
	struct drm_mlu_context_status st;
	struct drm_mlu_dev_query q = { .type = DRM_MLU_DEV_QUERY_CONTEXT_STATUS };
	char big[64];
	struct card c;

	OPEN_CARD_OR_SKIP(&c);
	ASSERT_EQ(0, ioctl_err(c.fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(DRM_MLU_CONTEXT_STATUS_SIZE_V1, q.size);
	q.pointer = (uintptr_t)&st;
	q.size = DRM_MLU_CONTEXT_STATUS_SIZE_V1 - 8;
	EXPECT_EQ(-EINVAL, ioctl_err(c.fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	/* A bigger buffer gets zeros past the kernel's structure. */
	memset(big, 0xaa, sizeof(big));
	q.pointer = (uintptr_t)big;
	q.size = sizeof(big);
	ASSERT_EQ(0, ioctl_err(c.fd, DRM_IOCTL_MLU_DEV_QUERY, &q));
	EXPECT_EQ(0, big[sizeof(big) - 1]);
	ASSERT_EQ(0, context_status(c.fd, &st));
	/* A new file has not been reset or faulted. */
	EXPECT_EQ(0, st.guilty_resets);
	EXPECT_EQ(0, st.innocent_resets);
	EXPECT_EQ(0, st.faults);
	EXPECT_EQ(0, st.pad);
	EXPECT_EQ((long long)st.card_resets, debugfs_read(&c, "reset_count"));
	close(c.fd);
}

/* ---- recovery ----------------------------------------------------------- */

/* The innocent side of a recovery test: copy jobs behind the guilty one. */
#define INNOCENT_JOBS 6

struct innocent {
	int fd;
	uint32_t q, out[INNOCENT_JOBS];
	struct copy_job jobs[INNOCENT_JOBS];
};

static int innocent_submit(const struct card *c, struct innocent *in, uint32_t ring_mask)
{
	unsigned int i;
	int ret;

	in->fd = card_reopen(c);
	if (in->fd < 0)
		return -errno;
	ret = queue_create(in->fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, ring_mask, &in->q);
	for (i = 0; !ret && i < INNOCENT_JOBS; i++) {
		in->out[i] = mlu_syncobj_create(in->fd);
		ret = copy_job_init(in->fd, &in->jobs[i], 16384, 500 + i);
		if (!ret)
			ret = submit_q(in->fd, in->q, &in->jobs[i].pkt, 1,
				       &in->jobs[i].bo.handle, 1, NULL, 0, in->out[i], 0);
	}
	return ret;
}

/* Every innocent job completed without error and copied the right bytes. */
static void innocent_check(struct __test_metadata *_metadata, struct innocent *in)
{
	struct drm_mlu_context_status st;
	unsigned int i;

	ASSERT_EQ(0, drmSyncobjWait(in->fd, in->out, INNOCENT_JOBS, now_ns() + (int64_t)WAIT_NS,
				    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL));
	for (i = 0; i < INNOCENT_JOBS; i++) {
		EXPECT_EQ(1, mlu_fence_status(in->fd, in->out[i])) TH_LOG("innocent job %u", i);
		EXPECT_EQ(0, copy_job_check(&in->jobs[i])) TH_LOG("innocent job %u", i);
	}
	ASSERT_EQ(0, context_status(in->fd, &st));
	EXPECT_EQ(0, st.guilty_resets);
	EXPECT_EQ(0, st.faults);
}

/* The card still runs a job of this file correctly. */
static void next_job_works(struct __test_metadata *_metadata, int fd, uint32_t q)
{
	struct copy_job j;
	uint32_t out = mlu_syncobj_create(fd);

	ASSERT_EQ(0, copy_job_init(fd, &j, 65536, 77));
	ASSERT_EQ(0, submit_q(fd, q, &j.pkt, 1, &j.bo.handle, 1, NULL, 0, out, 0));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out, WAIT_NS));
	EXPECT_EQ(1, mlu_fence_status(fd, out));
	EXPECT_EQ(0, copy_job_check(&j));
}

static bool has_fault_injection(const struct card *c)
{
	return (c->info.capabilities & DRM_MLU_CAP_FAULT_INJECT) &&
	       debugfs_read(c, "reset_count") >= 0;
}

/*
 * Recovery: a card with fault injection, a queue on ring 0 (the ring the
 * injections hit) with its out-syncobj, and the card's resets so far.
 */
FIXTURE(recovery) {
	struct card c;
	long long resets;
	uint32_t q, out;
};

FIXTURE_SETUP(recovery)
{
	self->c.fd = -1;
	OPEN_CARD_OR_SKIP(&self->c);
	if (!has_fault_injection(&self->c))
		SKIP(return, "no fault injection (debugfs or card)");
	self->resets = debugfs_read(&self->c, "reset_count");
	ASSERT_EQ(0, queue_create(self->c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &self->q));
	self->out = mlu_syncobj_create(self->c.fd);
	ASSERT_NE(0, self->out);
}

FIXTURE_TEARDOWN(recovery)
{
	if (self->c.fd >= 0)
		close(self->c.fd);
}

TEST_F(recovery, hang_times_out_resets_ring_and_innocent_jobs_complete)
{
	struct drm_mlu_context_status st;
	struct mlu_pkt_timestamp pkt;
	struct innocent in;
	int64_t t0, took;
	struct card *c = &self->c;
	struct bo ts;

	ASSERT_EQ(0, bo_new(c->fd, 4096, 0, &ts));

	/* Ring 0's next packet hangs: it is the guilty job's. */
	ASSERT_EQ(0, debugfs_write(c, "fi_hang", 1));
	ts_pkt(&pkt, ts.va);
	t0 = now_ns();
	ASSERT_EQ(0, submit_q(c->fd, self->q, &pkt, 1, &ts.handle, 1, NULL, 0, self->out, 0));
	ASSERT_EQ(0, innocent_submit(c, &in, 1));

	ASSERT_EQ(0, mlu_syncobj_wait(c->fd, self->out, WAIT_NS));
	took = now_ns() - t0;
	EXPECT_EQ(-ETIMEDOUT, mlu_fence_status(c->fd, self->out));
	EXPECT_GE(took, (int64_t)c->info.job_timeout_ms * (int64_t)MS * 9 / 10);
	innocent_check(_metadata, &in);

	EXPECT_EQ(self->resets + 1, debugfs_read(c, "reset_count"));
	ASSERT_EQ(0, context_status(c->fd, &st));
	EXPECT_EQ(1, st.guilty_resets);
	EXPECT_EQ(0, st.innocent_resets);
	EXPECT_EQ(self->resets + 1, (long long)st.card_resets);
	ASSERT_EQ(0, context_status(in.fd, &st));
	EXPECT_EQ(1, st.innocent_resets);

	next_job_works(_metadata, c->fd, self->q);
	next_job_works(_metadata, in.fd, in.q);
	close(in.fd);
}

TEST_F(recovery, injected_fault_fails_one_job_and_innocent_jobs_complete)
{
	struct drm_mlu_context_status st;
	struct innocent in;
	struct copy_job j;
	struct card *c = &self->c;

	ASSERT_EQ(0, copy_job_init(c->fd, &j, 4096, 9));

	ASSERT_EQ(0, debugfs_write(c, "fi_fault", 1));
	ASSERT_EQ(0, submit_q(c->fd, self->q, &j.pkt, 1, &j.bo.handle, 1, NULL, 0, self->out, 0));
	ASSERT_EQ(0, innocent_submit(c, &in, 1));
	ASSERT_EQ(0, mlu_syncobj_wait(c->fd, self->out, WAIT_NS));
	EXPECT_EQ(-EFAULT, mlu_fence_status(c->fd, self->out));
	innocent_check(_metadata, &in);

	/* A fault fails the job; nothing is reset. */
	EXPECT_EQ(self->resets, debugfs_read(c, "reset_count"));
	ASSERT_EQ(0, context_status(c->fd, &st));
	EXPECT_EQ(1, st.faults);
	EXPECT_EQ(0, st.guilty_resets);
	next_job_works(_metadata, c->fd, self->q);
	close(in.fd);
}

/*
 * The long job must still run when the error is injected, after the test
 * saw it start: 64 512^3 matmuls take well over 100 ms even on two fast
 * host threads, far longer than a loaded debug guest needs to notice.
 */
#define DEVICE_ERROR_BLOCKER 64

TEST_F(recovery, device_error_fails_running_job_and_innocent_jobs_complete)
{
	struct drm_mlu_context_status st;
	struct mlu_pkt_matmul pkts[DEVICE_ERROR_BLOCKER + 1];
	struct innocent in;
	struct blocker blk;
	uint32_t bos[2];
	int64_t deadline;
	struct card *c = &self->c;
	struct bo ts;

	ASSERT_EQ(0, bo_new(c->fd, 4096, 0, &ts));
	ASSERT_EQ(0, blocker_init(c->fd, &blk, DEVICE_ERROR_BLOCKER));

	/* A long job that tells when it started, the innocent jobs behind it. */
	ts_pkt((void *)&pkts[0], ts.va);
	memcpy(&pkts[1], blk.pkts, DEVICE_ERROR_BLOCKER * sizeof(pkts[0]));
	bos[0] = blk.bo.handle;
	bos[1] = ts.handle;
	ASSERT_EQ(0, submit_q(c->fd, self->q, pkts, DEVICE_ERROR_BLOCKER + 1, bos, 2,
			      NULL, 0, self->out, 0));
	ASSERT_EQ(0, innocent_submit(c, &in, 1));
	deadline = now_ns() + 10000 * (int64_t)MS;
	while (!ts_slot(&ts, 0) && now_ns() < deadline)
		usleep(100);
	ASSERT_NE(0, ts_slot(&ts, 0));
	ASSERT_EQ(0, mlu_fence_status(c->fd, self->out)) TH_LOG("the long job ended too early");

	ASSERT_EQ(0, debugfs_write(c, "fi_device_error", 1));
	ASSERT_EQ(0, mlu_syncobj_wait(c->fd, self->out, WAIT_NS));
	EXPECT_EQ(-EIO, mlu_fence_status(c->fd, self->out));
	innocent_check(_metadata, &in);

	EXPECT_EQ(self->resets + 1, debugfs_read(c, "reset_count"));
	ASSERT_EQ(0, context_status(c->fd, &st));
	EXPECT_EQ(1, st.guilty_resets);
	ASSERT_EQ(0, context_status(in.fd, &st));
	EXPECT_EQ(1, st.innocent_resets);
	next_job_works(_metadata, c->fd, self->q);
	next_job_works(_metadata, in.fd, in.q);
	close(in.fd);
}

/* ---- processes ---------------------------------------------------------- */

/* The card's job counters in sysfs. */
struct job_counts {
	long long submitted, completed, failed;
};

static int job_counts_read(int minor, struct job_counts *j)
{
	j->submitted = mlu_card_sysfs_num(minor, "jobs_submitted");
	j->completed = mlu_card_sysfs_num(minor, "jobs_completed");
	j->failed = mlu_card_sysfs_num(minor, "jobs_failed");
	return j->submitted < 0 || j->completed < 0 || j->failed < 0 ? -1 : 0;
}

/* Device memory a child takes, and gets back when the child dies. */
#define CHILD_DEVMEM (64ull << 20)
#define KILL_JOBS 40

/*
 * The child streams long jobs on a queue, each with its own binary syncobj
 * that it shares with the parent as a syncobj fd, and holds device memory.
 * The parent SIGKILLs it mid-stream: every fence still signals (jobs on the
 * card complete, the others with -ESRCH, none is left pending), sysfs
 * counts each job once (completed or failed), the card works and the
 * device memory is free again.
 */
TEST(killed_process_releases_everything_and_signals_its_fences)
{
	int sv[2], status, i, done = 0, killed = 0;
	uint32_t syncobjs[KILL_JOBS];
	struct job_counts before, after;
	int64_t deadline;
	struct card c;
	pid_t pid;

	OPEN_CARD_OR_SKIP(&c);
	/* Jobs of earlier tests may still be letting go of their BOs. */
	ASSERT_DEVMEM_FREE_SETTLES(c.fd, c.info.devmem_size);
	ASSERT_EQ(0, job_counts_read(c.minor, &before));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct blocker blk;
		uint32_t q, out, dm;
		int fd = mlu_open_card(0), sfd;

		if (fd < 0 || queue_create(fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &q) ||
		    blocker_init(fd, &blk, 16))
			_exit(10);
		if ((c.info.capabilities & DRM_MLU_CAP_BO_DEVMEM) &&
		    mlu_bo_create(fd, CHILD_DEVMEM, DRM_MLU_BO_DEVMEM, &dm, NULL))
			_exit(11);
		for (i = 0; i < KILL_JOBS; i++) {
			out = mlu_syncobj_create(fd);
			if (!out || submit_q(fd, q, blk.pkts, blk.n, &blk.bo.handle, 1, NULL, 0,
					     out, 0))
				_exit(12);
			if (drmSyncobjHandleToFD(fd, out, &sfd) || mlu_send_fd(sv[1], sfd))
				_exit(13);
			close(sfd);
		}
		pause();
		_exit(14);
	}
	for (i = 0; i < KILL_JOBS; i++) {
		int sfd = mlu_recv_fd(sv[0]);

		ASSERT_GE(sfd, 0);
		ASSERT_EQ(0, drmSyncobjFDToHandle(c.fd, sfd, &syncobjs[i]));
		close(sfd);
	}
	/* Let the stream get going: the first job completes. */
	ASSERT_EQ(0, mlu_syncobj_wait(c.fd, syncobjs[0], WAIT_NS));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));

	/* Every fence of the dead process signals, none stays pending. */
	ASSERT_EQ(0, drmSyncobjWait(c.fd, syncobjs, KILL_JOBS, now_ns() + (int64_t)WAIT_NS,
				    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL));
	for (i = 0; i < KILL_JOBS; i++) {
		int s = mlu_fence_status(c.fd, syncobjs[i]);

		EXPECT_TRUE(s == 1 || s == -ESRCH) TH_LOG("job %d: %d", i, s);
		done += s == 1;
		killed += s == -ESRCH;
	}
	TH_LOG("%d jobs completed, %d killed", done, killed);
	EXPECT_GE(done, 1);
	EXPECT_GE(killed, 1) TH_LOG("the child was killed after its last job reached the card");

	/*
	 * sysfs counts each job once: completed, or failed, which includes
	 * the jobs dropped unrun (accounted when the scheduler frees them,
	 * possibly just after their fence signalled).
	 */
	deadline = now_ns() + MLU_DEVMEM_SETTLE_MS * (int64_t)MS;
	do {
		ASSERT_EQ(0, job_counts_read(c.minor, &after));
		if (after.completed + after.failed - before.completed - before.failed >= KILL_JOBS)
			break;
		usleep(5000);
	} while (now_ns() < deadline);
	EXPECT_EQ(before.submitted + KILL_JOBS, after.submitted);
	EXPECT_EQ(before.completed + done, after.completed);
	EXPECT_EQ(before.failed + killed, after.failed);
	EXPECT_EQ(after.submitted - before.submitted,
		  after.completed + after.failed - before.completed - before.failed);

	/* The card works and the child's device memory is free again. */
	{
		uint32_t q;

		ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 1, &q));
		next_job_works(_metadata, c.fd, q);
	}
	EXPECT_DEVMEM_FREE_SETTLES(c.fd, c.info.devmem_size);
	close(sv[0]);
	close(sv[1]);
	close(c.fd);
}

/* ---- usage -------------------------------------------------------------- */

TEST(fdinfo_engine_time_counts_this_client_only)
{
	struct mlu_pkt_matmul pkts[8];
	struct blocker blk;
	long long before, after, other_before;
	uint32_t q, out;
	struct card c;
	int other;

	OPEN_CARD_OR_SKIP(&c);
	other = card_reopen(&c);
	ASSERT_GE(other, 0);
	before = fdinfo_engine_ns(c.fd, c.info.num_queues);
	other_before = fdinfo_engine_ns(other, c.info.num_queues);
	ASSERT_EQ(0, before);
	ASSERT_EQ(0, other_before);

	ASSERT_EQ(0, queue_create(c.fd, DRM_MLU_QUEUE_PRIORITY_NORMAL, 0, &q));
	ASSERT_EQ(0, blocker_init(c.fd, &blk, 8));
	memcpy(pkts, blk.pkts, sizeof(pkts));
	out = mlu_syncobj_create(c.fd);
	ASSERT_EQ(0, submit_q(c.fd, q, pkts, 8, &blk.bo.handle, 1, NULL, 0, out, 0));
	ASSERT_EQ(0, mlu_syncobj_wait(c.fd, out, WAIT_NS));
	after = fdinfo_engine_ns(c.fd, c.info.num_queues);
	/* Eight 512^3 matmuls take well over a millisecond of device time. */
	EXPECT_GT(after, 1000000);
	EXPECT_EQ(0, fdinfo_engine_ns(other, c.info.num_queues));
	close(other);
	close(c.fd);
}

/* ---- stress ------------------------------------------------------------- */

#define STRESS_PROCS 3
#define STRESS_QUEUES 3
#define STRESS_ROUNDS 24

/* One process: STRESS_QUEUES queues of mixed priority, every copy verified. */
static int stress_child(unsigned int proc)
{
	static const uint32_t prio[STRESS_QUEUES] = {
		DRM_MLU_QUEUE_PRIORITY_LOW, DRM_MLU_QUEUE_PRIORITY_NORMAL,
		DRM_MLU_QUEUE_PRIORITY_HIGH,
	};
	struct copy_job *jobs = calloc(STRESS_QUEUES * STRESS_ROUNDS, sizeof(*jobs));
	uint32_t out[STRESS_QUEUES * STRESS_ROUNDS];
	uint32_t q[STRESS_QUEUES], tl[STRESS_QUEUES];
	unsigned int i, r, bad = 0;
	int fd = mlu_open_card(0);

	if (fd < 0 || !jobs)
		return 100;
	for (i = 0; i < STRESS_QUEUES; i++) {
		if (queue_create(fd, prio[i], 0, &q[i]))
			return 101;
		tl[i] = mlu_syncobj_create(fd);
	}
	for (r = 0; r < STRESS_ROUNDS; r++) {
		for (i = 0; i < STRESS_QUEUES; i++) {
			unsigned int n = r * STRESS_QUEUES + i;
			struct copy_job *j = &jobs[n];
			struct drm_mlu_sync in = { .handle = tl[i], .point = r };

			/* Each job also waits for its predecessor's point. */
			out[n] = mlu_syncobj_create(fd);
			if (!out[n] ||
			    copy_job_init(fd, j, 4096 << (r % 4), proc * 1000 + r * 10 + i) ||
			    submit_q(fd, q[i], &j->pkt, 1, &j->bo.handle, 1, &in, r ? 1 : 0,
				     out[n], 0))
				return 102;
			/* The timeline gets the job's point through a copy of its fence. */
			if (drmSyncobjTransfer(fd, tl[i], r + 1, out[n], 0, 0))
				return 105;
		}
	}
	for (i = 0; i < STRESS_QUEUES; i++) {
		if (wait_point(fd, tl[i], STRESS_ROUNDS, WAIT_NS))
			return 103;
		for (r = 0; r < STRESS_ROUNDS; r++)
			if (mlu_fence_status(fd, out[r * STRESS_QUEUES + i]) != 1 ||
			    copy_job_check(&jobs[r * STRESS_QUEUES + i]))
				bad++;
		if (queue_destroy(fd, q[i]))
			return 104;
	}
	close(fd);
	return bad ? 1 : 0;
}

TEST(stress_processes_by_queues_all_results_verified)
{
	pid_t pids[STRESS_PROCS];
	unsigned int i;
	int status;
	struct card c;

	OPEN_CARD_OR_SKIP(&c);
	close(c.fd);
	for (i = 0; i < STRESS_PROCS; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0)
			_exit(stress_child(i));
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %u", i);
	}
}

TEST_HARNESS_MAIN
