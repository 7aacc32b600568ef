/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the guest tests: finding cards, raw ioctl wrappers,
 * syncobj and fence-status helpers, operand generation and comparison with
 * the compute core's reference (core/, the tests' oracle).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#ifndef MLU_GUEST_H
#define MLU_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drm.h>
#include <drm/mlu_accel.h>

#include "mlu_hw.h"
#include "mlu_core.h"

#define MS (1000 * 1000ull)	/* nanoseconds */

/* Cards bound to the mlu driver, in /dev/accel minor order. */
int mlu_count_cards(void);
/* Open the index-th card, or -1 with errno set. */
int mlu_open_card(int index);

/*
 * For kselftest harness tests: when card @index could not be opened
 * (@opened false), skip if the host attached fewer cards, and fail if it
 * attached the card but the guest has no usable node for it.
 */
#define MLU_SKIP_UNLESS_CARD(opened, index)					\
	do {									\
		if (!(opened)) {						\
			ASSERT_LE(mlu_expected_cards(), (index))		\
				TH_LOG("host attached cards but no mlu node");	\
			SKIP(return, "no MLU card %d", (index));		\
		}								\
	} while (0)

/* Open card @index into @fd, or skip / fail as MLU_SKIP_UNLESS_CARD(). */
#define MLU_OPEN_CARD_OR_SKIP(fd, index)					\
	do {									\
		(fd) = mlu_open_card(index);					\
		MLU_SKIP_UNLESS_CARD((fd) >= 0, (index));			\
	} while (0)
/* Cards the host attached (MLU_GUEST_CARDS), or -1 when unknown. */
int mlu_expected_cards(void);

/*
 * A number from the card's sysfs group, /sys/class/accel/accel<minor>/device/mlu/<name>
 * (Documentation/ABI/testing/sysfs-driver-mlu), or -1.
 */
long long mlu_card_sysfs_num(int minor, const char *name);

/*
 * The path of file @name in the card's debugfs directory, which is named
 * after its PCI device: /sys/kernel/debug/accel/<pci address>/<name>.
 * 0 or -errno.
 */
int mlu_card_debugfs_path(int minor, const char *name, char *path, size_t len);

/* Read @fd to its end or until @buf is full; NUL-terminated, the length. */
size_t mlu_read_all(int fd, char *buf, size_t size);

/* Raw ioctls: 0 or -errno. */
int mlu_query_info(int fd, struct drm_mlu_device_info *info);
int mlu_bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle, uint64_t *va);
int mlu_bo_info(int fd, uint32_t handle, struct drm_mlu_bo_info *info);
void *mlu_bo_map(int fd, uint32_t handle);	/* NULL on failure */
int mlu_bo_close(int fd, uint32_t handle);
int mlu_submit(int fd, struct drm_mlu_submit *args);
/* A drm-<key>-<region> figure of fd's fdinfo in bytes, or -1 if absent. */
long long mlu_fdinfo_bytes(int fd, const char *key, const char *region);
/* One job of packets on queue, waiting for in_sync (0: none), signalling out_sync. */
int mlu_submit_simple(int fd, uint32_t queue, const void *packets, uint32_t count,
		      const uint32_t *bos, uint32_t bo_count, uint32_t in_sync,
		      uint32_t out_sync);

/*
 * Device memory that jobs used comes back once drm_sched has freed the jobs
 * (free_job drops their BO references), which happens shortly after their
 * fences signal, possibly after the submitting process exited: a test
 * that compares free device memory with an earlier figure waits for it,
 * boundedly.  The bound stays below the driver's default job timeout (5 s)
 * so that memory that only comes back when a timeout handler runs fails.
 */
#define MLU_DEVMEM_SETTLE_MS 3000
/*
 * Wait up to MLU_DEVMEM_SETTLE_MS for card fd's free device memory to be
 * want bytes: 0 (*waited_ms: how long it took), -ETIME (*free_now: the last
 * figure), or the query's -errno.  Either pointer may be NULL.
 */
int mlu_wait_devmem_free(int fd, uint64_t want, uint64_t *free_now, unsigned int *waited_ms);

/*
 * For kselftest-harness tests: card fd's free device memory settles at
 * want bytes (ASSERT_ or EXPECT_), else the test fails with the figures.
 * A wait of 100 ms or more is logged: it is worth knowing about.
 */
#define ASSERT_DEVMEM_FREE_SETTLES(fd, want) __MLU_DEVMEM_SETTLES(ASSERT_EQ, fd, want)
#define EXPECT_DEVMEM_FREE_SETTLES(fd, want) __MLU_DEVMEM_SETTLES(EXPECT_EQ, fd, want)
#define __MLU_DEVMEM_SETTLES(check, fd, want)						\
	do {										\
		uint64_t __want = (want), __free = 0;					\
		unsigned int __waited = 0;						\
		int __ret = mlu_wait_devmem_free((fd), __want, &__free, &__waited);	\
											\
		check(0, __ret) TH_LOG("free device memory %llu, expected %llu "	\
				       "(%lld bytes still in use) after %u ms",	\
				       (unsigned long long)__free,			\
				       (unsigned long long)__want,			\
				       (long long)(__want - __free), __waited);	\
		if (!__ret && __waited >= 100)						\
			TH_LOG("free device memory came back after %u ms", __waited);	\
	} while (0)

uint32_t mlu_syncobj_create(int fd);		/* 0 on failure */
/* Wait up to timeout_ns for a binary syncobj: 0, -ETIME, or -errno. */
int mlu_syncobj_wait(int fd, uint32_t handle, uint64_t timeout_ns);
/* Fence status: 1 signalled, 0 pending, negative: the fence's error. */
int mlu_fence_status(int fd, uint32_t handle);

/* Packets. */
void mlu_pkt_copy_init(struct mlu_pkt_copy *p, uint64_t dst, uint64_t src, uint64_t size);
void mlu_pkt_matmul_init(struct mlu_pkt_matmul *p, const struct mlu_matmul_desc *d,
			 uint64_t a, uint64_t b, uint64_t c, uint64_t bias);
void mlu_pkt_conv2d_init(struct mlu_pkt_conv2d *p, const struct mlu_conv2d_desc *d,
			 uint64_t input, uint64_t weight, uint64_t output, uint64_t bias);

/* count elements of dtype, uniform in [-1, 1) (int8: [-128, 127]). */
void mlu_fill_random(enum mlu_dtype dtype, void *dst, size_t count, uint32_t seed);

/*
 * Compare a device result with the reference within the bound of
 * Documentation/compute-core.rst: exact for int8, else twice the f32
 * summation error bound gamma(n) * S (S, the same computation on absolute
 * values, supplied in abs_ref) plus one output ulp for f16/bf16.  Returns
 * the index of the first mismatch or -1; *max_err gets the worst error.
 */
long mlu_compare(enum mlu_dtype dtype, const void *got, const void *ref,
		 const void *abs_ref, size_t count, unsigned int terms, double *max_err);

/* Reference plus abs-value sums for a matmul or conv2d (see mlu_compare). */
int mlu_matmul_oracle(const struct mlu_matmul_desc *d, const void *a, const void *b,
		      const void *bias, const void *c_in, void *ref, void *abs_ref);
int mlu_conv2d_oracle(const struct mlu_conv2d_desc *d, const void *in, const void *w,
		      const void *bias, void *ref, void *abs_ref);

/*
 * Pass one file descriptor over a unix socket (SCM_RIGHTS).  mlu_send_fd()
 * returns 0 or -errno; mlu_recv_fd() the received fd or -1.
 */
int mlu_send_fd(int sock, int fd);
int mlu_recv_fd(int sock);

#endif /* MLU_GUEST_H */
