// `tsdb bench write [--out=DIR] [--metrics=N] [--scrapes=N] [<file>]`: a
// synthetic ingest benchmark shaped like `promtool tsdb bench write`
// (Prometheus 2.42 cmd/promtool/tsdb.go):
//
//  - a fresh DB (tsdb/db, WAL on, background compaction off) in
//    `<out>/storage`;
//  - stage readData: `--metrics` distinct label sets, from `<file>` (one per
//    line, promtool's readPrometheusLabels format: `{"a":"b","c":"d"}` or
//    `{a="b", c="d"}`, quotes and braces ignored) or, without a file,
//    generated: {__name__="bench_metric_<i % 100>", instance="host-<i / 100>",
//    job="bench"};
//  - stage ingestScrapes: rounds of 100 scrapes; in each round the series
//    are split into shards of 1000, each appended by its own thread, one
//    commit per scrape, 30 s apart, values rising by 1000 (as promtool); a
//    progress line per round goes to stderr;
//  - samples and samples/s, then stage stopStorage (DB::Close).
// Output lines are promtool's (`>> start stage=...`, `>> completed
// stage=... duration=...`, ` > total samples: N`, ` > samples/sec: X`).
//
// Unlike promtool, `--out` is only cleared if it is empty or holds nothing
// but a `storage` dir of an earlier run (promtool removes whatever is
// there); the default is `benchout`, as promtool's.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/flags.h"
#include "tsdb/base/go_format.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/db/db.h"
#include "tsdb/io/file_system.h"

namespace tsdb::cli {
namespace {

constexpr int64_t kTimeDelta = 30000;
constexpr int kScrapesPerRound = 100;
constexpr size_t kShard = 1000;

using Clock = std::chrono::steady_clock;

std::string Since(Clock::time_point start) {
  return FormatGoDuration(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start)
          .count());
}

// promtool's readPrometheusLabels: strip '"', '{', '}', split on ',' then
// ':' (or '=' for the text form), sort, skip duplicates.
absl::StatusOr<std::vector<labels::Labels>> ReadLabels(const std::string& path,
                                                       int64_t n) {
  TSDB_ASSIGN_OR_RETURN(std::string text,
                        io::PosixFileSystem()->ReadFile(path));
  std::vector<labels::Labels> out;
  std::set<std::string> seen;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (static_cast<int64_t>(out.size()) >= n) break;
    std::string s;
    for (char c : line) {
      if (c != '"' && c != '{' && c != '}') s.push_back(c);
    }
    if (s.empty()) continue;
    std::vector<labels::Label> ls;
    for (absl::string_view chunk : absl::StrSplit(s, ',')) {
      while (!chunk.empty() && chunk.front() == ' ') chunk.remove_prefix(1);
      size_t sep = chunk.find(':');
      if (sep == std::string_view::npos) sep = chunk.find('=');
      if (sep == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": line ", line_no, ": no ':' in label \"",
                         std::string(chunk), "\""));
      }
      ls.push_back({std::string(chunk.substr(0, sep)),
                    std::string(chunk.substr(sep + 1))});
    }
    labels::Labels lset = labels::Labels::FromUnsorted(std::move(ls));
    if (!seen.insert(lset.ToString()).second) continue;
    out.push_back(std::move(lset));
  }
  return out;
}

std::vector<labels::Labels> SyntheticLabels(int64_t n) {
  std::vector<labels::Labels> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = absl::StrCat("bench_metric_", i % 100);
    const std::string inst = absl::StrCat("host-", i / 100);
    out.push_back(labels::Labels::FromPairs(
        {{"__name__", name}, {"instance", inst}, {"job", "bench"}}));
  }
  return out;
}

// Appends `scrapes` scrapes of `series` from `base_t`; returns the count.
absl::StatusOr<uint64_t> IngestShard(db::DB* store,
                                     const std::vector<labels::Labels>& lbls,
                                     size_t from, size_t to, int scrapes,
                                     int64_t base_t,
                                     std::vector<SeriesRef>* refs,
                                     std::vector<int64_t>* values) {
  uint64_t total = 0;
  int64_t ts = base_t;
  for (int i = 0; i < scrapes; ++i) {
    std::unique_ptr<db::Appender> app = store->Appender();
    ts += kTimeDelta;
    for (size_t k = from; k < to; ++k) {
      (*values)[k] += 1000;
      absl::StatusOr<SeriesRef> r =
          app->Append((*refs)[k], (*refs)[k] == 0 ? lbls[k] : labels::Labels(),
                      ts, static_cast<double>((*values)[k]));
      if (!r.ok()) return r.status();
      (*refs)[k] = *r;
      ++total;
    }
    TSDB_RETURN_IF_ERROR(app->Commit());
  }
  return total;
}

}  // namespace

absl::Status BenchWrite(const std::vector<std::string>& args,
                        const Registry& registry, std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a,
                        ParseArgs(args, {"out", "metrics", "scrapes"}, {}));
  if (a.positional.empty() || a.positional[0] != "write") {
    return absl::InvalidArgumentError(
        "usage: bench write [--out=DIR] [--metrics=N] [--scrapes=N] [<file>]");
  }
  if (a.positional.size() > 2) {
    return absl::InvalidArgumentError("bench write takes at most one <file>");
  }
  int64_t metrics = 10000, scrapes = 3000;
  for (auto [name, dst] :
       {std::pair<const char*, int64_t*>{"metrics", &metrics},
        {"scrapes", &scrapes}}) {
    if (a.values.count(name) &&
        (!absl::SimpleAtoi(a.values[name], dst) || *dst <= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": not a positive count: ", a.values[name]));
    }
  }
  const std::string out_dir =
      a.values.count("out") ? a.values["out"] : "benchout";
  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(bool exists, fs->Exists(out_dir));
  if (exists) {
    TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(out_dir));
    if (!names.empty() && names != std::vector<std::string>{"storage"}) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--out ", out_dir,
          " holds other files than an earlier run's storage/; not removing "
          "it"));
    }
    TSDB_RETURN_IF_ERROR(fs->RemoveAll(io::JoinPath(out_dir, "storage")));
  }
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(out_dir));
  const std::string dir = io::JoinPath(out_dir, "storage");

  db::Options opts;
  opts.min_block_duration = 2 * 3600 * 1000;
  opts.retention_ms = int64_t{15} * 24 * 3600 * 1000;
  opts.background = false;  // promtool: st.DisableCompactions()
  opts.log = [](std::string_view, std::string_view) {};
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<db::DB> store,
                        db::DB::Open(dir, opts, &registry));

  std::vector<labels::Labels> lbls;
  out << ">> start stage=readData\n";
  auto start = Clock::now();
  if (a.positional.size() == 2) {
    TSDB_ASSIGN_OR_RETURN(lbls, ReadLabels(a.positional[1], metrics));
  } else {
    lbls = SyntheticLabels(metrics);
  }
  out << ">> completed stage=readData duration=" << Since(start) << "\n";

  out << ">> start stage=ingestScrapes\n";
  out.flush();
  start = Clock::now();
  std::vector<SeriesRef> refs(lbls.size(), 0);
  std::vector<int64_t> values(lbls.size(), 123456789);
  uint64_t total = 0;
  for (int64_t i = 0; i < scrapes; i += kScrapesPerRound) {
    // promtool's rounds always run 100 scrapes (it may overshoot --scrapes).
    std::vector<std::thread> threads;
    std::mutex mu;
    absl::Status first_error;
    for (size_t from = 0; from < lbls.size(); from += kShard) {
      const size_t to = std::min(lbls.size(), from + kShard);
      threads.emplace_back([&, from, to] {
        absl::StatusOr<uint64_t> n =
            IngestShard(store.get(), lbls, from, to, kScrapesPerRound,
                        kTimeDelta * i, &refs, &values);
        std::lock_guard<std::mutex> l(mu);
        if (n.ok()) {
          total += *n;
        } else if (first_error.ok()) {
          first_error = n.status();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    TSDB_RETURN_IF_ERROR(first_error);
    const double secs =
        std::chrono::duration<double>(Clock::now() - start).count();
    std::string rate;
    AppendGoFloat(&rate, secs > 0 ? static_cast<double>(total) / secs : 0);
    std::cerr << "  scrapes " << std::min(i + kScrapesPerRound, scrapes) << "/"
              << scrapes << ", " << total << " samples, " << rate
              << " samples/s\n";
  }
  out << "ingestion completed\n";
  const auto dur = Clock::now() - start;
  out << ">> completed stage=ingestScrapes duration=" << Since(start) << "\n";
  std::string rate;
  AppendGoFloat(&rate, static_cast<double>(total) /
                           std::chrono::duration<double>(dur).count());
  out << " > total samples: " << total << "\n";
  out << " > samples/sec: " << rate << "\n";
  out << ">> start stage=stopStorage\n";
  start = Clock::now();
  TSDB_RETURN_IF_ERROR(store->Close());
  out << ">> completed stage=stopStorage duration=" << Since(start) << "\n";
  return absl::OkStatus();
}

}  // namespace tsdb::cli
