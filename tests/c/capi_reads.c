/* Reads: read options, iterators, snapshots, multi_get and properties, before and after
 * close. */
#include "check.h"

/* Appends every key the iterator shows, moving forward (dir > 0) or back, to out as "k1,k2,". */
static void scan(groupkv_iterator *it, int dir, char *out, size_t n) {
    out[0] = 0;
    if (dir > 0)
        groupkv_iterator_seek_to_first(it);
    else
        groupkv_iterator_seek_to_last(it);
    for (; groupkv_iterator_valid(it);
         dir > 0 ? groupkv_iterator_next(it) : groupkv_iterator_prev(it)) {
        size_t kl = 0;
        const char *k = groupkv_iterator_key(it, &kl);
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%.*s,", (int)kl, k);
    }
}

static bool at(groupkv_iterator *it, const char *key, const char *val) {
    size_t kl = 0, vl = 0;
    const char *k = groupkv_iterator_key(it, &kl);
    const char *v = groupkv_iterator_value(it, &vl);
    return groupkv_iterator_valid(it) && k && v && kl == strlen(key) && memcmp(k, key, kl) == 0 &&
           vl == strlen(val) && memcmp(v, val, vl) == 0;
}

void test_iterators(void) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "iterators");
    groupkv_db *db = open_db(dir);
    char buf[512];

    /* Empty database: never valid, status OK, key/value NULL with length 0. */
    groupkv_iterator *it = NULL;
    EXPECT(groupkv_iterator_create(db, NULL, &it, NULL), GROUPKV_OK);
    groupkv_iterator_seek_to_first(it);
    CHECK(!groupkv_iterator_valid(it));
    size_t len = 99;
    CHECK(groupkv_iterator_key(it, &len) == NULL && len == 0);
    len = 99;
    CHECK(groupkv_iterator_value(it, &len) == NULL && len == 0);
    EXPECT(groupkv_iterator_status(it, NULL), GROUPKV_OK);
    groupkv_iterator_destroy(it);

    put_str(db, "b", "2");
    put_str(db, "d", "4");
    put_str(db, "a", "1");
    put_str(db, "c", "3");
    put_str(db, "e", "");
    del_str(db, "c");

    EXPECT(groupkv_iterator_create(db, NULL, &it, NULL), GROUPKV_OK);
    /* Not positioned until a seek. */
    CHECK(!groupkv_iterator_valid(it));
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "a,b,d,e,") == 0);
    scan(it, -1, buf, sizeof buf);
    CHECK(strcmp(buf, "e,d,b,a,") == 0);
    /* Seek between keys, seek_for_prev between keys, exact hits, and past either end. */
    groupkv_iterator_seek(it, "bb", 2);
    CHECK(at(it, "d", "4"));
    groupkv_iterator_prev(it);
    CHECK(at(it, "b", "2"));
    groupkv_iterator_next(it);
    CHECK(at(it, "d", "4"));
    groupkv_iterator_seek_for_prev(it, "cc", 2);
    CHECK(at(it, "b", "2"));
    groupkv_iterator_seek_for_prev(it, "d", 1);
    CHECK(at(it, "d", "4"));
    groupkv_iterator_seek(it, "f", 1);
    CHECK(!groupkv_iterator_valid(it));
    groupkv_iterator_next(it); /* a move while not valid is a no-op, never a crash */
    groupkv_iterator_prev(it);
    CHECK(!groupkv_iterator_valid(it));
    groupkv_iterator_seek_for_prev(it, "0", 1);
    CHECK(!groupkv_iterator_valid(it));
    /* An empty value is valid with a non-NULL pointer and length 0. */
    groupkv_iterator_seek(it, "e", 1);
    len = 99;
    CHECK(groupkv_iterator_valid(it) && groupkv_iterator_value(it, &len) != NULL && len == 0);
    CHECK(groupkv_iterator_key(it, NULL) != NULL); /* len may be NULL */
    /* A bad seek key (NULL with a length) is never read and leaves it invalid. */
    groupkv_iterator_seek(it, NULL, 3);
    CHECK(!groupkv_iterator_valid(it));
    groupkv_iterator_seek_for_prev(it, NULL, 3);
    CHECK(!groupkv_iterator_valid(it));
    /* The empty key seeks to the first entry. */
    groupkv_iterator_seek(it, NULL, 0);
    CHECK(at(it, "a", "1"));
    /* The view is as of creation: later writes are not seen. */
    put_str(db, "aa", "new");
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "a,b,d,e,") == 0);
    groupkv_iterator_destroy(it);

    /* Bounds: lower inclusive, upper exclusive; NULL clears; copied (the buffer may change). */
    groupkv_readoptions *ro = groupkv_readoptions_create();
    char lo[] = "b", hi[] = "e";
    groupkv_readoptions_set_iterate_lower_bound(ro, lo, 1);
    groupkv_readoptions_set_iterate_upper_bound(ro, hi, 1);
    lo[0] = 'z';
    hi[0] = 'z';
    groupkv_readoptions_set_verify_checksums(ro, false);
    groupkv_readoptions_set_fill_cache(ro, false);
    EXPECT(groupkv_iterator_create(db, ro, &it, NULL), GROUPKV_OK);
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "b,d,") == 0);
    scan(it, -1, buf, sizeof buf);
    CHECK(strcmp(buf, "d,b,") == 0);
    groupkv_iterator_destroy(it);
    groupkv_readoptions_set_iterate_lower_bound(ro, NULL, 0);
    groupkv_readoptions_set_iterate_upper_bound(ro, NULL, 0);
    EXPECT(groupkv_iterator_create(db, ro, &it, NULL), GROUPKV_OK);
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "a,aa,b,d,e,") == 0);
    groupkv_iterator_destroy(it);
    /* A bad bound (NULL with a length) changes nothing rather than widening the scan. */
    groupkv_readoptions_set_iterate_upper_bound(ro, "b", 1);
    groupkv_readoptions_set_iterate_upper_bound(ro, NULL, 5);
    EXPECT(groupkv_iterator_create(db, ro, &it, NULL), GROUPKV_OK);
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "a,aa,") == 0);
    groupkv_iterator_destroy(it);
    groupkv_readoptions_destroy(ro);

    /* NULL handles: no crash, INVALID_ARGUMENT where a status is returned. */
    EXPECT_ERR(groupkv_iterator_create(NULL, NULL, &it, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_iterator_create(db, NULL, NULL, &err), GROUPKV_INVALID_ARGUMENT, "out");
    EXPECT_ERR(groupkv_iterator_status(NULL, &err), GROUPKV_INVALID_ARGUMENT, "iterator");
    groupkv_iterator_seek_to_first(NULL);
    groupkv_iterator_seek_to_last(NULL);
    groupkv_iterator_seek(NULL, "a", 1);
    groupkv_iterator_seek_for_prev(NULL, "a", 1);
    groupkv_iterator_next(NULL);
    groupkv_iterator_prev(NULL);
    CHECK(!groupkv_iterator_valid(NULL));
    CHECK(groupkv_iterator_key(NULL, &len) == NULL && len == 0);
    CHECK(groupkv_iterator_value(NULL, NULL) == NULL);
    groupkv_iterator_destroy(NULL);
    groupkv_readoptions_set_snapshot(NULL, NULL);
    groupkv_readoptions_set_iterate_lower_bound(NULL, "a", 1);
    groupkv_readoptions_set_iterate_upper_bound(NULL, "a", 1);
    groupkv_readoptions_set_verify_checksums(NULL, true);
    groupkv_readoptions_set_fill_cache(NULL, true);
    groupkv_readoptions_destroy(NULL);

    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);
}

/* A tiny write buffer, so memtables switch and flush to tables while the snapshot lives. */
static groupkv_db *open_small_buffer(const char *path) {
    groupkv_options *o = groupkv_options_create();
    groupkv_options_set_write_buffer_size(o, 4096);
    groupkv_db *db = NULL;
    EXPECT(groupkv_db_open(o, path, &db, NULL), GROUPKV_OK);
    groupkv_options_destroy(o);
    return db;
}

void test_snapshots_and_multi_get(void) {
    char dir[4096];
    fresh_dir(dir, sizeof dir, "snapshots");
    groupkv_db *db = open_small_buffer(dir);
    put_str(db, "k1", "old1");
    put_str(db, "k2", "old2");

    groupkv_snapshot *snap = NULL;
    EXPECT(groupkv_snapshot_create(db, &snap), GROUPKV_OK);
    uint64_t seq = 0;
    EXPECT(groupkv_db_latest_sequence(db, &seq), GROUPKV_OK);
    CHECK(groupkv_snapshot_sequence(snap) == seq);
    CHECK(groupkv_snapshot_sequence(NULL) == 0);

    /* Overwrite, delete and add, with enough data to switch and flush memtables. */
    put_str(db, "k1", "new1");
    del_str(db, "k2");
    put_str(db, "k3", "new3");
    char key[32], val[200];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "fill%04d", i);
        put_str(db, key, val);
    }

    groupkv_readoptions *ro = groupkv_readoptions_create();
    groupkv_readoptions_set_snapshot(ro, snap);
    char *v = NULL;
    size_t n = 0;
    EXPECT(groupkv_db_get(db, ro, "k1", 2, &v, &n, NULL), GROUPKV_OK);
    CHECK(n == 4 && memcmp(v, "old1", 4) == 0);
    groupkv_free(v);
    v = NULL;
    EXPECT(groupkv_db_get(db, ro, "k2", 2, &v, &n, NULL), GROUPKV_OK);
    CHECK(n == 4 && memcmp(v, "old2", 4) == 0);
    groupkv_free(v);
    v = NULL;
    EXPECT(groupkv_db_get(db, ro, "k3", 2, &v, &n, NULL), GROUPKV_NOT_FOUND);
    CHECK(v == NULL);
    CHECK(has_value(db, "k1", "new1"));

    /* An iterator at the snapshot sees exactly the two old keys. */
    groupkv_iterator *it = NULL;
    char buf[256];
    EXPECT(groupkv_iterator_create(db, ro, &it, NULL), GROUPKV_OK);
    scan(it, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "k1,k2,") == 0);
    groupkv_iterator_destroy(it);

    /* multi_get: one sequence for all keys, per-key statuses, values to free. */
    const char *keys[] = {"k1", "k2", "k3", "nope"};
    size_t sizes[] = {2, 2, 2, 4};
    char *vals[4];
    size_t vsizes[4];
    groupkv_status st[4];
    EXPECT(groupkv_db_multi_get(db, ro, 4, keys, sizes, vals, vsizes, st, NULL), GROUPKV_OK);
    CHECK(st[0] == GROUPKV_OK && vsizes[0] == 4 && memcmp(vals[0], "old1", 4) == 0);
    CHECK(st[1] == GROUPKV_OK && vsizes[1] == 4 && memcmp(vals[1], "old2", 4) == 0);
    CHECK(st[2] == GROUPKV_NOT_FOUND && vals[2] == NULL && vsizes[2] == 0);
    CHECK(st[3] == GROUPKV_NOT_FOUND && vals[3] == NULL);
    for (int i = 0; i < 4; i++) groupkv_free(vals[i]);
    EXPECT(groupkv_db_multi_get(db, NULL, 4, keys, sizes, vals, vsizes, st, NULL), GROUPKV_OK);
    CHECK(st[0] == GROUPKV_OK && vsizes[0] == 4 && memcmp(vals[0], "new1", 4) == 0);
    CHECK(st[1] == GROUPKV_NOT_FOUND && st[2] == GROUPKV_OK && st[3] == GROUPKV_NOT_FOUND);
    for (int i = 0; i < 4; i++) groupkv_free(vals[i]);
    EXPECT(groupkv_db_multi_get(db, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL), GROUPKV_OK);
    EXPECT_ERR(groupkv_db_multi_get(db, NULL, 4, NULL, sizes, vals, vsizes, st, &err),
               GROUPKV_INVALID_ARGUMENT, "keys_list");
    const char *bad_keys[] = {"k1", NULL};
    size_t bad_sizes[] = {2, 3};
    EXPECT_ERR(groupkv_db_multi_get(db, NULL, 2, bad_keys, bad_sizes, vals, vsizes, st, &err),
               GROUPKV_INVALID_ARGUMENT, "key 1");
    EXPECT_ERR(groupkv_db_multi_get(NULL, NULL, 1, keys, sizes, vals, vsizes, st, &err),
               GROUPKV_INVALID_ARGUMENT, "db");

    /* Clearing the snapshot reads the latest again. */
    groupkv_readoptions_set_snapshot(ro, NULL);
    CHECK(groupkv_db_get(db, ro, "k2", 2, &v, &n, NULL) == GROUPKV_NOT_FOUND);

    /* Properties: the flushes above left tables; unknown names are NOT_FOUND. */
    char *prop = NULL;
    EXPECT(groupkv_db_property(db, "groupkv.stats", &prop, NULL), GROUPKV_OK);
    CHECK(prop != NULL && strlen(prop) > 0);
    groupkv_free(prop);
    prop = NULL;
    EXPECT(groupkv_db_property(db, "groupkv.num-files-at-level0", &prop, NULL), GROUPKV_OK);
    CHECK(prop != NULL && strspn(prop, "0123456789") == strlen(prop));
    groupkv_free(prop);
    prop = NULL;
    char *untouched = NULL;
    EXPECT(groupkv_db_property(db, "groupkv.no-such-thing", &prop, &untouched),
           GROUPKV_NOT_FOUND);
    CHECK(prop == NULL && untouched == NULL);
    EXPECT_ERR(groupkv_db_property(db, NULL, &prop, &err), GROUPKV_INVALID_ARGUMENT, "name");
    EXPECT_ERR(groupkv_db_property(db, "groupkv.stats", NULL, &err), GROUPKV_INVALID_ARGUMENT,
               "out");
    EXPECT_ERR(groupkv_db_property(NULL, "groupkv.stats", &prop, &err), GROUPKV_INVALID_ARGUMENT,
               "db");
    EXPECT(groupkv_snapshot_create(db, NULL), GROUPKV_INVALID_ARGUMENT);
    CHECK(groupkv_snapshot_create(NULL, &snap) == GROUPKV_INVALID_ARGUMENT);

    /* Use after close: snapshot reads, iterator creation and moves, multi_get and property
     * all get CLOSED; an iterator made before the close stops being valid; releasing and
     * destroying them after close (and after the DB is destroyed) is clean under valgrind. */
    groupkv_iterator *live = NULL;
    EXPECT(groupkv_iterator_create(db, NULL, &live, NULL), GROUPKV_OK);
    groupkv_iterator_seek_to_first(live);
    CHECK(groupkv_iterator_valid(live));
    groupkv_readoptions_set_snapshot(ro, snap);
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    CHECK(!groupkv_iterator_valid(live));
    CHECK(groupkv_iterator_key(live, &n) == NULL && n == 0);
    groupkv_iterator_next(live);
    groupkv_iterator_seek(live, "k", 1);
    groupkv_iterator_seek_to_last(live);
    CHECK(!groupkv_iterator_valid(live));
    EXPECT_ERR(groupkv_iterator_status(live, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_get(db, ro, "k1", 2, &v, &n, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_iterator_create(db, ro, &it, &err), GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_multi_get(db, ro, 4, keys, sizes, vals, vsizes, st, &err),
               GROUPKV_CLOSED, "closed");
    EXPECT_ERR(groupkv_db_property(db, "groupkv.stats", &prop, &err), GROUPKV_CLOSED, "closed");
    groupkv_snapshot *late = NULL;
    EXPECT(groupkv_snapshot_create(db, &late), GROUPKV_CLOSED);
    CHECK(late == NULL);
    CHECK(groupkv_snapshot_sequence(snap) == seq); /* a number, still readable */
    groupkv_db_destroy(db);
    /* After destroy too: these own what they hold. */
    CHECK(!groupkv_iterator_valid(live));
    EXPECT(groupkv_iterator_status(live, NULL), GROUPKV_CLOSED);
    groupkv_iterator_destroy(live);
    groupkv_snapshot_release(snap);
    groupkv_snapshot_release(NULL);
    groupkv_readoptions_destroy(ro);

    /* Destroy-after-close with the iterator destroyed between close and destroy. */
    fresh_dir(dir, sizeof dir, "iter-after-close");
    db = open_small_buffer(dir);
    put_str(db, "x", "1");
    EXPECT(groupkv_iterator_create(db, NULL, &it, NULL), GROUPKV_OK);
    EXPECT(groupkv_snapshot_create(db, &snap), GROUPKV_OK);
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    groupkv_iterator_destroy(it);
    groupkv_snapshot_release(snap);
    groupkv_db_destroy(db);
}
