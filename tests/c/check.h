/*
 * The C API test suite's shared part: the check macros, the counters they update, and the
 * helpers several test files use. Each tests/c/capi_<area>.c file holds the tests of one area;
 * test_capi.c runs them all in one process (see its comment).
 */
#ifndef GROUPKV_TEST_CHECK_H
#define GROUPKV_TEST_CHECK_H

/* Before any system header: fork, mkdtemp, nftw and friends. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "groupkv.h"

/* The hidden test hooks: exported by the library, deliberately absent from the header. */
void groupkv_testing_panic_next_call(void);
void groupkv_testing_set_write_stall(const groupkv_db *db, bool on);

/* Totals over the whole run, printed by main. */
extern int failures;
extern int checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

/* Checks that `expr` returns `want`; on a failure with a message, checks the message exists. */
#define EXPECT(expr, want)                                                                  \
    do {                                                                                    \
        checks++;                                                                           \
        groupkv_status got_ = (expr);                                                       \
        if (got_ != (want)) {                                                               \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
                    groupkv_status_name(got_), groupkv_status_name(want));                  \
        }                                                                                   \
    } while (0)

/* Runs a call that must fail with `want` and set a non-empty *errmsg containing `needle`. */
#define EXPECT_ERR(call_with_err, want, needle)                                            \
    do {                                                                                   \
        char *err = NULL;                                                                  \
        EXPECT(call_with_err, want);                                                       \
        checks++;                                                                          \
        if (err == NULL || strstr(err, needle) == NULL) {                                  \
            failures++;                                                                    \
            fprintf(stderr, "%s:%d: message %s lacks \"%s\"\n", __FILE__, __LINE__,        \
                    err ? err : "(NULL)", needle);                                         \
        }                                                                                  \
        groupkv_free(err);                                                                 \
    } while (0)

/* The run's scratch directory under $TMPDIR (main creates and removes it). */
extern char base_dir[4096];

/* A new, not yet existing path under base_dir, numbered and named after `what`. */
void fresh_dir(char *out, size_t n, const char *what);
/* Opens (creating) the database at path with default options, or exits the suite. */
groupkv_db *open_db(const char *path);
/* The value of key, or NULL if absent (caller frees with groupkv_free). */
char *get_str(groupkv_db *db, const char *key, size_t *len);
bool has_value(groupkv_db *db, const char *key, const char *want);
void put_str(groupkv_db *db, const char *k, const char *v);
void del_str(groupkv_db *db, const char *k);
/* The integer value of property `name` (e.g. "groupkv.num-files-at-level0"), or -1. */
long int_property(groupkv_db *db, const char *name);

/* The tests, grouped by the file that holds them (main runs them in its own order). */
/* capi_lifecycle.c */
void test_version_and_status_names(void);
void test_options(void);
void test_bad_paths(void);
void test_busy_and_closed(void);
/* capi_writes.c */
void test_put_get_delete_reopen(void);
void test_batch(void);
void test_allow_mmap_writes(void);
/* capi_errors.c */
void test_null_and_oversize_arguments(void);
void test_write_stall_incomplete(void);
void test_failed_wal_write_poisons(void);
void test_corruption_and_recovery_modes(void);
void test_panic_boundary(void);
/* capi_stats.c */
void test_stats(void);
/* capi_concurrency.c */
void test_close_races_writers(void);
void test_fork_child_gets_clear_error(void);
void test_fork_during_writes(void);
/* capi_reads.c */
void test_iterators(void);
void test_snapshots_and_multi_get(void);
/* capi_flush_compaction.c */
void test_flush(void);
void test_compact_range(void);

#endif
