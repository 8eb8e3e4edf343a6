/* hello.c - the groupkv C API in one page: open, put, get, a batch, delete, close.
 * Usage: hello DB_DIRECTORY */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupkv.h"

/* Prints the failure and exits. */
static void check(groupkv_status s, char *err, const char *what) {
    if (s == GROUPKV_OK) return;
    fprintf(stderr, "%s failed: %s: %s\n", what, groupkv_status_name(s), err ? err : "");
    groupkv_free(err);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DB_DIRECTORY\n", argv[0]);
        return 2;
    }
    printf("groupkv %s\n", groupkv_version());
    char *err = NULL;

    groupkv_options *options = groupkv_options_create();
    groupkv_options_set_create_if_missing(options, true);
    groupkv_db *db = NULL;
    check(groupkv_db_open(options, argv[1], &db, &err), err, "open");
    groupkv_options_destroy(options); /* the database keeps its own copy */

    groupkv_writeoptions *sync = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(sync, true); /* survives power loss once it returns */

    check(groupkv_db_put(db, sync, "greeting", 8, "hello, world", 12, &err), err, "put");

    char *val = NULL;
    size_t len = 0;
    check(groupkv_db_get(db, NULL, "greeting", 8, &val, &len, &err), err, "get");
    printf("greeting = %.*s\n", (int)len, val);
    groupkv_free(val);

    /* A batch is applied atomically: both records or neither. */
    groupkv_batch *batch = groupkv_batch_create();
    check(groupkv_batch_put(batch, "apple", 5, "red", 3), NULL, "batch put");
    check(groupkv_batch_delete(batch, "greeting", 8), NULL, "batch delete");
    check(groupkv_db_write(db, sync, batch, &err), err, "write");
    printf("batch of %zu records written\n", groupkv_batch_count(batch));
    groupkv_batch_destroy(batch);

    groupkv_status s = groupkv_db_get(db, NULL, "greeting", 8, &val, &len, &err);
    printf("greeting after the batch: %s\n",
           s == GROUPKV_NOT_FOUND ? "not found" : groupkv_status_name(s));
    if (s != GROUPKV_NOT_FOUND) return 1;
    check(groupkv_db_get(db, NULL, "apple", 5, &val, &len, &err), err, "get");
    printf("apple = %.*s\n", (int)len, val);
    groupkv_free(val);

    /* An iterator walks the keys in order; check its status when it stops. */
    groupkv_iterator *it = NULL;
    check(groupkv_iterator_create(db, NULL, &it, &err), err, "iterator");
    for (groupkv_iterator_seek_to_first(it); groupkv_iterator_valid(it); groupkv_iterator_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *k = groupkv_iterator_key(it, &klen);
        const char *v = groupkv_iterator_value(it, &vlen);
        printf("  %.*s -> %.*s\n", (int)klen, k, (int)vlen, v);
    }
    check(groupkv_iterator_status(it, &err), err, "iteration");
    groupkv_iterator_destroy(it);

    check(groupkv_db_close(db, &err), err, "close");
    /* After close the handle answers GROUPKV_CLOSED until it is destroyed. */
    s = groupkv_db_put(db, sync, "k", 1, "v", 1, &err);
    printf("put after close: %s (%s)\n", groupkv_status_name(s), err);
    groupkv_free(err);
    groupkv_db_destroy(db);
    groupkv_writeoptions_destroy(sync);
    return s == GROUPKV_CLOSED ? 0 : 1;
}
