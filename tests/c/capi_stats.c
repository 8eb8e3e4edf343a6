/* Statistics: the counters, per-level lists and histograms of groupkv_db_stats. */
#include "check.h"

void test_stats(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "stats");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *sync = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(sync, true);
    const int writes = 20;
    for (int i = 0; i < writes; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%02d", i);
        EXPECT(groupkv_db_put(db, sync, key, strlen(key), "value", 5, NULL), GROUPKV_OK);
    }
    groupkv_stats *st = NULL;
    EXPECT(groupkv_db_stats(db, &st, NULL), GROUPKV_OK);

    const char *counters[] = {"write_done_by_self", "write_done_by_other", "write_with_wal",
                              "wal_syncs",          "wal_bytes",           "keys_written",
                              "bytes_written",      "stall_micros"};
    size_t i;
    const char *name;
    /* The write path's counters come first, in this order; the engine's follow. */
    for (i = 0; (name = groupkv_stats_counter_name(i)) != NULL; i++) {
        CHECK(i >= 8 || strcmp(name, counters[i]) == 0);
        uint64_t v = UINT64_MAX;
        EXPECT(groupkv_stats_counter(st, name, &v), GROUPKV_OK);
        CHECK(v != UINT64_MAX);
    }
    CHECK(i >= 22);
    const char *engine[] = {"stall_memtable_micros", "memtable_switches", "flushes",
                            "flush_bytes", "compactions", "block_cache_hit", "block_cache_miss",
                            "bloom_useful", "memtable_bytes", "immutable_memtables"};
    for (size_t e = 0; e < sizeof engine / sizeof engine[0]; e++) {
        uint64_t v = UINT64_MAX;
        EXPECT(groupkv_stats_counter(st, engine[e], &v), GROUPKV_OK);
        CHECK(v != UINT64_MAX);
    }

    /* Per-level lists: one entry per level, NOT_FOUND past the last (out untouched). */
    size_t levels = groupkv_stats_level_count(st);
    uint64_t total_files = 0;
    for (size_t l = 0; l < levels; l++) {
        uint64_t files = UINT64_MAX, bytes = UINT64_MAX;
        EXPECT(groupkv_stats_files_at_level(st, l, &files), GROUPKV_OK);
        EXPECT(groupkv_stats_bytes_at_level(st, l, &bytes), GROUPKV_OK);
        CHECK(files != UINT64_MAX && bytes != UINT64_MAX && (files == 0 || bytes > 0));
        total_files += files;
    }
    CHECK(total_files < 1000);
    uint64_t untouched = 42;
    EXPECT(groupkv_stats_files_at_level(st, levels, &untouched), GROUPKV_NOT_FOUND);
    EXPECT(groupkv_stats_bytes_at_level(st, SIZE_MAX, &untouched), GROUPKV_NOT_FOUND);
    CHECK(untouched == 42);
    EXPECT(groupkv_stats_files_at_level(NULL, 0, &untouched), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_bytes_at_level(NULL, 0, &untouched), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_files_at_level(st, 0, NULL), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_bytes_at_level(st, 0, NULL), GROUPKV_INVALID_ARGUMENT);
    CHECK(groupkv_stats_level_count(NULL) == 0);
    uint64_t self = 0, other = 0, syncs = 0, keys = 0, wal_bytes = 0;
    EXPECT(groupkv_stats_counter(st, "write_done_by_self", &self), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "write_done_by_other", &other), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "wal_syncs", &syncs), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "keys_written", &keys), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "wal_bytes", &wal_bytes), GROUPKV_OK);
    /* One thread: every write leads its own group and syncs once. */
    CHECK(self + other == (uint64_t)writes && self == (uint64_t)writes);
    CHECK(syncs == (uint64_t)writes && keys == (uint64_t)writes && wal_bytes > 0);

    const char *hists[] = {"write_group_size", "write_micros", "wal_sync_micros"};
    for (i = 0; (name = groupkv_stats_histogram_name(i)) != NULL; i++) {
        CHECK(i < 3 && strcmp(name, hists[i]) == 0);
    }
    CHECK(i == 3);
    groupkv_histogram h;
    memset(&h, 0, sizeof h);
    EXPECT(groupkv_stats_histogram(st, "write_group_size", &h), GROUPKV_OK);
    CHECK(h.count == (uint64_t)writes && h.min == 1 && h.max == 1 && h.mean == 1.0);
    EXPECT(groupkv_stats_histogram(st, "write_micros", &h), GROUPKV_OK);
    CHECK(h.count == (uint64_t)writes && h.max >= h.min && h.p99 >= h.p50);
    EXPECT(groupkv_stats_histogram(st, "wal_sync_micros", &h), GROUPKV_OK);
    CHECK(h.count == syncs);

    /* Unknown names: NOT_FOUND, out untouched. NULLs: INVALID_ARGUMENT. */
    uint64_t v = 42;
    EXPECT(groupkv_stats_counter(st, "no_such_counter", &v), GROUPKV_NOT_FOUND);
    CHECK(v == 42);
    h.count = 42;
    EXPECT(groupkv_stats_histogram(st, "write_micros_typo", &h), GROUPKV_NOT_FOUND);
    CHECK(h.count == 42);
    EXPECT(groupkv_stats_counter(st, "\xff\xfe", &v), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_counter(NULL, "wal_syncs", &v), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_counter(st, NULL, &v), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_counter(st, "wal_syncs", NULL), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_histogram(NULL, "write_micros", &h), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_histogram(st, NULL, &h), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_stats_histogram(st, "write_micros", NULL), GROUPKV_INVALID_ARGUMENT);
    EXPECT_ERR(groupkv_db_stats(db, NULL, &err), GROUPKV_INVALID_ARGUMENT, "out");
    CHECK(groupkv_stats_counter_name(SIZE_MAX) == NULL);
    groupkv_stats_destroy(st);
    groupkv_stats_destroy(NULL);
    groupkv_writeoptions_destroy(sync);
    groupkv_db_destroy(db);
}
