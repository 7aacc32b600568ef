/* SPDX-License-Identifier: MIT */
/*
 * The UAPI header in userspace: it compiles on its own (C11, C++17, the
 * 32-bit ABI) and every structure is a multiple of 8 bytes with no hidden
 * padding.  Built, not run, by tests/uapi/Makefile (05-driver-build).
 */
#include <stddef.h>
#include <drm/mlu_accel.h>
#ifdef __cplusplus
#define ASSERT(c) static_assert(c, #c)
#else
#define ASSERT(c) _Static_assert(c, #c)
#endif
#define SIZE(s, sz) ASSERT(sizeof(struct s) == (sz)); ASSERT(sizeof(struct s) % 8 == 0)
SIZE(drm_mlu_dev_query, 24);
SIZE(drm_mlu_device_info, 96);
SIZE(drm_mlu_bo_create, 24);
SIZE(drm_mlu_bo_info, 40);
SIZE(drm_mlu_sync, 16);
SIZE(drm_mlu_submit, 64);
SIZE(drm_mlu_queue_create, 16);
SIZE(drm_mlu_queue_destroy, 8);
SIZE(drm_mlu_context_status, DRM_MLU_CONTEXT_STATUS_SIZE_V1);
ASSERT(offsetof(struct drm_mlu_device_info, va_start) == 64);
/* Fields of later driver versions follow the first version's layout. */
ASSERT(offsetof(struct drm_mlu_device_info, devmem_free) == DRM_MLU_DEVICE_INFO_SIZE_V1);
ASSERT(offsetof(struct drm_mlu_submit, out_sync_point) == 56);
int main(void)
{
	return 0;
}
