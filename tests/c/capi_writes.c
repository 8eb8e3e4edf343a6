/* Writes: put, get and delete across a reopen, batches (built, iterated, serialized,
 * applied), and mapped WAL appends. */
#include "check.h"

void test_put_get_delete_reopen(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "basic");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    groupkv_writeoptions *sync = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(sync, true);
    groupkv_writeoptions *nowal = groupkv_writeoptions_create();
    groupkv_writeoptions_set_disable_wal(nowal, true);

    uint64_t seq0 = 99, seq1 = 0;
    EXPECT(groupkv_db_latest_sequence(db, &seq0), GROUPKV_OK);
    CHECK(seq0 == 0);
    EXPECT(groupkv_db_put(db, w, "hello", 5, "world", 5, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_put(db, sync, "synced", 6, "yes", 3, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_put(db, nowal, "nowal", 5, "kept by close", 13, NULL), GROUPKV_OK);
    /* Binary keys and values, embedded NULs included. */
    EXPECT(groupkv_db_put(db, w, "a\0b", 3, "x\0y\0", 4, NULL), GROUPKV_OK);
    /* Empty key and empty value are valid; the pointer may be NULL when the length is 0. */
    EXPECT(groupkv_db_put(db, w, NULL, 0, NULL, 0, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_put(db, w, "empty-value", 11, "", 0, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_latest_sequence(db, &seq1), GROUPKV_OK);
    CHECK(seq1 == 6);
    size_t mem = 0;
    EXPECT(groupkv_db_approximate_memory_usage(db, &mem), GROUPKV_OK);
    CHECK(mem > 0);

    char *val = NULL;
    size_t n = 0;
    EXPECT(groupkv_db_get(db, NULL, "hello", 5, &val, &n, NULL), GROUPKV_OK);
    CHECK(n == 5 && memcmp(val, "world", 5) == 0 && val[5] == '\0');
    groupkv_free(val);
    EXPECT(groupkv_db_get(db, NULL, "a\0b", 3, &val, &n, NULL), GROUPKV_OK);
    CHECK(n == 4 && memcmp(val, "x\0y\0", 4) == 0);
    free(val); /* malloc-compatible: free() works as well as groupkv_free */
    EXPECT(groupkv_db_get(db, NULL, NULL, 0, &val, &n, NULL), GROUPKV_OK);
    CHECK(n == 0 && val != NULL && val[0] == '\0');
    groupkv_free(val);

    /* Not found: not a failure; outputs and errmsg untouched. */
    char *untouched = (char *)"sentinel";
    char *err = NULL;
    val = untouched;
    n = 12345;
    EXPECT(groupkv_db_get(db, NULL, "missing", 7, &val, &n, &err), GROUPKV_NOT_FOUND);
    CHECK(val == untouched && n == 12345 && err == NULL);

    EXPECT(groupkv_db_delete(db, w, "hello", 5, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_delete(db, w, "never-there", 11, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_delete(db, w, NULL, 0, NULL), GROUPKV_OK);
    EXPECT(groupkv_db_get(db, NULL, "hello", 5, &val, &n, NULL), GROUPKV_NOT_FOUND);

    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);

    db = open_db(dir);
    CHECK(!has_value(db, "hello", "world"));
    CHECK(has_value(db, "synced", "yes"));
    CHECK(has_value(db, "nowal", "kept by close"));
    CHECK(has_value(db, "empty-value", ""));
    EXPECT(groupkv_db_get(db, NULL, NULL, 0, &val, &n, NULL), GROUPKV_NOT_FOUND);
    groupkv_db_destroy(db); /* destroy closes */

    groupkv_writeoptions_destroy(w);
    groupkv_writeoptions_destroy(sync);
    groupkv_writeoptions_destroy(nowal);
}

struct seen {
    int puts, deletes;
    char log[256];
};

static void on_put(void *state, const char *k, size_t kl, const char *v, size_t vl) {
    struct seen *s = state;
    s->puts++;
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof s->log - used, "P(%.*s=%.*s)", (int)kl, k, (int)vl, v);
}

static void on_delete(void *state, const char *k, size_t kl) {
    struct seen *s = state;
    s->deletes++;
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof s->log - used, "D(%.*s)", (int)kl, k);
}

void test_batch(void) {
    groupkv_batch *b = groupkv_batch_create();
    CHECK(b != NULL && groupkv_batch_count(b) == 0);
    EXPECT(groupkv_batch_put(b, "a", 1, "1", 1), GROUPKV_OK);
    EXPECT(groupkv_batch_put(b, "b", 1, "2", 1), GROUPKV_OK);
    EXPECT(groupkv_batch_delete(b, "a", 1), GROUPKV_OK);
    EXPECT(groupkv_batch_put(b, NULL, 0, NULL, 0), GROUPKV_OK);
    CHECK(groupkv_batch_count(b) == 4);

    struct seen s = {0};
    EXPECT(groupkv_batch_iterate(b, &s, on_put, on_delete), GROUPKV_OK);
    CHECK(s.puts == 3 && s.deletes == 1);
    CHECK(strcmp(s.log, "P(a=1)P(b=2)D(a)P(=)") == 0);
    EXPECT(groupkv_batch_iterate(b, &s, NULL, on_delete), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_iterate(b, &s, on_put, NULL), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_iterate(NULL, &s, on_put, on_delete), GROUPKV_INVALID_ARGUMENT);

    /* The representation round-trips (LevelDB format: 12-byte header, count at offset 8). */
    size_t len = 0;
    const char *data = groupkv_batch_data(b, &len);
    CHECK(data != NULL && len > 12 && (unsigned char)data[8] == 4);
    groupkv_batch *copy = NULL;
    EXPECT(groupkv_batch_create_from_data(data, len, &copy, NULL), GROUPKV_OK);
    CHECK(copy != NULL && groupkv_batch_count(copy) == 4);
    size_t len2 = 0;
    CHECK(memcmp(groupkv_batch_data(copy, &len2), data, len) == 0 && len2 == len);
    groupkv_batch_destroy(copy);
    CHECK(groupkv_batch_data(NULL, &len) == NULL);
    CHECK(groupkv_batch_data(b, NULL) == NULL);

    /* Bad batch bytes: corruption, never a crash; out untouched. */
    groupkv_batch *sentinel = (groupkv_batch *)&sentinel;
    copy = sentinel;
    EXPECT_ERR(groupkv_batch_create_from_data("short", 5, &copy, &err), GROUPKV_CORRUPTION,
               "header");
    char bad[64];
    memcpy(bad, data, len);
    bad[8] = 9; /* the count says 9 records, 4 are present */
    EXPECT_ERR(groupkv_batch_create_from_data(bad, len, &copy, &err), GROUPKV_CORRUPTION,
               "records");
    memcpy(bad, data, len);
    bad[12] = 0x7f; /* unknown record tag */
    EXPECT_ERR(groupkv_batch_create_from_data(bad, len, &copy, &err), GROUPKV_CORRUPTION, "");
    memcpy(bad, data, len);
    EXPECT_ERR(groupkv_batch_create_from_data(bad, len - 1, &copy, &err), GROUPKV_CORRUPTION,
               "");
    CHECK(copy == sentinel);
    EXPECT_ERR(groupkv_batch_create_from_data(NULL, 12, &copy, &err), GROUPKV_INVALID_ARGUMENT,
               "NULL");
    EXPECT_ERR(groupkv_batch_create_from_data(data, len, NULL, &err), GROUPKV_INVALID_ARGUMENT,
               "out");

    /* Bad arguments leave the batch unchanged. Over-size lengths are rejected before any
     * byte is read: the pointer below has one readable byte (valgrind would flag a read). */
    static const char one = 'x';
    size_t huge = (size_t)GROUPKV_MAX_KEY_VALUE_LEN + 1;
    EXPECT(groupkv_batch_put(b, &one, huge, "v", 1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_put(b, "k", 1, &one, huge), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_put(b, &one, SIZE_MAX, &one, SIZE_MAX), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_delete(b, &one, huge), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_put(b, NULL, 1, "v", 1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_put(b, "k", 1, NULL, 1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_delete(b, NULL, 1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_put(NULL, "k", 1, "v", 1), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_batch_delete(NULL, "k", 1), GROUPKV_INVALID_ARGUMENT);
    CHECK(groupkv_batch_count(b) == 4);
    CHECK(groupkv_batch_count(NULL) == 0);

    /* A batch is applied atomically by groupkv_db_write. */
    char dir[4200];
    fresh_dir(dir, sizeof dir, "batch");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    EXPECT(groupkv_db_write(db, w, b, NULL), GROUPKV_OK);
    CHECK(!has_value(db, "a", "1") && has_value(db, "b", "2"));
    uint64_t seq = 0;
    EXPECT(groupkv_db_latest_sequence(db, &seq), GROUPKV_OK);
    CHECK(seq == 4);

    groupkv_batch_clear(b);
    groupkv_batch_clear(NULL);
    CHECK(groupkv_batch_count(b) == 0);
    EXPECT(groupkv_db_write(db, w, b, NULL), GROUPKV_OK); /* an empty batch is a no-op write */
    groupkv_batch_destroy(b);
    groupkv_batch_destroy(NULL);
    groupkv_writeoptions_destroy(w);
    groupkv_db_destroy(db);
}

/* Mapped WAL appends (opt-in): enough writes to cross several pages and 32 KiB blocks, some
 * synced, then a reopen without mapping reads every one back. */
void test_allow_mmap_writes(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "mmap");
    groupkv_options *o = groupkv_options_create();
    groupkv_options_set_allow_mmap_writes(o, true);
    groupkv_db *db = NULL;
    EXPECT(groupkv_db_open(o, dir, &db, NULL), GROUPKV_OK);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    groupkv_writeoptions *ws = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(ws, true);
    char key[32], val[300];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 400; i++) {
        int kl = snprintf(key, sizeof key, "mmap%04d", i);
        val[0] = (char)('a' + i % 26);
        EXPECT(groupkv_db_put(db, i % 50 == 0 ? ws : w, key, (size_t)kl, val, sizeof val, NULL),
               GROUPKV_OK);
    }
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);
    groupkv_options_set_allow_mmap_writes(o, false);
    db = NULL;
    EXPECT(groupkv_db_open(o, dir, &db, NULL), GROUPKV_OK);
    int found = 0;
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "mmap%04d", i);
        size_t n = 0;
        char *v = get_str(db, key, &n);
        if (v != NULL && n == sizeof val && v[0] == (char)('a' + i % 26)) found++;
        groupkv_free(v);
    }
    CHECK(found == 400);
    groupkv_db_destroy(db);
    groupkv_writeoptions_destroy(w);
    groupkv_writeoptions_destroy(ws);
    groupkv_options_destroy(o);
}
