/* SPDX-License-Identifier: MIT */
/*
 * Drive an emulated MLU card through qtest: find it on the PCI bus,
 * place its BARs, enable MSI-X and bus mastering, build device page
 * tables and rings in guest RAM, submit packets and wait for fences.
 */
#ifndef MLU_TESTDEV_H
#define MLU_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "mlu_hw.h"
/*
 * The device tests are QEMU qtests built with libqtest in QEMU's tree; the
 * fuzzer (tests/fuzz) keeps its own client, which survives a QEMU crash.
 */
#ifdef MLU_TESTDEV_QTEST_CLIENT
#include "qtest_client.h"
#else
#include "libqtest.h"
#endif

/* Guest-physical layout used by the tests (256 MiB of guest RAM). */
#define T_GPA_CTX_TABLE		0x00100000ull
#define T_GPA_PT_POOL		0x00200000ull
#define T_PT_POOL_SIZE		0x00200000ull
#define T_GPA_RINGS		0x00400000ull	/* 64 KiB per queue */
#define T_GPA_FENCES		0x00600000ull	/* 64 bytes per queue */
#define T_GPA_MSI		0x00700000ull	/* 16 bytes per vector */
#define T_GPA_DATA		0x01000000ull
#define T_GPA_DATA_END		0x0f000000ull
#define T_BAR0			0xe0000000ull
#define T_BAR2			0x80000000ull

/* Device virtual addresses: host buffers at VA = GPA + T_VA_HOST. */
#define T_VA_HOST		0x4000000000ull
#define T_VA_DEVMEM		0x6000000000ull
#define T_RING_SIZE		256
#define T_MSI_DATA(v)		(0x4d000000u + (v))
#define T_TIMEOUT_MS		10000
/* The machine every test runs (and where its firmware is). */
#define T_QEMU_ARGS		"-machine q35 -nodefaults -m 256M " \
				"-L /usr/share/seabios -L /usr/share/qemu"

struct mlu_tdev {
	QTestState *qt;
	uint8_t devfn;
	uint8_t msix_cap;
	unsigned int nq;
	uint64_t devmem_size;
	uint64_t data_next;		/* guest RAM bump allocator */
	uint64_t devmem_next;		/* BAR2 bump allocator */
	uint64_t pt_next;		/* page-table pool bump allocator */
	uint8_t pt_shadow[T_PT_POOL_SIZE];
	bool pt_dirty[T_PT_POOL_SIZE / 4096];
	uint64_t ctx_root[8];
	uint32_t tail[MLU_MAX_RINGS];
	uint64_t fence_seq[MLU_MAX_RINGS];
};

/*
 * Start QEMU with `-device mlu,<props>` and bring the card up.  @qemu
 * names the binary for the fuzzer's client; libqtest takes it from
 * QTEST_QEMU_BINARY.
 */
bool tdev_start(struct mlu_tdev *t, const char *qemu, const char *props);
/*
 * The same with more QEMU arguments after the card (at most 8, NULL
 * terminated), for instance a second card; the card driven is the one in
 * the lowest PCI slot.
 */
bool tdev_start_args(struct mlu_tdev *t, const char *qemu, const char *props,
		     const char *const *extra);
void tdev_stop(struct mlu_tdev *t);

/* PCI configuration space of the card. */
uint32_t tdev_cfg_read(struct mlu_tdev *t, uint8_t off);
void tdev_cfg_write(struct mlu_tdev *t, uint8_t off, uint32_t val);

uint32_t tdev_rd(struct mlu_tdev *t, uint32_t reg);
void tdev_wr(struct mlu_tdev *t, uint32_t reg, uint32_t val);
uint32_t tdev_qrd(struct mlu_tdev *t, unsigned int q, uint32_t reg);
void tdev_qwr(struct mlu_tdev *t, unsigned int q, uint32_t reg, uint32_t val);

/* MMU: context table at T_GPA_CTX_TABLE with @count entries. */
void tdev_mmu_init(struct mlu_tdev *t, uint32_t count);
void tdev_ctx_create(struct mlu_tdev *t, unsigned int ctx);
/* Map [va, va + len) to @target (bus address, or BAR2 offset with DEVMEM). */
void tdev_map(struct mlu_tdev *t, unsigned int ctx, uint64_t va,
	      uint64_t target, uint64_t len, uint64_t flags);
void tdev_unmap(struct mlu_tdev *t, unsigned int ctx, uint64_t va,
		uint64_t len);
void tdev_mmu_flush(struct mlu_tdev *t);

/* Guest RAM / BAR2 buffers, page aligned. */
uint64_t tdev_alloc(struct mlu_tdev *t, uint64_t len);
uint64_t tdev_devmem_alloc(struct mlu_tdev *t, uint64_t len);
/* Allocate host memory and map it writable in @ctx; returns the VA. */
uint64_t tdev_buffer(struct mlu_tdev *t, unsigned int ctx, uint64_t len,
		     uint64_t *gpa);
static inline uint64_t tdev_va(uint64_t gpa)
{
	return gpa + T_VA_HOST;
}

/* Queues and packets. */
void tdev_queue_enable(struct mlu_tdev *t, unsigned int q);
bool tdev_queue_push(struct mlu_tdev *t, unsigned int q, const void *pkt);
void tdev_doorbell(struct mlu_tdev *t, unsigned int q);
/* Build a FENCE writing to the queue's fence slot (mapped in @ctx). */
void tdev_fence_pkt(struct mlu_tdev *t, unsigned int q, unsigned int ctx,
		    uint64_t value, bool irq, struct mlu_pkt_fence *f);
uint64_t tdev_fence_value(struct mlu_tdev *t, unsigned int q);
uint32_t tdev_fence_status(struct mlu_tdev *t, unsigned int q);
/* Poll the fence slot until it holds @value. */
bool tdev_wait_fence(struct mlu_tdev *t, unsigned int q, uint64_t value);
/*
 * Submit @n packets of context @ctx then a FENCE with an interrupt, wait
 * for it and return its status (or -1 on timeout).
 */
int tdev_run_job(struct mlu_tdev *t, unsigned int q, unsigned int ctx,
		 const void *pkts, unsigned int n);
bool tdev_wait_reg(struct mlu_tdev *t, uint32_t reg, uint32_t mask,
		   uint32_t want);

/* MSI-X: program every vector to write T_MSI_DATA(v) to T_GPA_MSI + 16 v. */
void tdev_msix_setup(struct mlu_tdev *t);
void tdev_msix_mask(struct mlu_tdev *t, unsigned int vector, bool mask);
bool tdev_msix_pending(struct mlu_tdev *t, unsigned int vector);
bool tdev_msi_seen(struct mlu_tdev *t, unsigned int vector);
void tdev_msi_clear(struct mlu_tdev *t);
bool tdev_wait_msi(struct mlu_tdev *t, unsigned int vector);

uint64_t tdev_now_ms(void);

#ifndef MLU_TESTDEV_QTEST_CLIENT
/*
 * GLib test harness: tdev_test_init() in main(), then tdev_add_test() for
 * each test, which g_test_run() runs as /mlu/<group>/<name> in a child
 * process of its own (g_test_trap_subprocess()): a failed assertion, or a
 * QEMU that libqtest finds dead, ends that test only, and a test still
 * running after @timeout_s seconds fails.
 */
void tdev_test_init(int *argc, char ***argv);
void tdev_add_test(const char *group, const char *name,
		   void (*run)(const void *test), const void *test,
		   unsigned int timeout_s);
/* An entry { "name", test_name, timeout_s } of a test table. */
#define TDEV_TEST(name, timeout_s)	{ #name, test_##name, timeout_s }
#endif

#endif /* MLU_TESTDEV_H */
