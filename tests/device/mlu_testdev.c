// SPDX-License-Identifier: MIT
/*
 * Helpers that play the driver's part for the device tests.
 */
#ifndef MLU_TESTDEV_QTEST_CLIENT
#include "qemu/osdep.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlu_testdev.h"

#define PCI_CFG_ADDR		0xcf8
#define PCI_CFG_DATA		0xcfc
#define PCI_CAP_ID_MSIX		0x11
#define MSIX_CTRL_ENABLE	(1u << 15)
#define MSIX_CTRL_MASKALL	(1u << 14)
#define PT_TABLE_SIZE		4096

#ifndef MLU_TESTDEV_QTEST_CLIENT
struct tdev_test {
	void (*run)(const void *test);
	const void *test;
	unsigned int timeout_s;
};

void tdev_test_init(int *argc, char ***argv)
{
	g_test_init(argc, argv, NULL);
	/* The parent reports a failed child and goes on with the next test. */
	if (!g_test_subprocess())
		g_test_set_nonfatal_assertions();
}

static void tdev_run_test(const void *data)
{
	const struct tdev_test *t = data;

	if (!getenv("QTEST_QEMU_BINARY")) {
		g_test_skip("QTEST_QEMU_BINARY is not set");
		return;
	}
	if (g_test_subprocess()) {
		t->run(t->test);
		return;
	}
	g_test_trap_subprocess(NULL, (uint64_t)t->timeout_s * G_USEC_PER_SEC,
			       G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

void tdev_add_test(const char *group, const char *name,
		   void (*run)(const void *test), const void *test,
		   unsigned int timeout_s)
{
	struct tdev_test *t = g_new(struct tdev_test, 1);
	g_autofree char *path = g_strdup_printf("/mlu/%s/%s", group, name);

	t->run = run;
	t->test = test;
	t->timeout_s = timeout_s;
	g_test_add_data_func_full(path, t, tdev_run_test, g_free);
}
#endif

uint64_t tdev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static uint32_t cfg_addr(uint8_t devfn, uint8_t off)
{
	return 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc);
}

uint32_t tdev_cfg_read(struct mlu_tdev *t, uint8_t off)
{
	qtest_outl(t->qt, PCI_CFG_ADDR, cfg_addr(t->devfn, off));
	return qtest_inl(t->qt, PCI_CFG_DATA);
}

void tdev_cfg_write(struct mlu_tdev *t, uint8_t off, uint32_t val)
{
	qtest_outl(t->qt, PCI_CFG_ADDR, cfg_addr(t->devfn, off));
	qtest_outl(t->qt, PCI_CFG_DATA, val);
}

static bool tdev_find(struct mlu_tdev *t)
{
	unsigned int slot;
	uint32_t want = MLU_PCI_DEVICE_ID << 16 | MLU_PCI_VENDOR_ID;

	for (slot = 0; slot < 32; slot++) {
		t->devfn = slot << 3;
		if (tdev_cfg_read(t, 0) == want)
			return true;
	}
	return false;
}

static uint8_t tdev_find_cap(struct mlu_tdev *t, uint8_t id)
{
	uint8_t pos = tdev_cfg_read(t, 0x34) & 0xfc;
	int guard = 48;

	while (pos && guard--) {
		uint32_t hdr = tdev_cfg_read(t, pos);

		if ((hdr & 0xff) == id)
			return pos;
		pos = (hdr >> 8) & 0xfc;
	}
	return 0;
}

bool tdev_start(struct mlu_tdev *t, const char *qemu, const char *props)
{
	return tdev_start_args(t, qemu, props, NULL);
}

bool tdev_start_args(struct mlu_tdev *t, const char *qemu, const char *props,
		     const char *const *extra)
{
	char dev[256];
#ifdef MLU_TESTDEV_QTEST_CLIENT
	const char *args[11] = { "-device", dev };
	unsigned int n = 2;

	memset(t, 0, sizeof(*t));
	snprintf(dev, sizeof(dev), "mlu%s%s", *props ? "," : "", props);
	while (extra && *extra && n < 10)
		args[n++] = *extra++;
	args[n] = NULL;
	t->qt = qtest_start(qemu, args);
#else
	GString *args = g_string_new(T_QEMU_ARGS " -device ");

	memset(t, 0, sizeof(*t));
	snprintf(dev, sizeof(dev), "mlu%s%s", *props ? "," : "", props);
	g_string_append(args, dev);
	while (extra && *extra) {
		g_string_append_c(args, ' ');
		g_string_append(args, *extra++);
	}
	t->qt = qtest_init(args->str);
	g_string_free(args, true);
#endif
	if (!t->qt || !tdev_find(t))
		return false;

	tdev_cfg_write(t, 0x10, (uint32_t)T_BAR0);
	tdev_cfg_write(t, 0x14, T_BAR0 >> 32);
	tdev_cfg_write(t, 0x18, (uint32_t)T_BAR2);
	tdev_cfg_write(t, 0x1c, T_BAR2 >> 32);
	tdev_cfg_write(t, 0x04, 0x6);	/* memory space + bus master */
	t->msix_cap = tdev_find_cap(t, PCI_CAP_ID_MSIX);
	t->nq = tdev_rd(t, MLU_REG_NUM_RINGS);
	t->devmem_size = tdev_rd(t, MLU_REG_DEVMEM_SIZE_LO) |
			 (uint64_t)tdev_rd(t, MLU_REG_DEVMEM_SIZE_HI) << 32;
	t->data_next = T_GPA_DATA;
	t->pt_next = T_GPA_PT_POOL;
	return t->nq >= 1 && t->nq <= MLU_MAX_RINGS && t->msix_cap;
}

void tdev_stop(struct mlu_tdev *t)
{
	qtest_quit(t->qt);
	t->qt = NULL;
}

uint32_t tdev_rd(struct mlu_tdev *t, uint32_t reg)
{
	return qtest_readl(t->qt, T_BAR0 + reg);
}

void tdev_wr(struct mlu_tdev *t, uint32_t reg, uint32_t val)
{
	qtest_writel(t->qt, T_BAR0 + reg, val);
}

uint32_t tdev_qrd(struct mlu_tdev *t, unsigned int q, uint32_t reg)
{
	return tdev_rd(t, MLU_RING_REG(q, reg));
}

void tdev_qwr(struct mlu_tdev *t, unsigned int q, uint32_t reg, uint32_t val)
{
	tdev_wr(t, MLU_RING_REG(q, reg), val);
}

/* ------------------------------------------------------------------ */

static uint64_t *pt_entry(struct mlu_tdev *t, uint64_t table, unsigned int i)
{
	return (uint64_t *)(t->pt_shadow + (table - T_GPA_PT_POOL)) + i;
}

static uint64_t pt_alloc(struct mlu_tdev *t)
{
	uint64_t table = t->pt_next;

	if (table >= T_GPA_PT_POOL + T_PT_POOL_SIZE) {
		fprintf(stderr, "page-table pool exhausted\n");
		abort();
	}
	t->pt_next += PT_TABLE_SIZE;
	t->pt_dirty[(table - T_GPA_PT_POOL) / PT_TABLE_SIZE] = true;
	return table;
}

void tdev_mmu_init(struct mlu_tdev *t, uint32_t count)
{
	memset(t->pt_shadow, 0, sizeof(t->pt_shadow));
	memset(t->pt_dirty, 0, sizeof(t->pt_dirty));
	memset(t->ctx_root, 0, sizeof(t->ctx_root));
	t->pt_next = T_GPA_PT_POOL;
	qtest_memset(t->qt, T_GPA_CTX_TABLE, 0, MLU_MAX_CONTEXTS * 8);
	qtest_memset(t->qt, T_GPA_PT_POOL, 0, T_PT_POOL_SIZE);
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_LO, (uint32_t)T_GPA_CTX_TABLE);
	tdev_wr(t, MLU_REG_MMU_CTX_TABLE_HI, T_GPA_CTX_TABLE >> 32);
	tdev_wr(t, MLU_REG_MMU_CTX_COUNT, count);
}

void tdev_ctx_create(struct mlu_tdev *t, unsigned int ctx)
{
	t->ctx_root[ctx] = pt_alloc(t);
	qtest_writeq(t->qt, T_GPA_CTX_TABLE + ctx * 8,
		     t->ctx_root[ctx] | MLU_CTX_VALID);
}

static uint64_t *pt_leaf(struct mlu_tdev *t, unsigned int ctx, uint64_t va,
			 bool create)
{
	uint64_t table = t->ctx_root[ctx];
	int level;

	for (level = MLU_PT_LEVELS - 1; level > 0; level--) {
		uint64_t *e = pt_entry(t, table, MLU_PT_INDEX(va, level));

		if (!(*e & MLU_PTE_VALID)) {
			if (!create)
				return NULL;
			*e = pt_alloc(t) | MLU_PTE_VALID;
			t->pt_dirty[(table - T_GPA_PT_POOL) / PT_TABLE_SIZE] = true;
		}
		table = *e & MLU_PTE_ADDR_MASK;
	}
	return pt_entry(t, table, MLU_PT_INDEX(va, 0));
}

static void pt_set(struct mlu_tdev *t, uint64_t *e, uint64_t val)
{
	if (*e != val) {
		*e = val;
		t->pt_dirty[((uint8_t *)e - t->pt_shadow) / PT_TABLE_SIZE] = true;
	}
}

void tdev_map(struct mlu_tdev *t, unsigned int ctx, uint64_t va,
	      uint64_t target, uint64_t len, uint64_t flags)
{
	uint64_t off;

	for (off = 0; off < len; off += MLU_PAGE_SIZE)
		pt_set(t, pt_leaf(t, ctx, va + off, true),
		       ((target + off) & MLU_PTE_ADDR_MASK) | flags |
		       MLU_PTE_VALID);
	tdev_mmu_flush(t);
}

void tdev_unmap(struct mlu_tdev *t, unsigned int ctx, uint64_t va,
		uint64_t len)
{
	uint64_t off;

	for (off = 0; off < len; off += MLU_PAGE_SIZE) {
		uint64_t *e = pt_leaf(t, ctx, va + off, false);

		if (e)
			pt_set(t, e, 0);
	}
	tdev_mmu_flush(t);
}

void tdev_mmu_flush(struct mlu_tdev *t)
{
	unsigned int i;

	for (i = 0; i < T_PT_POOL_SIZE / PT_TABLE_SIZE; i++) {
		if (!t->pt_dirty[i])
			continue;
		qtest_memwrite(t->qt, T_GPA_PT_POOL + i * PT_TABLE_SIZE,
			       t->pt_shadow + i * PT_TABLE_SIZE, PT_TABLE_SIZE);
		t->pt_dirty[i] = false;
	}
}

uint64_t tdev_alloc(struct mlu_tdev *t, uint64_t len)
{
	uint64_t gpa = t->data_next;

	t->data_next += (len + MLU_PAGE_SIZE - 1) & ~(MLU_PAGE_SIZE - 1);
	if (t->data_next > T_GPA_DATA_END) {
		fprintf(stderr, "guest data area exhausted\n");
		abort();
	}
	return gpa;
}

uint64_t tdev_devmem_alloc(struct mlu_tdev *t, uint64_t len)
{
	uint64_t off = t->devmem_next;

	t->devmem_next += (len + MLU_PAGE_SIZE - 1) & ~(MLU_PAGE_SIZE - 1);
	if (t->devmem_next > t->devmem_size) {
		fprintf(stderr, "device memory exhausted\n");
		abort();
	}
	return off;
}

uint64_t tdev_buffer(struct mlu_tdev *t, unsigned int ctx, uint64_t len,
		     uint64_t *gpa)
{
	*gpa = tdev_alloc(t, len);
	tdev_map(t, ctx, tdev_va(*gpa), *gpa, len, MLU_PTE_WRITE);
	return tdev_va(*gpa);
}

/* ------------------------------------------------------------------ */

static uint64_t ring_gpa(unsigned int q)
{
	return T_GPA_RINGS + q * 0x10000ull;
}

static uint64_t fence_gpa(unsigned int q)
{
	return T_GPA_FENCES + q * 64ull;
}

void tdev_queue_enable(struct mlu_tdev *t, unsigned int q)
{
	tdev_qwr(t, q, MLU_RING_BASE_LO, (uint32_t)ring_gpa(q));
	tdev_qwr(t, q, MLU_RING_BASE_HI, ring_gpa(q) >> 32);
	tdev_qwr(t, q, MLU_RING_SIZE, T_RING_SIZE);
	tdev_qwr(t, q, MLU_RING_CTRL, MLU_RING_CTRL_ENABLE);
	t->tail[q] = 0;
	qtest_memset(t->qt, fence_gpa(q), 0, 64);
}

bool tdev_queue_push(struct mlu_tdev *t, unsigned int q, const void *pkt)
{
	uint64_t addr = ring_gpa(q) + t->tail[q] * (uint64_t)MLU_PKT_SIZE;

	t->tail[q] = (t->tail[q] + 1) % T_RING_SIZE;
#ifdef MLU_TESTDEV_QTEST_CLIENT
	return qtest_memwrite(t->qt, addr, pkt, MLU_PKT_SIZE);
#else
	qtest_memwrite(t->qt, addr, pkt, MLU_PKT_SIZE);	/* aborts on failure */
	return true;
#endif
}

void tdev_doorbell(struct mlu_tdev *t, unsigned int q)
{
	tdev_qwr(t, q, MLU_RING_TAIL, t->tail[q]);
}

void tdev_fence_pkt(struct mlu_tdev *t, unsigned int q, unsigned int ctx,
		    uint64_t value, bool irq, struct mlu_pkt_fence *f)
{
	memset(f, 0, sizeof(*f));
	f->hdr.opcode = MLU_OP_FENCE;
	f->hdr.flags = irq ? MLU_FENCE_IRQ : 0;
	f->hdr.ctx = ctx;
	f->addr = tdev_va(fence_gpa(q));
	f->value = value;
	f->status_addr = tdev_va(fence_gpa(q) + 8);
	/* Map the queue's fence slots into @ctx (idempotent). */
	tdev_map(t, ctx, tdev_va(T_GPA_FENCES), T_GPA_FENCES, MLU_PAGE_SIZE,
		 MLU_PTE_WRITE);
}

uint64_t tdev_fence_value(struct mlu_tdev *t, unsigned int q)
{
	return qtest_readq(t->qt, fence_gpa(q));
}

uint32_t tdev_fence_status(struct mlu_tdev *t, unsigned int q)
{
	return qtest_readl(t->qt, fence_gpa(q) + 8);
}

bool tdev_wait_fence(struct mlu_tdev *t, unsigned int q, uint64_t value)
{
	uint64_t deadline = tdev_now_ms() + T_TIMEOUT_MS;

	do {
		if (tdev_fence_value(t, q) == value)
			return true;
		usleep(100);
	} while (tdev_now_ms() < deadline && qtest_probe_child(t->qt));
	return false;
}

bool tdev_wait_reg(struct mlu_tdev *t, uint32_t reg, uint32_t mask,
		   uint32_t want)
{
	uint64_t deadline = tdev_now_ms() + T_TIMEOUT_MS;

	do {
		if ((tdev_rd(t, reg) & mask) == want)
			return true;
		usleep(100);
	} while (tdev_now_ms() < deadline && qtest_probe_child(t->qt));
	return false;
}

int tdev_run_job(struct mlu_tdev *t, unsigned int q, unsigned int ctx,
		 const void *pkts, unsigned int n)
{
	const uint8_t *p = pkts;
	struct mlu_pkt_fence f;
	uint64_t value = ++t->fence_seq[q] | (uint64_t)q << 48;
	unsigned int i;

	for (i = 0; i < n; i++)
		tdev_queue_push(t, q, p + i * MLU_PKT_SIZE);
	tdev_fence_pkt(t, q, ctx, value, true, &f);
	tdev_queue_push(t, q, &f);
	tdev_doorbell(t, q);
	if (!tdev_wait_fence(t, q, value))
		return -1;
	return tdev_fence_status(t, q);
}

/* ------------------------------------------------------------------ */

static uint64_t msix_entry(unsigned int vector)
{
	return T_BAR0 + MLU_MSIX_TABLE_OFFSET + vector * 16ull;
}

void tdev_msix_setup(struct mlu_tdev *t)
{
	uint32_t ctrl = tdev_cfg_read(t, t->msix_cap);
	unsigned int v;

	ctrl |= MSIX_CTRL_ENABLE << 16;
	ctrl &= ~(MSIX_CTRL_MASKALL << 16);
	tdev_cfg_write(t, t->msix_cap, ctrl);
	for (v = 0; v < MLU_MSIX_VECTORS(t->nq); v++) {
		qtest_writel(t->qt, msix_entry(v), (uint32_t)(T_GPA_MSI + v * 16));
		qtest_writel(t->qt, msix_entry(v) + 4, 0);
		qtest_writel(t->qt, msix_entry(v) + 8, T_MSI_DATA(v));
		qtest_writel(t->qt, msix_entry(v) + 12, 0);
	}
	tdev_msi_clear(t);
}

void tdev_msix_mask(struct mlu_tdev *t, unsigned int vector, bool mask)
{
	qtest_writel(t->qt, msix_entry(vector) + 12, mask);
}

bool tdev_msix_pending(struct mlu_tdev *t, unsigned int vector)
{
	uint32_t pba = qtest_readl(t->qt, T_BAR0 + MLU_MSIX_PBA_OFFSET +
				   (vector / 32) * 4);

	return pba & (1u << (vector % 32));
}

bool tdev_msi_seen(struct mlu_tdev *t, unsigned int vector)
{
	return qtest_readl(t->qt, T_GPA_MSI + vector * 16) == T_MSI_DATA(vector);
}

void tdev_msi_clear(struct mlu_tdev *t)
{
	qtest_memset(t->qt, T_GPA_MSI, 0, 16 * (MLU_MAX_RINGS + 1));
}

bool tdev_wait_msi(struct mlu_tdev *t, unsigned int vector)
{
	uint64_t deadline = tdev_now_ms() + T_TIMEOUT_MS;

	do {
		if (tdev_msi_seen(t, vector))
			return true;
		usleep(100);
	} while (tdev_now_ms() < deadline && qtest_probe_child(t->qt));
	return false;
}
