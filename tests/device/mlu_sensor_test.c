// SPDX-License-Identifier: MIT
/*
 * Device tests of the card's temperature and power sensors: the model of
 * Documentation/hw/mlu-card.rst ("Sensors") checked number by number,
 * with the virtual clock stepped through qtest so that load, power and
 * temperature are known exactly.  A QEMU qtest, like mlu_device_test.c.
 *
 * QTEST_QEMU_BINARY names the qemu-system-x86_64 to test; run with --tap.
 */
#include "qemu/osdep.h"
#include <math.h>
#include <sys/wait.h>

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
	if (labs(__got - lround(__want)) > (tol))			\
		g_test_message("want %.1f, got %ld", __want, __got);	\
	g_assert_cmpint((tol), >=, labs(__got - lround(__want)));	\
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

struct sensors_fixture {
	struct mlu_tdev *t;
};

static void sensors_setup(struct sensors_fixture *self)
{
	self->t = calloc(1, sizeof(*self->t));
	g_assert_nonnull(self->t);
	g_assert_true(tdev_start(self->t, getenv("QTEST_QEMU_BINARY"), PROPS));
}

static void sensors_teardown(struct sensors_fixture *self)
{
	if (self->t) {
		if (self->t->qt)
			g_assert_true(qtest_probe_child(self->t->qt));
		tdev_stop(self->t);
		free(self->t);
	}
}

static void test_idle_card_reports_idle_power_and_its_steady_temperature(
	struct sensors_fixture *self)
{
	struct mlu_tdev *t = self->t;

	g_assert_cmpuint(0, !=, tdev_rd(t, MLU_REG_CAPS) & MLU_CAP_SENSORS);
	g_assert_cmpuint(100000, ==, tdev_rd(t, MLU_REG_POWER_MAX_MW));
	g_assert_cmpuint(95000, ==, tdev_rd(t, MLU_REG_TEMP_CRIT_MC));
	g_assert_cmpint(0, <, qtest_clock_step(t->qt, SEC_NS));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_LOAD));
	g_assert_cmpuint(lround(IDLE_MW), ==, tdev_rd(t, MLU_REG_POWER_MW));
	g_assert_cmpuint(lround(steady_temp(IDLE_MW)), ==, temp_mc(t));
}

/* The sensor registers are read-only: a guest's writes change nothing. */
static void test_guest_writes_to_sensor_registers_are_ignored(
	struct sensors_fixture *self)
{
	static const uint32_t regs[] = {
		MLU_REG_TEMP_MC, MLU_REG_POWER_MW, MLU_REG_POWER_MAX_MW,
		MLU_REG_TEMP_CRIT_MC, MLU_REG_LOAD,
	};
	struct mlu_tdev *t = self->t;
	uint32_t before[5];
	unsigned int i;

	g_assert_cmpint(0, <, qtest_clock_step(t->qt, SEC_NS));
	for (i = 0; i < 5; i++)
		before[i] = tdev_rd(t, regs[i]);
	for (i = 0; i < 5; i++)
		tdev_wr(t, regs[i], 0xdeadbeef);
	/* The virtual clock did not move: the model gives the same values. */
	for (i = 0; i < 5; i++) {
		g_test_message("register 0x%x", regs[i]);
		g_assert_cmphex(before[i], ==, tdev_rd(t, regs[i]));
	}
	g_assert_cmpuint(lround(IDLE_MW), ==, tdev_rd(t, MLU_REG_POWER_MW));
}

/*
 * QEMU with `-device mlu,<props>` exits with an error status within 10 s;
 * libqtest cannot start it, it would abort the test on the failure.
 */
static bool qemu_refuses(const char *props)
{
	g_autofree char *dev = g_strdup_printf("mlu,%s", props);
	const char *argv[] = {
		getenv("QTEST_QEMU_BINARY"), "-machine", "q35", "-nodefaults",
		"-accel", "qtest", "-display", "none", "-L",
		"/usr/share/seabios", "-L", "/usr/share/qemu", "-device", dev,
		NULL
	};
	uint64_t deadline = tdev_now_ms() + 10000;
	int status = 0;
	GPid pid;

	g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD |
				    G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
				    &pid, NULL));
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (tdev_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;	/* it runs: accepted */
		}
		usleep(10000);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) != 0;
}

static void test_ambient_and_tdp_properties_are_checked(
	struct sensors_fixture *self)
{
	const char *bad[] = { "tdp-mw=999", "tdp-mw=1000001",
			      "ambient-mc=-40001", "ambient-mc=100001" };
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("%s", bad[i]);
		g_assert_true(qemu_refuses(bad[i]));
	}
}

/* Run matmuls on queue 0 until the card has been busy for @want_ns. */
static uint64_t make_load(struct mlu_tdev *t, uint64_t want_ns)
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
		g_assert_cmpuint(MLU_CMD_STATUS_OK, ==,
				 tdev_run_job(t, 0, 0, &p, 1));
	return busy_ns(t);
}

static void test_load_heats_the_card_and_idle_cools_it(
	struct sensors_fixture *self)
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

	g_assert_cmpint(0, <, qtest_clock_step(t->qt, SEC_NS));
	t0 = temp_mc(t);
	g_assert_cmpuint(lround(steady_temp(IDLE_MW)), ==, t0);

	/* Work runs while the virtual clock stands still ... */
	busy = make_load(t, 300000000);
	g_assert_cmpuint(300000000, <=, busy);
	/* The sensors are not updated before a period has passed... */
	g_assert_cmpint(t0, ==, temp_mc(t));

	/* ... and counts as load over the next interval of virtual time. */
	g_assert_cmpint(0, <, qtest_clock_step(t->qt, SEC_NS));
	load = busy >= SEC_NS ? 1.0 : (double)busy / SEC_NS;
	power = power_at(load);
	want = temp_after(t0, power, 1.0);
	hot = temp_mc(t);
	g_assert_cmpuint(lround(load * MLU_LOAD_FULL), ==,
			 tdev_rd(t, MLU_REG_LOAD));
	EXPECT_CLOSE(power, tdev_rd(t, MLU_REG_POWER_MW), 1);
	EXPECT_CLOSE(want, hot, 2);
	g_test_message("load %.3f heated by %d mC", load, (int)(hot - t0));
	g_assert_cmpint(t0 + 2000, <, hot);

	/* A reset does not cool the card. */
	tdev_wr(t, MLU_REG_RESET, MLU_RESET_MAGIC);
	g_assert_true(tdev_wait_reg(t, MLU_REG_STATUS, ~0u, MLU_STATUS_READY));
	g_assert_cmpuint(hot, ==, temp_mc(t));

	/* Idle: power drops at once, temperature decays with tau = 2 s. */
	g_assert_cmpint(0, <, qtest_clock_step(t->qt, SEC_NS));
	g_assert_cmpuint(0, ==, tdev_rd(t, MLU_REG_LOAD));
	g_assert_cmpuint(lround(IDLE_MW), ==, tdev_rd(t, MLU_REG_POWER_MW));
	EXPECT_CLOSE(temp_after(hot, IDLE_MW, 1.0), temp_mc(t), 2);
	g_assert_cmpint(hot, >, temp_mc(t));
	g_assert_cmpint(0, <, qtest_clock_step(t->qt, 30 * SEC_NS));
	EXPECT_CLOSE(steady_temp(IDLE_MW), temp_mc(t), 1);
}

/* The tests that start from a fresh card, set up as the fixture does. */
static const struct sensors_test {
	const char *name;
	void (*fn)(struct sensors_fixture *self);
	unsigned int timeout_s;
} sensors_tests[] = {
	TDEV_TEST(idle_card_reports_idle_power_and_its_steady_temperature, 120),
	TDEV_TEST(guest_writes_to_sensor_registers_are_ignored, 120),
	TDEV_TEST(ambient_and_tdp_properties_are_checked, 120),
	TDEV_TEST(load_heats_the_card_and_idle_cools_it, 240),
};

static void sensors_run(const void *data)
{
	const struct sensors_test *test = data;
	struct sensors_fixture self = { 0 };

	sensors_setup(&self);
	test->fn(&self);
	sensors_teardown(&self);
}

int main(int argc, char **argv)
{
	unsigned int i;

	tdev_test_init(&argc, &argv);
	for (i = 0; i < G_N_ELEMENTS(sensors_tests); i++)
		tdev_add_test("sensors", sensors_tests[i].name, sensors_run,
			      &sensors_tests[i], sensors_tests[i].timeout_s);
	return g_test_run();
}
