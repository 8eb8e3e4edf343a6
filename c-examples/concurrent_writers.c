/* concurrent_writers.c - N threads write with sync on; groupkv commits them in write groups
 * (one WAL append and one fdatasync per group). Prints the throughput and the group-commit
 * statistics, then checks every write is readable.
 * Usage: concurrent_writers DB_DIRECTORY [THREADS=8] [WRITES_PER_THREAD=500] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupkv.h"

struct worker {
    groupkv_db *db;
    const groupkv_writeoptions *options;
    int id, writes, failed;
};

static void *work(void *arg) {
    struct worker *w = arg;
    char key[32], val[64];
    for (int i = 0; i < w->writes; i++) {
        int kl = snprintf(key, sizeof key, "t%02d-%08d", w->id, i);
        int vl = snprintf(val, sizeof val, "value of %s", key);
        char *err = NULL;
        groupkv_status s = groupkv_db_put(w->db, w->options, key, (size_t)kl, val, (size_t)vl, &err);
        if (s != GROUPKV_OK) {
            fprintf(stderr, "thread %d: put failed: %s: %s\n", w->id, groupkv_status_name(s), err);
            groupkv_free(err);
            w->failed = 1;
            return NULL;
        }
    }
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t counter(const groupkv_stats *st, const char *name) {
    uint64_t v = 0;
    if (groupkv_stats_counter(st, name, &v) != GROUPKV_OK) fprintf(stderr, "no counter %s\n", name);
    return v;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DB_DIRECTORY [THREADS] [WRITES_PER_THREAD]\n", argv[0]);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    int writes = argc > 3 ? atoi(argv[3]) : 500;
    if (threads < 1 || threads > 1024 || writes < 1) {
        fprintf(stderr, "THREADS must be 1..1024 and WRITES_PER_THREAD positive\n");
        return 2;
    }
    groupkv_options *options = groupkv_options_create();
    groupkv_db *db = NULL;
    char *err = NULL;
    groupkv_status s = groupkv_db_open(options, argv[1], &db, &err);
    groupkv_options_destroy(options);
    if (s != GROUPKV_OK) {
        fprintf(stderr, "open failed: %s: %s\n", groupkv_status_name(s), err);
        groupkv_free(err);
        return 1;
    }
    groupkv_writeoptions *sync = groupkv_writeoptions_create();
    groupkv_writeoptions_set_sync(sync, true);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    double start = now();
    for (int i = 0; i < threads; i++) {
        ws[i] = (struct worker){.db = db, .options = sync, .id = i, .writes = writes};
        pthread_create(&tids[i], NULL, work, &ws[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        failed |= ws[i].failed;
    }
    double secs = now() - start;
    long total = (long)threads * writes;

    groupkv_stats *st = NULL;
    if (groupkv_db_stats(db, &st, NULL) != GROUPKV_OK) return 1;
    uint64_t groups = counter(st, "write_done_by_self");
    uint64_t by_other = counter(st, "write_done_by_other");
    uint64_t syncs = counter(st, "wal_syncs");
    groupkv_histogram group, lat;
    groupkv_stats_histogram(st, "write_group_size", &group);
    groupkv_stats_histogram(st, "write_micros", &lat);
    printf("%d threads x %d synced puts = %ld writes in %.3f s: %.0f writes/s\n", threads, writes,
           total, secs, total / secs);
    printf("group commit: %llu groups (write_done_by_self), %llu writes done by another thread's "
           "group, %llu WAL syncs\n",
           (unsigned long long)groups, (unsigned long long)by_other, (unsigned long long)syncs);
    printf("write group size: mean %.2f, max %llu; write latency: p50 %.0f us, p99 %.0f us\n",
           group.mean, (unsigned long long)group.max, lat.p50, lat.p99);
    printf("syncs per write: %.3f (1.000 would mean no grouping)\n", (double)syncs / (double)total);
    printf("all counters:");
    const char *name;
    for (size_t i = 0; (name = groupkv_stats_counter_name(i)) != NULL; i++)
        printf(" %s=%llu", name, (unsigned long long)counter(st, name));
    printf("\n");
    groupkv_stats_destroy(st);

    /* Every acknowledged write is readable. */
    long missing = 0;
    for (int t = 0; t < threads && !failed; t++) {
        for (int i = 0; i < writes; i++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "t%02d-%08d", t, i);
            char *val = NULL;
            size_t len = 0;
            if (groupkv_db_get(db, NULL, key, (size_t)kl, &val, &len, NULL) != GROUPKV_OK) missing++;
            groupkv_free(val);
        }
    }
    printf("verified: %ld of %ld writes readable\n", total - missing, total);
    s = groupkv_db_close(db, &err);
    if (s != GROUPKV_OK) {
        fprintf(stderr, "close failed: %s: %s\n", groupkv_status_name(s), err);
        groupkv_free(err);
    }
    groupkv_db_destroy(db);
    groupkv_writeoptions_destroy(sync);
    free(tids);
    free(ws);
    return failed || missing || s != GROUPKV_OK || groups + by_other != (uint64_t)total;
}
