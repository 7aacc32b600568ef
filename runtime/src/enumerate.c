// SPDX-License-Identifier: MIT
/*
 * Finding the cards: accel nodes whose device is bound to the mlu driver.
 * libdrm's drmGetDevices2() does not list accel nodes, so walk
 * /sys/class/accel directly.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlu_internal.h"

static bool bound_to_mlu(const char *class_dir, const char *name)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *driver;
	ssize_t len;

	if (snprintf(link, sizeof(link), "%s/%s/device/driver", class_dir, name) >=
	    (int)sizeof(link))
		return false;
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return false;
	target[len] = '\0';
	driver = strrchr(target, '/');
	driver = driver ? driver + 1 : target;
	return strcmp(driver, "mlu") == 0;
}

/* "accel12" -> 12; false for anything else. */
static bool parse_minor(const char *name, unsigned int *minor)
{
	unsigned long v;
	char *end;

	if (strncmp(name, "accel", 5) != 0 || name[5] < '0' || name[5] > '9')
		return false;
	v = strtoul(name + 5, &end, 10);
	if (*end || v > UINT_MAX)
		return false;
	*minor = v;
	return true;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return (x > y) - (x < y);
}

/*
 * Fills minors[] (up to max) and sets *count to the number found, which may
 * exceed max.  A missing class directory means no cards, not an error.
 */
int mlu_enumerate(const char *class_dir, unsigned int *minors, unsigned int max,
		  unsigned int *count)
{
	struct dirent *de;
	unsigned int n = 0, minor;
	DIR *dir;

	*count = 0;
	dir = opendir(class_dir);
	if (!dir)
		return MLU_SUCCESS;
	while ((de = readdir(dir))) {
		if (!parse_minor(de->d_name, &minor) ||
		    !bound_to_mlu(class_dir, de->d_name))
			continue;
		if (n < max)
			minors[n] = minor;
		n++;
	}
	closedir(dir);
	qsort(minors, n < max ? n : max, sizeof(*minors), cmp_uint);
	*count = n;
	return MLU_SUCCESS;
}
