// SPDX-License-Identifier: MIT
/*
 * The guest environment the other guest tests rely on: a kernel with DRM
 * accel support, the pseudo file systems /init mounts, and the card count
 * the host asked for.  Needs no MLU driver.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <linux/magic.h>

#include "kselftest_harness.h"

TEST(kernel_has_drm_accel)
{
	struct utsname u;
	unsigned int major, minor;

	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(2, sscanf(u.release, "%u.%u", &major, &minor));
	TH_LOG("kernel %s", u.release);
	/* drivers/accel (and /dev/accel) appeared in Linux 6.2. */
	EXPECT_TRUE(major > 6 || (major == 6 && minor >= 2));
}

TEST(pseudo_filesystems_mounted)
{
	struct statfs fs;

	ASSERT_EQ(0, statfs("/proc", &fs));
	EXPECT_EQ(PROC_SUPER_MAGIC, fs.f_type);
	ASSERT_EQ(0, statfs("/sys", &fs));
	EXPECT_EQ(SYSFS_MAGIC, fs.f_type);
	ASSERT_EQ(0, statfs("/sys/kernel/debug", &fs));
	EXPECT_EQ(DEBUGFS_MAGIC, fs.f_type);
	ASSERT_EQ(0, statfs("/dev", &fs));
	EXPECT_EQ(TMPFS_MAGIC, fs.f_type);	/* devtmpfs reports tmpfs */
}

TEST(host_card_count_passed)
{
	const char *cards = getenv("MLU_GUEST_CARDS");
	char *end;
	long n;

	if (!cards)
		SKIP(return, "MLU_GUEST_CARDS not set (not started by run.sh)");
	errno = 0;
	n = strtol(cards, &end, 10);
	ASSERT_EQ(0, errno);
	ASSERT_EQ('\0', *end);
	EXPECT_GE(n, 0);
	EXPECT_LE(n, 64);
}

TEST_HARNESS_MAIN
