// groupkv.hpp - a header-only C++17 RAII wrapper over the C API in groupkv.h.
//
//   groupkv::Options options;                       // defaults as in groupkv_options_create
//   auto db = groupkv::DB::open("/path/to/db", options);
//   db.put("key", "value", groupkv::WriteOptions().sync(true));
//   std::optional<std::string> v = db.get("key");   // std::nullopt when absent
//   groupkv::WriteBatch batch;
//   batch.put("a", "1").del("b");
//   db.write(batch);
//   auto snap = db.snapshot();                      // reads at this point in time
//   db.get(groupkv::ReadOptions().snapshot(snap), "key");
//   for (auto [k, v] : db.iterator()) { ... }       // std::string_view pairs, in key order
//   db.flush();                                     // memtables into level-0 tables
//   db.compact_range();                             // or compact_range("a", "m")
//   db.close();                                     // or let the destructor close it
//
// Every failure throws groupkv::Error, which carries the groupkv_status and the library's
// message. Handles are move-only; each owns exactly one C object and frees it in its
// destructor. groupkv::DB is thread-safe like groupkv_db (share it by reference); Options,
// WriteOptions and WriteBatch follow the C rules (one writer at a time).
#ifndef GROUPKV_HPP
#define GROUPKV_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "groupkv.h"

namespace groupkv {

// A failed call: what() is the library's message, status() the C status code.
class Error : public std::runtime_error {
public:
    Error(groupkv_status status, const std::string& message)
        : std::runtime_error(std::string(groupkv_status_name(status)) + ": " + message),
          status_(status) {}

    groupkv_status status() const noexcept { return status_; }

private:
    groupkv_status status_;
};

namespace detail {

// Owns an error message from the C API.
struct Message {
    char* text = nullptr;
    ~Message() { groupkv_free(text); }
    char** out() noexcept { return &text; }
    std::string str() const { return text ? std::string(text) : std::string("(no message)"); }
};

inline void check(groupkv_status status, const Message& msg) {
    if (status != GROUPKV_OK) throw Error(status, msg.str());
}

inline void check(groupkv_status status, const char* what) {
    if (status != GROUPKV_OK) throw Error(status, what);
}

template <typename T, void (*Destroy)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { Destroy(p); }
};

template <typename T, void (*Destroy)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Destroy>>;

template <typename T>
T* require(T* p, const char* what) {
    if (p == nullptr) throw Error(GROUPKV_PANIC, std::string("could not create ") + what);
    return p;
}

}  // namespace detail

// Options for DB::open (see groupkv_options_* in groupkv.h for each field's meaning and
// default; a new Options holds the library's defaults).
class Options {
public:
    Options() : h_(detail::require(groupkv_options_create(), "groupkv_options")) {}

    Options& create_if_missing(bool v) {
        groupkv_options_set_create_if_missing(h_.get(), v);
        return *this;
    }
    Options& error_if_exists(bool v) {
        groupkv_options_set_error_if_exists(h_.get(), v);
        return *this;
    }
    Options& allow_concurrent_memtable_write(bool v) {
        groupkv_options_set_allow_concurrent_memtable_write(h_.get(), v);
        return *this;
    }
    Options& enable_pipelined_write(bool v) {
        groupkv_options_set_enable_pipelined_write(h_.get(), v);
        return *this;
    }
    Options& max_write_batch_group_size_bytes(std::uint64_t v) {
        groupkv_options_set_max_write_batch_group_size_bytes(h_.get(), v);
        return *this;
    }
    Options& enable_write_thread_adaptive_yield(bool v) {
        groupkv_options_set_enable_write_thread_adaptive_yield(h_.get(), v);
        return *this;
    }
    Options& write_thread_max_yield_usec(std::uint64_t v) {
        groupkv_options_set_write_thread_max_yield_usec(h_.get(), v);
        return *this;
    }
    Options& write_thread_slow_yield_usec(std::uint64_t v) {
        groupkv_options_set_write_thread_slow_yield_usec(h_.get(), v);
        return *this;
    }
    // Off by default; on, an I/O failure in the WAL can kill the process with SIGBUS.
    Options& allow_mmap_writes(bool v) {
        groupkv_options_set_allow_mmap_writes(h_.get(), v);
        return *this;
    }
    // The storage engine's options: out-of-range values make DB::open throw
    // Error(GROUPKV_INVALID_ARGUMENT) naming the option.
    Options& write_buffer_size(std::size_t v) {
        groupkv_options_set_write_buffer_size(h_.get(), v);
        return *this;
    }
    Options& max_write_buffer_number(std::size_t v) {
        groupkv_options_set_max_write_buffer_number(h_.get(), v);
        return *this;
    }
    Options& level0_file_num_compaction_trigger(std::size_t v) {
        groupkv_options_set_level0_file_num_compaction_trigger(h_.get(), v);
        return *this;
    }
    Options& level0_slowdown_writes_trigger(std::size_t v) {
        groupkv_options_set_level0_slowdown_writes_trigger(h_.get(), v);
        return *this;
    }
    Options& level0_stop_writes_trigger(std::size_t v) {
        groupkv_options_set_level0_stop_writes_trigger(h_.get(), v);
        return *this;
    }
    Options& block_size(std::size_t v) {
        groupkv_options_set_block_size(h_.get(), v);
        return *this;
    }
    Options& block_restart_interval(std::size_t v) {
        groupkv_options_set_block_restart_interval(h_.get(), v);
        return *this;
    }
    Options& bloom_bits_per_key(std::uint32_t v) {
        groupkv_options_set_bloom_bits_per_key(h_.get(), v);
        return *this;
    }
    Options& block_cache_size(std::size_t v) {
        groupkv_options_set_block_cache_size(h_.get(), v);
        return *this;
    }
    Options& max_open_files(std::size_t v) {
        groupkv_options_set_max_open_files(h_.get(), v);
        return *this;
    }
    Options& target_file_size_base(std::uint64_t v) {
        groupkv_options_set_target_file_size_base(h_.get(), v);
        return *this;
    }
    Options& max_bytes_for_level_base(std::uint64_t v) {
        groupkv_options_set_max_bytes_for_level_base(h_.get(), v);
        return *this;
    }
    Options& compression(groupkv_compression c) {
        detail::check(groupkv_options_set_compression(h_.get(), c), "unknown compression");
        return *this;
    }
    Options& wal_recovery_mode(groupkv_wal_recovery_mode mode) {
        detail::check(groupkv_options_set_wal_recovery_mode(h_.get(), mode),
                      "unknown WAL recovery mode");
        return *this;
    }

    const groupkv_options* get() const noexcept { return h_.get(); }

private:
    detail::Handle<groupkv_options, groupkv_options_destroy> h_;
};

// Options for one write.
class WriteOptions {
public:
    WriteOptions()
        : h_(detail::require(groupkv_writeoptions_create(), "groupkv_writeoptions")) {}

    WriteOptions& sync(bool v) {
        groupkv_writeoptions_set_sync(h_.get(), v);
        return *this;
    }
    WriteOptions& disable_wal(bool v) {
        groupkv_writeoptions_set_disable_wal(h_.get(), v);
        return *this;
    }
    WriteOptions& no_slowdown(bool v) {
        groupkv_writeoptions_set_no_slowdown(h_.get(), v);
        return *this;
    }

    const groupkv_writeoptions* get() const noexcept { return h_.get(); }

private:
    detail::Handle<groupkv_writeoptions, groupkv_writeoptions_destroy> h_;
};

// An ordered group of puts and deletes applied atomically by DB::write.
class WriteBatch {
public:
    WriteBatch() : h_(detail::require(groupkv_batch_create(), "groupkv_batch")) {}

    // Parses a batch representation (see data()); throws Error(GROUPKV_CORRUPTION) if damaged.
    static WriteBatch from_data(std::string_view data) {
        detail::Message msg;
        groupkv_batch* b = nullptr;
        detail::check(groupkv_batch_create_from_data(data.data(), data.size(), &b, msg.out()),
                      msg);
        return WriteBatch(b);
    }

    WriteBatch& put(std::string_view key, std::string_view value) {
        detail::check(groupkv_batch_put(h_.get(), key.data(), key.size(), value.data(),
                                        value.size()),
                      "groupkv_batch_put failed: the batch is empty (moved from), or the key or "
                      "value is longer than GROUPKV_MAX_KEY_VALUE_LEN");
        return *this;
    }
    // `delete` is a C++ keyword.
    WriteBatch& del(std::string_view key) {
        detail::check(groupkv_batch_delete(h_.get(), key.data(), key.size()),
                      "groupkv_batch_delete failed: the batch is empty (moved from), or the key "
                      "is longer than GROUPKV_MAX_KEY_VALUE_LEN");
        return *this;
    }
    void clear() noexcept { groupkv_batch_clear(h_.get()); }
    std::size_t count() const noexcept { return groupkv_batch_count(h_.get()); }

    // The LevelDB/RocksDB-compatible representation (valid until the batch changes).
    std::string_view data() const noexcept {
        std::size_t len = 0;
        const char* p = groupkv_batch_data(h_.get(), &len);
        return p ? std::string_view(p, len) : std::string_view();
    }

    const groupkv_batch* get() const noexcept { return h_.get(); }

private:
    explicit WriteBatch(groupkv_batch* b) : h_(b) {}
    detail::Handle<groupkv_batch, groupkv_batch_destroy> h_;
};

// A histogram's summary, as in groupkv_histogram.
using Histogram = groupkv_histogram;

// A consistent snapshot of a database's statistics.
class Stats {
public:
    // Every counter by name (write_done_by_self, wal_syncs, flushes, ...; see
    // groupkv_stats_counter).
    std::uint64_t counter(const char* name) const {
        std::uint64_t v = 0;
        groupkv_status s = groupkv_stats_counter(h_.get(), name, &v);
        if (s != GROUPKV_OK) throw Error(s, std::string("no counter named ") + name);
        return v;
    }
    // Every histogram by name (write_group_size, write_micros, wal_sync_micros).
    Histogram histogram(const char* name) const {
        Histogram h{};
        groupkv_status s = groupkv_stats_histogram(h_.get(), name, &h);
        if (s != GROUPKV_OK) throw Error(s, std::string("no histogram named ") + name);
        return h;
    }
    // Levels covered by files_at_level / bytes_at_level (0 .. level_count() - 1).
    std::size_t level_count() const noexcept { return groupkv_stats_level_count(h_.get()); }
    // Tables in `level`; throws Error(GROUPKV_NOT_FOUND) past the last level.
    std::uint64_t files_at_level(std::size_t level) const {
        std::uint64_t v = 0;
        detail::check(groupkv_stats_files_at_level(h_.get(), level, &v), "no such level");
        return v;
    }
    // Bytes of the tables in `level`; throws Error(GROUPKV_NOT_FOUND) past the last level.
    std::uint64_t bytes_at_level(std::size_t level) const {
        std::uint64_t v = 0;
        detail::check(groupkv_stats_bytes_at_level(h_.get(), level, &v), "no such level");
        return v;
    }
    // Tables in each level, index = level.
    std::vector<std::uint64_t> num_files_at_level() const {
        std::vector<std::uint64_t> out;
        for (std::size_t l = 0; l < level_count(); l++) out.push_back(files_at_level(l));
        return out;
    }
    static std::vector<std::string> counter_names() {
        std::vector<std::string> names;
        for (std::size_t i = 0; const char* n = groupkv_stats_counter_name(i); i++)
            names.emplace_back(n);
        return names;
    }
    static std::vector<std::string> histogram_names() {
        std::vector<std::string> names;
        for (std::size_t i = 0; const char* n = groupkv_stats_histogram_name(i); i++)
            names.emplace_back(n);
        return names;
    }

private:
    friend class DB;
    explicit Stats(groupkv_stats* s) : h_(s) {}
    detail::Handle<groupkv_stats, groupkv_stats_destroy> h_;
};

// A consistent point-in-time view of a database, from DB::snapshot(); released by the
// destructor (also fine after the DB is closed or destroyed). Pass it to ReadOptions.
class Snapshot {
public:
    std::uint64_t sequence() const noexcept { return groupkv_snapshot_sequence(h_.get()); }
    const groupkv_snapshot* get() const noexcept { return h_.get(); }

private:
    friend class DB;
    explicit Snapshot(groupkv_snapshot* s) : h_(s) {}
    detail::Handle<groupkv_snapshot, groupkv_snapshot_release> h_;
};

// Options for reads and iterators (see groupkv_readoptions_* in groupkv.h). The options keep
// a pointer to the snapshot: it must outlive the reads that use them. Bounds are copied.
class ReadOptions {
public:
    ReadOptions() : h_(detail::require(groupkv_readoptions_create(), "groupkv_readoptions")) {}

    ReadOptions& snapshot(const Snapshot& s) {
        groupkv_readoptions_set_snapshot(h_.get(), s.get());
        return *this;
    }
    ReadOptions& clear_snapshot() {
        groupkv_readoptions_set_snapshot(h_.get(), nullptr);
        return *this;
    }
    // Inclusive lower bound of iterators.
    ReadOptions& iterate_lower_bound(std::string_view key) {
        groupkv_readoptions_set_iterate_lower_bound(h_.get(), nonnull(key), key.size());
        return *this;
    }
    // Exclusive upper bound of iterators.
    ReadOptions& iterate_upper_bound(std::string_view key) {
        groupkv_readoptions_set_iterate_upper_bound(h_.get(), nonnull(key), key.size());
        return *this;
    }
    ReadOptions& clear_bounds() {
        groupkv_readoptions_set_iterate_lower_bound(h_.get(), nullptr, 0);
        groupkv_readoptions_set_iterate_upper_bound(h_.get(), nullptr, 0);
        return *this;
    }
    ReadOptions& verify_checksums(bool v) {
        groupkv_readoptions_set_verify_checksums(h_.get(), v);
        return *this;
    }
    ReadOptions& fill_cache(bool v) {
        groupkv_readoptions_set_fill_cache(h_.get(), v);
        return *this;
    }
    const groupkv_readoptions* get() const noexcept { return h_.get(); }

private:
    // NULL clears a bound in C; an empty string_view (data() may be NULL) is the empty key.
    static const char* nonnull(std::string_view key) noexcept {
        return key.data() != nullptr ? key.data() : "";
    }
    detail::Handle<groupkv_readoptions, groupkv_readoptions_destroy> h_;
};

// A cursor over the keys in order, from DB::iterator(). Move it with the seek_* calls,
// next() and prev(); key() and value() are views valid until the next move. Range-for walks
// from the first key (within the bounds):
//   for (auto [k, v] : db.iterator()) { ... }   // k, v: std::string_view
// An iterator that stops because of an error (not at the end) throws groupkv::Error, so a
// finished loop means every key was seen. After the DB is closed the moves throw
// Error(GROUPKV_CLOSED); destroying the iterator is always fine.
class Iterator {
public:
    bool valid() const noexcept { return groupkv_iterator_valid(h_.get()); }
    void seek_to_first() { groupkv_iterator_seek_to_first(h_.get()), check(); }
    void seek_to_last() { groupkv_iterator_seek_to_last(h_.get()), check(); }
    void seek(std::string_view key) {
        groupkv_iterator_seek(h_.get(), key.data(), key.size());
        check();
    }
    void seek_for_prev(std::string_view key) {
        groupkv_iterator_seek_for_prev(h_.get(), key.data(), key.size());
        check();
    }
    void next() { groupkv_iterator_next(h_.get()), check(); }
    void prev() { groupkv_iterator_prev(h_.get()), check(); }
    // Only while valid().
    std::string_view key() const {
        std::size_t len = 0;
        const char* p = groupkv_iterator_key(h_.get(), &len);
        return p ? std::string_view(p, len) : std::string_view();
    }
    std::string_view value() const {
        std::size_t len = 0;
        const char* p = groupkv_iterator_value(h_.get(), &len);
        return p ? std::string_view(p, len) : std::string_view();
    }
    // Throws the error that stopped the iterator, if any.
    void check() const {
        detail::Message msg;
        detail::check(groupkv_iterator_status(h_.get(), msg.out()), msg);
    }

    struct End {};
    class Cursor {
    public:
        std::pair<std::string_view, std::string_view> operator*() const {
            return {it_->key(), it_->value()};
        }
        Cursor& operator++() {
            it_->next();
            return *this;
        }
        bool operator!=(End) const noexcept { return it_->valid(); }

    private:
        friend class Iterator;
        explicit Cursor(Iterator* it) : it_(it) {}
        Iterator* it_;
    };
    Cursor begin() {
        seek_to_first();
        return Cursor(this);
    }
    End end() const noexcept { return End{}; }

    groupkv_iterator* get() const noexcept { return h_.get(); }

private:
    friend class DB;
    explicit Iterator(groupkv_iterator* it) : h_(it) {}
    detail::Handle<groupkv_iterator, groupkv_iterator_destroy> h_;
};

// An open database. The destructor closes it (ignoring errors: call close() to see them).
class DB {
public:
    static DB open(const std::string& path, const Options& options = Options()) {
        detail::Message msg;
        groupkv_db* db = nullptr;
        detail::check(groupkv_db_open(options.get(), path.c_str(), &db, msg.out()), msg);
        return DB(db);
    }

    void put(std::string_view key, std::string_view value,
             const WriteOptions& options = WriteOptions()) {
        detail::Message msg;
        detail::check(groupkv_db_put(h_.get(), options.get(), key.data(), key.size(),
                                     value.data(), value.size(), msg.out()),
                      msg);
    }

    void del(std::string_view key, const WriteOptions& options = WriteOptions()) {
        detail::Message msg;
        detail::check(
            groupkv_db_delete(h_.get(), options.get(), key.data(), key.size(), msg.out()), msg);
    }

    void write(const WriteBatch& batch, const WriteOptions& options = WriteOptions()) {
        detail::Message msg;
        detail::check(groupkv_db_write(h_.get(), options.get(), batch.get(), msg.out()), msg);
    }

    std::optional<std::string> get(std::string_view key) const { return get(nullptr, key); }

    // The value as `options` sees it (e.g. at its snapshot).
    std::optional<std::string> get(const ReadOptions& options, std::string_view key) const {
        return get(options.get(), key);
    }

    // Every value at one sequence, in the order of `keys` (std::nullopt when absent).
    std::vector<std::optional<std::string>> multi_get(
        const std::vector<std::string_view>& keys,
        const ReadOptions& options = ReadOptions()) const {
        std::size_t n = keys.size();
        std::vector<const char*> ptrs(n);
        std::vector<std::size_t> sizes(n), val_sizes(n);
        std::vector<char*> vals(n, nullptr);
        std::vector<groupkv_status> statuses(n);
        for (std::size_t i = 0; i < n; i++) ptrs[i] = keys[i].data(), sizes[i] = keys[i].size();
        detail::Message msg;
        detail::check(groupkv_db_multi_get(h_.get(), options.get(), n, ptrs.data(), sizes.data(),
                                           vals.data(), val_sizes.data(), statuses.data(),
                                           msg.out()),
                      msg);
        // Own every C copy first, so a throwing string constructor frees them all.
        std::vector<std::unique_ptr<char, void (*)(void*)>> owned;
        owned.reserve(n);
        for (char* v : vals) owned.emplace_back(v, groupkv_free);
        std::vector<std::optional<std::string>> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            if (statuses[i] == GROUPKV_OK)
                out.emplace_back(std::string(vals[i], val_sizes[i]));
            else
                out.emplace_back(std::nullopt);
        }
        return out;
    }

    Snapshot snapshot() const {
        groupkv_snapshot* s = nullptr;
        detail::check(groupkv_snapshot_create(h_.get(), &s), "cannot take a snapshot");
        return Snapshot(s);
    }

    Iterator iterator(const ReadOptions& options = ReadOptions()) const {
        detail::Message msg;
        groupkv_iterator* it = nullptr;
        detail::check(groupkv_iterator_create(h_.get(), options.get(), &it, msg.out()), msg);
        return Iterator(it);
    }

    // A LevelDB-style property ("groupkv.stats", ...); std::nullopt for an unknown name.
    std::optional<std::string> property(const std::string& name) const {
        detail::Message msg;
        char* out = nullptr;
        groupkv_status s = groupkv_db_property(h_.get(), name.c_str(), &out, msg.out());
        if (s == GROUPKV_NOT_FOUND) return std::nullopt;
        detail::check(s, msg);
        std::unique_ptr<char, void (*)(void*)> owned(out, groupkv_free);
        return std::string(out);
    }

private:
    std::optional<std::string> get(const groupkv_readoptions* options,
                                   std::string_view key) const {
        detail::Message msg;
        char* val = nullptr;
        std::size_t len = 0;
        groupkv_status s = groupkv_db_get(h_.get(), options, key.data(), key.size(), &val, &len,
                                          msg.out());
        if (s == GROUPKV_NOT_FOUND) return std::nullopt;
        detail::check(s, msg);
        // Free the C copy even if constructing the string throws.
        std::unique_ptr<char, void (*)(void*)> owned(val, groupkv_free);
        return std::string(val, len);
    }

public:
    Stats stats() const {
        detail::Message msg;
        groupkv_stats* s = nullptr;
        detail::check(groupkv_db_stats(h_.get(), &s, msg.out()), msg);
        return Stats(s);
    }

    std::uint64_t latest_sequence() const {
        std::uint64_t seq = 0;
        detail::check(groupkv_db_latest_sequence(h_.get(), &seq),
                      "this groupkv::DB is empty (moved from)");
        return seq;
    }

    // Writes every memtable holding data into level-0 tables and returns once they are in
    // the MANIFEST (a no-op for an empty memtable). Throws Error like the other calls
    // (GROUPKV_CLOSED after close()).
    void flush() {
        detail::Message msg;
        detail::check(groupkv_db_flush(h_.get(), msg.out()), msg);
    }

    // Compacts the keys from `start` to `limit`, both included (std::nullopt: unbounded on
    // that side; compact_range() is the whole database) and returns once they are pushed down
    // to the deepest level holding data in the range. Throws Error like the other calls.
    void compact_range(std::optional<std::string_view> start = std::nullopt,
                       std::optional<std::string_view> limit = std::nullopt) {
        // An empty view may have a null data(); C reads NULL as "unbounded", so pass "" then.
        auto ptr = [](const std::optional<std::string_view>& k) -> const char* {
            if (!k) return nullptr;
            return k->data() ? k->data() : "";
        };
        detail::Message msg;
        detail::check(groupkv_db_compact_range(h_.get(), ptr(start), start ? start->size() : 0,
                                               ptr(limit), limit ? limit->size() : 0, msg.out()),
                      msg);
    }

    // Closes the database (idempotent); later calls throw Error(GROUPKV_CLOSED).
    void close() {
        detail::Message msg;
        detail::check(groupkv_db_close(h_.get(), msg.out()), msg);
    }

    // The C handle, for calls the wrapper does not cover.
    groupkv_db* get() const noexcept { return h_.get(); }

private:
    explicit DB(groupkv_db* db) : h_(db) {}
    detail::Handle<groupkv_db, groupkv_db_destroy> h_;
};

}  // namespace groupkv

#endif  // GROUPKV_HPP
