// SPDX-License-Identifier: MIT
/*
 * Unloading and reloading the driver: rmmod with no open files removes every
 * card's node, insmod brings them back, and they work.  Runs last: it
 * needs every other user of the card gone.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "mlu_guest.h"

#define MODULE_PATH	"/lib/modules/mlu.ko"

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

static void run_copy(struct __test_metadata *_metadata, int index)
{
	struct mlu_pkt_copy pkt;
	uint32_t bo, out;
	uint64_t va;
	unsigned char *p;
	int fd = mlu_open_card(index);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, mlu_bo_create(fd, 8192, 0, &bo, &va));
	p = mlu_bo_map(fd, bo);
	ASSERT_NE(NULL, p);
	memset(p, 0x77, 4096);
	out = mlu_syncobj_create(fd);
	mlu_pkt_copy_init(&pkt, va + 4096, va, 4096);
	ASSERT_EQ(0, mlu_submit_simple(fd, 0, &pkt, 1, &bo, 1, 0, out));
	ASSERT_EQ(0, mlu_syncobj_wait(fd, out, 30000 * MS));
	EXPECT_EQ(1, mlu_fence_status(fd, out));
	EXPECT_EQ(0, memcmp(p, p + 4096, 4096));
	close(fd);
}

TEST(rmmod_and_insmod_again)
{
	int cards = mlu_count_cards(), i, fd;

	if (cards == 0) {
		ASSERT_LE(mlu_expected_cards(), 0) TH_LOG("host attached cards but no mlu node");
		SKIP(return, "no MLU card");
	}
	if (access(MODULE_PATH, R_OK))
		SKIP(return, "%s not in the initramfs", MODULE_PATH);

	/* An open file holds the module. */
	fd = mlu_open_card(0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EWOULDBLOCK, delete_module("mlu"));
	close(fd);

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, delete_module("mlu")) TH_LOG("round %d", i);
		EXPECT_EQ(0, mlu_count_cards());
		ASSERT_EQ(0, load_module(MODULE_PATH)) TH_LOG("round %d", i);
		ASSERT_EQ(cards, mlu_count_cards());
	}
	for (i = 0; i < cards; i++)
		run_copy(_metadata, i);
}

TEST_HARNESS_MAIN
