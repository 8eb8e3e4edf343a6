/* Errors and bad input: NULL and over-size arguments, a write stall, a failed WAL write,
 * a corrupted WAL under each recovery mode, and a panic forced inside the exports. */
#include "check.h"

void test_null_and_oversize_arguments(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "nulls");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    groupkv_batch *b = groupkv_batch_create();
    static const char one = 'x';
    size_t huge = (size_t)GROUPKV_MAX_KEY_VALUE_LEN + 1;
    char *val = (char *)"sentinel";
    size_t n = 777;
    uint64_t u = 777;
    size_t z = 777;

    EXPECT_ERR(groupkv_db_put(NULL, w, "k", 1, "v", 1, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_db_put(db, NULL, "k", 1, "v", 1, &err), GROUPKV_INVALID_ARGUMENT,
               "write options");
    EXPECT_ERR(groupkv_db_put(db, w, NULL, 1, "v", 1, &err), GROUPKV_INVALID_ARGUMENT, "key");
    EXPECT_ERR(groupkv_db_put(db, w, "k", 1, NULL, 5, &err), GROUPKV_INVALID_ARGUMENT, "value");
    EXPECT_ERR(groupkv_db_put(db, w, &one, huge, "v", 1, &err), GROUPKV_INVALID_ARGUMENT,
               "4 GiB");
    EXPECT_ERR(groupkv_db_put(db, w, "k", 1, &one, huge, &err), GROUPKV_INVALID_ARGUMENT,
               "value length");
    EXPECT_ERR(groupkv_db_delete(NULL, w, "k", 1, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_db_delete(db, NULL, "k", 1, &err), GROUPKV_INVALID_ARGUMENT, "options");
    EXPECT_ERR(groupkv_db_delete(db, w, NULL, 3, &err), GROUPKV_INVALID_ARGUMENT, "key");
    EXPECT_ERR(groupkv_db_delete(db, w, &one, huge, &err), GROUPKV_INVALID_ARGUMENT, "4 GiB");
    EXPECT_ERR(groupkv_db_write(NULL, w, b, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_db_write(db, NULL, b, &err), GROUPKV_INVALID_ARGUMENT, "options");
    EXPECT_ERR(groupkv_db_write(db, w, NULL, &err), GROUPKV_INVALID_ARGUMENT, "batch");
    EXPECT_ERR(groupkv_db_get(NULL, NULL, "k", 1, &val, &n, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_db_get(db, NULL, NULL, 1, &val, &n, &err), GROUPKV_INVALID_ARGUMENT, "key");
    EXPECT_ERR(groupkv_db_get(db, NULL, &one, huge, &val, &n, &err), GROUPKV_INVALID_ARGUMENT,
               "4 GiB");
    EXPECT_ERR(groupkv_db_get(db, NULL, "k", 1, NULL, &n, &err), GROUPKV_INVALID_ARGUMENT, "val");
    EXPECT_ERR(groupkv_db_get(db, NULL, "k", 1, &val, NULL, &err), GROUPKV_INVALID_ARGUMENT,
               "vallen");
    EXPECT_ERR(groupkv_db_close(NULL, &err), GROUPKV_INVALID_ARGUMENT, "db");
    EXPECT_ERR(groupkv_db_stats(NULL, NULL, &err), GROUPKV_INVALID_ARGUMENT, "NULL");
    EXPECT(groupkv_db_latest_sequence(NULL, &u), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_db_latest_sequence(db, NULL), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_db_approximate_memory_usage(NULL, &z), GROUPKV_INVALID_ARGUMENT);
    EXPECT(groupkv_db_approximate_memory_usage(db, NULL), GROUPKV_INVALID_ARGUMENT);
    /* errmsg may be NULL. */
    EXPECT(groupkv_db_put(NULL, w, "k", 1, "v", 1, NULL), GROUPKV_INVALID_ARGUMENT);
    /* sync with disable_wal is a contradiction. */
    groupkv_writeoptions_set_sync(w, true);
    groupkv_writeoptions_set_disable_wal(w, true);
    EXPECT_ERR(groupkv_db_put(db, w, "k", 1, "v", 1, &err), GROUPKV_INVALID_ARGUMENT,
               "disable_wal");
    /* Out-parameters are untouched by failures; nothing was written. */
    CHECK(strcmp(val, "sentinel") == 0 && n == 777 && u == 777 && z == 777);
    CHECK(get_str(db, "k", NULL) == NULL);
    groupkv_db_destroy(NULL);
    groupkv_batch_destroy(b);
    groupkv_writeoptions_destroy(w);
    groupkv_db_destroy(db);
}

void test_write_stall_incomplete(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "stall");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *fast = groupkv_writeoptions_create();
    groupkv_writeoptions_set_no_slowdown(fast, true);
    groupkv_testing_set_write_stall(db, true);
    EXPECT_ERR(groupkv_db_put(db, fast, "k", 1, "v", 1, &err), GROUPKV_INCOMPLETE, "stall");
    groupkv_testing_set_write_stall(db, false);
    groupkv_testing_set_write_stall(NULL, false);
    EXPECT(groupkv_db_put(db, fast, "k", 1, "v", 1, NULL), GROUPKV_OK);
    CHECK(has_value(db, "k", "v"));
    groupkv_writeoptions_destroy(fast);
    groupkv_db_destroy(db);
}

/* A WAL write that fails (the file-size limit makes write() fail with EFBIG) is not
 * acknowledged; every later write gets GROUPKV_POISONED; a reopen recovers what was
 * acknowledged. */
void test_failed_wal_write_poisons(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "poisoned");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *w = groupkv_writeoptions_create();
    EXPECT(groupkv_db_put(db, w, "acked", 5, "yes", 3, NULL), GROUPKV_OK);

    struct rlimit old, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small = old;
    small.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    static char big[64 * 1024];
    memset(big, 'b', sizeof big);
    EXPECT_ERR(groupkv_db_put(db, w, "big", 3, big, sizeof big, &err), GROUPKV_IO_ERROR, "WAL");
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);

    EXPECT_ERR(groupkv_db_put(db, w, "later", 5, "no", 2, &err), GROUPKV_POISONED, "reopen");
    CHECK(!has_value(db, "big", "b"));
    /* Close writes nothing more and says why: the database is poisoned. */
    EXPECT_ERR(groupkv_db_close(db, &err), GROUPKV_POISONED, "reopen");
    EXPECT(groupkv_db_close(db, NULL), GROUPKV_OK);
    groupkv_db_destroy(db);

    db = open_db(dir);
    CHECK(has_value(db, "acked", "yes"));
    CHECK(get_str(db, "big", NULL) == NULL);
    CHECK(get_str(db, "later", NULL) == NULL);
    groupkv_writeoptions_destroy(w);
    groupkv_db_destroy(db);
}

/* Finds the (only) WAL file of a crashed session's database. */
static bool find_wal(const char *dir, char *out, size_t n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0) {
            snprintf(out, n, "%s/%s", dir, e->d_name);
            found = true;
        }
    }
    if (d) closedir(d);
    return found;
}

void test_corruption_and_recovery_modes(void) {
    char dir[4200], wal[4600];
    fresh_dir(dir, sizeof dir, "corrupt");
    groupkv_writeoptions *sync = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(sync, true);
    /* A session that crashes leaves its WAL (a clean close folds it into a base): a child
     * writes and dies without closing, replacing itself with exec so memcheck does not count
     * the abandoned handle as a leak. */
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        groupkv_db *child = open_db(dir);
        bool ok = groupkv_db_put(child, sync, "first", 5, "1", 1, NULL) == GROUPKV_OK &&
                  groupkv_db_put(child, sync, "second", 6, "2", 1, NULL) == GROUPKV_OK &&
                  groupkv_db_put(child, sync, "third", 5, "3", 1, NULL) == GROUPKV_OK;
        execl("/bin/sh", "sh", "-c", ok ? "exit 0" : "exit 1", (char *)NULL);
        _exit(3);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(find_wal(dir, wal, sizeof wal));
    groupkv_db *db;

    /* Flip a payload byte of the second record (records: 7-byte header + 12 + 2 + key + 2). */
    int fd = open(wal, O_RDWR);
    CHECK(fd >= 0);
    off_t second = 7 + 12 + 1 + 1 + 5 + 1 + 1;
    unsigned char byte = 0;
    CHECK(pread(fd, &byte, 1, second + 7 + 14) == 1);
    byte ^= 0x40;
    CHECK(pwrite(fd, &byte, 1, second + 7 + 14) == 1);
    close(fd);

    groupkv_options *o = groupkv_options_create();
    groupkv_db *sentinel = (groupkv_db *)&sentinel;
    db = sentinel;
    EXPECT(groupkv_options_set_wal_recovery_mode(o, GROUPKV_WAL_ABSOLUTE_CONSISTENCY), GROUPKV_OK);
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_CORRUPTION, "");
    EXPECT(groupkv_options_set_wal_recovery_mode(o, GROUPKV_WAL_TOLERATE_CORRUPTED_TAIL_RECORDS),
           GROUPKV_OK);
    EXPECT_ERR(groupkv_db_open(o, dir, &db, &err), GROUPKV_CORRUPTION, "");
    CHECK(db == sentinel);
    /* point_in_time: a prefix, never a hole. */
    EXPECT(groupkv_options_set_wal_recovery_mode(o, GROUPKV_WAL_POINT_IN_TIME), GROUPKV_OK);
    EXPECT(groupkv_db_open(o, dir, &db, NULL), GROUPKV_OK);
    CHECK(has_value(db, "first", "1"));
    CHECK(get_str(db, "second", NULL) == NULL);
    CHECK(get_str(db, "third", NULL) == NULL);
    groupkv_db_destroy(db);
    groupkv_options_destroy(o);
    groupkv_writeoptions_destroy(sync);
}

void test_panic_boundary(void) {
    char dir[4200];
    fresh_dir(dir, sizeof dir, "panic");
    groupkv_db *db = open_db(dir);
    groupkv_writeoptions *w = groupkv_writeoptions_create();

    groupkv_testing_panic_next_call();
    EXPECT_ERR(groupkv_db_put(db, w, "k", 1, "v", 1, &err), GROUPKV_PANIC, "panicked");
    /* The panic happened at the boundary: nothing was written, the handle still works. */
    CHECK(get_str(db, "k", NULL) == NULL);
    EXPECT(groupkv_db_put(db, w, "k", 1, "v", 1, NULL), GROUPKV_OK);

    groupkv_testing_panic_next_call();
    CHECK(groupkv_batch_create() == NULL);
    groupkv_testing_panic_next_call();
    CHECK(groupkv_status_name(GROUPKV_OK) == NULL);
    groupkv_batch *b = groupkv_batch_create();
    EXPECT(groupkv_batch_put(b, "k", 1, "v", 1), GROUPKV_OK);
    groupkv_testing_panic_next_call();
    CHECK(groupkv_batch_count(b) == 0);
    groupkv_testing_panic_next_call();
    groupkv_batch_clear(b); /* void: the panic is swallowed, the batch untouched */
    CHECK(groupkv_batch_count(b) == 1);
    groupkv_testing_panic_next_call();
    EXPECT(groupkv_batch_put(b, "k", 1, "v", 1), GROUPKV_PANIC);
    CHECK(groupkv_batch_count(b) == 1);
    groupkv_batch_destroy(b);

    groupkv_writeoptions_destroy(w);
    groupkv_db_destroy(db);
}
