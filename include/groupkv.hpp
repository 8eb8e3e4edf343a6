// groupkv.hpp - a header-only C++17 RAII wrapper over the C API in groupkv.h.
//
//   groupkv::Options options;                       // defaults as in groupkv_options_create
//   auto db = groupkv::DB::open("/path/to/db", options);
//   db.put("key", "value", groupkv::WriteOptions().sync(true));
//   std::optional<std::string> v = db.get("key");   // std::nullopt when absent
//   groupkv::WriteBatch batch;
//   batch.put("a", "1").del("b");
//   db.write(batch);
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

    std::optional<std::string> get(std::string_view key) const {
        detail::Message msg;
        char* val = nullptr;
        std::size_t len = 0;
        groupkv_status s = groupkv_db_get(h_.get(), key.data(), key.size(), &val, &len, msg.out());
        if (s == GROUPKV_NOT_FOUND) return std::nullopt;
        detail::check(s, msg);
        // Free the C copy even if constructing the string throws.
        std::unique_ptr<char, void (*)(void*)> owned(val, groupkv_free);
        return std::string(val, len);
    }

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
