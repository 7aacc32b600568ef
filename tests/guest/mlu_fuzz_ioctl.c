// SPDX-License-Identifier: MIT
/*
 * ioctl fuzzer of the mlu driver: structured random calls of every driver
 * ioctl and of the generic DRM ones it supports (GEM close, syncobj, PRIME,
 * mmap), built from the UAPI structures with boundary values, valid,
 * foreign, stale and random handles and bad pointers, from several threads
 * of several processes that the parent SIGKILLs at random.  Every call must
 * return success or an errno the UAPI documents for it; afterwards the card
 * must still compute a matmul that matches the reference.
 *
 * Usage: mlu_fuzz_ioctl [--seed N] [--calls N] [--procs N] [--threads N]
 *                       [--huge-counts 0|1]
 * Without options the values come from /etc/mlu/fuzz.conf (lines
 * "calls N", "seed N", "huge_counts 0|1"), else a seed from the clock,
 * 10000 calls and no huge counts (see syncobj_count()).  The run is
 * reproducible from its seed up to thread scheduling.  Prints TAP and a
 * "# fuzz-calls: N" comment for the host runner.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <dirent.h>

#include "mlu_guest.h"
#include "mlu_reliability.h"

#define MAX_PROCS	8
#define MAX_THREADS	8
#define POOL		32	/* handles remembered per kind and file */
#define MAX_ERRNO	160
#define HUGE_COUNT	(1u << 20)	/* syncobj handles; see syncobj_count() */

/* State shared by every process (MAP_SHARED). */
struct shared {
	atomic_ulong calls;
	unsigned long budget;
	/* Calls per ioctl kind that returned an errno not in its documented set. */
	atomic_ulong bad[16];
	atomic_int bad_errno[16];
	atomic_ulong signals;	/* workers that died of a signal we did not send */
	atomic_ulong per_op[16], per_op_ok[16];
	bool huge_counts;	/* syncobj counts above HUGE_COUNT too */
	atomic_ulong huge_calls;
};

enum op {
	OP_DEV_QUERY, OP_BO_CREATE, OP_BO_INFO, OP_SUBMIT, OP_GEM_CLOSE,
	OP_SYNCOBJ_CREATE, OP_SYNCOBJ_DESTROY, OP_SYNCOBJ_WAIT, OP_SYNCOBJ_TL_WAIT,
	OP_SYNCOBJ_QUERY, OP_SYNCOBJ_TRANSFER, OP_SYNCOBJ_SIGNAL, OP_SYNCOBJ_RESET,
	OP_PRIME_EXPORT, OP_PRIME_IMPORT, OP_MMAP, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"DEV_QUERY", "BO_CREATE", "BO_INFO", "SUBMIT", "GEM_CLOSE",
	"SYNCOBJ_CREATE", "SYNCOBJ_DESTROY", "SYNCOBJ_WAIT", "SYNCOBJ_TIMELINE_WAIT",
	"SYNCOBJ_QUERY", "SYNCOBJ_TRANSFER", "SYNCOBJ_SIGNAL", "SYNCOBJ_RESET",
	"PRIME_HANDLE_TO_FD", "PRIME_FD_TO_HANDLE", "mmap",
};

/*
 * Errnos each call may return.  EFAULT, EINVAL, ENOENT, ENOMEM and ENODEV
 * are common to all; ETIME for waits (and TRANSFER, which may wait for
 * submission); EBUSY never.  EINTR/EAGAIN: drmIoctl
 * style restarts are not used, the fuzzer takes them as documented.
 */
static bool errno_allowed(enum op op, int err)
{
	switch (err) {
	case 0: case EFAULT: case EINVAL: case ENOENT: case ENOMEM: case ENODEV:
	case EINTR: case EAGAIN:
		return true;
	case E2BIG:
		return op == OP_BO_CREATE || op == OP_SUBMIT;
	case EOPNOTSUPP:
		return op == OP_BO_CREATE || op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT ||
		       op == OP_SYNCOBJ_CREATE || op == OP_SYNCOBJ_WAIT ||
		       op == OP_SYNCOBJ_TL_WAIT || op == OP_SYNCOBJ_QUERY ||
		       op == OP_SYNCOBJ_TRANSFER || op == OP_SYNCOBJ_SIGNAL ||
		       op == OP_SYNCOBJ_RESET;
	case ETIME:
		/* TRANSFER with WAIT_FOR_SUBMIT waits up to 5 s for a fence. */
		return op == OP_SYNCOBJ_WAIT || op == OP_SYNCOBJ_TL_WAIT ||
		       op == OP_SYNCOBJ_TRANSFER;
	case EBADF: case ENOSPC: case EMFILE:
		return op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT;
	case EACCES: case ENOSYS: case EPERM: case ENXIO: case EOVERFLOW:
		return op == OP_MMAP;
	case ENOTTY:	/* generic syncobj ioctls on a driver without the feature */
		return false;
	}
	return false;
}

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: good enough and seedable per thread. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static bool chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

/* A boundary value or a random one, for a field of the given width. */
static uint64_t edge(struct rng *r, unsigned int bits)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 8, 63, 64, 127, 128, 4095, 4096, 4097, 8192, 65536,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
		0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
		0xfffffffffffff000ull,
	};
	uint64_t x = chance(r, 70) ? v[below(r, sizeof(v) / sizeof(v[0]))] : rnd(r);

	if (chance(r, 10))
		x = -x;
	return bits >= 64 ? x : x & ((1ull << bits) - 1);
}

/* A file of the card and what the fuzzer knows about it. */
struct file {
	int fd;
	struct drm_mlu_device_info info;
	pthread_mutex_t lock;
	uint32_t bos[POOL], syncs[POOL], stale[POOL];
	uint64_t bo_va[POOL], bo_size[POOL];
};

struct worker {
	struct shared *sh;
	struct file *files;	/* two files of card 0: one is the other's "foreign" */
	uint64_t seed;
	/* Pages for bad pointers: one unmapped, one read-only. */
	void *unmapped, *read_only;
};

static void remember(uint32_t *pool, uint32_t h, struct rng *r)
{
	pool[below(r, POOL)] = h;
}

/* Random handle: valid, foreign, stale, or a boundary value. */
static uint32_t pick_handle(struct rng *r, struct file *f, struct file *other, const uint32_t *pool,
			    size_t other_off)
{
	const uint32_t *other_pool = (const uint32_t *)((const char *)other + other_off);

	switch (below(r, 10)) {
	case 0: case 1: case 2: case 3: case 4:
		return pool[below(r, POOL)];
	case 5:
		return other_pool[below(r, POOL)];
	case 6:
		return f->stale[below(r, POOL)];
	case 7:
		return (uint32_t)below(r, 64);
	default:
		return (uint32_t)edge(r, 32);
	}
}

#define BO_HANDLE(r, f, o)	pick_handle(r, f, o, (f)->bos, offsetof(struct file, bos))
#define SYNC_HANDLE(r, f, o)	pick_handle(r, f, o, (f)->syncs, offsetof(struct file, syncs))

/* A user pointer: usually the good one, sometimes a bad one. */
static uint64_t pick_ptr(struct rng *r, struct worker *w, void *good, unsigned int bad_percent)
{
	if (!chance(r, bad_percent))
		return (uintptr_t)good;
	switch (below(r, 7)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)w->unmapped;
	case 2:
		return 0xffff888000000000ull + below(r, 1ull << 30);	/* kernel direct map */
	case 3:
		return (uintptr_t)good + 1;				/* misaligned */
	case 4:
		return (uintptr_t)w->read_only;
	case 5:
		return 0x00007ffffffff000ull;				/* top of user space */
	default:
		return edge(r, 64);
	}
}

/*
 * Handle count of a generic syncobj ioctl.  Linux 6.12's DRM core sizes its
 * arrays by the count with kmalloc_array() and no __GFP_NOWARN, so a count
 * above what the page allocator can serve (about 1M handles) makes it WARN:
 * a core issue, not this driver's.  Such counts are fuzzed only with
 * huge_counts, on the debug kernel, which carries the fix
 * (scripts/debug-kernel/patches/); elsewhere counts stay below HUGE_COUNT.
 */
static uint32_t syncobj_count(struct rng *r, struct worker *w, unsigned int n)
{
	uint32_t count;

	if (chance(r, 95))
		return n;
	count = edge(r, 32);
	if (!w->sh->huge_counts)
		return count % HUGE_COUNT;
	if (count >= HUGE_COUNT)
		atomic_fetch_add(&w->sh->huge_calls, 1);
	return count;
}

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* A packet: valid copy/matmul inside a BO, random addresses, or mutated. */
static void make_packet(struct rng *r, struct file *f, void *pkt)
{
	unsigned int i = below(r, POOL);
	uint64_t va = f->bo_va[i], size = f->bo_size[i];
	struct mlu_matmul_desc d = { .dtype = MLU_CORE_F32, .alpha = 1.0f };
	uint8_t *b = pkt;

	if (!size) {
		va = f->info.va_start + below(r, 1 << 20);
		size = 4096;
	}
	switch (below(r, 5)) {
	case 0:
		mlu_pkt_copy_init(pkt, va + size / 2, va, size / 2);
		break;
	case 1:
		d.m = d.n = d.k = d.lda = d.ldb = d.ldc = 4;
		mlu_pkt_matmul_init(pkt, &d, va, va + 64, va + 128, 0);
		break;
	case 2:
		mlu_pkt_copy_init(pkt, edge(r, 64), f->info.va_start + below(r, 1 << 24),
				  below(r, 1 << 16));
		break;
	case 3:
		memset(pkt, 0, MLU_PKT_SIZE);
		b[0] = below(r, 8);	/* every opcode, FENCE and unknown ones too */
		break;
	default:
		d.m = 1 + below(r, 16);
		d.n = 1 + below(r, 16);
		d.k = 1 + below(r, 16);
		d.lda = d.k;
		d.ldb = d.ldc = d.n;
		mlu_pkt_matmul_init(pkt, &d, va, va + size / 4, va + size / 2, 0);
		break;
	}
	/* Mutate a few bytes, header included. */
	while (chance(r, 40))
		b[below(r, MLU_PKT_SIZE)] = (uint8_t)rnd(r);
}

static int fuzz_submit(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	uint8_t packets[8][MLU_PKT_SIZE] __attribute__((aligned(8)));
	uint32_t bos[8];
	struct drm_mlu_sync syncs[4];
	struct drm_mlu_submit s = { 0 };
	unsigned int i, np = below(r, 4), nb = below(r, 5), ns = below(r, 3);
	/* Half the submits get everything but the packets right, to reach the jobs. */
	bool sane = chance(r, 50);

	for (i = 0; i < np; i++)
		make_packet(r, f, packets[i]);
	for (i = 0; i < nb; i++)
		bos[i] = sane ? f->bos[below(r, POOL)] : BO_HANDLE(r, f, o);
	memset(syncs, 0, sizeof(syncs));
	for (i = 0; i < ns; i++) {
		syncs[i].handle = SYNC_HANDLE(r, f, o);
		if (chance(r, 10))
			syncs[i].flags = edge(r, 32);
		if (chance(r, 20))
			syncs[i].point = edge(r, 64);
	}
	if (sane) {
		for (i = 0; i < nb; i++)
			if (!bos[i])
				nb = i;
		ns = 0;
	}
	s.packets = pick_ptr(r, w, packets, 5);
	s.packet_count = chance(r, 90) ? np : edge(r, 32);
	s.queue = chance(r, 85) ? below(r, f->info.num_queues ? f->info.num_queues : 1) :
				  edge(r, 32);
	s.bo_handles = pick_ptr(r, w, bos, 5);
	s.bo_handle_count = chance(r, 90) ? nb : edge(r, 32);
	s.in_syncs = pick_ptr(r, w, syncs, 5);
	s.in_sync_count = chance(r, 90) ? ns : edge(r, 32);
	s.in_sync_stride = chance(r, 80) ? sizeof(struct drm_mlu_sync) : edge(r, 32);
	s.out_sync = chance(r, 70) ? SYNC_HANDLE(r, f, o) : 0;
	if (chance(r, 10))
		s.out_sync_point = edge(r, 64);
	if (chance(r, 5))
		s.flags = edge(r, 32);
	if (chance(r, 5))
		s.pad = edge(r, 32);
	if (sane) {
		s = (struct drm_mlu_submit){
			.packets = (uintptr_t)packets,
			.packet_count = np,
			.queue = below(r, f->info.num_queues ? f->info.num_queues : 1),
			.bo_handles = (uintptr_t)bos,
			.bo_handle_count = nb,
			.out_sync = f->syncs[below(r, POOL)],
		};
	}
	return do_ioctl(f->fd, DRM_IOCTL_MLU_SUBMIT, &s);
}

static int fuzz_mmap(struct rng *r, struct file *f, struct file *o)
{
	struct drm_mlu_bo_info info = { .handle = BO_HANDLE(r, f, o) };
	uint64_t size, off;
	int err = do_ioctl(f->fd, DRM_IOCTL_MLU_BO_INFO, &info);
	volatile uint8_t *p;

	if (err)
		return err;
	size = chance(r, 80) ? info.size : edge(r, 40);
	off = chance(r, 80) ? info.mmap_offset : info.mmap_offset + edge(r, 32);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, chance(r, 90) ? f->fd : o->fd,
		 off);
	if (p == MAP_FAILED)
		return errno;
	if (size <= info.size && off == info.mmap_offset) {
		p[0] = (uint8_t)rnd(r);
		(void)p[size - 1];
	}
	munmap((void *)p, size);
	return 0;
}

static int fuzz_syncobj_wait(struct rng *r, struct worker *w, struct file *f, struct file *o,
			     bool timeline)
{
	uint32_t handles[4];
	uint64_t points[4];
	struct timespec now;
	int64_t now_ns, deadline;
	unsigned int i, n = below(r, 5);

	for (i = 0; i < 4; i++) {
		handles[i] = SYNC_HANDLE(r, f, o);
		points[i] = chance(r, 70) ? below(r, 4) : edge(r, 64);
	}
	/*
	 * Absolute timeouts a few ms ahead, in the past, or boundary values,
	 * but never far ahead: WAIT_FOR_SUBMIT on a syncobj no job signals
	 * rightly waits until the timeout.
	 */
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	deadline = now_ns + (int64_t)below(r, 5) * MS;
	if (chance(r, 10)) {
		deadline = (int64_t)edge(r, 64);
		if (deadline > now_ns + 10 * (int64_t)MS)
			deadline = now_ns;
	}
	if (timeline) {
		struct drm_syncobj_timeline_wait tw = {
			.handles = pick_ptr(r, w, handles, 5),
			.points = pick_ptr(r, w, points, 5),
			.timeout_nsec = deadline,
			.count_handles = syncobj_count(r, w, n),
			.flags = chance(r, 80) ? below(r, 16) : edge(r, 32),
		};

		return do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw);
	} else {
		struct drm_syncobj_wait sw = {
			.handles = pick_ptr(r, w, handles, 5),
			.timeout_nsec = deadline,
			.count_handles = syncobj_count(r, w, n),
			.flags = chance(r, 80) ? below(r, 8) : edge(r, 32),
		};

		return do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_WAIT, &sw);
	}
}

static int fuzz_syncobj_array(struct rng *r, struct worker *w, struct file *f, struct file *o,
			      enum op op)
{
	uint32_t handles[4];
	uint64_t points[4];
	unsigned int i, n = below(r, 5);
	struct drm_syncobj_timeline_array ta;
	struct drm_syncobj_array a;

	for (i = 0; i < 4; i++) {
		handles[i] = SYNC_HANDLE(r, f, o);
		points[i] = chance(r, 70) ? below(r, 8) : edge(r, 64);
	}
	if (op == OP_SYNCOBJ_RESET || (op == OP_SYNCOBJ_SIGNAL && chance(r, 50))) {
		a = (struct drm_syncobj_array){
			.handles = pick_ptr(r, w, handles, 5),
			.count_handles = syncobj_count(r, w, n),
			.pad = chance(r, 95) ? 0 : edge(r, 32),
		};
		return do_ioctl(f->fd, op == OP_SYNCOBJ_RESET ? DRM_IOCTL_SYNCOBJ_RESET :
				DRM_IOCTL_SYNCOBJ_SIGNAL, &a);
	}
	ta = (struct drm_syncobj_timeline_array){
		.handles = pick_ptr(r, w, handles, 5),
		.points = pick_ptr(r, w, points, 8),
		.count_handles = syncobj_count(r, w, n),
		.flags = chance(r, 90) ? 0 : edge(r, 32),
	};
	return do_ioctl(f->fd, op == OP_SYNCOBJ_QUERY ? DRM_IOCTL_SYNCOBJ_QUERY :
			DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &ta);
}

/* One random call; returns the errno it gave (0 on success). */
static int fuzz_one(struct rng *r, struct worker *w, enum op op)
{
	unsigned int which = below(r, 2);
	struct file *f = &w->files[which], *o = &w->files[!which];
	int err;

	switch (op) {
	case OP_DEV_QUERY: {
		uint8_t buf[4096 + 64];
		struct drm_mlu_dev_query q = {
			.type = chance(r, 85) ? DRM_MLU_DEV_QUERY_DEVICE_INFO : edge(r, 32),
			.size = chance(r, 50) ? sizeof(struct drm_mlu_device_info) : edge(r, 13),
			.pointer = chance(r, 10) ? 0 : pick_ptr(r, w, buf, 20),
			.pad = chance(r, 95) ? 0 : edge(r, 64),
		};

		if (chance(r, 3))	/* the argument itself is a bad pointer */
			return do_ioctl(f->fd, DRM_IOCTL_MLU_DEV_QUERY,
					(void *)(uintptr_t)pick_ptr(r, w, &q, 100));
		return do_ioctl(f->fd, DRM_IOCTL_MLU_DEV_QUERY, &q);
	}
	case OP_BO_CREATE: {
		struct drm_mlu_bo_create c = {
			.size = chance(r, 80) ? 1 + below(r, 64 << 10) : edge(r, 64),
			.flags = chance(r, 85) ? below(r, 4) : edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_MLU_BO_CREATE, &c);
		if (!err) {
			unsigned int i = below(r, POOL);

			pthread_mutex_lock(&f->lock);
			/* Keep the pool bounded: close what the slot held. */
			if (f->bos[i]) {
				struct drm_gem_close gc = { .handle = f->bos[i] };

				ioctl(f->fd, DRM_IOCTL_GEM_CLOSE, &gc);
				f->stale[below(r, POOL)] = f->bos[i];
			}
			f->bos[i] = c.handle;
			f->bo_va[i] = c.device_va;
			f->bo_size[i] = c.size;
			pthread_mutex_unlock(&f->lock);
		}
		return err;
	}
	case OP_BO_INFO: {
		struct drm_mlu_bo_info info = {
			.handle = BO_HANDLE(r, f, o),
			.pad = chance(r, 95) ? 0 : edge(r, 64),
		};

		return do_ioctl(f->fd, DRM_IOCTL_MLU_BO_INFO,
				chance(r, 3) ? (void *)(uintptr_t)pick_ptr(r, w, &info, 100) :
					       (void *)&info);
	}
	case OP_SUBMIT:
		return fuzz_submit(r, w, f, o);
	case OP_GEM_CLOSE: {
		struct drm_gem_close gc = { .handle = BO_HANDLE(r, f, o) };

		if (chance(r, 5))
			gc.pad = edge(r, 32);
		err = do_ioctl(f->fd, DRM_IOCTL_GEM_CLOSE, &gc);
		if (!err)
			remember(f->stale, gc.handle, r);
		return err;
	}
	case OP_SYNCOBJ_CREATE: {
		struct drm_syncobj_create c = {
			.flags = chance(r, 80) ? below(r, 2) * DRM_SYNCOBJ_CREATE_SIGNALED :
						 edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);
		if (!err) {
			unsigned int i = below(r, POOL);

			pthread_mutex_lock(&f->lock);
			if (f->syncs[i]) {
				struct drm_syncobj_destroy d = { .handle = f->syncs[i] };

				ioctl(f->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
			}
			f->syncs[i] = c.handle;
			pthread_mutex_unlock(&f->lock);
		}
		return err;
	}
	case OP_SYNCOBJ_DESTROY: {
		struct drm_syncobj_destroy d = {
			.handle = SYNC_HANDLE(r, f, o),
			.pad = chance(r, 95) ? 0 : edge(r, 32),
		};

		return do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
	}
	case OP_SYNCOBJ_WAIT:
	case OP_SYNCOBJ_TL_WAIT:
		return fuzz_syncobj_wait(r, w, f, o, op == OP_SYNCOBJ_TL_WAIT);
	case OP_SYNCOBJ_TRANSFER: {
		struct drm_syncobj_transfer t = {
			.src_handle = SYNC_HANDLE(r, f, o),
			.dst_handle = SYNC_HANDLE(r, f, o),
			.src_point = chance(r, 60) ? below(r, 4) : edge(r, 64),
			.dst_point = chance(r, 60) ? below(r, 4) : edge(r, 64),
			.flags = chance(r, 90) ? 0 : edge(r, 32),
			.pad = chance(r, 95) ? 0 : edge(r, 32),
		};

		return do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_TRANSFER, &t);
	}
	case OP_SYNCOBJ_QUERY:
	case OP_SYNCOBJ_SIGNAL:
	case OP_SYNCOBJ_RESET:
		return fuzz_syncobj_array(r, w, f, o, op);
	case OP_PRIME_EXPORT: {
		struct drm_prime_handle p = {
			.handle = BO_HANDLE(r, f, o),
			.flags = chance(r, 80) ? (chance(r, 50) ? DRM_CLOEXEC | DRM_RDWR : 0) :
						 edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
		if (!err) {
			/* Import into the other file: a foreign BO gets a local handle. */
			struct drm_prime_handle imp = { .fd = p.fd };

			if (!ioctl(o->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp)) {
				pthread_mutex_lock(&o->lock);
				remember(o->bos, imp.handle, r);
				pthread_mutex_unlock(&o->lock);
			}
			close(p.fd);
		}
		return err;
	}
	case OP_PRIME_IMPORT: {
		int fds[] = { -1, 0, 1, 2, f->fd, o->fd, 1 << 20, (int)edge(r, 32) };
		struct drm_prime_handle p = {
			.fd = fds[below(r, sizeof(fds) / sizeof(fds[0]))],
			.flags = chance(r, 90) ? 0 : edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
		if (!err)
			remember(f->bos, p.handle, r);
		return err;
	}
	case OP_MMAP:
		return fuzz_mmap(r, f, o);
	case OP_COUNT:
		break;
	}
	return EINVAL;
}

static void note_result(struct shared *sh, enum op op, int err)
{
	atomic_fetch_add(&sh->calls, 1);
	atomic_fetch_add(&sh->per_op[op], 1);
	if (!err)
		atomic_fetch_add(&sh->per_op_ok[op], 1);
	if (!errno_allowed(op, err)) {
		atomic_fetch_add(&sh->bad[op], 1);
		atomic_store(&sh->bad_errno[op], err);
	}
}

struct thread_arg {
	struct worker *w;
	uint64_t seed;
};

static void *fuzz_thread(void *p)
{
	struct thread_arg *ta = p;
	struct worker *w = ta->w;
	struct rng r = { ta->seed };

	while (atomic_load(&w->sh->calls) < w->sh->budget) {
		enum op op = below(&r, OP_COUNT);

		note_result(w->sh, op, fuzz_one(&r, w, op));
	}
	return NULL;
}

static int open_file(struct file *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->fd = mlu_open_card(0);
	if (f->fd < 0)
		return -errno;
	return mlu_query_info(f->fd, &f->info);
}

/* A worker process: two files of card 0, threads fuzzing them. */
static int worker_main(struct shared *sh, uint64_t seed, int threads)
{
	pthread_t tid[MAX_THREADS];
	struct thread_arg args[MAX_THREADS];
	struct file files[2];
	struct worker w = { .sh = sh, .files = files, .seed = seed };
	long page = sysconf(_SC_PAGESIZE);
	int i;

	if (open_file(&files[0]) || open_file(&files[1]))
		return 2;
	w.unmapped = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(w.unmapped, page);
	w.read_only = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < threads; i++) {
		args[i] = (struct thread_arg){ .w = &w, .seed = seed * 1000003 + i };
		pthread_create(&tid[i], NULL, fuzz_thread, &args[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

static void print_file(const char *pid, const char *tid, const char *name)
{
	char path[600], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/%s", pid, tid, name);
	f = fopen(path, "r");
	printf("# task %s/%s %s:\n", pid, tid, name);
	while (f && fgets(line, sizeof(line), f))
		printf("#   %s", line);
	if (f)
		fclose(f);
}

/* Kernel stacks of every thread of every fuzzer process, as TAP comments. */
static void dump_stacks(void)
{
	DIR *proc = opendir("/proc"), *tasks;
	struct dirent *p, *t;
	char path[600], line[256];
	FILE *f;

	while (proc && (p = readdir(proc))) {
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f) || strncmp(line, "mlu_fuzz_ioctl", 14)) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		while (tasks && (t = readdir(tasks))) {
			if (t->d_name[0] == '.')
				continue;
			print_file(p->d_name, t->d_name, "syscall");
			print_file(p->d_name, t->d_name, "stack");
		}
		if (tasks)
			closedir(tasks);
	}
	if (proc)
		closedir(proc);
	fflush(stdout);
}

#define STALL_S 30

/*
 * A call that never returns is the worst failure: if no call completes for
 * STALL_S seconds, print every fuzzer thread's kernel stack, ask the kernel
 * for its blocked tasks (sysrq w) and end the run as failed.
 */
static void *watchdog(void *p)
{
	struct shared *sh = p;
	unsigned long last = ~0ul;
	int still = 0;
	FILE *f;

	for (;;) {
		unsigned long now = atomic_load(&sh->calls);

		sleep(1);
		still = now == last ? still + 1 : 0;
		last = now;
		if (still < STALL_S)
			continue;
		printf("# no call returned for %d s after %lu calls: stacks follow\n", STALL_S, now);
		dump_stacks();
		f = fopen("/proc/sysrq-trigger", "w");
		if (f) {
			fputs("w", f);
			fclose(f);
		}
		printf("not ok 1 every call returned (a call hung)\n");
		fflush(stdout);
		_exit(1);
	}
	return NULL;
}

static void read_config(unsigned long *calls, uint64_t *seed, bool *huge_counts)
{
	FILE *f = fopen("/etc/mlu/fuzz.conf", "r");
	char key[32];
	unsigned long long v;

	if (!f)
		return;
	while (fscanf(f, "%31s %llu", key, &v) == 2) {
		if (!strcmp(key, "calls"))
			*calls = v;
		else if (!strcmp(key, "seed"))
			*seed = v;
		else if (!strcmp(key, "huge_counts"))
			*huge_counts = v != 0;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	unsigned long calls = 10000;
	uint64_t seed = 0;
	int procs = 3, threads = 3, i, test = 1, cards, killed = 0, spawned = 0, failed = 0;
	pid_t pids[MAX_PROCS];
	struct shared *sh;
	struct rng r;
	char why[160];
	struct timespec t0, t1;
	pthread_t wd;
	bool huge_counts = false;

	read_config(&calls, &seed, &huge_counts);
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--calls"))
			calls = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--procs"))
			procs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--huge-counts"))
			huge_counts = atoi(argv[i + 1]) != 0;
	}
	if (procs < 1 || procs > MAX_PROCS || threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "usage: %s [--seed N] [--calls N] [--procs 1-%d] [--threads 1-%d] "
			"[--huge-counts 0|1]\n", argv[0], MAX_PROCS, MAX_THREADS);
		return 2;
	}
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	r.s = seed;
	printf("TAP version 13\n1..4\n");
	printf("# seed %llu (rerun: mlu_fuzz_ioctl --seed %llu --calls %lu --procs %d --threads %d "
	       "--huge-counts %d)\n", (unsigned long long)seed, (unsigned long long)seed, calls,
	       procs, threads, huge_counts);
	fflush(stdout);

	cards = mlu_count_cards();
	if (cards == 0) {
		for (i = 1; i <= 4; i++)
			printf("ok %d # SKIP no MLU card\n", i);
		return mlu_expected_cards() > 0 ? 1 : 0;
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	sh->budget = calls;
	sh->huge_counts = huge_counts;

	/*
	 * Keep procs workers running until the budget is spent; now and then
	 * SIGKILL one mid-stream (with calls and jobs in flight) and start a
	 * replacement with a fresh seed.
	 */
	pthread_create(&wd, NULL, watchdog, sh);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < procs; i++)
		pids[i] = -1;
	while (atomic_load(&sh->calls) < sh->budget) {
		int status;

		for (i = 0; i < procs; i++) {
			if (pids[i] > 0)
				continue;
			uint64_t wseed = rnd(&r);

			pids[i] = fork();
			if (pids[i] == 0)
				_exit(worker_main(sh, wseed, threads));
			spawned++;
		}
		usleep(20000 + below(&r, 300000));
		if (chance(&r, 50)) {
			i = below(&r, procs);
			if (pids[i] > 0 && !kill(pids[i], SIGKILL)) {
				waitpid(pids[i], &status, 0);
				pids[i] = -1;
				killed++;
			}
		}
		for (i = 0; i < procs; i++) {
			if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				pids[i] = -1;
				if (WIFSIGNALED(status) || WEXITSTATUS(status))
					atomic_fetch_add(&sh->signals, 1);
			}
		}
	}
	for (i = 0; i < procs; i++) {
		int status;

		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    (WIFSIGNALED(status) || WEXITSTATUS(status)))
			atomic_fetch_add(&sh->signals, 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("# %lu calls in %.1f s by %d processes (%d killed with SIGKILL), %d threads each\n",
	       (unsigned long)atomic_load(&sh->calls),
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, spawned, killed,
	       threads);
	printf("# fuzz-calls: %lu\n", (unsigned long)atomic_load(&sh->calls));
	if (huge_counts)
		printf("# %lu syncobj calls with a count of at least %u handles\n",
		       (unsigned long)atomic_load(&sh->huge_calls), HUGE_COUNT);

	for (i = 0; i < OP_COUNT; i++)
		printf("#   %-22s %7lu calls, %7lu succeeded\n", op_names[i],
		       (unsigned long)atomic_load(&sh->per_op[i]),
		       (unsigned long)atomic_load(&sh->per_op_ok[i]));
	for (i = 0; i < OP_COUNT; i++) {
		if (atomic_load(&sh->bad[i])) {
			int e = atomic_load(&sh->bad_errno[i]);

			printf("# %s: %lu calls returned an undocumented errno, last %d (%s)\n",
			       op_names[i], (unsigned long)atomic_load(&sh->bad[i]), e, strerror(e));
			failed = 1;
		}
	}
	printf("%sok %d every call succeeded or returned a documented errno\n",
	       failed ? "not " : "", test++);
	printf("%sok %d no worker died of an unexpected signal or error (%lu did)\n",
	       atomic_load(&sh->signals) ? "not " : "", test++,
	       (unsigned long)atomic_load(&sh->signals));
	failed |= atomic_load(&sh->signals) != 0;

	for (i = 0; i < 2; i++) {
		int ret = i < cards ? mlu_check_matmul(i, (uint32_t)seed + i, why, sizeof(why)) : 0;

		if (i >= cards)
			printf("ok %d card %d matmul after fuzzing # SKIP one card\n", test++, i);
		else
			printf("%sok %d card %d matmul after fuzzing matches the reference%s%s\n",
			       ret ? "not " : "", test++, i, ret ? ": " : "", ret ? why : "");
		failed |= ret != 0;
	}
	return failed;
}
