// DB: the storage engine as one object (Prometheus 2.42's tsdb.DB): a data
// directory holding persistent blocks, the head (in-memory block with its
// WAL and m-mapped chunks), and the background work that turns the head
// into blocks, compacts blocks and applies retention.
//
//   tsdb::Registry registry;                 // filled by the frontend
//   ... RegisterXorCodec(registry.codecs) etc. ...
//   tsdb::db::Options opts;                  // Prometheus 2.42 defaults
//   TSDB_ASSIGN_OR_RETURN(std::unique_ptr<DB> db,
//                         DB::Open("/data", opts, &registry));
//   std::unique_ptr<Appender> app = db->Appender();
//   TSDB_ASSIGN_OR_RETURN(SeriesRef ref, app->Append(0, lset, t, v));
//   TSDB_RETURN_IF_ERROR(app->Commit());
//   TSDB_ASSIGN_OR_RETURN(std::unique_ptr<Querier> q, db->Querier(mint, maxt));
//   TSDB_ASSIGN_OR_RETURN(auto set, q->Select(matchers));
//   while (set->Next()) { ... set->At().Iterator() ... }
//   TSDB_RETURN_IF_ERROR(db->Close());
//
// Directory layout (Prometheus's): `<ULID>/` blocks, `wal/` (+ checkpoints),
// `wbl/` (out-of-order samples), `chunks_head/`, `lock`.
//
// Open: takes the directory lock (dir_lock.h), removes tmp dirs a crash
// left, opens the blocks, starts the head from chunks_head + WAL (staged
// start-up, tsdb/headwal), applies the WAL's tombstones, then starts the
// background loop (unless Options::background is false).
//
// Background work (Prometheus's DB.run / DB.Compact), one cycle at a time,
// every minute and whenever an appender commits a sample that makes the head
// compactable:
//   1. while the head spans more than 1.5 x the block range, persist its
//      oldest block-range-aligned range as a level-1 block (appenders keep
//      writing meanwhile), reload blocks, truncate the head, checkpoint the
//      WAL;
//   2. out-of-order head data (Options::out_of_order_time_window) is written
//      as blocks per aligned range and dropped from the head (WBL truncated);
//   3. leveled and vertical compaction of blocks (compact/planner.h);
//   4. retention and deletion of blocks (compact/retention.h): blocks are
//      renamed `<ULID>.tmp-for-deletion` and removed.
// A failed compaction is logged, counted in Stats().compactions_failed and
// retried after a back-off; no half-written block survives (tmp dirs).
//
// Ownership: the Registry (and Options' pointers) must outlive the DB;
// Appenders and Queriers must not outlive it.
// Thread safety: every DB method may be called from any thread; one
// Appender/Querier is used by one thread at a time; any number of each may
// exist at once. Queriers pin the blocks they read: a block deleted by
// compaction or retention is closed when the last querier using it is gone.
#ifndef TSDB_DB_DB_H_
#define TSDB_DB_DB_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/block.h"
#include "tsdb/block/meta.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/db/dir_lock.h"
#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"
#include "tsdb/labels/matcher.h"
#include "tsdb/querier/series_set.h"
#include "tsdb/registry/registry.h"
#include "tsdb/tombstones/tombstones.h"
#include "tsdb/wal/registry.h"
#include "tsdb/wal/wal.h"

namespace tsdb::db {

inline constexpr int64_t kMillisPerHour = int64_t{60} * 60 * 1000;
inline constexpr int64_t kMillisPerDay = 24 * kMillisPerHour;

// Told about background work; the server turns these into metrics. Called
// from the background thread (or the caller of Compact()); the default
// methods do nothing. Must not call back into the DB.
class Observer {
 public:
  virtual ~Observer() = default;
  // A head compaction (persisting one range) or a block compaction ended.
  virtual void OnCompaction(bool head, double seconds, const absl::Status& s) {
    (void)head, (void)seconds, (void)s;
  }
  // A WAL checkpoint ended.
  virtual void OnCheckpoint(double seconds, const absl::Status& s) {
    (void)seconds, (void)s;
  }
  // The WAL was fsynced (Sync, segment switch).
  virtual void OnWalFsync(double seconds) { (void)seconds; }
  // Blocks were deleted by retention or after compaction.
  virtual void OnBlocksDeleted(int n, bool by_retention) {
    (void)n, (void)by_retention;
  }
};

struct Options {
  // --storage.tsdb.min-block-duration: the head block range (2h).
  int64_t min_block_duration = 2 * kMillisPerHour;
  // --storage.tsdb.max-block-duration; 0: 10% of the time retention, at
  // most 31 days (Prometheus's default), or 31 days without time retention.
  int64_t max_block_duration = 0;
  // --storage.tsdb.retention.time in ms (15d); 0 disables it.
  int64_t retention_ms = 15 * kMillisPerDay;
  // --storage.tsdb.retention.size in bytes; 0 disables it.
  int64_t max_bytes = 0;
  // Out-of-order window in ms (storage.tsdb.out_of_order_time_window); 0 is
  // off (Prometheus's default).
  int64_t out_of_order_time_window = 0;

  // Plugins by name (Registry): --wal=segmented|none, --chunk-reader.
  std::string wal = "segmented";
  std::string chunk_reader = "mmap";
  // --storage.tsdb.wal-compression (on by default since 2.20).
  wal::Compression wal_compression = wal::Compression::kSnappy;
  uint64_t wal_segment_size = wal::kDefaultSegmentSize;

  // --storage.tsdb.no-lockfile.
  bool no_lockfile = false;
  // --enable-feature=memory-snapshot-on-shutdown: Close() writes a chunk
  // snapshot (tsdb/headwal/chunk_snapshot.h) and Open() starts from it,
  // replaying only the WAL written after it. Off by default, as in
  // Prometheus; needs a WAL in Prometheus's format ("segmented").
  bool snapshot_on_shutdown = false;
  // Head tuning (head/options.h).
  size_t stripe_size = head::kDefaultStripeSize;
  int samples_per_chunk = head::kDefaultSamplesPerChunk;
  // WAL replay threads; 0: the number of CPUs (at least 1).
  int replay_workers = 0;

  // Run the background loop (compaction, retention). Off: only explicit
  // Compact() calls do that work (tests, the CLI).
  bool background = true;
  // How often the loop runs when nothing wakes it (Prometheus: 1 minute).
  int64_t background_interval_ms = 60 * 1000;

  // File system; null: io::PosixFileSystem().
  io::FileSystem* fs = nullptr;
  // Where log lines go (level + message); null: stderr with a timestamp.
  std::function<void(std::string_view level, std::string_view msg)> log;
  // Optional hooks.
  head::SeriesLifecycleCallback* lifecycle = nullptr;
  Observer* observer = nullptr;
};

// What the DB holds and did; cheap to take.
struct Stats {
  head::HeadStats head;
  int64_t num_blocks = 0;
  int64_t blocks_bytes = 0;
  int64_t min_time = INT64_MAX;  // over blocks and head; INT64_MAX if empty
  int64_t max_time = INT64_MIN;
  int64_t head_compactions = 0;
  int64_t compactions = 0;  // block compactions
  int64_t compactions_failed = 0;
  int64_t checkpoints = 0;
  int64_t checkpoints_failed = 0;
  int64_t blocks_deleted_retention = 0;
  int64_t wal_truncations = 0;
  int64_t ooo_compactions = 0;
  headwal::StartupResult startup;  // what Open found and replayed
};

// Buffers samples and commits them atomically (head::HeadAppender plus
// the DB's bookkeeping). Errors are the head's: FailedPrecondition with
// Prometheus's messages ("out of bounds", "out of order sample",
// "duplicate sample for timestamp", "too old sample"), InvalidArgument for
// invalid labels.
class Appender {
 public:
  virtual ~Appender() = default;
  // A non-zero `ref` of a live series skips the label lookup.
  virtual absl::StatusOr<SeriesRef> Append(SeriesRef ref,
                                           const labels::Labels& lset,
                                           int64_t t, double v) = 0;
  [[nodiscard]] virtual absl::Status Commit() = 0;
  [[nodiscard]] virtual absl::Status Rollback() = 0;
  // A hint, for callers that know the refs they will append next: the
  // series `soon` will be appended a few calls from now, `later` further
  // ahead (0: none). Implementations may start loading their memory.
  virtual void PrefetchSeries(SeriesRef soon, SeriesRef later) {
    (void)soon;
    (void)later;
  }
};

// A raw chunk of a series (remote read's STREAMED_XOR_CHUNKS).
struct RawChunk {
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint8_t encoding = 0;  // chunkenc encoding byte (1 = XOR)
  std::string bytes;
};

// A series with its chunks, oldest first, non-overlapping.
struct ChunkSeries {
  labels::Labels lset;
  std::vector<RawChunk> chunks;
};

// Reads the blocks and the head over [mint, maxt] (inclusive) as of when it
// was created. Thread safety: one thread at a time.
class Querier {
 public:
  virtual ~Querier() = default;
  // The matching series in label order, merged across blocks and head,
  // deduplicated, deletions applied. Needs at least one matcher that does
  // not match the empty string (Prometheus's rule) — else InvalidArgument.
  virtual absl::StatusOr<std::unique_ptr<querier::SeriesSet>> Select(
      const std::vector<labels::Matcher>& matchers) = 0;
  // Label names of the series matching all `matchers` (all series if
  // none), sorted, unique.
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<labels::Matcher>& matchers) = 0;
  // Values of label `name` over the series matching `matchers`.
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, const std::vector<labels::Matcher>& matchers) = 0;
  // Select as encoded chunks (remote read): calls `fn` for each series in
  // label order, chunks cut at `max_samples_per_chunk` samples; a non-OK
  // status from fn stops the walk and is returned.
  virtual absl::Status SelectChunks(
      const std::vector<labels::Matcher>& matchers,
      const std::function<absl::Status(const ChunkSeries&)>& fn) = 0;
};

class DB final {
 public:
  // Opens (creating if needed) the data directory `dir`. `registry` must
  // hold the codecs, the chunk reader and the WAL named in `opts`.
  // FailedPrecondition (naming the PID) if another live process holds the
  // lock; InvalidArgument for bad options (unknown plugin names list the
  // valid ones); DataLoss for corrupt blocks.
  static absl::StatusOr<std::unique_ptr<DB>> Open(const std::string& dir,
                                                  const Options& opts,
                                                  const Registry* registry);
  // Close()s if not closed yet (errors are logged).
  ~DB();
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // Stops the background loop (waits for the running cycle), flushes and
  // closes the WAL and chunks_head, releases the lock. Appenders must be
  // done. Further calls are OK no-ops.
  [[nodiscard]] absl::Status Close();

  std::unique_ptr<db::Appender> Appender();
  // A querier over [mint, maxt]; FailedPrecondition after Close.
  absl::StatusOr<std::unique_ptr<db::Querier>> Querier(int64_t mint,
                                                       int64_t maxt);

  // Runs one background cycle now (head compaction, OOO compaction, block
  // compaction, retention) and returns its first error.
  [[nodiscard]] absl::Status Compact();
  // Persists the whole head as blocks now (e.g. before a snapshot or in
  // tests), whatever its span; then truncates the head and the WAL.
  [[nodiscard]] absl::Status CompactHead();

  // Deletes the samples in [mint, maxt] of the series matching `matchers`:
  // tombstones in the head (logged to the WAL) and in every overlapping
  // block (its tombstones file rewritten atomically).
  [[nodiscard]] absl::Status Delete(int64_t mint, int64_t maxt,
                                    const std::vector<labels::Matcher>& ms);
  // Rewrites every block that has tombstones without the deleted data.
  [[nodiscard]] absl::Status CleanTombstones();
  // Writes a copy of the data into `dir` (created; must be empty or
  // missing): every block hard-linked, and with `with_head` the head
  // persisted as a block there (the live DB is not changed).
  [[nodiscard]] absl::Status Snapshot(const std::string& dir, bool with_head);

  // The metas of the open blocks, by min time.
  std::vector<block::BlockMeta> Blocks() const;
  Stats GetStats() const;
  head::Head* head() { return opened_.head.get(); }
  const std::string& dir() const { return dir_; }
  const Options& options() const { return opts_; }

 private:
  class DBAppender;
  class DBQuerier;
  // The open blocks, sorted by min time; immutable once published, shared
  // by queriers (which pin the blocks they read).
  struct BlockSet {
    std::vector<std::shared_ptr<block::Block>> blocks;
  };

  DB(std::string dir, const Options& opts, const Registry* registry);
  absl::Status OpenInternal();
  void ShutdownAfterFailedOpen();
  void Log(std::string_view level, std::string_view msg) const;

  // Appends in flight, for head compaction to wait on.
  void RegisterAppend(DBAppender* a, int64_t t);
  void UnregisterAppend(DBAppender* a);
  void WaitForAppendersOverlapping(int64_t maxt);

  bool HeadCompactable() const;
  void MaybeWakeCompaction();
  void Run();  // the background loop
  // REQUIRES: cycle_mu_ held (all below).
  absl::Status CompactHeadRange(int64_t mint, int64_t maxt);
  absl::Status TruncateWal(int64_t mint);
  absl::Status CompactOooHead();
  absl::Status CompactBlocks();
  // Opens new block dirs, drops and deletes deletable ones, publishes the
  // new set.
  absl::Status ReloadBlocks();
  // ReloadBlocks after the given blocks' files changed (reopened).
  absl::Status ReloadBlocksAfterMark(const std::vector<block::Ulid>& ulids);
  // Delete's block part: rewrites the tombstones (and meta.json) of every
  // block in `set` with a matching series overlapping [mint, maxt]; appends
  // the blocks it rewrote to *changed, also when it fails midway.
  absl::Status DeleteFromBlocks(const BlockSet& set, int64_t mint, int64_t maxt,
                                const std::vector<labels::Matcher>& ms,
                                std::vector<block::Ulid>* changed);

  const std::string dir_;
  Options opts_;
  const Registry* const registry_;
  io::FileSystem* fs_;
  std::vector<int64_t> ranges_;  // compaction ranges
  std::unique_ptr<DirLock> lock_;
  const wal::WalFactory* wal_factory_ = nullptr;
  wal::WalOptions wal_options_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<headwal::WalCommitLog> commit_log_;
  std::unique_ptr<wal::Wal> wbl_;  // null without out-of-order window
  std::unique_ptr<headwal::WalCommitLog> ooo_commit_log_;
  headwal::OpenedHead opened_;
  tombstones::MemTombstones head_tombstones_;

  mutable std::mutex blocks_mu_;
  std::shared_ptr<const BlockSet> blocks_;  // guarded by blocks_mu_

  std::mutex appenders_mu_;
  std::condition_variable appenders_cv_;
  std::set<DBAppender*> open_appenders_;  // guarded by appenders_mu_

  std::mutex cycle_mu_;  // one background cycle (or Delete...) at a time
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;  // guarded by loop_mu_
  bool wake_ = false;  // guarded by loop_mu_
  std::atomic<bool> wake_pending_{false};
  std::thread loop_;
  std::atomic<bool> closed_{false};

  mutable std::mutex stats_mu_;
  Stats stats_;  // counters; guarded by stats_mu_
};

}  // namespace tsdb::db

#endif  // TSDB_DB_DB_H_
