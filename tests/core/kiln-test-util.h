/* kiln-test-util.h — helpers shared by the test suites
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "kiln.h"

G_BEGIN_DECLS

/* $KILN_SHARED_DIR/<relative>, or NULL (and the test is skipped by the caller) if absent. */
char    *kiln_test_shared_path   (const char *relative);
/* A fresh temporary folder for this test process; removed at exit. */
const char *kiln_test_tmpdir     (void);
/* Path inside kiln_test_tmpdir(). Free with g_free. */
char    *kiln_test_tmpfile       (const char *name);
/* Write @len bytes to @path (non-atomic; for crafting bad inputs). */
void     kiln_test_write_bytes   (const char *path,
                                  const void *data,
                                  gsize       len);
/* Run kiln-cli ($KILN_CLI) with NULL-terminated args; returns the exit status and the captured
 * stdout/stderr (either may be NULL). */
int      kiln_test_run_cli       (char      **out,
                                  char      **err,
                                  const char *first_arg,
                                  ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
