// SPDX-License-Identifier: MIT
/*
 * Driver lifecycle under load: unbind/rebind of a card through sysfs and
 * rmmod/insmod of the driver, 50 times each, while processes keep
 * submitting jobs.  The submitters see their jobs complete or get the
 * errors the UAPI documents for a card that goes away (-ENODEV, -ECANCELED,
 * a missing node); nothing hangs, and every card computes correctly after.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"
#include "mlu_reliability.h"

#define MODULE_PATH	"/lib/modules/mlu.ko"
#define ROUNDS		50
#define SUBMITTERS	2
#define JOB_WAIT_MS	20000	/* far above the driver's job timeout */

struct submit_stats {
	atomic_int stop;
	atomic_long jobs_ok, jobs_failed, calls_refused;
	atomic_long unexpected;		/* errno not in the documented set */
	atomic_int last_unexpected;
	atomic_long hung;		/* a job's fence not signalled in JOB_WAIT_MS */
};

static bool gone_errno(int err)
{
	/* The node vanished, the card was removed, or its driver is going. */
	return err == ENODEV || err == ENOENT || err == ENXIO || err == EIO;
}

static void note(struct submit_stats *st, int err)
{
	if (err && !gone_errno(err)) {
		atomic_fetch_add(&st->unexpected, 1);
		atomic_store(&st->last_unexpected, err);
	} else if (err) {
		atomic_fetch_add(&st->calls_refused, 1);
	}
}

/* One round: open a card, copy a page on the device, check it, close. */
static void submit_once(struct submit_stats *st, unsigned int round)
{
	struct mlu_pkt_copy pkt;
	unsigned char *p;
	uint32_t bo, out;
	uint64_t va;
	int fd, ret, status;

	fd = mlu_open_card(round % 2);
	if (fd < 0) {
		/* No node (yet): the driver is unbound or unloaded. */
		if (errno != ENODEV && errno != ENOENT && errno != ENXIO)
			note(st, errno);
		usleep(2000);
		return;
	}
	ret = mlu_bo_create(fd, 8192, 0, &bo, &va);
	if (ret) {
		note(st, -ret);
		goto out;
	}
	p = mlu_bo_map(fd, bo);
	if (!p) {
		note(st, errno);
		goto out;
	}
	memset(p, round & 0xff, 4096);
	out = mlu_syncobj_create(fd);
	mlu_pkt_copy_init(&pkt, va + 4096, va, 4096);
	ret = mlu_submit_simple(fd, round % 2, &pkt, 1, &bo, 1, 0, out);
	if (ret) {
		note(st, -ret);
		goto unmap;
	}
	ret = mlu_syncobj_wait(fd, out, JOB_WAIT_MS * MS);
	if (ret == -ETIME) {
		atomic_fetch_add(&st->hung, 1);
		goto unmap;
	}
	if (ret) {
		note(st, -ret);
		goto unmap;
	}
	/* mlu_fence_status() passes libdrm's -1 through: take errno then. */
	status = mlu_fence_status(fd, out);
	if (status == -1)
		status = -errno;
	if (status == 1 && !memcmp(p, p + 4096, 4096))
		atomic_fetch_add(&st->jobs_ok, 1);
	else if (status == -ENODEV || status == -ECANCELED || status == -ETIMEDOUT ||
		 status == -EIO)
		atomic_fetch_add(&st->jobs_failed, 1);
	else
		note(st, status < 0 ? -status : EBADMSG);
unmap:
	munmap(p, 8192);
out:
	close(fd);
	usleep(1000 + round % 4 * 1000);	/* leave rmmod a window */
}

static void start_submitters(struct submit_stats *st, pid_t *pids)
{
	int i;

	for (i = 0; i < SUBMITTERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			unsigned int round = i;

			while (!atomic_load(&st->stop))
				submit_once(st, round++);
			_exit(0);
		}
	}
}

/* Stop the submitters; false if one did not end within 60 s (a hang). */
static bool stop_submitters(struct submit_stats *st, pid_t *pids)
{
	struct timespec t0, now;
	bool ok = true;
	int i, status;

	atomic_store(&st->stop, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < SUBMITTERS; i++) {
		while (waitpid(pids[i], &status, WNOHANG) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec > 60) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
				ok = false;
				break;
			}
			usleep(10000);
		}
	}
	return ok;
}

static struct submit_stats *new_stats(void)
{
	struct submit_stats *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (st == MAP_FAILED)
		return NULL;
	memset(st, 0, sizeof(*st));
	return st;
}

static bool wait_cards(int cards, int seconds)
{
	int i;

	for (i = 0; i < seconds * 100; i++) {
		if (mlu_count_cards() == cards)
			return true;
		usleep(10000);
	}
	return false;
}

static void check_stats_and_cards(struct __test_metadata *_metadata, struct submit_stats *st,
				  int cards)
{
	char why[160];
	int i;

	TH_LOG("jobs: %ld completed, %ld failed with a removal error; %ld calls refused",
	       atomic_load(&st->jobs_ok), atomic_load(&st->jobs_failed),
	       atomic_load(&st->calls_refused));
	EXPECT_EQ(0, atomic_load(&st->unexpected))
		TH_LOG("last unexpected errno %d (%s)", atomic_load(&st->last_unexpected),
		       strerror(atomic_load(&st->last_unexpected)));
	EXPECT_EQ(0, atomic_load(&st->hung));
	EXPECT_LT(0, atomic_load(&st->jobs_ok));
	ASSERT_TRUE(wait_cards(cards, 10));
	for (i = 0; i < cards; i++)
		EXPECT_EQ(0, mlu_check_matmul(i, 1234 + i, why, sizeof(why))) TH_LOG("%s", why);
}

/* 50 rounds take well over the harness's default 30 s under TCG. */
FIXTURE(lifecycle) {
	int unused;
};

FIXTURE_SETUP(lifecycle)
{
}

FIXTURE_TEARDOWN(lifecycle)
{
}

TEST_F_TIMEOUT(lifecycle, unbind_and_rebind_while_submitting, 300)
{
	char names[8][16], path[128];
	int cards = mlu_count_cards(), round;
	struct submit_stats *st;
	pid_t pids[SUBMITTERS];

	if (cards == 0)
		SKIP(return, "no MLU card");
	ASSERT_EQ(cards, mlu_pci_devices(names, 8));
	st = new_stats();
	ASSERT_NE(NULL, st);

	start_submitters(st, pids);
	for (round = 0; round < ROUNDS; round++) {
		const char *name = names[round % cards];

		usleep(20000 + (round % 7) * 15000);	/* let jobs get in flight */
		ASSERT_EQ(0, mlu_write_file("/sys/bus/pci/drivers/mlu/unbind", name))
			TH_LOG("round %d: unbind %s", round, name);
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/mlu/%s", name);
		EXPECT_NE(0, access(path, F_OK));
		usleep((round % 5) * 10000);
		ASSERT_EQ(0, mlu_write_file("/sys/bus/pci/drivers/mlu/bind", name))
			TH_LOG("round %d: bind %s", round, name);
		ASSERT_TRUE(wait_cards(cards, 10)) TH_LOG("round %d", round);
	}
	ASSERT_TRUE(stop_submitters(st, pids)) TH_LOG("a submitter hung");
	check_stats_and_cards(_metadata, st, cards);
}

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* rmmod, retried while submitters briefly hold the module; 0 or -errno. */
static int unload_module(void)
{
	int i, ret = -EBUSY;

	for (i = 0; i < 2000; i++) {
		ret = delete_module("mlu");
		if (ret != -EWOULDBLOCK && ret != -EBUSY)
			return ret;
		usleep(5000);
	}
	return ret;
}

TEST_F_TIMEOUT(lifecycle, rmmod_and_insmod_while_submitting, 300)
{
	int cards = mlu_count_cards(), round;
	struct submit_stats *st;
	pid_t pids[SUBMITTERS];

	if (cards == 0)
		SKIP(return, "no MLU card");
	if (access(MODULE_PATH, R_OK))
		SKIP(return, "%s not in the initramfs", MODULE_PATH);
	st = new_stats();
	ASSERT_NE(NULL, st);

	start_submitters(st, pids);
	for (round = 0; round < ROUNDS; round++) {
		usleep(20000 + (round % 7) * 15000);
		ASSERT_EQ(0, unload_module()) TH_LOG("round %d: rmmod", round);
		EXPECT_EQ(0, mlu_count_cards());
		ASSERT_EQ(0, load_module(MODULE_PATH)) TH_LOG("round %d: insmod", round);
		ASSERT_TRUE(wait_cards(cards, 10)) TH_LOG("round %d", round);
	}
	ASSERT_TRUE(stop_submitters(st, pids)) TH_LOG("a submitter hung");
	check_stats_and_cards(_metadata, st, cards);
}

TEST_HARNESS_MAIN
