// SPDX-License-Identifier: MIT
/*
 * Device tests of the card's temperature and power sensors: the model of
 * Documentation/hw/mlu-card.rst ("Sensors") checked number by number,
 * with the virtual clock stepped through qtest so that load, power and
 * temperature are known exactly.
 *
 * MLU_QEMU names the qemu-system-x86_64 to test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "mlu_testdev.h"

/* A card with known limits: 100 W, 25 degrees C ambient. */
#define PROPS		"queues=2,devmem-size=16M,tdp-mw=100000,ambient-mc=25000"
#define TDP_MW		100000.0
#define IDLE_MW		(TDP_MW / 5)
#define AMBIENT_MC	25000.0
#define RISE_MC		50000.0		/* above ambient at TDP */
#define TAU_S		2.0
#define SEC_NS		1000000000ll

/* A register value @got within @tol of the model's @want. */
#define EXPECT_CLOSE(want, got, tol) do {				\
	double __want = (want);						\
	long __got = (got);						\
	EXPECT_GE((tol), labs(__got - lround(__want)))			\
		TH_LOG("want %.1f, got %ld", __want, __got);		\
} while (0)

/* The model's equations (mlu-sensors.c), as the documentation states them. */
static double power_at(double load)
{
	return IDLE_MW + (TDP_MW - IDLE_MW) * load;
}

static double steady_temp(double power)
{
	return AMBIENT_MC + RISE_MC * power / TDP_MW;
}

static double temp_after(double temp, double power, double seconds)
{
	double ss = steady_temp(power);

	return ss + (temp - ss) * exp(-seconds / TAU_S);
}

static int32_t temp_mc(struct mlu_tdev *t)
{
	return (int32_t)tdev_rd(t, MLU_REG_TEMP_MC);
}

static uint64_t busy_ns(struct mlu_tdev *t)
{
	uint64_t sum = 0;
	unsigned int q;

	for (q = 0; q < t->nq; q++)
		sum += tdev_qrd(t, q, MLU_RING_BUSY_NS_LO) |
		       (uint64_t)tdev_qrd(t, q, MLU_RING_BUSY_NS_HI) << 32;
	return sum;
}

FIXTURE(sensors) {
	struct mlu_tdev *t;
};

FIXTURE_SETUP(sensors)
{
	if (!getenv("MLU_QEMU"))
		SKIP(return, "MLU_QEMU is not set");
	self->t = calloc(1, sizeof(*self->t));
	ASSERT_NE(NULL, self->t);
	ASSERT_TRUE(tdev_start(self->t, getenv("MLU_QEMU"), PROPS));
}

FIXTURE_TEARDOWN(sensors)
{
	if (self->t) {
		if (self->t->qt)
			EXPECT_TRUE(qtest_alive(self->t->qt));
		tdev_stop(self->t);
		free(self->t);
	}
}

TEST_F(sensors, idle_card_reports_idle_power_and_its_steady_temperature)
{
	struct mlu_tdev *t = self->t;

	ASSERT_NE(0, tdev_rd(t, MLU_REG_CAPS) & MLU_CAP_SENSORS);
	EXPECT_EQ(100000, tdev_rd(t, MLU_REG_POWER_MAX_MW));
	EXPECT_EQ(95000, tdev_rd(t, MLU_REG_TEMP_CRIT_MC));
	ASSERT_LT(0, qtest_clock_step(t->qt, SEC_NS));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_LOAD));
	EXPECT_EQ(lround(IDLE_MW), tdev_rd(t, MLU_REG_POWER_MW));
	EXPECT_EQ(lround(steady_temp(IDLE_MW)), temp_mc(t));
}

/* The sensor registers are read-only: a guest's writes change nothing. */
TEST_F(sensors, guest_writes_to_sensor_registers_are_ignored)
{
	static const uint32_t regs[] = {
		MLU_REG_TEMP_MC, MLU_REG_POWER_MW, MLU_REG_POWER_MAX_MW,
		MLU_REG_TEMP_CRIT_MC, MLU_REG_LOAD,
	};
	struct mlu_tdev *t = self->t;
	uint32_t before[5];
	unsigned int i;

	ASSERT_LT(0, qtest_clock_step(t->qt, SEC_NS));
	for (i = 0; i < 5; i++)
		before[i] = tdev_rd(t, regs[i]);
	for (i = 0; i < 5; i++)
		tdev_wr(t, regs[i], 0xdeadbeef);
	/* The virtual clock did not move: the model gives the same values. */
	for (i = 0; i < 5; i++)
		EXPECT_EQ(before[i], tdev_rd(t, regs[i]))
			TH_LOG("register 0x%x", regs[i]);
	EXPECT_EQ(lround(IDLE_MW), tdev_rd(t, MLU_REG_POWER_MW));
}

TEST_F(sensors, ambient_and_tdp_properties_are_checked)
{
	const char *bad[] = { "tdp-mw=999", "tdp-mw=1000001",
			      "ambient-mc=-40001", "ambient-mc=100001" };
	struct mlu_tdev *other = calloc(1, sizeof(*other));
	unsigned int i;

	ASSERT_NE(NULL, other);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* QEMU refuses to start: no card to find. */
		EXPECT_FALSE(tdev_start(other, getenv("MLU_QEMU"), bad[i]))
			TH_LOG("%s accepted", bad[i]);
		tdev_stop(other);
	}
	free(other);
}

/* Run matmuls on queue 0 until the card has been busy for @want_ns. */
static uint64_t make_load(struct __test_metadata *_metadata,
			  struct mlu_tdev *t, uint64_t want_ns)
{
	const uint32_t n = 384;
	uint64_t bytes = (uint64_t)n * n * 4, a, b, c;
	struct mlu_pkt_matmul p = { 0 };
	uint64_t start = tdev_now_ms(), gpa;

	a = tdev_buffer(t, 0, bytes, &gpa);
	b = tdev_buffer(t, 0, bytes, &gpa);
	c = tdev_buffer(t, 0, bytes, &gpa);
	p.hdr.opcode = MLU_OP_MATMUL;
	p.a = a;
	p.b = b;
	p.c = c;
	p.m = p.n = p.k = p.lda = p.ldb = p.ldc = n;
	p.alpha = 0x3f800000;	/* 1.0f */
	p.dtype = MLU_DTYPE_F32;
	while (busy_ns(t) < want_ns && tdev_now_ms() - start < 60000)
		EXPECT_EQ(MLU_CMD_STATUS_OK, tdev_run_job(t, 0, 0, &p, 1));
	return busy_ns(t);
}

TEST_F_TIMEOUT(sensors, load_heats_the_card_and_idle_cools_it, 120)
{
	struct mlu_tdev *t = self->t;
	double load, power, want;
	int32_t t0, hot;
	uint64_t busy;

	tdev_mmu_init(t, 2);
	tdev_ctx_create(t, 0);
	tdev_msix_setup(t);
	tdev_wr(t, MLU_REG_IRQ_MASK, 0);
	tdev_queue_enable(t, 0);

	ASSERT_LT(0, qtest_clock_step(t->qt, SEC_NS));
	t0 = temp_mc(t);
	EXPECT_EQ(lround(steady_temp(IDLE_MW)), t0);

	/* Work runs while the virtual clock stands still ... */
	busy = make_load(_metadata, t, 300000000);
	ASSERT_LE(300000000, busy);
	EXPECT_EQ(t0, temp_mc(t)) TH_LOG("sensors updated before a period passed");

	/* ... and counts as load over the next interval of virtual time. */
	ASSERT_LT(0, qtest_clock_step(t->qt, SEC_NS));
	load = busy >= SEC_NS ? 1.0 : (double)busy / SEC_NS;
	power = power_at(load);
	want = temp_after(t0, power, 1.0);
	hot = temp_mc(t);
	EXPECT_EQ(lround(load * MLU_LOAD_FULL), tdev_rd(t, MLU_REG_LOAD));
	EXPECT_CLOSE(power, tdev_rd(t, MLU_REG_POWER_MW), 1);
	EXPECT_CLOSE(want, hot, 2);
	EXPECT_LT(t0 + 2000, hot) TH_LOG("load %.3f heated by %d mC", load,
					 (int)(hot - t0));

	/* A reset does not cool the card. */
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	ASSERT_TRUE(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	EXPECT_EQ(hot, temp_mc(t));

	/* Idle: power drops at once, temperature decays with tau = 2 s. */
	ASSERT_LT(0, qtest_clock_step(t->qt, SEC_NS));
	EXPECT_EQ(0, tdev_rd(t, MLU_REG_LOAD));
	EXPECT_EQ(lround(IDLE_MW), tdev_rd(t, MLU_REG_POWER_MW));
	EXPECT_CLOSE(temp_after(hot, IDLE_MW, 1.0), temp_mc(t), 2);
	EXPECT_GT(hot, temp_mc(t));
	ASSERT_LT(0, qtest_clock_step(t->qt, 30 * SEC_NS));
	EXPECT_CLOSE(steady_temp(IDLE_MW), temp_mc(t), 1);
}

TEST_HARNESS_MAIN
