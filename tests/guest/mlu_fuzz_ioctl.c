// SPDX-License-Identifier: MIT
/*
 * ioctl fuzzer of the mlu driver: structured random calls of every driver
 * ioctl (DEV_QUERY, BO_CREATE, BO_INFO, SUBMIT, QUEUE_CREATE, QUEUE_DESTROY)
 * and of the generic DRM ones it supports (GEM close/flink/open, every
 * syncobj ioctl including sync_file export/import and eventfd, PRIME
 * export/import, version and caps, mmap), built from the UAPI structures
 * with boundary values, valid, foreign (other file, other card), stale and
 * random handles, queue ids and fds, and bad pointers, from several threads
 * of several processes that the parent SIGKILLs at random; half the
 * processes run without CAP_SYS_NICE.  Every call must return success or an
 * errno the UAPI documents for it, and the calls whose outcome is certain
 * whatever the other threads do (a DEV_QUERY's bytes, a high priority queue
 * without CAP_SYS_NICE, an import of a pipe, ...) must have exactly that
 * outcome.  Afterwards every card must still compute a matmul that matches
 * the reference.
 *
 * Usage: mlu_fuzz_ioctl [--seed N] [--calls N] [--procs N] [--threads N]
 *                       [--huge-counts 0|1]
 * Without options the values come from /etc/mlu/fuzz.conf (lines
 * "calls N", "seed N", "huge_counts 0|1", "procs N", "threads N"), else a
 * seed from the clock, 10000 calls, 3 processes of 3 threads and no huge
 * counts (see syncobj_count()).  The run is
 * reproducible from its seed up to thread scheduling.  Prints TAP, the calls
 * and successes per ioctl and a "# fuzz-calls: N" comment for the host
 * runner.
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
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stdarg.h>

#include <linux/capability.h>
#include <linux/sync_file.h>

#include "mlu_guest.h"
#include "mlu_reliability.h"

#define MAX_PROCS	8
#define MAX_THREADS	8
#define MAX_FILES	3	/* two of card 0, one of card 1 */
#define POOL		32	/* handles remembered per kind and file */
#define QUEUE_POOL	4	/* few, so that destroys race other threads' submits */
#define FD_POOL		16	/* exported dma-buf, syncobj and sync_file fds */
#define HUGE_COUNT	(1u << 20)	/* syncobj handles; see syncobj_count() */

/* Linux 6.6's DRM_IOCTL_SYNCOBJ_EVENTFD, which older libdrm headers lack. */
struct fuzz_syncobj_eventfd {
	__u32 handle;
	__u32 flags;
	__u64 point;
	__s32 fd;
	__u32 pad;
};

#define FUZZ_IOCTL_SYNCOBJ_EVENTFD	DRM_IOWR(0xCF, struct fuzz_syncobj_eventfd)

enum op {
	OP_DEV_QUERY, OP_BO_CREATE, OP_BO_INFO, OP_SUBMIT, OP_QUEUE_CREATE, OP_QUEUE_DESTROY,
	OP_GEM_CLOSE, OP_GEM_FLINK, OP_GEM_OPEN,
	OP_SYNCOBJ_CREATE, OP_SYNCOBJ_DESTROY, OP_SYNCOBJ_WAIT, OP_SYNCOBJ_TL_WAIT,
	OP_SYNCOBJ_QUERY, OP_SYNCOBJ_TRANSFER, OP_SYNCOBJ_SIGNAL, OP_SYNCOBJ_TL_SIGNAL,
	OP_SYNCOBJ_RESET, OP_SYNCOBJ_EXPORT, OP_SYNCOBJ_IMPORT, OP_SYNCOBJ_EVENTFD,
	OP_PRIME_EXPORT, OP_PRIME_IMPORT, OP_VERSION, OP_GET_CAP, OP_SET_CLIENT_CAP, OP_MMAP,
	OP_SYNC_FILE, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"DEV_QUERY", "BO_CREATE", "BO_INFO", "SUBMIT", "QUEUE_CREATE", "QUEUE_DESTROY",
	"GEM_CLOSE", "GEM_FLINK", "GEM_OPEN",
	"SYNCOBJ_CREATE", "SYNCOBJ_DESTROY", "SYNCOBJ_WAIT", "SYNCOBJ_TIMELINE_WAIT",
	"SYNCOBJ_QUERY", "SYNCOBJ_TRANSFER", "SYNCOBJ_SIGNAL", "SYNCOBJ_TIMELINE_SIGNAL",
	"SYNCOBJ_RESET", "SYNCOBJ_HANDLE_TO_FD", "SYNCOBJ_FD_TO_HANDLE", "SYNCOBJ_EVENTFD",
	"PRIME_HANDLE_TO_FD", "PRIME_FD_TO_HANDLE", "VERSION", "GET_CAP", "SET_CLIENT_CAP",
	"mmap", "sync_file ioctls",
};

/* State shared by every process (MAP_SHARED). */
struct shared {
	atomic_ulong calls;
	unsigned long budget;
	/* Calls per ioctl kind that returned an errno not in its documented set. */
	atomic_ulong bad[OP_COUNT];
	atomic_int bad_errno[OP_COUNT];
	atomic_ulong signals;	/* workers that died of a signal we did not send */
	atomic_ulong per_op[OP_COUNT], per_op_ok[OP_COUNT];
	bool huge_counts;	/* syncobj counts above HUGE_COUNT too */
	atomic_ulong huge_calls;
	/* Calls whose certain outcome (see expect()) did not happen. */
	atomic_ulong wrong;
	atomic_flag wrong_noted;
	char wrong_first[256];
	atomic_ulong cross_card_imports;	/* dma-bufs of the other card imported */
	atomic_ulong no_nice_workers;		/* workers without CAP_SYS_NICE */
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
		return op == OP_BO_CREATE || op == OP_SUBMIT || op == OP_PRIME_IMPORT;
	case EOPNOTSUPP:
		/* GET_CAP and SET_CLIENT_CAP: caps of modesetting drivers */
		return op == OP_BO_CREATE || op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT ||
		       op == OP_GEM_FLINK || op == OP_GEM_OPEN || op == OP_GET_CAP ||
		       op == OP_SET_CLIENT_CAP || op == OP_SYNC_FILE ||
		       (op >= OP_SYNCOBJ_CREATE && op <= OP_SYNCOBJ_EVENTFD);
	case ETIME:
		/* TRANSFER with WAIT_FOR_SUBMIT waits up to 5 s for a fence. */
		return op == OP_SYNCOBJ_WAIT || op == OP_SYNCOBJ_TL_WAIT ||
		       op == OP_SYNCOBJ_TRANSFER;
	case EACCES:	/* HIGH without CAP_SYS_NICE; flink/open of unauthenticated files */
		return op == OP_QUEUE_CREATE || op == OP_GEM_FLINK || op == OP_GEM_OPEN ||
		       op == OP_MMAP || op == OP_SYNC_FILE;
	case ENOSPC:
		return op == OP_QUEUE_CREATE || op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT;
	case EBADF:
		return op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT || op == OP_SYNCOBJ_IMPORT ||
		       op == OP_SYNCOBJ_EVENTFD || op == OP_MMAP || op == OP_SYNC_FILE;
	case EMFILE:
		return op == OP_PRIME_EXPORT || op == OP_PRIME_IMPORT || op == OP_SYNCOBJ_EXPORT ||
		       op == OP_SYNC_FILE;
	case ENOSYS: case EPERM: case ENXIO: case EOVERFLOW:
		return op == OP_MMAP;
	/*
	 * ENOTTY: a generic ioctl the driver lacks (never), or a sync_file
	 * ioctl on another file.  DRM files take a sync_file ioctl for the
	 * core DRM ioctl of its number (DRM ignores the ioctl type), hence
	 * EOPNOTSUPP and EACCES for OP_SYNC_FILE.
	 */
	case ENOTTY:
		return op == OP_SYNC_FILE;
	}
	return false;
}

/* Record a call whose outcome was certain and did not happen. */
static void __attribute__((format(printf, 2, 3))) wrong(struct shared *sh, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&sh->wrong, 1);
	if (atomic_flag_test_and_set(&sh->wrong_noted))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->wrong_first, sizeof(sh->wrong_first), fmt, ap);
	va_end(ap);
}

static void expect(struct shared *sh, enum op op, int err, int want, const char *what)
{
	if (err != want)
		wrong(sh, "%s: %s: got %d (%s), want %d (%s)", op_names[op], what, err,
		      strerror(err), want, strerror(want));
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

/* A file of a card and what the fuzzer knows about it. */
struct file {
	int fd;
	int card;
	struct drm_mlu_device_info info;
	pthread_mutex_t lock;
	uint32_t bos[POOL], syncs[POOL], stale[POOL];
	uint64_t bo_va[POOL], bo_size[POOL];
	uint32_t queues[QUEUE_POOL], stale_queues[POOL];
	/* Highest counters of drm_mlu_context_status seen so far. */
	_Atomic uint64_t status_seen[4];
};

struct worker {
	struct shared *sh;
	/* Two files of card 0, one another's "foreign"; one of card 1 if any. */
	struct file files[MAX_FILES];
	int nfiles;
	uint64_t seed;
	/* Pages for bad pointers: one unmapped, one read-only. */
	void *unmapped, *read_only;
	bool no_nice;	/* this process dropped CAP_SYS_NICE */
	/* Open for the process's life and no dma-buf, syncobj or sync_file. */
	int pipe_fds[2], null_fd, event_fd;
	/* Exported fds (owned; closed when replaced) and closed fd numbers. */
	pthread_mutex_t fd_lock;
	int fds[FD_POOL], stale_fds[FD_POOL];
	uint32_t names[POOL];	/* GEM flink names */
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

/* Random queue id: live, foreign, destroyed, small or a boundary value. */
static uint32_t pick_queue_id(struct rng *r, struct file *f, struct file *o)
{
	switch (below(r, 10)) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		return f->queues[below(r, QUEUE_POOL)];
	case 6:
		return o->queues[below(r, QUEUE_POOL)];
	case 7:
		return f->stale_queues[below(r, POOL)];
	case 8:
		return (uint32_t)below(r, 300);
	default:
		return (uint32_t)edge(r, 32);
	}
}

/* Whether fd is one of the files that are never a dma-buf, syncobj or sync_file. */
static bool fd_is_plain(const struct worker *w, int fd)
{
	int i;

	if (fd < 0)
		return false;
	if (fd == w->pipe_fds[0] || fd == w->pipe_fds[1] || fd == w->null_fd || fd == w->event_fd)
		return true;
	for (i = 0; i < w->nfiles; i++)
		if (fd == w->files[i].fd)
			return true;
	return false;
}

/*
 * Random fd to import: an exported dma-buf, syncobj or sync_file (of any
 * file or card), a closed one, a pipe, /dev/null, an eventfd, a DRM file,
 * or a number that is no fd.
 */
static int pick_fd(struct rng *r, struct worker *w)
{
	switch (below(r, 12)) {
	case 0: case 1: case 2: case 3: case 4:
		return w->fds[below(r, FD_POOL)];
	case 5:
		return w->stale_fds[below(r, FD_POOL)];
	case 6:
		return w->pipe_fds[below(r, 2)];
	case 7:
		return w->null_fd;
	case 8:
		return w->event_fd;
	case 9:
		return w->files[below(r, w->nfiles)].fd;
	case 10:
		return (int)below(r, 4) - 1;
	default:
		return (int)edge(r, 32);
	}
}

/* Keep an exported fd for later imports; the one it replaces is closed. */
static void keep_fd(struct rng *r, struct worker *w, int fd)
{
	unsigned int i = below(r, FD_POOL);

	pthread_mutex_lock(&w->fd_lock);
	if (w->fds[i] >= 0) {
		close(w->fds[i]);
		w->stale_fds[below(r, FD_POOL)] = w->fds[i];
	}
	w->fds[i] = fd;
	pthread_mutex_unlock(&w->fd_lock);
}

/* Keep a new BO handle of f; the handle it replaces is closed (and stale). */
static void keep_bo(struct rng *r, struct file *f, uint32_t handle, uint64_t va, uint64_t size)
{
	unsigned int i = below(r, POOL);

	pthread_mutex_lock(&f->lock);
	if (f->bos[i] && f->bos[i] != handle) {
		struct drm_gem_close gc = { .handle = f->bos[i] };

		ioctl(f->fd, DRM_IOCTL_GEM_CLOSE, &gc);
		f->stale[below(r, POOL)] = f->bos[i];
	}
	f->bos[i] = handle;
	f->bo_va[i] = va;
	f->bo_size[i] = size;
	pthread_mutex_unlock(&f->lock);
}

/* Keep a new syncobj handle of f; the one it replaces is destroyed. */
static void keep_syncobj(struct rng *r, struct file *f, uint32_t handle)
{
	unsigned int i = below(r, POOL);

	pthread_mutex_lock(&f->lock);
	if (f->syncs[i] && f->syncs[i] != handle) {
		struct drm_syncobj_destroy d = { .handle = f->syncs[i] };

		ioctl(f->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
	}
	f->syncs[i] = handle;
	pthread_mutex_unlock(&f->lock);
}

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
	struct mlu_matmul_desc d = { .dtype = MLU_DTYPE_F32, .alpha = 1.0f };
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
	if (chance(r, 40)) {
		s.flags = DRM_MLU_SUBMIT_QUEUE_ID;
		s.queue = pick_queue_id(r, f, o);
	} else {
		s.queue = chance(r, 85) ? below(r, f->info.num_queues ? f->info.num_queues : 1) :
					  edge(r, 32);
	}
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
		/* A live queue of this file, which another thread may be destroying. */
		if (chance(r, 50)) {
			s.flags = DRM_MLU_SUBMIT_QUEUE_ID;
			s.queue = f->queues[below(r, QUEUE_POOL)];
		}
	}
	return do_ioctl(f->fd, DRM_IOCTL_MLU_SUBMIT, &s);
}

/*
 * mmap of an exported fd (a dma-buf of either card, or a syncobj or
 * sync_file, which cannot be mapped) at page offsets and sizes in and
 * beyond the buffer; one byte of what maps is read.
 */
static int fuzz_mmap_exported(struct rng *r, struct worker *w)
{
	int fd = chance(r, 90) ? w->fds[below(r, FD_POOL)] : w->stale_fds[below(r, FD_POOL)];
	uint64_t size = chance(r, 80) ? 4096 * (1 + below(r, 16)) : edge(r, 40);
	off_t off = chance(r, 60) ? 0 : chance(r, 80) ? 4096 * below(r, 16) : (off_t)edge(r, 40);
	volatile uint8_t *p = mmap(NULL, size, PROT_READ | (chance(r, 50) ? PROT_WRITE : 0),
				   chance(r, 90) ? MAP_SHARED : MAP_PRIVATE, fd, off);

	if (p == MAP_FAILED)
		return errno;
	(void)p[0];
	munmap((void *)p, size);
	return 0;
}

static int fuzz_mmap(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_mlu_bo_info info = { .handle = BO_HANDLE(r, f, o) };
	uint64_t size, off;
	volatile uint8_t *p;
	int err;

	if (chance(r, 25))
		return fuzz_mmap_exported(r, w);
	err = do_ioctl(f->fd, DRM_IOCTL_MLU_BO_INFO, &info);
	if (err)
		return err;
	size = chance(r, 80) ? info.size : edge(r, 40);
	off = chance(r, 80) ? info.mmap_offset : info.mmap_offset + edge(r, 32);
	/* Private (copy-on-write) mappings too, which BOs must refuse or handle. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, chance(r, 90) ? MAP_SHARED : MAP_PRIVATE,
		 chance(r, 90) ? f->fd : o->fd, off);
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
	if (op == OP_SYNCOBJ_RESET || op == OP_SYNCOBJ_SIGNAL) {
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

static void note_result(struct shared *sh, enum op op, int err);

/*
 * The counters of a context status only grow: each is at least the highest
 * value any thread saw before this query started.
 */
static void check_context_status(struct shared *sh, struct file *f, const void *buf,
				 const uint64_t *seen)
{
	struct drm_mlu_context_status st;
	uint64_t now[4];
	unsigned int i;

	memcpy(&st, buf, sizeof(st));
	now[0] = st.card_resets;
	now[1] = st.guilty_resets;
	now[2] = st.innocent_resets;
	now[3] = st.faults;
	if (st.pad)
		wrong(sh, "DEV_QUERY: context status pad %u", st.pad);
	for (i = 0; i < 4; i++) {
		uint64_t old = atomic_load(&f->status_seen[i]);

		if (now[i] < seen[i])
			wrong(sh, "DEV_QUERY: context status counter %u went back from %llu to %llu",
			      i, (unsigned long long)seen[i], (unsigned long long)now[i]);
		while (now[i] > old &&
		       !atomic_compare_exchange_weak(&f->status_seen[i], &old, now[i]))
			;
	}
}

/* The device info of a file does not change, but for devmem_free. */
static void check_device_info(struct shared *sh, struct file *f, const void *buf, uint32_t size)
{
	struct drm_mlu_device_info info, ref = f->info;

	memcpy(&info, buf, sizeof(info));
	if (size >= sizeof(info) && info.devmem_free > info.devmem_size)
		wrong(sh, "DEV_QUERY: devmem_free %llu above devmem_size %llu",
		      (unsigned long long)info.devmem_free, (unsigned long long)info.devmem_size);
	ref.devmem_free = info.devmem_free;
	if (memcmp(&info, &ref, size < sizeof(info) ? size : sizeof(info)))
		wrong(sh, "DEV_QUERY: device info of card %d changed", f->card);
}

/*
 * DEV_QUERY of either type with odd sizes and pointers.  The outcome is
 * certain for every argument but a random bad pointer: which errno, the
 * size reported for a null pointer, and the bytes written (the kernel's
 * structure, zeros up to the user's size, nothing beyond).
 */
static int fuzz_dev_query(struct rng *r, struct worker *w, struct file *f)
{
	static const uint32_t sizes[] = {
		0, 1, 8, 23, 24, 25, 32, 87, 88, 89, 95, 96, 97, 128, 4095, 4096, 4097, 8192,
	};
	uint8_t buf[8192 + 64] __attribute__((aligned(8)));
	struct drm_mlu_dev_query q = { 0 };
	uint32_t ksize = 0, min_size = 0;
	unsigned int ptr_kind = below(r, 10);
	uint64_t seen[4];
	const char *what;
	size_t i;
	int err;

	switch (below(r, 10)) {
	case 0: case 1: case 2: case 3:
		q.type = DRM_MLU_DEV_QUERY_DEVICE_INFO;
		break;
	case 4: case 5: case 6: case 7:
		q.type = DRM_MLU_DEV_QUERY_CONTEXT_STATUS;
		break;
	default:
		q.type = edge(r, 32);
		break;
	}
	if (q.type == DRM_MLU_DEV_QUERY_DEVICE_INFO) {
		ksize = sizeof(struct drm_mlu_device_info);
		min_size = DRM_MLU_DEVICE_INFO_SIZE_V1;
	} else if (q.type == DRM_MLU_DEV_QUERY_CONTEXT_STATUS) {
		ksize = sizeof(struct drm_mlu_context_status);
		min_size = DRM_MLU_CONTEXT_STATUS_SIZE_V1;
	}
	if (chance(r, 40) && ksize)
		q.size = ksize;
	else
		q.size = chance(r, 70) ? sizes[below(r, sizeof(sizes) / sizeof(sizes[0]))] :
					 edge(r, 13);
	if (ptr_kind == 0)
		q.pointer = 0;
	else if (ptr_kind == 1)
		q.pointer = (uintptr_t)w->read_only;
	else if (ptr_kind == 2)
		q.pointer = pick_ptr(r, w, buf, 100);	/* any bad one: outcome uncertain */
	else
		q.pointer = (uintptr_t)buf;
	if (chance(r, 5))
		q.pad = edge(r, 64);
	memset(buf, 0xa5, sizeof(buf));

	if (chance(r, 3))	/* the argument itself is a bad pointer */
		return do_ioctl(f->fd, DRM_IOCTL_MLU_DEV_QUERY,
				(void *)(uintptr_t)pick_ptr(r, w, &q, 100));
	for (i = 0; i < 4; i++)
		seen[i] = atomic_load(&f->status_seen[i]);
	err = do_ioctl(f->fd, DRM_IOCTL_MLU_DEV_QUERY, &q);

	if (q.pad || q.type > DRM_MLU_DEV_QUERY_CONTEXT_STATUS) {
		expect(w->sh, OP_DEV_QUERY, err, EINVAL, "non-zero pad or unknown type");
		return err;
	}
	if (ptr_kind == 0) {
		expect(w->sh, OP_DEV_QUERY, err, 0, "size query");
		if (!err && q.size != ksize)
			wrong(w->sh, "DEV_QUERY: type %u size query gave %u, want %u", q.type,
			      q.size, ksize);
		return err;
	}
	if (ptr_kind == 2)
		return err;
	if (q.size < min_size || q.size > 4096) {
		expect(w->sh, OP_DEV_QUERY, err, EINVAL, "size out of range");
		return err;
	}
	if (ptr_kind == 1) {
		expect(w->sh, OP_DEV_QUERY, err, EFAULT, "read-only buffer");
		return err;
	}
	what = q.type == DRM_MLU_DEV_QUERY_DEVICE_INFO ? "device info" : "context status";
	expect(w->sh, OP_DEV_QUERY, err, 0, what);
	if (err)
		return err;
	if (q.type == DRM_MLU_DEV_QUERY_CONTEXT_STATUS)
		check_context_status(w->sh, f, buf, seen);
	else
		check_device_info(w->sh, f, buf, q.size);
	for (i = ksize; i < q.size; i++) {
		if (buf[i]) {
			wrong(w->sh, "DEV_QUERY: %s of size %u: byte %zu not cleared", what, q.size,
			      i);
			return err;
		}
	}
	for (i = q.size; i < sizeof(buf); i++) {
		if (buf[i] != 0xa5) {
			wrong(w->sh, "DEV_QUERY: %s of size %u: wrote byte %zu past the buffer",
			      what, q.size, i);
			return err;
		}
	}
	return err;
}

static uint32_t all_rings(const struct file *f)
{
	return f->info.num_queues >= 32 ? ~0u : (1u << f->info.num_queues) - 1;
}

/* Put a new queue in a pool slot; the queue it replaces is destroyed. */
static void keep_queue(struct rng *r, struct file *f, uint32_t id)
{
	unsigned int i = below(r, QUEUE_POOL);
	struct drm_mlu_queue_destroy d = { 0 };

	pthread_mutex_lock(&f->lock);
	d.queue_id = f->queues[i];
	f->queues[i] = id;
	if (d.queue_id)
		remember(f->stale_queues, d.queue_id, r);
	pthread_mutex_unlock(&f->lock);
	/* Outside the lock: it waits until the queue's jobs reached the card. */
	if (d.queue_id)
		ioctl(f->fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &d);
}

/*
 * QUEUE_CREATE with every priority, good and bad ring masks and flags.
 * Whether a well-formed call may succeed is certain: HIGH needs
 * CAP_SYS_NICE, which half the worker processes dropped.
 */
static int fuzz_queue_create(struct rng *r, struct worker *w, struct file *f)
{
	uint32_t all = all_rings(f);
	struct drm_mlu_queue_create c = {
		.flags = chance(r, 90) ? 0 : (uint32_t)edge(r, 32),
		.priority = chance(r, 85) ? below(r, 3) : (uint32_t)edge(r, 32),
	};
	bool valid;
	int err;

	switch (below(r, 5)) {
	case 0:
		c.ring_mask = 0;
		break;
	case 1:
		c.ring_mask = 1u << below(r, f->info.num_queues ? f->info.num_queues : 1);
		break;
	case 2:
		c.ring_mask = (uint32_t)rnd(r) & all;
		break;
	case 3:
		c.ring_mask = 1u << below(r, 32);
		break;
	default:
		c.ring_mask = (uint32_t)edge(r, 32);
		break;
	}
	if (chance(r, 3))
		return do_ioctl(f->fd, DRM_IOCTL_MLU_QUEUE_CREATE,
				(void *)(uintptr_t)pick_ptr(r, w, &c, 100));
	valid = !c.flags && !(c.ring_mask & ~all) && c.priority <= DRM_MLU_QUEUE_PRIORITY_HIGH;
	err = do_ioctl(f->fd, DRM_IOCTL_MLU_QUEUE_CREATE, &c);
	if (!valid)
		expect(w->sh, OP_QUEUE_CREATE, err, EINVAL, "bad flags, priority or ring mask");
	else if (c.priority == DRM_MLU_QUEUE_PRIORITY_HIGH && w->no_nice)
		expect(w->sh, OP_QUEUE_CREATE, err, EACCES, "high priority without CAP_SYS_NICE");
	else if (err != ENOMEM)
		expect(w->sh, OP_QUEUE_CREATE, err, 0, "well-formed create");
	if (!err) {
		if (!c.queue_id || c.queue_id > 0xffff)
			wrong(w->sh, "QUEUE_CREATE: queue id %u out of range", c.queue_id);
		keep_queue(r, f, c.queue_id);
	}
	return err;
}

/* QUEUE_DESTROY of live (possibly busy), foreign, destroyed or random ids. */
static int fuzz_queue_destroy(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_mlu_queue_destroy d = {
		.queue_id = pick_queue_id(r, f, o),
		.pad = chance(r, 95) ? 0 : (uint32_t)edge(r, 32),
	};
	unsigned int i;
	int err;

	if (chance(r, 3))
		return do_ioctl(f->fd, DRM_IOCTL_MLU_QUEUE_DESTROY,
				(void *)(uintptr_t)pick_ptr(r, w, &d, 100));
	err = do_ioctl(f->fd, DRM_IOCTL_MLU_QUEUE_DESTROY, &d);
	if (d.pad)
		expect(w->sh, OP_QUEUE_DESTROY, err, EINVAL, "non-zero pad");
	else if (!d.queue_id || d.queue_id > 0xffff)
		expect(w->sh, OP_QUEUE_DESTROY, err, ENOENT, "id never handed out");
	if (!err) {
		pthread_mutex_lock(&f->lock);
		for (i = 0; i < QUEUE_POOL; i++)
			if (f->queues[i] == d.queue_id)
				f->queues[i] = 0;
		remember(f->stale_queues, d.queue_id, r);
		pthread_mutex_unlock(&f->lock);
	}
	return err;
}

/*
 * PRIME export of host and device memory BOs, and import of the dma-buf
 * into another file: of the same card or of the other one.
 */
static int fuzz_prime_export(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_prime_handle p = {
		.handle = BO_HANDLE(r, f, o),
		.flags = chance(r, 80) ? (chance(r, 50) ? DRM_CLOEXEC | DRM_RDWR : DRM_CLOEXEC) :
					 (uint32_t)edge(r, 32),
	};
	struct drm_prime_handle imp = { 0 };
	int err = do_ioctl(f->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);

	if (p.flags & ~(DRM_CLOEXEC | DRM_RDWR))
		expect(w->sh, OP_PRIME_EXPORT, err, EINVAL, "unknown flags");
	if (err)
		return err;
	imp.fd = p.fd;
	err = do_ioctl(o->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp);
	note_result(w->sh, OP_PRIME_IMPORT, err);
	if (!err) {
		keep_bo(r, o, imp.handle, 0, 0);
		if (o->card != f->card)
			atomic_fetch_add(&w->sh->cross_card_imports, 1);
	}
	/* Keep some for imports, mmaps and as closed fds later. */
	if (chance(r, 50))
		keep_fd(r, w, p.fd);
	else
		close(p.fd);
	return 0;
}

/* PRIME import of any fd: whatever is no dma-buf must fail with EINVAL. */
static int fuzz_prime_import(struct rng *r, struct worker *w, struct file *f)
{
	struct drm_prime_handle p = {
		.fd = pick_fd(r, w),
		.flags = chance(r, 90) ? 0 : (uint32_t)edge(r, 32),
	};
	int err = do_ioctl(f->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);

	if (fd_is_plain(w, p.fd))
		expect(w->sh, OP_PRIME_IMPORT, err, EINVAL, "import of a file that is no dma-buf");
	if (!err)
		keep_bo(r, f, p.handle, 0, 0);
	return err;
}

/* SYNCOBJ_HANDLE_TO_FD: the syncobj itself, or its fence as a sync_file. */
static int fuzz_syncobj_export(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_syncobj_handle h = {
		.handle = SYNC_HANDLE(r, f, o),
		.pad = chance(r, 95) ? 0 : (uint32_t)edge(r, 32),
		.fd = (int)edge(r, 32),	/* an output: its input value must not matter */
	};
	int err;

	switch (below(r, 8)) {
	case 0: case 1: case 2:
		break;
	case 3: case 4: case 5: case 6:
		h.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
		break;
	default:
		h.flags = (uint32_t)edge(r, 32);
		break;
	}
	err = do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h);
	if (h.pad || (h.flags && h.flags != DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE))
		expect(w->sh, OP_SYNCOBJ_EXPORT, err, EINVAL, "non-zero pad or unknown flags");
	if (!err)
		keep_fd(r, w, h.fd);
	return err;
}

/*
 * SYNCOBJ_FD_TO_HANDLE of any fd, as a syncobj or (IMPORT_SYNC_FILE) as a
 * fence for an existing syncobj; a file that is neither must fail.
 */
static int fuzz_syncobj_import(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_syncobj_handle h = {
		.fd = pick_fd(r, w),
		.pad = chance(r, 95) ? 0 : (uint32_t)edge(r, 32),
	};
	bool sync_file;
	int err;

	switch (below(r, 8)) {
	case 0: case 1: case 2:
		h.handle = chance(r, 80) ? 0 : (uint32_t)edge(r, 32);	/* an output */
		break;
	case 3: case 4: case 5: case 6:
		h.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
		h.handle = SYNC_HANDLE(r, f, o);
		break;
	default:
		h.flags = (uint32_t)edge(r, 32);
		h.handle = SYNC_HANDLE(r, f, o);
		break;
	}
	sync_file = h.flags == DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
	err = do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h);
	if (h.pad || (h.flags && !sync_file))
		expect(w->sh, OP_SYNCOBJ_IMPORT, err, EINVAL, "non-zero pad or unknown flags");
	else if (fd_is_plain(w, h.fd))
		expect(w->sh, OP_SYNCOBJ_IMPORT, err, EINVAL,
		       "import of a file that is no syncobj or sync_file");
	if (!err && !sync_file)
		keep_syncobj(r, f, h.handle);
	return err;
}

/* SYNCOBJ_EVENTFD: an eventfd (or any fd) signalled by a point. */
static int fuzz_syncobj_eventfd(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct fuzz_syncobj_eventfd e = {
		.handle = SYNC_HANDLE(r, f, o),
		.flags = chance(r, 85) ? below(r, 2) * DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE :
					 (uint32_t)edge(r, 32),
		.point = chance(r, 70) ? below(r, 4) : edge(r, 64),
		.fd = chance(r, 60) ? w->event_fd : pick_fd(r, w),
		.pad = chance(r, 95) ? 0 : (uint32_t)edge(r, 32),
	};
	int err = do_ioctl(f->fd, FUZZ_IOCTL_SYNCOBJ_EVENTFD, &e);

	if (e.pad || (e.flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE))
		expect(w->sh, OP_SYNCOBJ_EVENTFD, err, EINVAL, "non-zero pad or unknown flags");
	return err;
}

/* GEM_FLINK: global names, opened by other files (and cards) with GEM_OPEN. */
static int fuzz_gem_flink(struct rng *r, struct worker *w, struct file *f, struct file *o)
{
	struct drm_gem_flink fl = { .handle = BO_HANDLE(r, f, o) };
	int err = do_ioctl(f->fd, DRM_IOCTL_GEM_FLINK, &fl);

	if (!err)
		remember(w->names, fl.name, r);
	return err;
}

static int fuzz_gem_open(struct rng *r, struct worker *w, struct file *f)
{
	struct drm_gem_open op = {
		.name = chance(r, 70) ? w->names[below(r, POOL)] :
			chance(r, 50) ? (uint32_t)below(r, 64) : (uint32_t)edge(r, 32),
		.handle = (uint32_t)edge(r, 32),	/* outputs */
		.size = edge(r, 64),
	};
	int err = do_ioctl(f->fd, DRM_IOCTL_GEM_OPEN, &op);

	if (!op.name)
		expect(w->sh, OP_GEM_OPEN, err, ENOENT, "name 0");
	if (!err)
		keep_bo(r, f, op.handle, 0, 0);
	return err;
}

/* One field of DRM_IOCTL_VERSION: a buffer, its length, and its canary. */
struct version_field {
	char buf[64];
	bool good;
	size_t len;
};

static void version_field_init(struct rng *r, struct worker *w, struct version_field *v,
			       char **ptr, __kernel_size_t *len)
{
	memset(v->buf, 0xa5, sizeof(v->buf));
	v->len = chance(r, 80) ? below(r, sizeof(v->buf) + 1) : edge(r, 64);
	v->good = chance(r, 85);
	*ptr = v->good ? v->buf : (char *)(uintptr_t)pick_ptr(r, w, v->buf, 100);
	*len = v->len;
}

/* DRM_IOCTL_VERSION: the kernel writes at most the given length. */
static int fuzz_version(struct rng *r, struct worker *w, struct file *f)
{
	struct version_field fields[3];
	struct drm_version v = { 0 };
	unsigned int i;
	size_t j;
	int err;

	version_field_init(r, w, &fields[0], &v.name, &v.name_len);
	version_field_init(r, w, &fields[1], &v.date, &v.date_len);
	version_field_init(r, w, &fields[2], &v.desc, &v.desc_len);
	err = do_ioctl(f->fd, DRM_IOCTL_VERSION, &v);
	for (i = 0; i < 3; i++) {
		if (!fields[i].good)
			continue;
		for (j = fields[i].len; j < sizeof(fields[i].buf); j++) {
			if ((uint8_t)fields[i].buf[j] != 0xa5) {
				wrong(w->sh, "VERSION: field %u of length %zu: wrote byte %zu", i,
				      fields[i].len, j);
				return err;
			}
		}
	}
	if (!err && (v.version_major != DRM_MLU_DRIVER_MAJOR ||
		     v.version_minor != DRM_MLU_DRIVER_MINOR))
		wrong(w->sh, "VERSION: %d.%d, want %d.%d", v.version_major, v.version_minor,
		      DRM_MLU_DRIVER_MAJOR, DRM_MLU_DRIVER_MINOR);
	return err;
}

/*
 * GET_CAP: the caps of a driver without modesetting read as supported, the
 * others fail with EOPNOTSUPP.
 */
static int fuzz_get_cap(struct rng *r, struct worker *w, struct file *f)
{
	struct drm_get_cap c = {
		.capability = chance(r, 70) ? below(r, 0x20) : edge(r, 64),
		.value = edge(r, 64),	/* an output */
	};
	int err = do_ioctl(f->fd, DRM_IOCTL_GET_CAP, &c);

	switch (c.capability) {
	case DRM_CAP_PRIME:
		expect(w->sh, OP_GET_CAP, err, 0, "DRM_CAP_PRIME");
		if (!err && c.value != (DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT))
			wrong(w->sh, "GET_CAP: DRM_CAP_PRIME is %llu", (unsigned long long)c.value);
		break;
	case DRM_CAP_SYNCOBJ:
	case DRM_CAP_SYNCOBJ_TIMELINE:
		expect(w->sh, OP_GET_CAP, err, 0, "DRM_CAP_SYNCOBJ(_TIMELINE)");
		if (!err && c.value != 1)
			wrong(w->sh, "GET_CAP: capability %llu is %llu, want 1",
			      (unsigned long long)c.capability, (unsigned long long)c.value);
		break;
	case DRM_CAP_TIMESTAMP_MONOTONIC:
		expect(w->sh, OP_GET_CAP, err, 0, "DRM_CAP_TIMESTAMP_MONOTONIC");
		break;
	default:
		expect(w->sh, OP_GET_CAP, err, EOPNOTSUPP, "a modesetting cap");
		break;
	}
	return err;
}

/* A fence status: signalled, pending, or a job result the UAPI documents. */
static bool fence_status_documented(int status)
{
	switch (-status) {
	case -1: case 0: case EFAULT: case EINVAL: case EIO: case ETIMEDOUT: case ECANCELED:
	case ESRCH: case ENODEV:
		return true;
	}
	return false;
}

/*
 * The sync_file ioctls on exported fds: FILE_INFO (which reads the names
 * and status of the driver's fences), MERGE and SET_DEADLINE.  Every fence
 * status must be one the UAPI documents for a job.
 */
static int fuzz_sync_file(struct rng *r, struct worker *w)
{
	int fd = chance(r, 90) ? w->fds[below(r, FD_POOL)] : pick_fd(r, w);
	struct sync_fence_info fences[8];
	struct sync_file_info info = { 0 };
	struct sync_merge_data merge = { .fd2 = w->fds[below(r, FD_POOL)] };
	struct sync_set_deadline dl = { .deadline_ns = edge(r, 64) };
	unsigned int i, asked;
	int err;

	switch (below(r, 4)) {
	case 0: case 1:
		info.num_fences = chance(r, 50) ? 0 : chance(r, 80) ? below(r, 9) : edge(r, 32);
		info.sync_fence_info = pick_ptr(r, w, fences, 10);
		if (chance(r, 5))
			info.flags = edge(r, 32);
		asked = info.num_fences;
		err = do_ioctl(fd, SYNC_IOC_FILE_INFO, &info);
		if (err)
			return err;
		if (!fence_status_documented(info.status))
			wrong(w->sh, "sync_file: status %d", info.status);
		/* With num_fences 0 the kernel only counts them. */
		if (!asked || info.sync_fence_info != (uintptr_t)fences || info.num_fences > 8)
			return err;
		for (i = 0; i < info.num_fences; i++)
			if (!fence_status_documented(fences[i].status))
				wrong(w->sh, "sync_file: fence %s/%.32s status %d",
				      fences[i].driver_name, fences[i].obj_name, fences[i].status);
		return err;
	case 2:
		if (chance(r, 20))
			merge.fd2 = pick_fd(r, w);
		if (chance(r, 5))
			merge.flags = edge(r, 32);
		strcpy(merge.name, "fuzz");
		err = do_ioctl(fd, SYNC_IOC_MERGE, &merge);
		if (!err)
			keep_fd(r, w, merge.fence);
		return err;
	default:
		if (chance(r, 5))
			dl.pad = edge(r, 32);
		return do_ioctl(fd, SYNC_IOC_SET_DEADLINE, &dl);
	}
}

/* One random call; returns the errno it gave (0 on success). */
static int fuzz_one(struct rng *r, struct worker *w, enum op op)
{
	/* Mostly the two files of card 0; the other card's file now and then. */
	unsigned int which = w->nfiles > 2 && chance(r, 10) ? 2 : below(r, 2);
	unsigned int other = which == 2 ? below(r, 2) :
			     w->nfiles > 2 && chance(r, 20) ? 2 : !which;
	struct file *f = &w->files[which], *o = &w->files[other];
	int err;

	switch (op) {
	case OP_DEV_QUERY:
		return fuzz_dev_query(r, w, f);
	case OP_BO_CREATE: {
		struct drm_mlu_bo_create c = {
			.size = chance(r, 80) ? 1 + below(r, 64 << 10) : edge(r, 64),
			.flags = chance(r, 85) ? below(r, 4) : edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_MLU_BO_CREATE, &c);
		if (!err)
			keep_bo(r, f, c.handle, c.device_va, c.size);
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
	case OP_QUEUE_CREATE:
		return fuzz_queue_create(r, w, f);
	case OP_QUEUE_DESTROY:
		return fuzz_queue_destroy(r, w, f, o);
	case OP_GEM_CLOSE: {
		struct drm_gem_close gc = { .handle = BO_HANDLE(r, f, o) };

		if (chance(r, 5))
			gc.pad = edge(r, 32);
		err = do_ioctl(f->fd, DRM_IOCTL_GEM_CLOSE, &gc);
		if (!err)
			remember(f->stale, gc.handle, r);
		return err;
	}
	case OP_GEM_FLINK:
		return fuzz_gem_flink(r, w, f, o);
	case OP_GEM_OPEN:
		return fuzz_gem_open(r, w, f);
	case OP_SYNCOBJ_CREATE: {
		struct drm_syncobj_create c = {
			.flags = chance(r, 80) ? below(r, 2) * DRM_SYNCOBJ_CREATE_SIGNALED :
						 edge(r, 32),
		};

		err = do_ioctl(f->fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);
		if (!err)
			keep_syncobj(r, f, c.handle);
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
	case OP_SYNCOBJ_TL_SIGNAL:
	case OP_SYNCOBJ_RESET:
		return fuzz_syncobj_array(r, w, f, o, op);
	case OP_SYNCOBJ_EXPORT:
		return fuzz_syncobj_export(r, w, f, o);
	case OP_SYNCOBJ_IMPORT:
		return fuzz_syncobj_import(r, w, f, o);
	case OP_SYNCOBJ_EVENTFD:
		return fuzz_syncobj_eventfd(r, w, f, o);
	case OP_PRIME_EXPORT:
		return fuzz_prime_export(r, w, f, o);
	case OP_PRIME_IMPORT:
		return fuzz_prime_import(r, w, f);
	case OP_VERSION:
		return fuzz_version(r, w, f);
	case OP_GET_CAP:
		return fuzz_get_cap(r, w, f);
	case OP_SET_CLIENT_CAP: {
		struct drm_set_client_cap c = {
			.capability = chance(r, 70) ? below(r, 8) : edge(r, 64),
			.value = chance(r, 70) ? below(r, 3) : edge(r, 64),
		};

		return do_ioctl(f->fd, DRM_IOCTL_SET_CLIENT_CAP, &c);
	}
	case OP_MMAP:
		return fuzz_mmap(r, w, f, o);
	case OP_SYNC_FILE:
		return fuzz_sync_file(r, w);
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
		/* Submits, which reach the jobs, three times as often as the rest. */
		enum op op = below(&r, OP_COUNT + 2);

		if (op >= OP_COUNT)
			op = OP_SUBMIT;

		note_result(w->sh, op, fuzz_one(&r, w, op));
	}
	return NULL;
}

static int open_file(struct file *f, int card)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->card = card;
	f->fd = mlu_open_card(card);
	if (f->fd < 0)
		return -errno;
	return mlu_query_info(f->fd, &f->info);
}

/* Drop CAP_SYS_NICE from this process, as an unprivileged client lacks it. */
static int drop_cap_sys_nice(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(CAP_SYS_NICE);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
	data[i].permitted &= ~CAP_TO_MASK(CAP_SYS_NICE);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_SYS_NICE);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * A worker process: two files of card 0 and one of card 1 (when there is
 * one), threads fuzzing them; every other worker without CAP_SYS_NICE.
 */
static int worker_main(struct shared *sh, uint64_t seed, int threads, int cards)
{
	pthread_t tid[MAX_THREADS];
	struct thread_arg args[MAX_THREADS];
	static struct worker w;
	long page = sysconf(_SC_PAGESIZE);
	int i;

	w = (struct worker){ .sh = sh, .seed = seed, .nfiles = cards > 1 ? 3 : 2 };
	for (i = 0; i < w.nfiles; i++)
		if (open_file(&w.files[i], i < 2 ? 0 : 1))
			return 2;
	if (seed & 1) {
		if (drop_cap_sys_nice())
			return 3;
		w.no_nice = true;
		atomic_fetch_add(&sh->no_nice_workers, 1);
	}
	pthread_mutex_init(&w.fd_lock, NULL);
	for (i = 0; i < FD_POOL; i++)
		w.fds[i] = w.stale_fds[i] = -1;
	w.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	w.event_fd = eventfd(0, EFD_CLOEXEC);
	if (pipe2(w.pipe_fds, O_CLOEXEC) || w.null_fd < 0 || w.event_fd < 0)
		return 4;
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

static void read_config(unsigned long *calls, uint64_t *seed, bool *huge_counts, int *procs,
			int *threads)
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
		else if (!strcmp(key, "procs"))
			*procs = (int)v;
		else if (!strcmp(key, "threads"))
			*threads = (int)v;
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

	read_config(&calls, &seed, &huge_counts, &procs, &threads);
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
	printf("TAP version 13\n1..5\n");
	printf("# seed %llu (rerun: mlu_fuzz_ioctl --seed %llu --calls %lu --procs %d --threads %d "
	       "--huge-counts %d)\n", (unsigned long long)seed, (unsigned long long)seed, calls,
	       procs, threads, huge_counts);
	fflush(stdout);

	cards = mlu_count_cards();
	if (cards == 0) {
		for (i = 1; i <= 5; i++)
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
				_exit(worker_main(sh, wseed, threads, cards));
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

	printf("# calls per ioctl (%lu dma-bufs imported from the other card, %lu of %d workers "
	       "without CAP_SYS_NICE):\n", (unsigned long)atomic_load(&sh->cross_card_imports),
	       (unsigned long)atomic_load(&sh->no_nice_workers), spawned);
	for (i = 0; i < OP_COUNT; i++)
		printf("#   %-24s %7lu calls, %7lu succeeded\n", op_names[i],
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
	if (atomic_load(&sh->wrong))
		printf("# %lu calls with a certain outcome had another, first: %s\n",
		       (unsigned long)atomic_load(&sh->wrong), sh->wrong_first);
	printf("%sok %d every call with a certain outcome had it\n",
	       atomic_load(&sh->wrong) ? "not " : "", test++);
	failed |= atomic_load(&sh->wrong) != 0;
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
