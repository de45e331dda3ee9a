#include "tsdb/db/db.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/ulid.h"
#include "tsdb/compact/compactor.h"
#include "tsdb/compact/planner.h"
#include "tsdb/compact/retention.h"
#include "tsdb/db/range_writer.h"
#include "tsdb/headwal/chunk_snapshot.h"
#include "tsdb/querier/postings_for_matchers.h"
#include "tsdb/querier/select.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/checkpoint.h"

namespace tsdb::db {

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Floor division (timestamps may be negative).
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Prometheus's rangeForTimestamp: the end of the aligned range holding t.
int64_t RangeEnd(int64_t t, int64_t width) {
  return FloorDiv(t, width) * width + width;
}

// Bytes of every regular file below `path` (0 if missing).
uint64_t TreeSize(io::FileSystem* fs, const std::string& path) {
  auto is_dir = fs->IsDirectory(path);
  if (!is_dir.ok()) return 0;
  if (!*is_dir) {
    auto size = fs->FileSize(path);
    return size.ok() ? *size : 0;
  }
  auto names = fs->ListDir(path);
  if (!names.ok()) return 0;
  uint64_t total = 0;
  for (const std::string& n : *names)
    total += TreeSize(fs, io::JoinPath(path, n));
  return total;
}

// Copies or hard-links the files of directory `from` into `to` (recursive).
absl::Status LinkTree(io::FileSystem* fs, const std::string& from,
                      const std::string& to) {
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(to));
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(from));
  for (const std::string& n : names) {
    const std::string src = io::JoinPath(from, n);
    const std::string dst = io::JoinPath(to, n);
    TSDB_ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(src));
    if (is_dir) {
      TSDB_RETURN_IF_ERROR(LinkTree(fs, src, dst));
      continue;
    }
    if (fs == io::PosixFileSystem() && ::link(src.c_str(), dst.c_str()) == 0) {
      continue;
    }
    // Other file systems, or link(2) refused (e.g. across devices): copy.
    TSDB_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(src));
    TSDB_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(dst));
    TSDB_RETURN_IF_ERROR(f->Append(data));
    TSDB_RETURN_IF_ERROR(f->Sync());
    TSDB_RETURN_IF_ERROR(f->Close());
  }
  return fs->SyncDir(to);
}

void DefaultLog(std::string_view level, std::string_view msg) {
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                          absl::UTCTimeZone());
  std::string line = absl::StrCat("ts=", ts, " level=", std::string(level),
                                  " component=tsdb msg=\"");
  for (char c : msg) {
    if (c == '"' || c == '\\') line.push_back('\\');
    line.push_back(c);
  }
  line += "\"\n";
  std::cerr << line << std::flush;
}

}  // namespace

// ---------------------------------------------------------------------------
// Appender

class DB::DBAppender final : public db::Appender {
 public:
  explicit DBAppender(DB* db) : db_(db), app_(db->head()->Appender()) {}
  ~DBAppender() override { Unregister(); }

  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels& lset,
                                   int64_t t, double v) override {
    if (!registered_) {
      db_->RegisterAppend(this, t);
      registered_ = true;
    } else {
      int64_t cur = min_t_.load(std::memory_order_relaxed);
      while (t < cur &&
             !min_t_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) {
      }
    }
    return app_->Append(ref, lset, t, v);
  }

  void PrefetchSeries(SeriesRef soon, SeriesRef later) override {
    app_->PrefetchSeries(soon, later);
  }

  absl::Status Commit() override {
    absl::Status s = app_->Commit();
    Unregister();
    if (s.ok()) db_->MaybeWakeCompaction();
    return s;
  }

  absl::Status Rollback() override {
    absl::Status s = app_->Rollback();
    Unregister();
    return s;
  }

  int64_t min_t() const { return min_t_.load(std::memory_order_acquire); }
  void set_min_t(int64_t t) { min_t_.store(t, std::memory_order_release); }

 private:
  void Unregister() {
    if (!registered_) return;
    db_->UnregisterAppend(this);
    registered_ = false;
  }

  DB* const db_;
  std::unique_ptr<head::HeadAppender> app_;
  bool registered_ = false;
  std::atomic<int64_t> min_t_{INT64_MAX};
};

void DB::RegisterAppend(DBAppender* a, int64_t t) {
  a->set_min_t(t);
  std::lock_guard<std::mutex> l(appenders_mu_);
  open_appenders_.insert(a);
}

void DB::UnregisterAppend(DBAppender* a) {
  {
    std::lock_guard<std::mutex> l(appenders_mu_);
    open_appenders_.erase(a);
  }
  appenders_cv_.notify_all();
}

void DB::WaitForAppendersOverlapping(int64_t maxt) {
  std::unique_lock<std::mutex> l(appenders_mu_);
  for (;;) {
    bool overlapping = false;
    for (DBAppender* a : open_appenders_) {
      if (a->min_t() <= maxt) {
        overlapping = true;
        break;
      }
    }
    if (!overlapping) return;
    // Appender min times can drop without a notification: poll as well.
    appenders_cv_.wait_for(l, std::chrono::milliseconds(20));
  }
}

bool DB::HeadCompactable() const {
  const head::Head* h = opened_.head.get();
  if (h == nullptr || !h->initialized()) return false;
  return h->MaxTime() - h->MinTime() > opts_.min_block_duration / 2 * 3;
}

void DB::MaybeWakeCompaction() {
  if (!opts_.background || !HeadCompactable()) return;
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard<std::mutex> l(loop_mu_);
    wake_ = true;
  }
  loop_cv_.notify_one();
}

// ---------------------------------------------------------------------------
// Open / Close

DB::DB(std::string dir, const Options& opts, const Registry* registry)
    : dir_(std::move(dir)),
      opts_(opts),
      registry_(registry),
      fs_(opts.fs != nullptr ? opts.fs : io::PosixFileSystem()),
      blocks_(std::make_shared<BlockSet>()) {
  if (opts_.max_block_duration <= 0) {
    const int64_t cap = 31 * kMillisPerDay;
    opts_.max_block_duration =
        opts_.retention_ms > 0 ? std::min(opts_.retention_ms / 10, cap) : cap;
  }
  if (opts_.max_block_duration < opts_.min_block_duration) {
    opts_.max_block_duration = opts_.min_block_duration;
  }
  ranges_ = compact::ExponentialBlockRanges(opts_.min_block_duration, 10, 3);
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (ranges_[i] > opts_.max_block_duration) {
      ranges_.resize(std::max<size_t>(i, 1));
      break;
    }
  }
}

void DB::Log(std::string_view level, std::string_view msg) const {
  if (opts_.log) {
    opts_.log(level, msg);
  } else {
    DefaultLog(level, msg);
  }
}

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const std::string& dir,
                                             const Options& opts,
                                             const Registry* registry) {
  if (registry == nullptr) {
    return absl::InvalidArgumentError("db: no plugin registry");
  }
  if (opts.min_block_duration <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "db: min block duration must be > 0, got ", opts.min_block_duration));
  }
  if (opts.retention_ms < 0 || opts.max_bytes < 0 ||
      opts.out_of_order_time_window < 0) {
    return absl::InvalidArgumentError(
        "db: retention and out-of-order window must not be negative");
  }
  std::unique_ptr<DB> db(new DB(dir, opts, registry));
  absl::Status s = db->OpenInternal();
  if (!s.ok()) {
    db->closed_ = true;
    db->ShutdownAfterFailedOpen();
    return s;
  }
  return db;
}

void DB::ShutdownAfterFailedOpen() {
  if (opened_.mapper != nullptr) (void)opened_.mapper->Close();
  if (wal_ != nullptr) (void)wal_->Close();
  if (wbl_ != nullptr) (void)wbl_->Close();
  if (lock_ != nullptr) (void)lock_->Release();
}

absl::Status DB::OpenInternal() {
  const auto start = std::chrono::steady_clock::now();
  TSDB_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  // Plugins first: a bad name should fail before anything is touched.
  if (!registry_->chunk_readers.Has(opts_.chunk_reader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown chunk reader \"", opts_.chunk_reader,
        "\"; valid: ", absl::StrJoin(registry_->chunk_readers.Names(), ", ")));
  }
  TSDB_ASSIGN_OR_RETURN(wal_factory_, registry_->wals.Get(opts_.wal));
  TSDB_RETURN_IF_ERROR(registry_->codecs.Get(1).status());

  if (!opts_.no_lockfile) {
    if (fs_ != io::PosixFileSystem()) {
      return absl::InvalidArgumentError(
          "db: the directory lock needs the POSIX file system; set "
          "no_lockfile with another one");
    }
    TSDB_ASSIGN_OR_RETURN(lock_, DirLock::Acquire(dir_));
    if (!lock_->clean_start()) {
      Log("warn",
          "A lock file from a previous run was found: the last shutdown "
          "was not clean");
    }
  }
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> removed,
                        compact::CleanupTmpDirs(fs_, dir_));
  for (const std::string& r : removed) {
    Log("info", absl::StrCat("Removed tmp directory left by a crash: ", r));
  }

  // Blocks; the head starts after the newest one.
  TSDB_RETURN_IF_ERROR(ReloadBlocks());
  int64_t min_valid_time = INT64_MIN;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    for (const auto& b : blocks_->blocks) {
      min_valid_time = std::max(min_valid_time, b->meta().max_time);
    }
  }

  wal::WalOptions wo;
  wo.fs = fs_;
  wo.dir = io::JoinPath(dir_, "wal");
  wo.segment_size = opts_.wal_segment_size;
  wo.compression = opts_.wal_compression;
  wo.repair_on_open = true;
  wo.log = [this](std::string_view line) { Log("info", line); };
  wal_options_ = wo;
  // With a repairer the WAL is read once: the replay stops at corruption,
  // the repairer cuts the log there, and only then is the WAL opened for
  // writing (Prometheus's order). Without one, opening repairs first.
  const wal::WalRepairer* repairer = registry_->wals.GetRepairer(opts_.wal);
  if (repairer == nullptr) {
    TSDB_ASSIGN_OR_RETURN(wal_, (*wal_factory_)(wo));
  }
  commit_log_ = std::make_unique<headwal::WalCommitLog>(wal_.get());
  // The write-behind log of out-of-order samples: opened when the window is
  // on, or when a previous run left one (its samples must be compacted).
  const std::string wbl_dir = io::JoinPath(dir_, "wbl");
  auto wbl_exists = fs_->Exists(wbl_dir);
  if (opts_.out_of_order_time_window > 0 || (wbl_exists.ok() && *wbl_exists)) {
    wal::WalOptions bo = wo;
    bo.dir = wbl_dir;
    TSDB_ASSIGN_OR_RETURN(wbl_, (*wal_factory_)(bo));
    ooo_commit_log_ = std::make_unique<headwal::WalCommitLog>(wbl_.get());
  }

  head::HeadOptions ho;
  ho.codecs = &registry_->codecs;
  ho.chunk_range = opts_.min_block_duration;
  ho.stripe_size = opts_.stripe_size;
  ho.samples_per_chunk = opts_.samples_per_chunk;
  ho.commit_log = commit_log_.get();
  ho.ooo_time_window = opts_.out_of_order_time_window;
  ho.ooo_commit_log = ooo_commit_log_.get();
  ho.lifecycle = opts_.lifecycle;
  int workers = opts_.replay_workers;
  if (workers <= 0) {
    workers = std::max(1u, std::thread::hardware_concurrency());
  }
  Log("info", "Replaying on-disk memory mappable chunks and the WAL");
  headwal::WalRepairFn repair;
  if (repairer != nullptr) {
    repair = [&wo, repairer](const std::string& wal_dir,
                             const wal::Corruption& at) {
      wal::WalOptions o = wo;
      o.dir = wal_dir;
      return (*repairer)(o, at);
    };
  }
  TSDB_ASSIGN_OR_RETURN(
      opened_, headwal::OpenHeadFromDir(
                   fs_, dir_, ho, workers,
                   [this](std::string_view line) { Log("info", line); },
                   min_valid_time, chunks::ChunkDiskMapperOptions{}, repair,
                   opts_.snapshot_on_shutdown && opts_.wal == "segmented"));
  if (wal_ == nullptr) {
    wal::WalOptions open_wo = wo;
    open_wo.repair_on_open = false;  // just replayed (and repaired) above
    TSDB_ASSIGN_OR_RETURN(wal_, (*wal_factory_)(open_wo));
    commit_log_->set_wal(wal_.get());
  }
  const headwal::StartupResult& su = opened_.startup;
  for (const record::Stone& st : su.replay.tombstones_read) {
    head_tombstones_.AddInterval(st.ref, {st.mint, st.maxt});
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.startup = su;
  }
  Log("info",
      absl::StrCat(
          "TSDB started: ", opened_.head->Stats().num_series, " head series, ",
          su.replay.samples, " WAL samples, ",
          su.replay.mapped_chunks_attached + su.snapshot.mapped_chunks_attached,
          " m-mapped chunks, duration ",
          absl::FormatDuration(absl::Seconds(SecondsSince(start)))));

  if (opts_.background) {
    loop_ = std::thread([this] { Run(); });
  }
  return absl::OkStatus();
}

DB::~DB() {
  absl::Status s = Close();
  if (!s.ok()) Log("error", absl::StrCat("closing the DB: ", s.message()));
}

absl::Status DB::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  {
    std::lock_guard<std::mutex> l(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  absl::Status first;
  auto keep = [&first](absl::Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  if (opened_.mapper != nullptr) keep(opened_.mapper->Close());
  if (opts_.snapshot_on_shutdown && opts_.wal == "segmented" &&
      wal_ != nullptr && first.ok()) {
    // After the chunk mapper is closed (its chunks are durable): the WAL
    // before the snapshot is not replayed again. A failure only costs the
    // next start-up a full replay.
    absl::StatusOr<headwal::SnapshotWriteResult> w =
        headwal::WriteChunkSnapshot(
            *head(), fs_, dir_, wal_.get(), &head_tombstones_, *wal_factory_,
            opts_.wal_compression,
            [this](std::string_view line) { Log("info", line); });
    if (w.ok()) {
      Log("info",
          absl::StrCat("Wrote chunk snapshot ", w->dir, ": ", w->series,
                       " series, ", w->bytes, " bytes in ",
                       absl::FormatDuration(absl::Seconds(w->seconds))));
    } else {
      Log("warn", absl::StrCat("Writing the chunk snapshot failed: ",
                               w.status().message()));
    }
  }
  if (wal_ != nullptr) keep(wal_->Close());
  if (wbl_ != nullptr) keep(wbl_->Close());
  if (lock_ != nullptr) keep(lock_->Release());
  return first;
}

std::unique_ptr<db::Appender> DB::Appender() {
  return std::make_unique<DBAppender>(this);
}

std::vector<block::BlockMeta> DB::Blocks() const {
  std::lock_guard<std::mutex> l(blocks_mu_);
  std::vector<block::BlockMeta> out;
  for (const auto& b : blocks_->blocks) out.push_back(b->meta());
  return out;
}

Stats DB::GetStats() const {
  Stats s;
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    s = stats_;
  }
  s.head = opened_.head->Stats();
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    s.num_blocks = static_cast<int64_t>(blocks_->blocks.size());
    for (const auto& b : blocks_->blocks) {
      s.blocks_bytes += static_cast<int64_t>(b->Size());
      s.min_time = std::min(s.min_time, b->meta().min_time);
      s.max_time = std::max(s.max_time, b->meta().max_time - 1);
    }
  }
  if (opened_.head->initialized()) {
    s.min_time = std::min(s.min_time, s.head.min_time);
    s.max_time = std::max(s.max_time, s.head.max_time);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Blocks

absl::Status DB::ReloadBlocks() {
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  std::map<block::Ulid, std::shared_ptr<block::Block>> current;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    for (const auto& b : blocks_->blocks) current[b->meta().ulid] = b;
  }
  std::vector<std::shared_ptr<block::Block>> loaded;
  for (const std::string& name : names) {
    auto ulid = block::Ulid::Parse(name);
    if (!ulid.ok()) continue;
    const std::string bdir = io::JoinPath(dir_, name);
    auto meta_exists = fs_->Exists(io::JoinPath(bdir, "meta.json"));
    if (!meta_exists.ok() || !*meta_exists) continue;
    auto it = current.find(*ulid);
    if (it != current.end()) {
      loaded.push_back(it->second);
      continue;
    }
    auto b = block::Block::Open(bdir, registry_->chunk_readers,
                                opts_.chunk_reader, &registry_->codecs);
    if (!b.ok()) {
      return absl::Status(
          b.status().code(),
          absl::StrCat("opening block ", bdir, ": ", b.status().message()));
    }
    loaded.push_back(std::shared_ptr<block::Block>(std::move(*b)));
  }

  // Deletable: parents of loaded blocks (their data lives on in the child),
  // deletable-marked blocks, and retention.
  std::set<block::Ulid> deletable;
  for (const auto& b : loaded) {
    for (const block::BlockDesc& p : b->meta().compaction.parents) {
      deletable.insert(p.ulid);
    }
  }
  std::vector<compact::RetentionBlock> rb;
  for (const auto& b : loaded) {
    if (deletable.count(b->meta().ulid) != 0) continue;
    rb.push_back({b->meta(), b->Size()});
  }
  compact::RetentionOptions ro;
  ro.retention_ms = opts_.retention_ms;
  ro.max_bytes = opts_.max_bytes;
  if (opts_.max_bytes > 0) {
    ro.head_bytes =
        static_cast<int64_t>(TreeSize(fs_, io::JoinPath(dir_, "wal")) +
                             TreeSize(fs_, io::JoinPath(dir_, "wbl")) +
                             TreeSize(fs_, io::JoinPath(dir_, "chunks_head")));
  }
  int by_retention = 0;
  for (const block::Ulid& u : compact::DeletableBlocks(rb, ro)) {
    if (deletable.insert(u).second) ++by_retention;
  }

  auto set = std::make_shared<BlockSet>();
  std::vector<std::shared_ptr<block::Block>> doomed;
  for (auto& b : loaded) {
    if (deletable.count(b->meta().ulid) != 0) {
      doomed.push_back(std::move(b));
    } else {
      set->blocks.push_back(std::move(b));
    }
  }
  std::stable_sort(set->blocks.begin(), set->blocks.end(),
                   [](const auto& a, const auto& b) {
                     return a->meta().min_time < b->meta().min_time;
                   });
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    blocks_ = std::move(set);
  }
  // Delete the dirs: rename first so a crash never leaves half a block that
  // looks whole.
  int deleted = 0;
  for (const block::Ulid& u : deletable) {
    const std::string bdir = io::JoinPath(dir_, u.ToString());
    auto exists = fs_->Exists(bdir);
    if (!exists.ok() || !*exists) continue;
    const std::string tmp = bdir + ".tmp-for-deletion";
    TSDB_RETURN_IF_ERROR(fs_->Rename(bdir, tmp));
    TSDB_RETURN_IF_ERROR(fs_->RemoveAll(tmp));
    ++deleted;
  }
  if (deleted > 0) {
    TSDB_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    Log("info", absl::StrCat("Deleted ", deleted, " blocks (", by_retention,
                             " by retention)"));
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      stats_.blocks_deleted_retention += by_retention;
    }
    if (opts_.observer != nullptr) {
      if (by_retention > 0) opts_.observer->OnBlocksDeleted(by_retention, true);
      if (deleted > by_retention) {
        opts_.observer->OnBlocksDeleted(deleted - by_retention, false);
      }
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Background work

void DB::Run() {
  int64_t backoff_ms = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(loop_mu_);
      const int64_t wait =
          backoff_ms > 0 ? backoff_ms : opts_.background_interval_ms;
      loop_cv_.wait_for(l, std::chrono::milliseconds(wait),
                        [this] { return stop_ || wake_; });
      if (stop_) return;
      wake_ = false;
    }
    wake_pending_.store(false, std::memory_order_release);
    absl::Status s = Compact();
    if (closed_.load()) return;  // Close() raced with the wake-up
    if (s.ok()) {
      backoff_ms = 0;
    } else {
      Log("error", absl::StrCat("compaction failed: ", s.message()));
      backoff_ms = backoff_ms == 0
                       ? 1000
                       : std::min(backoff_ms * 2, opts_.background_interval_ms);
    }
  }
}

absl::Status DB::Compact() {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  // 1. The head, one aligned range at a time; then the WAL once.
  int64_t last_maxt = INT64_MIN;
  while (HeadCompactable() && !closed_.load()) {
    const int64_t mint = head()->MinTime();
    const int64_t maxt = RangeEnd(mint, opts_.min_block_duration);
    TSDB_RETURN_IF_ERROR(CompactHeadRange(mint, maxt));
    last_maxt = maxt;
  }
  if (last_maxt != INT64_MIN) {
    TSDB_RETURN_IF_ERROR(TruncateWal(last_maxt));
    // 2. Out-of-order data, whenever the in-order head moved on (as
    //    Prometheus's Compact).
    TSDB_RETURN_IF_ERROR(CompactOooHead());
  }
  // 3. Blocks.
  return CompactBlocks();
}

absl::Status DB::CompactHead() {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  if (!head()->initialized()) return absl::OkStatus();
  // Everything up to the head's max time, aligned range by range (blocks
  // never cross a min-block-duration boundary).
  const int64_t last = head()->MaxTime();
  while (head()->initialized() && head()->MinTime() <= last) {
    const int64_t mint = head()->MinTime();
    const int64_t maxt = RangeEnd(mint, opts_.min_block_duration);
    TSDB_RETURN_IF_ERROR(CompactHeadRange(mint, std::min(maxt, last + 1)));
    if (maxt > last) break;
  }
  TSDB_RETURN_IF_ERROR(TruncateWal(last + 1));
  TSDB_RETURN_IF_ERROR(CompactOooHead());
  return CompactBlocks();
}

absl::Status DB::CompactHeadRange(int64_t mint, int64_t maxt) {
  const auto start = std::chrono::steady_clock::now();
  // Appends still open with samples in the range must land first.
  WaitForAppendersOverlapping(maxt - 1);
  absl::StatusOr<RangeWriteResult> r;
  {
    head::ReadOptions ro;
    ro.isolation = false;
    ro.exclude_ooo = true;  // out-of-order data has its own compaction
    head::HeadReaders hr = head()->Readers(mint, maxt - 1, ro);
    querier::DeletedIntervalsFn deleted = [this](SeriesRef ref) {
      return head_tombstones_.Get(ref);
    };
    RangeWriteOptions wo;
    wo.mint = mint;
    wo.maxt = maxt;
    wo.deleted = head_tombstones_.NumTombstones() > 0 ? &deleted : nullptr;
    wo.samples_per_chunk = opts_.samples_per_chunk;
    r = WriteRange(fs_, dir_, *hr.index, *hr.chunks, registry_->codecs, wo);
  }
  absl::Status s = r.status();
  if (s.ok() && r->meta.has_value()) s = ReloadBlocks();
  const double secs = SecondsSince(start);
  if (opts_.observer != nullptr) opts_.observer->OnCompaction(true, secs, s);
  if (!s.ok()) {
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.compactions_failed;
    return absl::Status(s.code(), absl::StrCat("persisting head range [", mint,
                                               ", ", maxt, "): ", s.message()));
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.head_compactions;
  }
  if (r->meta.has_value()) {
    Log("info", absl::StrCat("write block ", r->meta->ulid.ToString(),
                             " mint=", mint, " maxt=", maxt, " duration=",
                             absl::FormatDuration(absl::Seconds(secs))));
  }
  // The data is in a block now: drop it from the head (the caller then
  // truncates the WAL).
  TSDB_RETURN_IF_ERROR(head()->Truncate(maxt));
  head_tombstones_.TruncateBefore(maxt);
  return absl::OkStatus();
}

absl::Status DB::CompactOooHead() {
  if (wbl_ == nullptr) return absl::OkStatus();
  const head::HeadStats hs = head()->Stats();
  if (hs.ooo_samples == 0) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  // WBL protocol (head.h): new segment first, then freeze; segments before
  // it hold only frozen samples.
  TSDB_ASSIGN_OR_RETURN(const int first_kept, wbl_->NextSegment());
  const head::OooFreeze frozen = head()->FreezeOoo();
  absl::Status s;
  int written = 0;
  if (frozen.num_samples > 0) {
    const int64_t r = opts_.min_block_duration;
    for (int64_t t = FloorDiv(frozen.min_time, r) * r;
         s.ok() && t <= frozen.max_time; t += r) {
      head::HeadReaders hr = head()->FrozenOooReaders(t, t + r - 1);
      RangeWriteOptions wo;
      wo.mint = t;
      wo.maxt = t + r;
      wo.samples_per_chunk = opts_.samples_per_chunk;
      wo.hints = {"from-out-of-order"};
      absl::StatusOr<RangeWriteResult> res =
          WriteRange(fs_, dir_, *hr.index, *hr.chunks, registry_->codecs, wo);
      s = res.status();
      if (s.ok() && res->meta.has_value()) ++written;
    }
    if (s.ok() && written > 0) s = ReloadBlocks();
  }
  const double secs = SecondsSince(start);
  if (opts_.observer != nullptr) opts_.observer->OnCompaction(true, secs, s);
  if (!s.ok()) {
    // The frozen samples stay in memory and in the WBL; the next cycle
    // freezes them again with the newer ones.
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.compactions_failed;
    return absl::Status(s.code(),
                        absl::StrCat("out-of-order compaction: ", s.message()));
  }
  head()->DropFrozenOoo(frozen.id);
  TSDB_RETURN_IF_ERROR(
      headwal::DeleteWblSegmentsBefore(fs_, wbl_->dir(), first_kept).status());
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.ooo_compactions;
  }
  Log("info", absl::StrCat("out-of-order compaction: ", frozen.num_samples,
                           " samples into ", written, " blocks, duration ",
                           absl::FormatDuration(absl::Seconds(secs))));
  return absl::OkStatus();
}

absl::Status DB::TruncateWal(int64_t mint) {
  const auto start = std::chrono::steady_clock::now();
  TSDB_ASSIGN_OR_RETURN(wal::SegmentRange segs, wal_->Segments());
  if (segs.last < 0) return absl::OkStatus();  // no segments (e.g. "none")
  // Start a new segment so that low-volume DBs do not keep old data around.
  TSDB_RETURN_IF_ERROR(wal_->NextSegment().status());
  int last = segs.last - 1;  // never the segment being written
  if (last < 0) return absl::OkStatus();
  const int first = segs.first;
  // The lower two thirds of the segments hold mostly obsolete samples.
  last = first + (last - first) * 2 / 3;
  if (last <= first) return absl::OkStatus();
  head::Head* h = head();
  auto keep = [h](uint64_t ref) { return h->SeriesLabels(ref).ok(); };
  absl::StatusOr<wal::CheckpointStats> cs =
      wal::Checkpoint(wal_options_, *wal_factory_, first, last, keep, mint);
  const double secs = SecondsSince(start);
  if (opts_.observer != nullptr) {
    opts_.observer->OnCheckpoint(secs, cs.status());
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  if (!cs.ok()) {
    ++stats_.checkpoints_failed;
    return absl::Status(cs.status().code(),
                        absl::StrCat("WAL checkpoint of segments ", first, "-",
                                     last, ": ", cs.status().message()));
  }
  ++stats_.checkpoints;
  ++stats_.wal_truncations;
  Log("info",
      absl::StrCat("WAL checkpoint complete first=", first, " last=", last,
                   " duration=", absl::FormatDuration(absl::Seconds(secs))));
  return absl::OkStatus();
}

absl::Status DB::CompactBlocks() {
  for (;;) {
    if (closed_.load()) break;  // Close() is waiting for this cycle
    std::vector<block::BlockMeta> metas = Blocks();
    std::vector<block::Ulid> pick = compact::Plan(metas, ranges_);
    if (pick.empty()) break;
    std::shared_ptr<const BlockSet> set;
    {
      std::lock_guard<std::mutex> l(blocks_mu_);
      set = blocks_;
    }
    std::vector<const block::Block*> parents;
    for (const block::Ulid& u : pick) {
      for (const auto& b : set->blocks) {
        if (b->meta().ulid == u) parents.push_back(b.get());
      }
    }
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<compact::CompactResult> r = compact::Compact(
        fs_, dir_, parents, registry_->codecs, compact::CompactOptions{});
    absl::Status s = r.status();
    if (s.ok() && !r->meta.has_value()) {
      for (const block::Block* p : parents) {
        if (s.ok()) s = compact::MarkDeletable(fs_, p->dir(), p->meta());
      }
    }
    if (s.ok()) s = ReloadBlocks();
    const double secs = SecondsSince(start);
    if (opts_.observer != nullptr) opts_.observer->OnCompaction(false, secs, s);
    if (!s.ok()) {
      {
        std::lock_guard<std::mutex> l(stats_mu_);
        ++stats_.compactions_failed;
      }
      if (!r.ok()) {
        for (const block::Block* p : parents) {
          (void)compact::MarkCompactionFailed(fs_, p->dir(), p->meta());
        }
        // The planner must see the failed mark: reopen.
        (void)ReloadBlocksAfterMark(pick);
      }
      return absl::Status(s.code(), absl::StrCat("compacting ", parents.size(),
                                                 " blocks: ", s.message()));
    }
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      ++stats_.compactions;
    }
    Log("info",
        absl::StrCat("compact blocks count=", parents.size(),
                     " duration=", absl::FormatDuration(absl::Seconds(secs))));
  }
  return absl::OkStatus();
}

absl::Status DB::ReloadBlocksAfterMark(const std::vector<block::Ulid>& ulids) {
  // Drop the marked blocks from the open set so that ReloadBlocks reopens
  // them with their new meta.
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    auto set = std::make_shared<BlockSet>();
    for (const auto& b : blocks_->blocks) {
      if (std::find(ulids.begin(), ulids.end(), b->meta().ulid) ==
          ulids.end()) {
        set->blocks.push_back(b);
      }
    }
    blocks_ = std::move(set);
  }
  return ReloadBlocks();
}

// ---------------------------------------------------------------------------
// Delete, CleanTombstones, Snapshot

absl::Status DB::DeleteFromBlocks(const BlockSet& set, int64_t mint,
                                  int64_t maxt,
                                  const std::vector<labels::Matcher>& ms,
                                  std::vector<block::Ulid>* changed) {
  for (const auto& b : set.blocks) {
    const block::BlockMeta& m = b->meta();
    if (m.min_time > maxt || m.max_time <= mint) continue;
    TSDB_ASSIGN_OR_RETURN(auto p, querier::PostingsForMatchers(b->index(), ms));
    tombstones::MemTombstones stones;
    b->tombstones().Iterate([&](uint64_t ref, const tombstones::Intervals& iv) {
      for (const tombstones::Interval& i : iv) stones.AddInterval(ref, i);
    });
    bool added = false;
    labels::Labels lset;
    std::vector<ChunkMeta> metas;
    while (p->Next()) {
      TSDB_RETURN_IF_ERROR(b->index().Series(p->At(), &lset, &metas));
      for (const ChunkMeta& c : metas) {
        if (c.min_time <= maxt && c.max_time >= mint) {
          stones.AddInterval(p->At(), {mint, maxt});
          added = true;
          break;
        }
      }
    }
    TSDB_RETURN_IF_ERROR(p->status());
    if (!added) continue;
    TSDB_RETURN_IF_ERROR(tombstones::WriteFile(fs_, b->dir(), stones).status());
    changed->push_back(m.ulid);
    block::BlockMeta nm = m;
    nm.stats.num_tombstones = stones.NumTombstones();
    TSDB_RETURN_IF_ERROR(block::WriteMetaFile(fs_, b->dir(), nm).status());
  }
  return absl::OkStatus();
}

absl::Status DB::Delete(int64_t mint, int64_t maxt,
                        const std::vector<labels::Matcher>& ms) {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  if (mint > maxt) {
    return absl::InvalidArgumentError(
        absl::StrCat("delete: start ", mint, " after end ", maxt));
  }
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  std::shared_ptr<const BlockSet> set;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    set = blocks_;
  }
  // Blocks whose tombstones were rewritten are reopened once at the end
  // (also when a later block fails, so memory matches the files).
  std::vector<block::Ulid> changed;
  absl::Status s = DeleteFromBlocks(*set, mint, maxt, ms, &changed);
  if (!changed.empty()) {
    absl::Status r = ReloadBlocksAfterMark(changed);
    if (s.ok()) s = std::move(r);
  }
  TSDB_RETURN_IF_ERROR(s);

  // The head: tombstones logged to the WAL first.
  head::Head* h = head();
  if (!h->initialized()) return absl::OkStatus();
  const int64_t t0 = std::max(mint, h->MinTime());
  const int64_t t1 = std::min(maxt, h->MaxTime());
  if (t0 > t1) return absl::OkStatus();
  head::HeadReaders hr = h->Readers(t0, t1);
  TSDB_ASSIGN_OR_RETURN(auto p, querier::PostingsForMatchers(*hr.index, ms));
  std::vector<record::Stone> stones;
  while (p->Next()) stones.push_back({p->At(), t0, t1});
  TSDB_RETURN_IF_ERROR(p->status());
  if (stones.empty()) return absl::OkStatus();
  std::string rec;
  record::EncodeTombstones(stones, &rec);
  std::string_view recs[1] = {rec};
  TSDB_RETURN_IF_ERROR(wal_->Log(recs));
  for (const record::Stone& s : stones) {
    head_tombstones_.AddInterval(s.ref, {s.mint, s.maxt});
  }
  return absl::OkStatus();
}

absl::Status DB::CleanTombstones() {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  std::shared_ptr<const BlockSet> set;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    set = blocks_;
  }
  for (const auto& b : set->blocks) {
    if (b->tombstones().NumTombstones() == 0) continue;
    compact::CompactOptions co;
    std::vector<const block::Block*> one = {b.get()};
    TSDB_ASSIGN_OR_RETURN(
        compact::CompactResult r,
        compact::Compact(fs_, dir_, one, registry_->codecs, co));
    if (!r.meta.has_value()) {
      TSDB_RETURN_IF_ERROR(compact::MarkDeletable(fs_, b->dir(), b->meta()));
      std::vector<block::Ulid> u = {b->meta().ulid};
      TSDB_RETURN_IF_ERROR(ReloadBlocksAfterMark(u));
    } else {
      TSDB_RETURN_IF_ERROR(ReloadBlocks());
    }
    Log("info", absl::StrCat("Cleaned tombstones of block ",
                             b->meta().ulid.ToString()));
  }
  return absl::OkStatus();
}

absl::Status DB::Snapshot(const std::string& dir, bool with_head) {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  TSDB_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> existing, fs_->ListDir(dir));
  if (!existing.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot: directory ", dir, " is not empty"));
  }
  std::shared_ptr<const BlockSet> set;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    set = blocks_;
  }
  for (const auto& b : set->blocks) {
    TSDB_RETURN_IF_ERROR(
        LinkTree(fs_, b->dir(), io::JoinPath(dir, b->meta().ulid.ToString())));
  }
  if (with_head && head()->initialized()) {
    head::Head* h = head();
    const int64_t mint = h->MinTime();
    const int64_t maxt = h->MaxTime() + 1;
    head::ReadOptions ro;
    ro.isolation = false;
    head::HeadReaders hr = h->Readers(mint, maxt - 1, ro);
    querier::DeletedIntervalsFn deleted = [this](SeriesRef ref) {
      return head_tombstones_.Get(ref);
    };
    RangeWriteOptions wo;
    wo.mint = mint;
    wo.maxt = maxt;
    wo.deleted = head_tombstones_.NumTombstones() > 0 ? &deleted : nullptr;
    wo.samples_per_chunk = opts_.samples_per_chunk;
    TSDB_RETURN_IF_ERROR(
        WriteRange(fs_, dir, *hr.index, *hr.chunks, registry_->codecs, wo)
            .status());
  }
  return fs_->SyncDir(dir);
}

}  // namespace tsdb::db
