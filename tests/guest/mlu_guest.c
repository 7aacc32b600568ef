// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the guest tests (see mlu_guest.h).
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/sync_file.h>

#include <xf86drm.h>

#include "mlu_guest.h"

#define MAX_MINOR 64

static bool is_mlu_fd(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	bool ok = v && v->name && strcmp(v->name, "mlu") == 0;

	drmFreeVersion(v);
	return ok;
}

/* Minor of the index-th mlu node, or -1. */
static int nth_mlu_minor(int index)
{
	char path[64];
	int minor, fd, seen = 0;

	for (minor = 0; minor < MAX_MINOR; minor++) {
		snprintf(path, sizeof(path), "/dev/accel/accel%d", minor);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (is_mlu_fd(fd) && seen++ == index) {
			close(fd);
			return minor;
		}
		close(fd);
	}
	return -1;
}

int mlu_count_cards(void)
{
	int n = 0;

	while (nth_mlu_minor(n) >= 0)
		n++;
	return n;
}

int mlu_open_card(int index)
{
	char path[64];
	int minor = nth_mlu_minor(index);

	if (minor < 0) {
		errno = ENODEV;
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/accel/accel%d", minor);
	return open(path, O_RDWR | O_CLOEXEC);
}

int mlu_expected_cards(void)
{
	const char *s = getenv("MLU_GUEST_CARDS");

	return s ? atoi(s) : -1;
}

static int ioctl_err(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

int mlu_query_info(int fd, struct drm_mlu_device_info *info)
{
	struct drm_mlu_dev_query q = {
		.type = DRM_MLU_DEV_QUERY_DEVICE_INFO,
		.size = sizeof(*info),
		.pointer = (uintptr_t)info,
	};

	return ioctl_err(fd, DRM_IOCTL_MLU_DEV_QUERY, &q);
}

long long mlu_card_sysfs_num(int minor, const char *name)
{
	char path[128];
	long long v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/accel/accel%d/device/mlu/%s", minor, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%lld", &v);
	fclose(f);
	return n == 1 ? v : -1;
}

int mlu_card_debugfs_path(int minor, const char *name, char *path, size_t len)
{
	char link[64], target[256];
	const char *dev;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/class/accel/accel%d/device", minor);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	dev = strrchr(target, '/');
	snprintf(path, len, "/sys/kernel/debug/accel/%s/%s", dev ? dev + 1 : target, name);
	return 0;
}

size_t mlu_read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	return len;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mlu_wait_devmem_free(int fd, uint64_t want, uint64_t *free_now, unsigned int *waited_ms)
{
	uint64_t start = monotonic_ms(), waited;
	struct drm_mlu_device_info info;
	int ret;

	for (;;) {
		memset(&info, 0, sizeof(info));
		ret = mlu_query_info(fd, &info);
		if (ret)
			return ret;
		waited = monotonic_ms() - start;
		if (free_now)
			*free_now = info.devmem_free;
		if (waited_ms)
			*waited_ms = waited;
		if (info.devmem_free == want)
			return 0;
		if (waited >= MLU_DEVMEM_SETTLE_MS)
			return -ETIME;
		usleep(5000);
	}
}

int mlu_bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle, uint64_t *va)
{
	struct drm_mlu_bo_create c = { .size = size, .flags = flags };
	int ret = ioctl_err(fd, DRM_IOCTL_MLU_BO_CREATE, &c);

	if (!ret) {
		*handle = c.handle;
		if (va)
			*va = c.device_va;
	}
	return ret;
}

int mlu_bo_info(int fd, uint32_t handle, struct drm_mlu_bo_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return ioctl_err(fd, DRM_IOCTL_MLU_BO_INFO, info);
}

void *mlu_bo_map(int fd, uint32_t handle)
{
	struct drm_mlu_bo_info info;
	void *p;

	if (mlu_bo_info(fd, handle, &info))
		return NULL;
	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, info.mmap_offset);
	return p == MAP_FAILED ? NULL : p;
}

int mlu_bo_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioctl_err(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

int mlu_submit(int fd, struct drm_mlu_submit *args)
{
	return ioctl_err(fd, DRM_IOCTL_MLU_SUBMIT, args);
}

int mlu_submit_simple(int fd, uint32_t queue, const void *packets, uint32_t count,
		      const uint32_t *bos, uint32_t bo_count, uint32_t in_sync,
		      uint32_t out_sync)
{
	struct drm_mlu_sync in = { .handle = in_sync };
	struct drm_mlu_submit s = {
		.packets = (uintptr_t)packets,
		.packet_count = count,
		.queue = queue,
		.bo_handles = (uintptr_t)bos,
		.bo_handle_count = bo_count,
		.in_syncs = (uintptr_t)&in,
		.in_sync_count = in_sync ? 1 : 0,
		.in_sync_stride = sizeof(in),
		.out_sync = out_sync,
	};

	return mlu_submit(fd, &s);
}

uint32_t mlu_syncobj_create(int fd)
{
	uint32_t h = 0;

	if (drmSyncobjCreate(fd, 0, &h))
		return 0;
	return h;
}

int mlu_syncobj_wait(int fd, uint32_t handle, uint64_t timeout_ns)
{
	struct timespec now;
	int64_t deadline;

	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + (int64_t)timeout_ns;
	return drmSyncobjWait(fd, &handle, 1, deadline, 0, NULL);
}

int mlu_fence_status(int fd, uint32_t handle)
{
	struct sync_file_info info = { 0 };
	int sync_fd, ret;

	ret = drmSyncobjExportSyncFile(fd, handle, &sync_fd);
	if (ret)
		return ret;
	ret = ioctl(sync_fd, SYNC_IOC_FILE_INFO, &info) ? -errno : info.status;
	close(sync_fd);
	return ret;
}

void mlu_pkt_copy_init(struct mlu_pkt_copy *p, uint64_t dst, uint64_t src, uint64_t size)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_COPY;
	p->dst = dst;
	p->src = src;
	p->size = size;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

void mlu_pkt_matmul_init(struct mlu_pkt_matmul *p, const struct mlu_matmul_desc *d,
			 uint64_t a, uint64_t b, uint64_t c, uint64_t bias)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_MATMUL;
	p->a = a;
	p->b = b;
	p->c = c;
	p->bias = bias;
	p->m = d->m;
	p->n = d->n;
	p->k = d->k;
	p->lda = d->lda;
	p->ldb = d->ldb;
	p->ldc = d->ldc;
	p->alpha = f32_bits(d->alpha);
	p->beta = f32_bits(d->beta);
	p->dtype = d->dtype;	/* enum mlu_dtype matches enum mlu_dtype */
	p->flags = (d->trans_a ? MLU_MATMUL_TRANS_A : 0) | (d->trans_b ? MLU_MATMUL_TRANS_B : 0) |
		   (d->bias ? MLU_MATMUL_BIAS : 0) | (d->relu ? MLU_MATMUL_RELU : 0);
}

void mlu_pkt_conv2d_init(struct mlu_pkt_conv2d *p, const struct mlu_conv2d_desc *d,
			 uint64_t input, uint64_t weight, uint64_t output, uint64_t bias)
{
	memset(p, 0, sizeof(*p));
	p->hdr.opcode = MLU_OP_CONV2D;
	p->input = input;
	p->weight = weight;
	p->output = output;
	p->bias = bias;
	p->n = d->n;
	p->c = d->c;
	p->h = d->h;
	p->w = d->w;
	p->k = d->k;
	p->r = d->r;
	p->s = d->s;
	p->stride_h = d->stride_h;
	p->stride_w = d->stride_w;
	p->pad_h = d->pad_h;
	p->pad_w = d->pad_w;
	p->dilation_h = d->dilation_h;
	p->dilation_w = d->dilation_w;
	p->groups = d->groups;
	p->dtype = d->dtype;
	p->layout = d->layout;	/* enum mlu_layout matches enum mlu_layout */
	p->flags = (d->bias ? MLU_CONV_BIAS : 0) | (d->relu ? MLU_CONV_RELU : 0);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

void mlu_fill_random(enum mlu_dtype dtype, void *dst, size_t count, uint32_t seed)
{
	uint32_t s = seed ? seed : 0x9e3779b9;
	size_t i;

	for (i = 0; i < count; i++) {
		uint32_t r = xorshift(&s);
		float f = (float)(int32_t)(r >> 8) / (float)(1 << 23) - 1.0f;

		switch (dtype) {
		case MLU_DTYPE_F32:
			((float *)dst)[i] = f;
			break;
		case MLU_DTYPE_F16:
			((uint16_t *)dst)[i] = mlu_f32_to_f16(f);
			break;
		case MLU_DTYPE_BF16:
			((uint16_t *)dst)[i] = mlu_f32_to_bf16(f);
			break;
		case MLU_DTYPE_I8:
			((int8_t *)dst)[i] = (int8_t)(r >> 24);
			break;
		}
	}
}

static double element(enum mlu_dtype dtype, const void *p, size_t i)
{
	switch (dtype) {
	case MLU_DTYPE_F32:
		return ((const float *)p)[i];
	case MLU_DTYPE_F16:
		return mlu_f16_to_f32(((const uint16_t *)p)[i]);
	case MLU_DTYPE_BF16:
		return mlu_bf16_to_f32(((const uint16_t *)p)[i]);
	case MLU_DTYPE_I8:
		return ((const int32_t *)p)[i];
	}
	return NAN;
}

/* Spacing of the output type's values at magnitude x. */
static double output_ulp(enum mlu_dtype dtype, double x)
{
	int mant = dtype == MLU_DTYPE_F16 ? 10 : 7;
	double floor_spacing = dtype == MLU_DTYPE_F16 ? ldexp(1, -24) : ldexp(1, -133);
	int e;

	if (dtype == MLU_DTYPE_F32 || dtype == MLU_DTYPE_I8)
		return 0;
	frexp(x, &e);	/* x = f * 2^e, 0.5 <= f < 1 */
	return fmax(ldexp(1, e - 1 - mant), floor_spacing);
}

long mlu_compare(enum mlu_dtype dtype, const void *got, const void *ref,
		 const void *abs_ref, size_t count, unsigned int terms, double *max_err)
{
	const double u = ldexp(1, -24);
	double gamma = terms * u / (1 - terms * u);
	size_t i;

	*max_err = 0;
	for (i = 0; i < count; i++) {
		double g = element(dtype, got, i), r = element(dtype, ref, i);
		double err = fabs(g - r), bound;

		if (dtype == MLU_DTYPE_I8) {
			bound = 0;
		} else {
			/* 1% slack: S itself was computed in f32 or narrower. */
			bound = 2 * gamma * element(dtype, abs_ref, i) * 1.01;
			bound += output_ulp(dtype, fabs(r) + bound);
		}
		if (err > *max_err)
			*max_err = err;
		if (isnan(g) || err > bound)
			return (long)i;
	}
	return -1;
}

/* Copy of count elements with the sign removed (float types only). */
static void *abs_copy(enum mlu_dtype dtype, const void *src, size_t count)
{
	size_t esize = dtype == MLU_DTYPE_I8 ? 4 : mlu_core_in_size(dtype);
	uint8_t *dst;
	size_t i;

	if (!src)
		return NULL;
	dst = malloc(count * esize);
	if (!dst)
		abort();
	memcpy(dst, src, count * esize);
	for (i = 0; i < count; i++) {
		if (dtype == MLU_DTYPE_F32)
			((float *)dst)[i] = fabsf(((float *)dst)[i]);
		else if (dtype != MLU_DTYPE_I8)
			((uint16_t *)dst)[i] &= 0x7fff;
	}
	return dst;
}

int mlu_matmul_oracle(const struct mlu_matmul_desc *d, const void *a, const void *b,
		      const void *bias, const void *c_in, void *ref, void *abs_ref)
{
	struct mlu_matmul_sizes sz;
	struct mlu_matmul_desc ad = *d;
	size_t in = mlu_core_in_size(d->dtype), out = mlu_core_out_size(d->dtype);
	void *aa, *ab, *abias;
	int ret;

	ret = mlu_matmul_check(d, &sz);
	if (ret)
		return ret;
	if (c_in) {
		memcpy(ref, c_in, sz.c);
		memcpy(abs_ref, c_in, sz.c);
	}
	ret = mlu_matmul_ref(d, a, b, bias, ref);
	if (ret || d->dtype == MLU_DTYPE_I8)
		return ret;
	/* abs_ref holds C's input here; make it |C| too. */
	if (c_in) {
		void *ac = abs_copy(d->dtype, abs_ref, sz.c / out);

		memcpy(abs_ref, ac, sz.c);
		free(ac);
	}
	aa = abs_copy(d->dtype, a, sz.a / in);
	ab = abs_copy(d->dtype, b, sz.b / in);
	abias = abs_copy(d->dtype, bias, sz.bias / out);
	ad.alpha = fabsf(d->alpha);
	ad.beta = fabsf(d->beta);
	ad.relu = false;
	ret = mlu_matmul_ref(&ad, aa, ab, abias, abs_ref);
	free(aa);
	free(ab);
	free(abias);
	return ret;
}

int mlu_conv2d_oracle(const struct mlu_conv2d_desc *d, const void *in, const void *w,
		      const void *bias, void *ref, void *abs_ref)
{
	struct mlu_conv2d_sizes sz;
	struct mlu_conv2d_desc ad = *d;
	size_t isz = mlu_core_in_size(d->dtype), osz = mlu_core_out_size(d->dtype);
	void *ai, *aw, *ab;
	int ret;

	ret = mlu_conv2d_check(d, &sz);
	if (ret)
		return ret;
	ret = mlu_conv2d_ref(d, in, w, bias, ref);
	if (ret || d->dtype == MLU_DTYPE_I8)
		return ret;
	ai = abs_copy(d->dtype, in, sz.input / isz);
	aw = abs_copy(d->dtype, w, sz.weight / isz);
	ab = abs_copy(d->dtype, bias, sz.bias / osz);
	ad.relu = false;
	ret = mlu_conv2d_ref(&ad, ai, aw, ab, abs_ref);
	free(ai);
	free(aw);
	free(ab);
	return ret;
}

int mlu_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

int mlu_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

long long mlu_fdinfo_bytes(int fd, const char *key, const char *region)
{
	char path[64], line[256], want[64];
	long long v = -1, n;
	char unit[16];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(want, sizeof(want), "drm-%s-%s:", key, region);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		unit[0] = 0;
		if (sscanf(line + strlen(want), "%lld %15s", &n, unit) < 1)
			break;
		v = n;
		if (!strcmp(unit, "KiB"))
			v = n << 10;
		else if (!strcmp(unit, "MiB"))
			v = n << 20;
		else if (!strcmp(unit, "GiB"))
			v = n << 30;
		break;
	}
	fclose(f);
	return v;
}
