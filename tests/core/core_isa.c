// SPDX-License-Identifier: MIT
/*
 * Print the compute core's ISA level and int8 backend on this host, as
 * capped by ONEDNN_MAX_CPU_ISA: "<isa> <int8 backend>".  The core suite
 * uses it to find the levels this host can be capped to.
 */
#include <stdio.h>

#include "mlu_core.h"

int main(void)
{
    printf("%s %s\n", mlu_core_isa_name(mlu_core_isa()),
           mlu_core_int8_backend());
    return 0;
}
