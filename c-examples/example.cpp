// example.cpp - the C++17 wrapper (groupkv.hpp): RAII handles, std::string_view in,
// std::optional<std::string> out, errors as groupkv::Error.
// Usage: example DB_DIRECTORY
#include <iostream>
#include <thread>
#include <vector>

#include "groupkv.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " DB_DIRECTORY\n";
        return 2;
    }
    try {
        groupkv::Options options;
        options.create_if_missing(true).wal_recovery_mode(GROUPKV_WAL_POINT_IN_TIME);
        auto db = groupkv::DB::open(argv[1], options);

        db.put("language", "C++17", groupkv::WriteOptions().sync(true));
        std::cout << "language = " << db.get("language").value_or("(absent)") << "\n";

        groupkv::WriteBatch batch;
        batch.put("x", "1").put("y", "2").del("language");
        db.write(batch, groupkv::WriteOptions().sync(true));
        std::cout << "batch of " << batch.count() << " records; language is now "
                  << (db.get("language") ? "present" : "absent") << "\n";

        // The DB is shared by reference between threads; their writes form groups.
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; t++) {
            threads.emplace_back([&db, t] {
                groupkv::WriteOptions sync;
                sync.sync(true);
                for (int i = 0; i < 100; i++)
                    db.put("t" + std::to_string(t) + "-" + std::to_string(i), "v", sync);
            });
        }
        for (auto& th : threads) th.join();

        // A snapshot keeps a point-in-time view; an iterator walks keys in order.
        auto snap = db.snapshot();
        db.put("x", "changed");
        std::cout << "x at the snapshot = "
                  << db.get(groupkv::ReadOptions().snapshot(snap), "x").value_or("(absent)")
                  << ", now = " << db.get("x").value_or("(absent)") << "\n";
        groupkv::ReadOptions range;
        range.iterate_lower_bound("t0-").iterate_upper_bound("t0-2");
        std::cout << "keys in [t0-, t0-2):";
        for (auto [key, value] : db.iterator(range)) std::cout << " " << key << "=" << value;
        std::cout << "\n";

        auto stats = db.stats();
        for (const auto& name : groupkv::Stats::counter_names())
            std::cout << name << " = " << stats.counter(name.c_str()) << "\n";
        auto group = stats.histogram("write_group_size");
        std::cout << "write groups: " << group.count << ", mean size " << group.mean << "\n";

        db.close();
        try {
            db.put("after", "close");
        } catch (const groupkv::Error& e) {
            std::cout << "after close: " << e.what() << "\n";
            if (e.status() != GROUPKV_CLOSED) return 1;
        }
    } catch (const groupkv::Error& e) {
        std::cerr << "groupkv error (" << e.status() << "): " << e.what() << "\n";
        return 1;
    }
    // Reopen: the synced writes are there.
    auto db = groupkv::DB::open(argv[1]);
    std::cout << "after reopen: x = " << db.get("x").value_or("(absent)")
              << ", t3-99 = " << db.get("t3-99").value_or("(absent)") << "\n";
    return db.get("t3-99") ? 0 : 1;
}
