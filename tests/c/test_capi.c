/*
 * The C API's test suite: every function of groupkv.h, every error path (NULLs, not found,
 * bad batch bytes, use after close, over-size lengths, bad paths, a locked directory, a
 * write stall, a failed WAL write, a forced internal panic), close racing writers, and a
 * fork()ed child using its parent's handle. `make test-c` runs it under valgrind memcheck,
 * which must report no error and no leak.
 *
 * The tests live in one file per area (capi_<area>.c, declared in check.h); this file runs
 * them in one process, so one count covers every check. Each test opens databases in its own
 * fresh directory under $TMPDIR (default /tmp).
 */
#include "check.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/groupkv-ctest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base_dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_version_and_status_names();
    test_options();
    test_put_get_delete_reopen();
    test_batch();
    test_null_and_oversize_arguments();
    test_bad_paths();
    test_busy_and_closed();
    test_allow_mmap_writes();
    test_stats();
    test_write_stall_incomplete();
    test_failed_wal_write_poisons();
    test_corruption_and_recovery_modes();
    test_panic_boundary();
    test_close_races_writers();
    test_fork_child_gets_clear_error();
    test_fork_during_writes();
    test_iterators();
    test_snapshots_and_multi_get();
    test_flush();
    test_compact_range();

    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (failures) {
        fprintf(stderr, "test_capi: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_capi: all %d checks passed\n", checks);
    return 0;
}
