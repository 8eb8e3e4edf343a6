// Tests of the C++17 wrapper (include/groupkv.hpp): every class and method, errors as
// groupkv::Error with the right status, RAII cleanup (run under valgrind by `make test-c`).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "groupkv.hpp"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        checks++;                                                                  \
        if (!(cond)) {                                                             \
            failures++;                                                            \
            std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond "\n"; \
        }                                                                          \
    } while (0)

// Runs `body`, which must throw groupkv::Error with `want`.
template <typename F>
static void expect_error(groupkv_status want, F body, const char* what) {
    checks++;
    try {
        body();
    } catch (const groupkv::Error& e) {
        if (e.status() == want && std::strlen(e.what()) > 0) return;
        std::cerr << what << ": got " << groupkv_status_name(e.status()) << " (" << e.what()
                  << "), expected " << groupkv_status_name(want) << "\n";
        failures++;
        return;
    }
    std::cerr << what << ": no exception, expected " << groupkv_status_name(want) << "\n";
    failures++;
}

int main() {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/groupkv-hpptest-XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) return 2;
    base = buf.data();
    const std::string path = base + "/db";

    {
        groupkv::Options options;
        options.create_if_missing(true)
            .error_if_exists(true)
            .allow_concurrent_memtable_write(true)
            .enable_pipelined_write(true)
            .max_write_batch_group_size_bytes(1 << 16)
            .enable_write_thread_adaptive_yield(true)
            .write_thread_max_yield_usec(50)
            .write_thread_slow_yield_usec(2)
            .allow_mmap_writes(false)
            .wal_recovery_mode(GROUPKV_WAL_POINT_IN_TIME)
            .write_buffer_size(1 << 16)
            .max_write_buffer_number(3)
            .level0_file_num_compaction_trigger(2)
            .level0_slowdown_writes_trigger(8)
            .level0_stop_writes_trigger(12)
            .block_size(1024)
            .block_restart_interval(8)
            .bloom_bits_per_key(0)
            .block_cache_size(1 << 20)
            .max_open_files(100)
            .compression(GROUPKV_SNAPPY_COMPRESSION)
            .target_file_size_base(1 << 20)
            .max_bytes_for_level_base(1 << 22);
        expect_error(GROUPKV_INVALID_ARGUMENT,
                     [&] { options.compression(static_cast<groupkv_compression>(9)); },
                     "unknown compression");
        {
            // A bad storage-engine option is refused at open, with its name in the message.
            groupkv::Options bad;
            bad.level0_slowdown_writes_trigger(30).level0_stop_writes_trigger(10);
            checks++;
            try {
                groupkv::DB::open(base + "/bad-options", bad);
                failures++;
                std::cerr << "open with stop < slowdown succeeded\n";
            } catch (const groupkv::Error& e) {
                if (e.status() != GROUPKV_INVALID_ARGUMENT ||
                    std::strstr(e.what(), "level0_stop_writes_trigger") == nullptr) {
                    failures++;
                    std::cerr << "bad options: " << e.what() << "\n";
                }
            }
        }
        expect_error(GROUPKV_INVALID_ARGUMENT,
                     [&] { options.wal_recovery_mode(static_cast<groupkv_wal_recovery_mode>(7)); },
                     "unknown recovery mode");
        auto db = groupkv::DB::open(path, options);
        // error_if_exists now refuses; the open one also holds the lock.
        expect_error(GROUPKV_BUSY, [&] { groupkv::DB::open(path); }, "second open");

        groupkv::WriteOptions sync;
        sync.sync(true).no_slowdown(false).disable_wal(false);
        db.put("k", "v", sync);
        db.put(std::string_view("bin\0ary", 7), std::string_view("\0\1\2", 3));
        db.put("", "");
        CHECK(db.get("k") == std::optional<std::string>("v"));
        CHECK(db.get(std::string_view("bin\0ary", 7)) == std::string("\0\1\2", 3));
        CHECK(db.get("") == std::string());
        CHECK(!db.get("absent").has_value());
        db.del("k");
        CHECK(!db.get("k").has_value());
        CHECK(db.latest_sequence() == 4);

        groupkv::WriteBatch batch;
        batch.put("a", "1").put("b", "2").del("a");
        CHECK(batch.count() == 3);
        auto copy = groupkv::WriteBatch::from_data(batch.data());
        CHECK(copy.count() == 3 && copy.data() == batch.data());
        db.write(copy, sync);
        CHECK(!db.get("a") && db.get("b") == std::string("2"));
        batch.clear();
        CHECK(batch.count() == 0);
        expect_error(GROUPKV_CORRUPTION, [] { groupkv::WriteBatch::from_data("garbage"); },
                     "bad batch bytes");

        groupkv::WriteOptions contradiction;
        contradiction.sync(true).disable_wal(true);
        expect_error(GROUPKV_INVALID_ARGUMENT, [&] { db.put("x", "y", contradiction); },
                     "sync + disable_wal");

        // Threads share the DB by reference.
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; t++)
            threads.emplace_back([&db, t] {
                groupkv::WriteOptions w;
                w.sync(t % 2 == 0);
                for (int i = 0; i < 50; i++) db.put("t" + std::to_string(t * 1000 + i), "v", w);
            });
        for (auto& th : threads) th.join();

        auto stats = db.stats();
        auto counters = groupkv::Stats::counter_names();
        auto histograms = groupkv::Stats::histogram_names();
        CHECK(counters.size() >= 22 && histograms.size() == 3);
        for (const auto& c : counters) stats.counter(c.c_str());  // each one is readable
        // Per-level lists: as many entries as levels; past the last one is NOT_FOUND.
        auto files = stats.num_files_at_level();
        CHECK(files.size() == stats.level_count());
        for (std::size_t l = 0; l < stats.level_count(); l++) {
            CHECK(files[l] == stats.files_at_level(l));
            CHECK(stats.files_at_level(l) == 0 || stats.bytes_at_level(l) > 0);
        }
        expect_error(GROUPKV_NOT_FOUND, [&] { stats.files_at_level(stats.level_count()); },
                     "files past the last level");
        expect_error(GROUPKV_NOT_FOUND, [&] { stats.bytes_at_level(stats.level_count()); },
                     "bytes past the last level");
        CHECK(stats.counter("keys_written") == 4 + 3 + 200);
        CHECK(stats.counter("write_done_by_self") + stats.counter("write_done_by_other") ==
              4 + 1 + 200);
        CHECK(stats.histogram("write_group_size").count == stats.counter("write_done_by_self"));
        for (const auto& h : histograms) CHECK(stats.histogram(h.c_str()).count > 0);
        expect_error(GROUPKV_NOT_FOUND, [&] { stats.counter("nope"); }, "unknown counter");
        expect_error(GROUPKV_NOT_FOUND, [&] { stats.histogram("nope"); }, "unknown histogram");
        CHECK(db.get() != nullptr);

        db.close();
        db.close();
        expect_error(GROUPKV_CLOSED, [&] { db.put("k", "v"); }, "put after close");
        expect_error(GROUPKV_CLOSED, [&] { db.del("k"); }, "delete after close");
        expect_error(GROUPKV_CLOSED, [&] { db.write(batch); }, "write after close");
        expect_error(GROUPKV_CLOSED, [&] { db.get("k"); }, "get after close");
    }
    {
        // Reads: iterators (range-for, both directions, seeks, bounds), snapshots, ReadOptions,
        // multi_get and properties; iterators and snapshots outliving the close.
        groupkv::Options o;
        o.write_buffer_size(4096);
        auto db = groupkv::DB::open(base + "/reads", o);
        db.put("b", "2");
        db.put("a", "1");
        db.put("c", "3");
        db.put(std::string_view("z\0", 2), "");
        auto snap = db.snapshot();
        CHECK(snap.sequence() == db.latest_sequence());
        db.put("a", "new");
        db.del("b");
        for (int i = 0; i < 100; i++) db.put("fill" + std::to_string(1000 + i), std::string(100, 'x'));

        std::string seen;
        for (auto [k, v] : db.iterator(groupkv::ReadOptions().snapshot(snap)))
            seen += std::string(k) + "=" + std::string(v) + ",";
        CHECK(seen == std::string("a=1,b=2,c=3,z\0=,", 16));

        groupkv::ReadOptions bounded;
        bounded.iterate_lower_bound("a").iterate_upper_bound("fill1002").verify_checksums(true)
            .fill_cache(false);
        seen.clear();
        for (auto [k, v] : db.iterator(bounded)) seen += std::string(k) + ",";
        CHECK(seen == "a,c,fill1000,fill1001,");
        bounded.clear_bounds();
        auto it = db.iterator(bounded);
        it.seek_to_last();
        CHECK(it.valid() && it.key() == std::string_view("z\0", 2) && it.value().empty());
        it.prev();
        CHECK(it.key() == "fill1099");
        it.seek("b");
        CHECK(it.valid() && it.key() == "c" && it.value() == "3");
        it.seek_for_prev("b");
        CHECK(it.valid() && it.key() == "a" && it.value() == "new");
        it.prev();
        CHECK(!it.valid() && it.key().empty());
        it.seek_to_first();
        it.next();
        CHECK(it.key() == "c");

        groupkv::ReadOptions at_snap;
        at_snap.snapshot(snap);
        CHECK(db.get(at_snap, "a") == std::string("1"));
        CHECK(db.get(at_snap, "b") == std::string("2"));
        CHECK(!db.get(at_snap, "fill1000"));
        CHECK(db.get("a") == std::string("new"));
        auto many = db.multi_get({"a", "b", "nope"}, at_snap);
        CHECK(many.size() == 3 && many[0] == std::string("1") && many[1] == std::string("2") &&
              !many[2]);
        many = db.multi_get({"a", "b"});
        CHECK(many[0] == std::string("new") && !many[1]);
        at_snap.clear_snapshot();
        CHECK(!db.get(at_snap, "b"));
        auto stats_text = db.property("groupkv.stats");
        CHECK(stats_text && !stats_text->empty());
        CHECK(!db.property("groupkv.nope"));

        db.close();
        expect_error(GROUPKV_CLOSED, [&] { it.next(); }, "iterator move after close");
        CHECK(!it.valid());
        expect_error(GROUPKV_CLOSED, [&] { db.iterator(); }, "iterator after close");
        expect_error(GROUPKV_CLOSED, [&] { db.snapshot(); }, "snapshot after close");
        expect_error(GROUPKV_CLOSED, [&] { db.property("groupkv.stats"); }, "property after close");
        expect_error(GROUPKV_CLOSED, [&] { db.multi_get({"a"}); }, "multi_get after close");
        // `it` and `snap` are destroyed after the close by RAII (valgrind checks them).
    }
    {
        // flush(): the memtable goes to a level-0 table and survives a reopen; an empty
        // memtable is fine; after close() it throws GROUPKV_CLOSED.
        const std::string dir = base + "/flush";
        auto level0 = [](groupkv::DB& db) {
            return std::stol(db.property("groupkv.num-files-at-level0").value_or("-1"));
        };
        {
            auto db = groupkv::DB::open(dir);
            db.flush();
            CHECK(level0(db) == 0);
            for (int i = 0; i < 50; i++) db.put("f" + std::to_string(100 + i), std::string(64, 'v'));
            db.flush();
            CHECK(level0(db) >= 1);
            CHECK(db.stats().counter("flushes") >= 1);
            db.close();
            expect_error(GROUPKV_CLOSED, [&] { db.flush(); }, "flush after close");
        }
        auto db = groupkv::DB::open(dir);
        CHECK(level0(db) >= 1);
        CHECK(db.get("f100") == std::string(64, 'v') && db.get("f149") == std::string(64, 'v'));
    }
    {
        // compact_range(): the whole database empties level 0; a sub-range moves only the
        // table overlapping it; an empty string_view is a bound (the empty key), not "none".
        groupkv::Options o;
        o.write_buffer_size(4096)
            .level0_file_num_compaction_trigger(1000)
            .level0_slowdown_writes_trigger(1000)
            .level0_stop_writes_trigger(1000);
        auto db = groupkv::DB::open(base + "/compact", o);
        auto level0 = [&db] {
            return std::stol(db.property("groupkv.num-files-at-level0").value_or("-1"));
        };
        db.put("a", "1");
        db.flush();
        db.put("m", "2");
        db.del("a");
        db.flush();
        db.put("z", "3");
        db.flush();
        CHECK(level0() == 3);
        db.compact_range("y", std::nullopt);
        CHECK(level0() == 2);
        db.compact_range(std::string_view(), std::string_view("b"));
        CHECK(level0() == 0);
        CHECK(!db.get("a") && db.get("m") == std::string("2") && db.get("z") == std::string("3"));
        for (int i = 0; i < 100; i++) db.put("k" + std::to_string(1000 + i), std::string(100, 'k'));
        db.compact_range();
        CHECK(level0() == 0);
        CHECK(db.get("k1099") == std::string(100, 'k'));
        db.close();
        expect_error(GROUPKV_CLOSED, [&] { db.compact_range(); }, "compact_range after close");
    }
    {
        // Moved-from handles are empty; the C layer reports NULL as INVALID_ARGUMENT.
        auto db = groupkv::DB::open(path);
        auto moved = std::move(db);
        CHECK(moved.get("b") == std::string("2"));
        CHECK(moved.get("t3049") == std::string("v"));
        expect_error(GROUPKV_INVALID_ARGUMENT, [&] { db.put("k", "v"); }, "moved-from DB");
        expect_error(GROUPKV_INVALID_ARGUMENT, [&] { db.latest_sequence(); }, "moved-from DB");
    }
    expect_error(GROUPKV_INVALID_ARGUMENT,
                 [&] {
                     groupkv::Options o;
                     o.create_if_missing(false);
                     groupkv::DB::open(base + "/missing", o);
                 },
                 "missing directory");

    std::string cmd = "rm -rf '" + base + "'";
    if (std::system(cmd.c_str()) != 0) std::cerr << "could not remove " << base << "\n";
    if (failures) {
        std::cerr << "test_hpp: " << failures << " of " << checks << " checks FAILED\n";
        return 1;
    }
    std::cout << "test_hpp: all " << checks << " checks passed\n";
    return 0;
}
