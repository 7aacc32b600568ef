# SPDX-License-Identifier: MIT
#
# Included by every Makefile that builds programs for the guest (tests/guest,
# tools/, runtime/): UAPI_CFLAGS puts the guest kernel's UAPI headers
# (scripts/linux-uapi.sh, Linux 6.12) before /usr/include, whose linux/ and
# asm/ come from the host's linux-libc-dev (6.1 on Debian 12).  -isystem
# keeps the project's own -I directories first and marks the headers as
# system headers, as /usr/include is.
#
# $(top) must be the top of the tree.  MLU_UAPI_INCLUDE, when set (as
# scripts/guest/build.sh does), names the directory and skips the script;
# it is exported so that sub-makes do not run the script again.

ifeq ($(origin MLU_UAPI_INCLUDE),undefined)
MLU_UAPI_INCLUDE := $(shell $(top)/scripts/linux-uapi.sh)
endif
ifeq ($(MLU_UAPI_INCLUDE),)
$(error no UAPI headers of the guest kernel: scripts/linux-uapi.sh failed)
endif
export MLU_UAPI_INCLUDE
UAPI_CFLAGS := -isystem $(MLU_UAPI_INCLUDE)
