/* Flush and compaction: groupkv_db_flush and groupkv_db_compact_range, their effect on the
 * levels, and the data they keep across a reopen. */
#include "check.h"

static size_t memtable_bytes(groupkv_db *db) {
    size_t n = 0;
    EXPECT(groupkv_db_approximate_memory_usage(db, &n), GROUPKV_OK);
    return n;
}

void test_flush(void) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "flush");
    /* Default 64 MiB buffers: nothing reaches a table unless flush puts it there. */
    groupkv_db *db = open_db(dir);
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK); /* an empty memtable: nothing to do */
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 0);

    char key[32], val[100];
    memset(val, 'f', sizeof val - 1);
    val[sizeof val - 1] = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "flush%03d", i);
        put_str(db, key, val);
    }
    del_str(db, "flush050");
    size_t before = memtable_bytes(db);
    CHECK(before > 100 * sizeof val);

    char *untouched = NULL;
    EXPECT(groupkv_db_flush(db, &untouched), GROUPKV_OK);
    CHECK(untouched == NULL);
    CHECK(int_property(db, "groupkv.num-files-at-level0") >= 1);
    CHECK(memtable_bytes(db) < before / 10);
    CHECK(has_value(db, "flush000", val) && has_value(db, "flush099", val));
    CHECK(get_str(db, "flush050", NULL) == NULL);
    groupkv_stats *st = NULL;
    uint64_t flushes = 0;
    EXPECT(groupkv_db_stats(db, &st, NULL), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "flushes", &flushes), GROUPKV_OK);
    CHECK(flushes >= 1);
    groupkv_stats_destroy(st);

    /* A second flush with nothing new adds no table. */
    long files = int_property(db, "groupkv.num-files-at-level0");
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == files);

    /* Reopen: the flushed data (and the delete) come back from the table. */
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    EXPECT_ERR(groupkv_db_flush(db, &err), GROUPKV_CLOSED, "closed");
    groupkv_db_destroy(db);
    db = open_db(dir);
    CHECK(int_property(db, "groupkv.num-files-at-level0") >= 1);
    CHECK(has_value(db, "flush000", val) && has_value(db, "flush099", val));
    CHECK(get_str(db, "flush050", NULL) == NULL);
    EXPECT_ERR(groupkv_db_flush(NULL, &err), GROUPKV_INVALID_ARGUMENT, "db");
    groupkv_db_destroy(db);
}

/* Small buffers, and level-0 triggers high enough that only compact_range empties level 0. */
static groupkv_db *open_for_compaction(const char *path) {
    groupkv_options *o = groupkv_options_create();
    groupkv_options_set_write_buffer_size(o, 4096);
    groupkv_options_set_level0_file_num_compaction_trigger(o, 1000);
    groupkv_options_set_level0_slowdown_writes_trigger(o, 1000);
    groupkv_options_set_level0_stop_writes_trigger(o, 1000);
    groupkv_db *db = NULL;
    EXPECT(groupkv_db_open(o, path, &db, NULL), GROUPKV_OK);
    groupkv_options_destroy(o);
    return db;
}

static long files_below_level0(groupkv_db *db) {
    long n = 0;
    char name[64];
    for (int level = 1; level < 7; level++) {
        snprintf(name, sizeof name, "groupkv.num-files-at-level%d", level);
        n += int_property(db, name);
    }
    return n;
}

/* Every "cr%04d" key below n holds its value, except the multiples of 7, which were deleted. */
static bool compacted_data_intact(groupkv_db *db, int n, const char *val) {
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "cr%04d", i);
        char *v = get_str(db, key, NULL);
        bool ok = i % 7 == 0 ? v == NULL : v != NULL && strcmp(v, val) == 0;
        groupkv_free(v);
        if (!ok) return false;
    }
    return true;
}

void test_compact_range(void) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "compact-all");
    groupkv_db *db = open_for_compaction(dir);
    char key[32], val[100];
    memset(val, 'c', sizeof val - 1);
    val[sizeof val - 1] = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "cr%04d", i);
        put_str(db, key, val);
    }
    for (int i = 0; i < 300; i += 7) {
        snprintf(key, sizeof key, "cr%04d", i);
        del_str(db, key);
    }
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") >= 2);

    /* A range holding no key compacts nothing; a reversed one is harmless too. */
    long l0 = int_property(db, "groupkv.num-files-at-level0");
    EXPECT(groupkv_db_compact_range(db, "zz", 2, "zzz", 3, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == l0);
    EXPECT(groupkv_db_compact_range(db, "cr0200", 6, "cr0100", 6, NULL), GROUPKV_OK);
    CHECK(compacted_data_intact(db, 300, val));

    /* The whole database: level 0 empties into the levels below; nothing read changes. */
    char *untouched = NULL;
    EXPECT(groupkv_db_compact_range(db, NULL, 0, NULL, 0, &untouched), GROUPKV_OK);
    CHECK(untouched == NULL);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 0);
    CHECK(files_below_level0(db) >= 1);
    CHECK(compacted_data_intact(db, 300, val));
    groupkv_stats *st = NULL;
    uint64_t compactions = 0;
    EXPECT(groupkv_db_stats(db, &st, NULL), GROUPKV_OK);
    EXPECT(groupkv_stats_counter(st, "compactions", &compactions), GROUPKV_OK);
    CHECK(compactions >= 1);
    groupkv_stats_destroy(st);

    /* Bad bounds: NULL with a length, or over the key limit, before anything is read. */
    EXPECT_ERR(groupkv_db_compact_range(db, NULL, 3, NULL, 0, &err), GROUPKV_INVALID_ARGUMENT,
               "start");
    EXPECT_ERR(groupkv_db_compact_range(db, NULL, 0, NULL, 1, &err), GROUPKV_INVALID_ARGUMENT,
               "limit");
    EXPECT_ERR(groupkv_db_compact_range(db, "a", (size_t)GROUPKV_MAX_KEY_VALUE_LEN + 1, NULL, 0,
                                        &err),
               GROUPKV_INVALID_ARGUMENT, "start");
    EXPECT_ERR(groupkv_db_compact_range(NULL, NULL, 0, NULL, 0, &err), GROUPKV_INVALID_ARGUMENT,
               "db");

    /* Reopen: the compacted tables hold everything, deletes included. */
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    EXPECT_ERR(groupkv_db_compact_range(db, NULL, 0, NULL, 0, &err), GROUPKV_CLOSED, "closed");
    groupkv_db_destroy(db);
    db = open_for_compaction(dir);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 0);
    CHECK(compacted_data_intact(db, 300, val));
    groupkv_db_destroy(db);

    /* A sub-range: two level-0 tables with disjoint keys; compacting one range moves only the
     * table overlapping it. An empty key ("", length 0, not NULL) is a bound, the smallest. */
    fresh_dir(dir, sizeof dir, "compact-sub");
    db = open_for_compaction(dir);
    put_str(db, "a1", "x");
    put_str(db, "a2", "y");
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK);
    put_str(db, "b1", "z");
    del_str(db, "a2");
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK);
    put_str(db, "c1", "w");
    EXPECT(groupkv_db_flush(db, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 3);
    EXPECT(groupkv_db_compact_range(db, "c", 1, "c\xff", 2, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 2);
    CHECK(files_below_level0(db) == 1);
    EXPECT(groupkv_db_compact_range(db, "", 0, "a9", 2, NULL), GROUPKV_OK);
    CHECK(int_property(db, "groupkv.num-files-at-level0") == 0);
    CHECK(has_value(db, "a1", "x") && get_str(db, "a2", NULL) == NULL);
    CHECK(has_value(db, "b1", "z") && has_value(db, "c1", "w"));
    groupkv_db_destroy(db);
}
