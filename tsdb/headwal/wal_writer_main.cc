// wal_writer: writes a WAL with our head + WalCommitLog + the segmented WAL,
// for CLI compatibility tests and the start-up benchmark.
//   wal_writer <wal dir> <series> <samples per series> <start ms> <step ms>
//              [none|snappy] [restart]
// Series `m{i="<n>",k="<name>"}` are created in an order that is not label
// order; each commit carries one sample of every series.
// `restart` then simulates a restart without replay: a second head (refs
// from 1001 on) re-creates every other series under a new ref and writes
// samples over the same time range again, so the WAL holds duplicate series
// records (Prometheus then drops the first incarnation's samples).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"

int main(int argc, char** argv) {
  using namespace tsdb;  // NOLINT(build/namespaces): a small tool
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: wal_writer <dir> <series> <samples> <start> <step> "
                 "[none|snappy]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int series = std::atoi(argv[2]);
  const int samples = std::atoi(argv[3]);
  const int64_t start = std::atoll(argv[4]);
  const int64_t step = std::atoll(argv[5]);
  wal::WalOptions wo;
  wo.dir = dir;
  wo.log = [](std::string_view) {};
  if (argc > 6 && std::string(argv[6]) == "none") {
    wo.compression = wal::Compression::kNone;
  }
  auto w = plugins::OpenSegmentedWal(wo);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    return 1;
  }
  chunkenc::CodecRegistry codecs;
  if (!chunkenc::RegisterXorCodec(codecs).ok()) return 1;
  headwal::WalCommitLog log(w->get());
  head::HeadOptions opts;
  opts.codecs = &codecs;
  opts.commit_log = &log;
  auto h = head::Head::Open(opts);
  if (!h.ok()) return 1;
  std::vector<labels::Labels> lsets;
  for (int s = 0; s < series; ++s) {
    const int n = series - 1 - s;  // reverse label order
    lsets.push_back(labels::Labels::FromPairs(
        {{"__name__", n % 2 == 0 ? "m_even" : "m_odd"},
         {"i", std::to_string(n)},
         {"k", absl::StrCat("v\"", n % 7, "\\")}}));
  }
  std::vector<SeriesRef> refs(series, 0);
  auto app = (*h)->Appender();
  for (int i = 0; i < samples; ++i) {
    for (int s = 0; s < series; ++s) {
      const double v = (s % 3 == 0) ? i * 0.1 + s : (i * 7919 + s) % 1000;
      auto r = app->Append(refs[s], lsets[s], start + i * step, v);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      refs[s] = *r;
    }
    if (!app->Commit().ok()) return 1;
  }
  if (!(*w)->Close().ok()) return 1;
  if (argc > 7 && std::string(argv[7]) == "restart") {
    auto w2 = plugins::OpenSegmentedWal(wo);
    if (!w2.ok()) return 1;
    headwal::WalCommitLog log2(w2->get());
    opts.commit_log = &log2;
    auto h2 = head::Head::Open(opts);
    if (!h2.ok()) return 1;
    (*h2)->AdvanceLastSeriesRef(1000);
    auto app2 = (*h2)->Appender();
    for (int i = 0; i < samples / 2; ++i) {
      for (int s = 0; s < series; s += 2) {
        if (!app2->Append(0, lsets[s], start + i * step + 1, -i).ok()) {
          return 1;
        }
      }
      if (!app2->Commit().ok()) return 1;
    }
    if (!(*w2)->Close().ok()) return 1;
  }
  return 0;
}
