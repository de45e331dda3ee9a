#include "tsdb/wal/checkpoint.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::wal {
namespace {

constexpr size_t kBatchBytes = 1 << 20;

class BatchWriter {
 public:
  explicit BatchWriter(Wal* w) : wal_(w) {}
  std::string* Next() {
    recs_.emplace_back();
    return &recs_.back();
  }
  void DropLast() { recs_.pop_back(); }
  absl::Status MaybeFlush(bool force) {
    size_t bytes = 0;
    for (const std::string& r : recs_) bytes += r.size();
    if (!force && bytes < kBatchBytes) return absl::OkStatus();
    if (recs_.empty()) return absl::OkStatus();
    std::vector<std::string_view> views(recs_.begin(), recs_.end());
    TSDB_RETURN_IF_ERROR(wal_->Log(views));
    recs_.clear();
    return absl::OkStatus();
  }

 private:
  Wal* wal_;
  std::vector<std::string> recs_;
};

}  // namespace

absl::StatusOr<CheckpointStats> Checkpoint(
    const WalOptions& wal_options, const WalFactory& open_wal, int from, int to,
    const std::function<bool(uint64_t ref)>& keep_series, int64_t mint) {
  io::FileSystem* fs =
      wal_options.fs != nullptr ? wal_options.fs : io::PosixFileSystem();
  const std::string& dir = wal_options.dir;
  const LogFn log = wal_options.log ? wal_options.log : LogFn(LogToStderr);
  CheckpointStats stats;
  stats.checkpoint = to;
  log(absl::StrCat("Creating checkpoint from_segment=", from,
                   " to_segment=", to, " mint=", mint));

  std::vector<SegmentFile> inputs;
  TSDB_ASSIGN_OR_RETURN(int last_cp, LastCheckpoint(fs, dir));
  if (last_cp >= 0) {
    if (from > last_cp + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected gap to last checkpoint. expected:", last_cp + 1,
          ", requested:", from));
    }
    from = last_cp + 1;
    TSDB_ASSIGN_OR_RETURN(
        inputs,
        SegmentsInDir(fs, io::JoinPath(dir, CheckpointName(last_cp)), 0, -1));
  }
  TSDB_ASSIGN_OR_RETURN(std::vector<SegmentFile> segs,
                        SegmentsInDir(fs, dir, from, to));
  inputs.insert(inputs.end(), segs.begin(), segs.end());

  const std::string cpdir = io::JoinPath(dir, CheckpointName(to));
  const std::string cptmp = cpdir + ".tmp";
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(cptmp));
  WalOptions cp_options = wal_options;
  cp_options.dir = cptmp;
  cp_options.repair_on_open = false;
  cp_options.sync_on_log = false;
  absl::Status status = [&]() -> absl::Status {
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<Wal> cp, open_wal(cp_options));
    BatchWriter out(cp.get());
    Reader reader(fs, inputs);
    std::vector<record::RefSeries> series;
    std::vector<record::RefSample> samples;
    std::vector<record::Stone> stones;
    std::vector<record::RefExemplar> exemplars;
    std::vector<record::RefMetadata> metadata;
    std::map<uint64_t, record::RefMetadata> latest_metadata;
    while (reader.Next()) {
      const std::string_view rec = reader.record();
      switch (record::Type(rec)) {
        case record::RecordType::kSeries: {
          series.clear();
          TSDB_RETURN_IF_ERROR(record::DecodeSeries(rec, &series));
          std::vector<record::RefSeries> kept;
          for (auto& s : series) {
            if (keep_series(s.ref)) kept.push_back(std::move(s));
          }
          stats.total_series += series.size();
          stats.dropped_series += series.size() - kept.size();
          if (!kept.empty()) record::EncodeSeries(kept, out.Next());
          break;
        }
        case record::RecordType::kSamples: {
          samples.clear();
          TSDB_RETURN_IF_ERROR(record::DecodeSamples(rec, &samples));
          std::vector<record::RefSample> kept;
          for (const auto& s : samples) {
            if (s.t >= mint) kept.push_back(s);
          }
          stats.total_samples += samples.size();
          stats.dropped_samples += samples.size() - kept.size();
          if (!kept.empty()) record::EncodeSamples(kept, out.Next());
          break;
        }
        case record::RecordType::kTombstones: {
          stones.clear();
          TSDB_RETURN_IF_ERROR(record::DecodeTombstones(rec, &stones));
          std::vector<record::Stone> kept;
          for (const auto& s : stones) {
            if (s.maxt >= mint) kept.push_back(s);
          }
          stats.total_tombstones += stones.size();
          stats.dropped_tombstones += stones.size() - kept.size();
          if (!kept.empty()) record::EncodeTombstones(kept, out.Next());
          break;
        }
        case record::RecordType::kExemplars: {
          exemplars.clear();
          TSDB_RETURN_IF_ERROR(record::DecodeExemplars(rec, &exemplars));
          std::vector<record::RefExemplar> kept;
          for (auto& e : exemplars) {
            if (e.t >= mint) kept.push_back(std::move(e));
          }
          stats.total_exemplars += exemplars.size();
          stats.dropped_exemplars += exemplars.size() - kept.size();
          if (!kept.empty()) record::EncodeExemplars(kept, out.Next());
          break;
        }
        case record::RecordType::kMetadata: {
          metadata.clear();
          TSDB_RETURN_IF_ERROR(record::DecodeMetadata(rec, &metadata));
          for (auto& m : metadata) {
            if (keep_series(m.ref)) latest_metadata[m.ref] = std::move(m);
          }
          break;
        }
        default:
          ++stats.dropped_other_records;
          break;
      }
      TSDB_RETURN_IF_ERROR(out.MaybeFlush(false));
    }
    if (!reader.status().ok()) {
      return absl::DataLossError(
          absl::StrCat("read segments: ", reader.status().message()));
    }
    if (!latest_metadata.empty()) {
      std::vector<record::RefMetadata> all;
      for (auto& [ref, m] : latest_metadata) all.push_back(std::move(m));
      record::EncodeMetadata(all, out.Next());
    }
    TSDB_RETURN_IF_ERROR(out.MaybeFlush(true));
    TSDB_RETURN_IF_ERROR(cp->Close());
    TSDB_RETURN_IF_ERROR(fs->SyncDir(cptmp));
    TSDB_RETURN_IF_ERROR(fs->RemoveAll(cpdir));
    TSDB_RETURN_IF_ERROR(fs->Rename(cptmp, cpdir));
    return fs->SyncDir(dir);
  }();
  if (!status.ok()) {
    (void)fs->RemoveAll(cptmp);
    return status;
  }

  // The checkpoint is durable; drop what it replaces.
  TSDB_ASSIGN_OR_RETURN(std::vector<int> all, ListSegments(fs, dir));
  for (int i : all) {
    if (i > to) break;
    TSDB_RETURN_IF_ERROR(fs->RemoveFile(io::JoinPath(dir, SegmentName(i))));
  }
  TSDB_ASSIGN_OR_RETURN(std::vector<int> cps, ListCheckpoints(fs, dir));
  for (int c : cps) {
    if (c >= to) break;
    TSDB_RETURN_IF_ERROR(fs->RemoveAll(io::JoinPath(dir, CheckpointName(c))));
  }
  TSDB_RETURN_IF_ERROR(fs->SyncDir(dir));
  log(absl::StrCat("Checkpoint done checkpoint=", to,
                   " dropped_series=", stats.dropped_series,
                   " dropped_samples=", stats.dropped_samples));
  return stats;
}

}  // namespace tsdb::wal
