/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test knobs (sizes, seeds) of the guest programs: from the environment,
 * which /init sets from the harness, or from the guest kernel's command
 * line (APPEND_EXTRA="VFD_TORTURE_SCALE=10" on the host).
 */
#ifndef VFD_TEST_KNOB_H
#define VFD_TEST_KNOB_H

#include <stdbool.h>

/* True and *@v set if knob @name is given (a C integer literal). */
bool vt_knob(const char *name, unsigned long long *v);

#endif /* VFD_TEST_KNOB_H */
