// SPDX-License-Identifier: MIT
/*
 * Helpers of the reliability tests (see mlu_reliability.h).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlu_guest.h"
#include "mlu_reliability.h"

int mlu_check_matmul(int index, uint32_t seed, char *why, size_t why_len)
{
	enum { M = 24, N = 20, K = 28 };
	struct mlu_matmul_desc d = { .dtype = MLU_DTYPE_F32, .m = M, .n = N, .k = K,
				     .lda = K, .ldb = N, .ldc = N, .alpha = 1.0f };
	uint64_t a_off = 0, b_off = M * K * 4, c_off = b_off + K * N * 4, va;
	float ref[M * N], abs_ref[M * N];
	struct mlu_pkt_matmul pkt;
	uint32_t bo, out;
	double max_err;
	char *map;
	int fd = mlu_open_card(index), ret;
	long bad;

	if (fd < 0) {
		snprintf(why, why_len, "open card %d: %s", index, strerror(errno));
		return -1;
	}
	ret = mlu_bo_create(fd, c_off + M * N * 4, 0, &bo, &va);
	map = ret ? NULL : mlu_bo_map(fd, bo);
	out = mlu_syncobj_create(fd);
	if (!map || !out) {
		snprintf(why, why_len, "BO/syncobj setup failed (%d)", ret);
		close(fd);
		return -1;
	}
	mlu_fill_random(MLU_DTYPE_F32, map, M * K + K * N, seed);
	mlu_pkt_matmul_init(&pkt, &d, va + a_off, va + b_off, va + c_off, 0);
	ret = mlu_submit_simple(fd, 0, &pkt, 1, &bo, 1, 0, out);
	if (!ret)
		ret = mlu_syncobj_wait(fd, out, 30000 * MS);
	if (!ret && mlu_fence_status(fd, out) != 1)
		ret = mlu_fence_status(fd, out);
	if (ret) {
		snprintf(why, why_len, "matmul job failed: %d", ret);
		close(fd);
		return -1;
	}
	mlu_matmul_oracle(&d, map + a_off, map + b_off, NULL, NULL, ref, abs_ref);
	bad = mlu_compare(MLU_DTYPE_F32, map + c_off, ref, abs_ref, M * N, K + 4, &max_err);
	if (bad >= 0)
		snprintf(why, why_len, "C[%ld] differs from the reference (max error %g)", bad,
			 max_err);
	close(fd);
	return bad >= 0 ? -1 : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int mlu_pci_devices(char names[][16], int max)
{
	DIR *dir = opendir("/sys/bus/pci/drivers/mlu");
	struct dirent *e;
	int n = 0;

	while (dir && (e = readdir(dir)) && n < max) {
		if (strlen(e->d_name) == 12 && e->d_name[4] == ':' && e->d_name[10] == '.')
			snprintf(names[n++], 16, "%s", e->d_name);
	}
	if (dir)
		closedir(dir);
	qsort(names, n, 16, by_name);
	return n;
}

int mlu_write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}
