/* The shared helpers of check.h. */
#include "check.h"

int failures = 0;
int checks = 0;

char base_dir[4096];
static int dir_counter = 0;

void fresh_dir(char *out, size_t n, const char *what) {
    snprintf(out, n, "%s/%02d-%s", base_dir, ++dir_counter, what);
}

groupkv_db *open_db(const char *path) {
    groupkv_options *o = groupkv_options_create();
    groupkv_db *db = NULL;
    char *err = NULL;
    groupkv_status s = groupkv_db_open(o, path, &db, &err);
    if (s != GROUPKV_OK) {
        fprintf(stderr, "open %s failed: %s %s\n", path, groupkv_status_name(s), err);
        groupkv_free(err);
        exit(2);
    }
    groupkv_options_destroy(o);
    return db;
}

char *get_str(groupkv_db *db, const char *key, size_t *len) {
    char *val = NULL;
    size_t n = 0;
    groupkv_status s = groupkv_db_get(db, NULL, key, strlen(key), &val, &n, NULL);
    if (s == GROUPKV_NOT_FOUND) return NULL;
    CHECK(s == GROUPKV_OK);
    if (len) *len = n;
    return val;
}

bool has_value(groupkv_db *db, const char *key, const char *want) {
    size_t n = 0;
    char *v = get_str(db, key, &n);
    bool ok = v != NULL && n == strlen(want) && memcmp(v, want, n) == 0;
    groupkv_free(v);
    return ok;
}

void put_str(groupkv_db *db, const char *k, const char *v) {
    groupkv_writeoptions *wo = groupkv_writeoptions_create();
    EXPECT(groupkv_db_put(db, wo, k, strlen(k), v, strlen(v), NULL), GROUPKV_OK);
    groupkv_writeoptions_destroy(wo);
}

void del_str(groupkv_db *db, const char *k) {
    groupkv_writeoptions *wo = groupkv_writeoptions_create();
    EXPECT(groupkv_db_delete(db, wo, k, strlen(k), NULL), GROUPKV_OK);
    groupkv_writeoptions_destroy(wo);
}

long int_property(groupkv_db *db, const char *name) {
    char *prop = NULL;
    if (groupkv_db_property(db, name, &prop, NULL) != GROUPKV_OK) return -1;
    char *end = NULL;
    long v = strtol(prop, &end, 10);
    bool whole = end != prop && *end == '\0';
    groupkv_free(prop);
    return whole ? v : -1;
}
