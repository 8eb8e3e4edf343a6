/* Opening and closing: the version and status names, every option (and the out-of-range
 * ones), bad paths, a directory another handle holds, use after close. */
#include "check.h"

void test_version_and_status_names(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", GROUPKV_VERSION_MAJOR, GROUPKV_VERSION_MINOR,
             GROUPKV_VERSION_PATCH);
    CHECK(strcmp(groupkv_version(), want) == 0);
    CHECK(GROUPKV_VERSION_NUMBER ==
          ((GROUPKV_VERSION_MAJOR << 16) | (GROUPKV_VERSION_MINOR << 8) | GROUPKV_VERSION_PATCH));
    const char *names[] = {"GROUPKV_OK",       "GROUPKV_NOT_FOUND",  "GROUPKV_CORRUPTION",
                           "GROUPKV_INVALID_ARGUMENT", "GROUPKV_IO_ERROR", "GROUPKV_BUSY",
                           "GROUPKV_INCOMPLETE", "GROUPKV_CLOSED",   "GROUPKV_PANIC",
                           "GROUPKV_POISONED"};
    /* The numbers are ABI: pin them. */
    CHECK(GROUPKV_OK == 0 && GROUPKV_NOT_FOUND == 1 && GROUPKV_CORRUPTION == 2 &&
          GROUPKV_INVALID_ARGUMENT == 3 && GROUPKV_IO_ERROR == 4 && GROUPKV_BUSY == 5 &&
          GROUPKV_INCOMPLETE == 6 && GROUPKV_CLOSED == 7 && GROUPKV_PANIC == 8 &&
          GROUPKV_POISONED == 9);
    for (int i = 0; i < 10; i++) CHECK(strcmp(groupkv_status_name(i), names[i]) == 0);
    CHECK(strcmp(groupkv_status_name(-1), "GROUPKV_UNKNOWN_STATUS") == 0);
    CHECK(strcmp(groupkv_status_name(10), "GROUPKV_UNKNOWN_STATUS") == 0);
    CHECK(GROUPKV_MAX_KEY_VALUE_LEN == 4294967295ULL);
    groupkv_free(NULL);
}

/* Each out-of-range storage-engine option fails groupkv_db_open with INVALID_ARGUMENT and a
 * message naming it, and creates nothing; the same options with the value fixed open. */
typedef void (*size_setter)(groupkv_options *, size_t);

static void test_bad_engine_options(const char *dir_prefix) {
    struct {
        const char *name;
        size_setter set;
        size_t bad;
    } cases[] = {
        {"write_buffer_size", groupkv_options_set_write_buffer_size, 0},
        {"write_buffer_size", groupkv_options_set_write_buffer_size, 4095},
        {"max_write_buffer_number", groupkv_options_set_max_write_buffer_number, 1},
        {"level0_file_num_compaction_trigger",
         groupkv_options_set_level0_file_num_compaction_trigger, 0},
        {"level0_slowdown_writes_trigger", groupkv_options_set_level0_slowdown_writes_trigger, 3},
        {"level0_stop_writes_trigger", groupkv_options_set_level0_stop_writes_trigger, 19},
        {"block_size", groupkv_options_set_block_size, 0},
        {"block_restart_interval", groupkv_options_set_block_restart_interval, 0},
        {"max_open_files", groupkv_options_set_max_open_files, 19},
    };
    char dir[4300];
    snprintf(dir, sizeof dir, "%s-bad-engine-options", dir_prefix);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        groupkv_options *o = groupkv_options_create();
        cases[i].set(o, cases[i].bad);
        groupkv_db *db = NULL;
        EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT, cases[i].name);
        CHECK(db == NULL);
        CHECK(access(dir, F_OK) != 0); /* refused before the directory was created */
        groupkv_options_destroy(o);
    }
    struct {
        const char *name;
        void (*set)(groupkv_options *, uint64_t);
    } wide[] = {
        {"target_file_size_base", groupkv_options_set_target_file_size_base},
        {"max_bytes_for_level_base", groupkv_options_set_max_bytes_for_level_base},
    };
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
        groupkv_options *o = groupkv_options_create();
        wide[i].set(o, 100);
        groupkv_db *db = NULL;
        EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT, wide[i].name);
        groupkv_options_destroy(o);
    }
    groupkv_options *o = groupkv_options_create();
    groupkv_options_set_bloom_bits_per_key(o, 1001);
    groupkv_db *db = NULL;
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT, "bloom_bits_per_key");
    /* Fixed, the same handle opens (0 bits = no filter, 0 cache = no block cache). */
    groupkv_options_set_bloom_bits_per_key(o, 0);
    groupkv_options_set_block_cache_size(o, 0);
    EXPECT(groupkv_db_open(o, dir, &db, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);
    groupkv_options_destroy(o);
}

void test_options(void) {
    groupkv_options *o = groupkv_options_create();
    CHECK(o != NULL);
    groupkv_options_set_create_if_missing(o, true);
    groupkv_options_set_error_if_exists(o, false);
    groupkv_options_set_allow_concurrent_memtable_write(o, false);
    groupkv_options_set_enable_pipelined_write(o, true);
    groupkv_options_set_max_write_batch_group_size_bytes(o, 64 * 1024);
    groupkv_options_set_enable_write_thread_adaptive_yield(o, false);
    groupkv_options_set_write_thread_max_yield_usec(o, 10);
    groupkv_options_set_write_thread_slow_yield_usec(o, 1);
    /* The storage engine's options, small enough to matter in a test. */
    groupkv_options_set_write_buffer_size(o, 64 * 1024);
    groupkv_options_set_max_write_buffer_number(o, 3);
    groupkv_options_set_level0_file_num_compaction_trigger(o, 2);
    groupkv_options_set_level0_slowdown_writes_trigger(o, 8);
    groupkv_options_set_level0_stop_writes_trigger(o, 12);
    groupkv_options_set_block_size(o, 1024);
    groupkv_options_set_block_restart_interval(o, 4);
    groupkv_options_set_bloom_bits_per_key(o, 0);
    groupkv_options_set_block_cache_size(o, 0);
    groupkv_options_set_max_open_files(o, 20);
    groupkv_options_set_target_file_size_base(o, 1 << 20);
    groupkv_options_set_max_bytes_for_level_base(o, 1 << 22);
    groupkv_options_set_disable_auto_compactions(o, true);
    groupkv_options_set_disable_auto_compactions(o, false);
    groupkv_options_set_disable_auto_compactions(NULL, true); /* ignored */
    CHECK(GROUPKV_NO_COMPRESSION == 0 && GROUPKV_SNAPPY_COMPRESSION == 1);
    EXPECT(groupkv_options_set_compression(o, GROUPKV_NO_COMPRESSION), GROUPKV_OK);
    EXPECT(groupkv_options_set_compression(o, GROUPKV_SNAPPY_COMPRESSION), GROUPKV_OK);
    EXPECT(groupkv_options_set_compression(o, 2), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_options_set_compression(o, -1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_options_set_compression(NULL, GROUPKV_NO_COMPRESSION),
           GROUPKV_INVALID_ARGUMENT);
    for (int m = 0; m <= 3; m++) EXPECT(groupkv_options_set_wal_recovery_mode(o, m), GROUPKV_OK);
    EXPECT(groupkv_options_set_wal_recovery_mode(o, 4), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_options_set_wal_recovery_mode(o, -1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_options_set_wal_recovery_mode(NULL, GROUPKV_WAL_POINT_IN_TIME),
           GROUPKV_INVALID_ARGUMENT);

    /* The non-default options open a working database (pipelined, serial memtable, ...). */
    char dir[4200];
    fresh_dir(dir, sizeof dir, "options");
    groupkv_db *db = NULL;
    EXPECT(groupkv_db_open(o, dir, &db, NULL), GROUPKV_OK);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    EXPECT(groupkv_db_put(db, w, "k", 1, "v", 1, NULL), GROUPKV_OK);
    CHECK(has_value(db, "k", "v"));
    groupkv_db_destroy(db);

    /* An out-of-range group size is rejected at open; out untouched. */
    groupkv_db *sentinel = (groupkv_db *)&sentinel;
    db = sentinel;
    groupkv_options_set_max_write_batch_group_size_bytes(o, 0);
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT,
               "max_write_batch_group_size_bytes");
    groupkv_options_set_max_write_batch_group_size_bytes(o, 4294967296ULL);
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT, "4 GiB");
    CHECK(db == sentinel);
    groupkv_options_set_max_write_batch_group_size_bytes(o, 1 << 20);
    test_bad_engine_options(dir);

    /* NULL handles: setters ignore them, destructors too. */
    groupkv_options_set_create_if_missing(NULL, true);
    groupkv_options_set_error_if_exists(NULL, true);
    groupkv_options_set_allow_concurrent_memtable_write(NULL, true);
    groupkv_options_set_enable_pipelined_write(NULL, true);
    groupkv_options_set_max_write_batch_group_size_bytes(NULL, 1);
    groupkv_options_set_enable_write_thread_adaptive_yield(NULL, true);
    groupkv_options_set_write_thread_max_yield_usec(NULL, 1);
    groupkv_options_set_write_thread_slow_yield_usec(NULL, 1);
    groupkv_options_set_allow_mmap_writes(NULL, true);
    groupkv_options_set_write_buffer_size(NULL, 1);
    groupkv_options_set_max_write_buffer_number(NULL, 1);
    groupkv_options_set_level0_file_num_compaction_trigger(NULL, 1);
    groupkv_options_set_level0_slowdown_writes_trigger(NULL, 1);
    groupkv_options_set_level0_stop_writes_trigger(NULL, 1);
    groupkv_options_set_block_size(NULL, 1);
    groupkv_options_set_block_restart_interval(NULL, 1);
    groupkv_options_set_bloom_bits_per_key(NULL, 1);
    groupkv_options_set_block_cache_size(NULL, 1);
    groupkv_options_set_max_open_files(NULL, 1);
    groupkv_options_set_target_file_size_base(NULL, 1);
    groupkv_options_set_max_bytes_for_level_base(NULL, 1);
    groupkv_options_destroy(NULL);
    groupkv_options_destroy(o);

    groupkv_writeoptions_set_sync(w, true);
    groupkv_writeoptions_set_disable_wal(w, false);
    groupkv_writeoptions_set_no_slowdown(w, true);
    groupkv_writeoptions_set_sync(NULL, true);
    groupkv_writeoptions_set_disable_wal(NULL, true);
    groupkv_writeoptions_set_no_slowdown(NULL, true);
    groupkv_writeoptions_destroy(NULL);
    groupkv_writeoptions_destroy(w);
}

void test_bad_paths(void) {
    groupkv_options *o = groupkv_options_create();
    groupkv_db *sentinel = (groupkv_db *)&sentinel;
    groupkv_db *db = sentinel;
    char dir[4200], path[4300];

    EXPECT_ERR(groupkv_db_open(NULL, "x", &db, &err), GROUPKV_INVALID_ARGUMENT, "options");
    EXPECT_ERR(groupkv_db_open(o, NULL, &db, &err), GROUPKV_INVALID_ARGUMENT, "path");
    EXPECT_ERR(groupkv_db_open(o, "", &db, &err), GROUPKV_INVALID_ARGUMENT, "empty");
    fresh_dir(dir, sizeof dir, "paths");
    EXPECT_ERR(groupkv_db_open(o, dir, NULL, &err), GROUPKV_INVALID_ARGUMENT, "out");

    /* A missing directory (and parent) without create_if_missing. */
    groupkv_options_set_create_if_missing(o, false);
    snprintf(path, sizeof path, "%s/missing-parent/db", dir);
    EXPECT_ERR(groupkv_db_open(o, path, &db, &err), GROUPKV_INVALID_ARGUMENT,
               "create_if_missing");
    /* An existing but empty directory holds no database. */
    CHECK(mkdir(dir, 0755) == 0);
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_INVALID_ARGUMENT, "no database");
    groupkv_options_set_create_if_missing(o, true);

    /* A file where the directory is expected, and a file as a parent component. */
    snprintf(path, sizeof path, "%s/plain-file", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    EXPECT_ERR(groupkv_db_open(o, path, &db, &err), GROUPKV_INVALID_ARGUMENT,
               "not a directory");
    snprintf(path, sizeof path, "%s/plain-file/db", dir);
    EXPECT_ERR(groupkv_db_open(o, path, &db, &err), GROUPKV_IO_ERROR, "plain-file");

    /* No permission. Tests usually run as root, who bypasses file modes; creating a
     * directory in sysfs is refused even to root (EPERM, or EROFS where it is mounted
     * read-only). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/read-only", dir);
        CHECK(mkdir(path, 0555) == 0);
        snprintf(path, sizeof path, "%s/read-only/db", dir);
        EXPECT_ERR(groupkv_db_open(o, path, &db, &err), GROUPKV_IO_ERROR, "ermission");
    } else if (access("/sys/kernel", F_OK) == 0) {
        EXPECT_ERR(groupkv_db_open(o, "/sys/groupkv-no-permission", &db, &err),
                   GROUPKV_IO_ERROR, "/sys/groupkv-no-permission");
    } else {
        printf("SKIP no-permission path: running as root and /sys is not mounted\n");
    }
    CHECK(db == sentinel);

    /* Non-UTF-8 bytes are a valid Linux path. */
    snprintf(path, sizeof path, "%s/bytes-\xff\xfe-db", dir);
    db = NULL;
    EXPECT(groupkv_db_open(o, path, &db, NULL), GROUPKV_OK);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    EXPECT(groupkv_db_put(db, w, "k", 1, "v", 1, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    db = open_db(path);
    CHECK(has_value(db, "k", "v"));
    groupkv_db_destroy(db);

    /* error_if_exists on an existing database. */
    groupkv_options_set_error_if_exists(o, true);
    db = sentinel;
    EXPECT_ERR(groupkv_db_open(o, path, &db, &err), GROUPKV_INVALID_ARGUMENT, "already exists");
    CHECK(db == sentinel);
    groupkv_writeoptions_destroy(w);
    groupkv_options_destroy(o);
}

void test_busy_and_closed(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "busy");
    groupkv_db *db = open_db(dir);
    groupkv_options *o = groupkv_options_create();
    groupkv_db *second = NULL;
    EXPECT_ERR(groupkv_db_open(o, dir, &second, &err), GROUPKV_BUSY, "locked");
    CHECK(second == NULL);

    groupkv_writeoptions *w = groupkv_writeoptions_create();
    groupkv_batch *b = groupkv_batch_create();
    EXPECT(groupkv_batch_put(b, "k", 1, "v", 1), GROUPKV_OK);
    EXPECT(groupkv_db_put(db, w, "before", 6, "close", 5, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK); /* idempotent */

    /* Use after close: a clear error, the handle is still valid memory. */
    char *val = NULL;
    size_t n = 0;
    EXPECT_ERR(groupkv_db_put(db, w, "k", 1, "v", 1, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_delete(db, w, "k", 1, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_write(db, w, b, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_get(db, NULL, "before", 6, &val, &n, &err), GROUPKV_CLOSED, "open it again");
    uint64_t seq = 0;
    EXPECT(groupkv_db_latest_sequence(db, &seq), GROUPKV_OK);
    CHECK(seq == 1);
    groupkv_stats *st = NULL;
    EXPECT(groupkv_db_stats(db, &st, NULL), GROUPKV_OK);
    groupkv_stats_destroy(st);

    /* The lock was released by close (before destroy). */
    EXPECT(groupkv_db_open(o, dir, &second, NULL), GROUPKV_OK);
    CHECK(has_value(second, "before", "close"));
    groupkv_db_destroy(second);
    groupkv_db_destroy(db);
    groupkv_batch_destroy(b);
    groupkv_writeoptions_destroy(w);
    groupkv_options_destroy(o);
}
