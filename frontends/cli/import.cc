// `tsdb import openmetrics [-r] [-q] [--max-block-duration=D] <input file>
// [<output dir>]`: backfills an OpenMetrics text file into blocks, with
// `promtool tsdb create-blocks-from openmetrics` semantics (Prometheus 2.42,
// cmd/promtool/backfill.go):
//
//  - every sample needs a timestamp (seconds, possibly fractional; ms =
//    int64(seconds * 1000)); the file must end with `# EOF`;
//  - the block duration is 2h, or with --max-block-duration the largest of
//    Prometheus's exponential ranges (2h x 3^i, i < 10) not above it;
//  - windows [t, t + duration) start at the first sample's timestamp
//    rounded down to the duration (Go division) and step up to the last
//    sample; each window's samples, in file order, go through a fresh head
//    (chunk range 2 x duration, as promtool's BlockWriter) committed every
//    5000 samples with Prometheus's batch rules (a sample is checked against
//    the committed samples only: older than the series' last committed
//    sample is "out of order sample", same time and other value "duplicate
//    sample for timestamp", both errors; at commit, samples not after the
//    series' last one are dropped silently, so an out-of-order sample
//    within one batch vanishes); the head is written as one block
//    [first sample, last sample + 1) with block::WriteBlock;
//  - each block written is printed as a `tsdb list` row (header once)
//    unless -q; -r prints human-readable times and sizes.
// Blocks already in the output dir are kept.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontends/cli/block_table.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/flags.h"
#include "frontends/cli/openmetrics.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/head/head.h"
#include "tsdb/io/file_system.h"

namespace tsdb::cli {
namespace {

constexpr int64_t kDefaultBlockDuration = int64_t{2} * 3600 * 1000;
constexpr int kMaxSamplesInAppender = 5000;

// The head's series in label order, their chunks as stored (no re-encoding).
class HeadSeriesSource final : public block::SeriesSource {
 public:
  explicit HeadSeriesSource(head::HeadReaders r) : r_(std::move(r)) {
    p_ = r_.index->SortedPostings(r_.index->Postings("", ""));
  }
  bool Next(block::SeriesChunks* out) override {
    if (!status_.ok() || !p_->Next()) {
      if (status_.ok()) status_ = p_->status();
      return false;
    }
    std::vector<ChunkMeta> metas;
    out->chunks.clear();
    status_ = r_.index->Series(p_->At(), &out->lset, &metas);
    if (!status_.ok()) return false;
    for (const ChunkMeta& m : metas) {
      absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> c = r_.chunks->Chunk(m);
      if (!c.ok()) {
        status_ = c.status();
        return false;
      }
      block::ChunkData d;
      d.min_time = m.min_time;
      d.max_time = m.max_time;
      d.encoding = (*c)->encoding();
      d.bytes = std::string((*c)->Bytes());
      out->chunks.push_back(std::move(d));
    }
    return true;
  }
  absl::Status status() const override { return status_; }

 private:
  head::HeadReaders r_;
  std::unique_ptr<postings::Postings> p_;
  absl::Status status_;
};

}  // namespace

// Go's time.ParseDuration, in milliseconds (sub-ms parts truncated).
absl::StatusOr<int64_t> ParseGoDurationMs(const std::string& s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", s, "\""));
  };
  std::string_view in = s;
  bool neg = false;
  if (!in.empty() && (in[0] == '-' || in[0] == '+')) {
    neg = in[0] == '-';
    in.remove_prefix(1);
  }
  if (in == "0") return 0;
  if (in.empty()) return bad();
  double total_ns = 0;
  while (!in.empty()) {
    size_t i = 0;
    while (i < in.size() && ((in[i] >= '0' && in[i] <= '9') || in[i] == '.')) {
      ++i;
    }
    double num = 0;
    if (i == 0 || !absl::SimpleAtod(std::string(in.substr(0, i)), &num))
      return bad();
    in.remove_prefix(i);
    size_t u = 0;
    while (u < in.size() && !((in[u] >= '0' && in[u] <= '9') || in[u] == '.')) {
      ++u;
    }
    const std::string_view unit = in.substr(0, u);
    in.remove_prefix(u);
    double mult = 0;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") {
      mult = 1e3;
    } else if (unit == "ms") {
      mult = 1e6;
    } else if (unit == "s") {
      mult = 1e9;
    } else if (unit == "m") {
      mult = 60e9;
    } else if (unit == "h") {
      mult = 3600e9;
    } else {
      return bad();
    }
    total_ns += num * mult;
  }
  if (total_ns > 9.2e18) return bad();
  const int64_t ms = static_cast<int64_t>(total_ns) / 1000000;
  return neg ? -ms : ms;
}

// promtool's getCompatibleBlockDuration.
int64_t CompatibleBlockDuration(int64_t max_block_duration_ms) {
  int64_t d = kDefaultBlockDuration;
  if (max_block_duration_ms > kDefaultBlockDuration) {
    std::vector<int64_t> ranges;
    for (int i = 0; i < 10; ++i) {
      ranges.push_back(i == 0 ? kDefaultBlockDuration : ranges.back() * 3);
    }
    size_t idx = ranges.size() - 1;
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (ranges[i] > max_block_duration_ms) {
        idx = i - 1;
        break;
      }
    }
    d = ranges[idx];
  }
  return d;
}

absl::Status Import(const std::vector<std::string>& args,
                    const CommonFlags& common, const Registry& registry,
                    std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(
      ParsedArgs a,
      ParseArgs(args, {"max-block-duration"}, {"human-readable", "quiet"},
                {{'r', "human-readable"}, {'q', "quiet"}}));
  if (a.positional.empty() || a.positional[0] != "openmetrics") {
    return absl::InvalidArgumentError(
        "usage: import openmetrics <input file> [<output dir>] (the only "
        "input format is openmetrics)");
  }
  if (a.positional.size() < 2 || a.positional.size() > 3) {
    return absl::InvalidArgumentError(
        "import openmetrics takes <input file> [<output dir>]");
  }
  const std::string input = a.positional[1];
  const std::string dir = a.positional.size() > 2 ? a.positional[2] : "data/";
  auto flag = [&](const char* n) {
    return a.values.count(n) && a.values[n] != "false";
  };
  const bool human = flag("human-readable"), quiet = flag("quiet");
  int64_t max_block = 0;
  if (a.values.count("max-block-duration")) {
    TSDB_ASSIGN_OR_RETURN(max_block,
                          ParseGoDurationMs(a.values["max-block-duration"]));
  }
  const int64_t duration = CompatibleBlockDuration(max_block);

  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(std::string text, fs->ReadFile(input));
  absl::StatusOr<OpenMetricsData> parsed = ParseOpenMetrics(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(input, ": ", parsed.status().message()));
  }
  const OpenMetricsData& data = *parsed;
  text.clear();
  text.shrink_to_fit();
  int64_t mint = std::numeric_limits<int64_t>::max();
  int64_t maxt = std::numeric_limits<int64_t>::min();
  for (const OpenMetricsSample& s : data.samples) {
    if (!s.t_ms) {
      return absl::InvalidArgumentError(absl::StrCat(
          input, ": line ", s.line, ": expected timestamp for series ",
          data.series[s.series].ToString(), ", got none"));
    }
    mint = std::min(mint, *s.t_ms);
    maxt = std::max(maxt, *s.t_ms);
  }
  if (data.samples.empty()) mint = maxt = 0;
  mint = duration * (mint / duration);
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(dir));

  bool wrote_header = false;
  int64_t next_sample = std::numeric_limits<int64_t>::max();
  for (int64_t t = mint; t <= maxt; t += duration) {
    const int64_t upper = t + duration;
    if (next_sample != std::numeric_limits<int64_t>::max() &&
        next_sample >= upper) {
      continue;  // nothing in this window
    }
    next_sample = std::numeric_limits<int64_t>::max();
    head::HeadOptions ho;
    ho.codecs = &registry.codecs;
    ho.chunk_range = 2 * duration;
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<head::Head> head,
                          head::Head::Open(ho));
    // Prometheus's head appender checks a sample only against the series'
    // committed samples; at Commit, samples not after the series' last one
    // are dropped silently. So within one batch of 5000 an out-of-order or
    // duplicate sample vanishes, across batches it is an error. Our head is
    // stricter within a batch, so the batch rules are applied here and the
    // head gets only samples it accepts.
    struct SeriesState {
      bool has = false;
      int64_t max_t = 0;
      double last_v = 0;
      SeriesRef ref = 0;
    };
    std::vector<SeriesState> st(data.series.size());
    std::vector<const OpenMetricsSample*> batch;
    std::unique_ptr<head::HeadAppender> app = head->Appender();
    uint64_t appended = 0;
    auto commit = [&]() -> absl::Status {
      for (const OpenMetricsSample* s : batch) {
        SeriesState& ss = st[s->series];
        if (ss.has && *s->t_ms <= ss.max_t) continue;  // dropped at commit
        absl::StatusOr<SeriesRef> r = app->Append(
            ss.ref, ss.ref == 0 ? data.series[s->series] : labels::Labels(),
            *s->t_ms, s->v);
        if (!r.ok()) {
          return absl::Status(
              r.status().code(),
              absl::StrCat(input, ": line ", s->line,
                           ": add sample: ", r.status().message()));
        }
        ss.ref = *r;
        ss.has = true;
        ss.max_t = *s->t_ms;
        ss.last_v = s->v;
        ++appended;
      }
      batch.clear();
      return app->Commit();
    };
    for (const OpenMetricsSample& s : data.samples) {
      const int64_t ts = *s.t_ms;
      if (ts < t) continue;
      if (ts >= upper) {
        next_sample = std::min(next_sample, ts);
        continue;
      }
      const SeriesState& ss = st[s.series];
      if (ss.has && ts <= ss.max_t) {
        const bool same = ts == ss.max_t &&
                          std::memcmp(&ss.last_v, &s.v, sizeof(double)) == 0;
        if (!same) {
          return absl::InvalidArgumentError(
              absl::StrCat(input, ": line ", s.line, ": add sample: ",
                           ts < ss.max_t ? "out of order sample"
                                         : "duplicate sample for timestamp",
                           " (series ", data.series[s.series].ToString(),
                           ", timestamp ", ts, ")"));
        }
      }
      batch.push_back(&s);
      if (batch.size() >= static_cast<size_t>(kMaxSamplesInAppender)) {
        TSDB_RETURN_IF_ERROR(commit());
      }
    }
    TSDB_RETURN_IF_ERROR(commit());
    if (appended == 0 || head->MinTime() > head->MaxTime()) continue;
    block::BlockWriterOptions bo;
    bo.min_time = head->MinTime();
    bo.max_time = head->MaxTime() + 1;
    head::ReadOptions ro;
    ro.isolation = false;
    HeadSeriesSource src(head->Readers(*bo.min_time, *bo.max_time, ro));
    absl::StatusOr<block::BlockMeta> meta = block::WriteBlock(fs, dir, src, bo);
    if (absl::IsFailedPrecondition(meta.status())) continue;  // no samples
    TSDB_RETURN_IF_ERROR(meta.status());
    if (quiet) continue;
    TSDB_ASSIGN_OR_RETURN(
        std::unique_ptr<block::Block> b,
        block::Block::Open(io::JoinPath(dir, meta->ulid.ToString()),
                           registry.chunk_readers, common.chunk_reader,
                           &registry.codecs));
    std::vector<std::vector<std::string>> rows;
    if (!wrote_header) rows.push_back(BlockTableHeader());
    wrote_header = true;
    rows.push_back(BlockTableRow(*b, human));
    WriteBlockTable(rows, out);
    out.flush();
  }
  return absl::OkStatus();
}

}  // namespace tsdb::cli
