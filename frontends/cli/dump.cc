// `tsdb dump`: every float sample of a data dir, one line each, exactly as
// `promtool tsdb dump` prints them: `<labels> <%g value> <timestamp ms>`.
//
// Sources, as promtool's OpenDBReadOnly + DB.Querier (2.42): the blocks that
// overlap [min-time, max-time], and the head, which holds the WAL (`<dir>/wal`)
// replayed into a temporary in-memory head when the last block ends at or
// before max-time (samples before the last block's max time are dropped,
// Head.Init(maxBlockTime)). The head is a source when max-time >= its min
// time (an empty head's min time is INT64_MAX). Several sources are merged
// in label order; a single source is printed in its own order (for the
// head: series creation order). Prometheus 2.42 also counts its empty
// out-of-order head as a source when the range is the full default one
// (its [minOOOTime, maxOOOTime] starts as [INT64_MAX, INT64_MIN], which
// only that range "overlaps"), so a head-only dump is sorted without time
// bounds and in creation order with them. Checked against promtool.
// The head is loaded as Prometheus's start-up does (headwal::OpenHeadFromDir):
// m-mapped chunks from `<dir>/chunks_head` first, then the WAL, whose
// samples already in those chunks are skipped, then the WBL. The data dir is
// never written: all file access goes through a ReadOnlyOverlayFileSystem
// (read_only_fs.h), so head chunks cut during the replay and the repair of a
// damaged chunks_head file happen in memory only; the WAL is read, not opened
// for writing, and a torn tail ends the replay (with a warning) instead of a
// repair.
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/data_dir.h"
#include "frontends/cli/flags.h"
#include "frontends/cli/read_only_fs.h"
#include "tsdb/base/go_format.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/labels/selector.h"
#include "tsdb/querier/select.h"

namespace tsdb::cli {
namespace {

absl::StatusOr<int64_t> ParseTime(const ParsedArgs& a, const std::string& name,
                                  int64_t def) {
  auto it = a.values.find(name);
  if (it == a.values.end()) return def;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": not an integer timestamp in ms: ", it->second));
  }
  return v;
}

}  // namespace

absl::Status Dump(const std::vector<std::string>& args,
                  const CommonFlags& common, const Registry& registry,
                  std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a,
                        ParseArgs(args, {"min-time", "max-time", "match"}, {}));
  if (a.positional.size() > 1) {
    return absl::InvalidArgumentError("dump takes at most one <db path>");
  }
  const std::string dir = a.positional.empty() ? "data/" : a.positional[0];
  querier::SelectOptions opts;
  TSDB_ASSIGN_OR_RETURN(
      opts.mint, ParseTime(a, "min-time", std::numeric_limits<int64_t>::min()));
  TSDB_ASSIGN_OR_RETURN(
      opts.maxt, ParseTime(a, "max-time", std::numeric_limits<int64_t>::max()));
  const std::string match =
      a.values.count("match") ? a.values["match"] : "{__name__=~'(?s:.*)'}";
  TSDB_ASSIGN_OR_RETURN(std::vector<labels::Matcher> matchers,
                        labels::ParseSelector(match));

  TSDB_ASSIGN_OR_RETURN(auto blocks,
                        OpenBlocks(dir, registry, common.chunk_reader));
  // The head, as Prometheus's read-only open builds it
  // (headwal::OpenHeadFromDir: m-mapped chunks from chunks_head, the WAL,
  // the WBL), through an overlay that keeps whatever the start-up would
  // write (chunks cut during the replay, a repair of a damaged chunks_head
  // file) in memory: the data dir is never modified.
  ReadOnlyOverlayFileSystem overlay(io::PosixFileSystem());
  const int64_t max_block_time = blocks.empty()
                                     ? std::numeric_limits<int64_t>::min()
                                     : blocks.back()->meta().max_time;
  headwal::OpenedHead opened;
  head::HeadOptions head_opts;
  head_opts.codecs = &registry.codecs;
  if (max_block_time <= opts.maxt) {
    chunks::ChunkDiskMapperOptions mapper_opts;
    mapper_opts.preallocate_size = 0;
    // A corrupt WAL: Prometheus keeps what precedes the damage and repairs
    // (cuts) the WAL on disk; a read-only dump only warns.
    headwal::WalRepairFn no_repair = [](const std::string& wal_dir,
                                        const wal::Corruption& at) {
      std::cerr << "warning: WAL replay stopped at " << at.path << " offset "
                << at.offset << ": " << at.reason << " (in " << wal_dir
                << "; not repaired: read-only)\n";
      return absl::OkStatus();
    };
    TSDB_ASSIGN_OR_RETURN(opened, headwal::OpenHeadFromDir(
                                      &overlay, dir, head_opts, /*workers=*/2,
                                      [](std::string_view) {}, max_block_time,
                                      mapper_opts, no_repair));
    const headwal::StartupResult& r = opened.startup;
    if (r.scan.corruption) {
      std::cerr << "warning: " << r.scan.corruption_status.message()
                << " (not on disk: read-only); its samples come from the WAL\n";
    }
    if (r.mapped_discarded_all) {
      std::cerr << "warning: chunks_head: " << r.discard_reason
                << "; ignoring the m-mapped chunks, replaying the WAL\n";
    }
  } else {
    TSDB_ASSIGN_OR_RETURN(opened.head, head::Head::Open(head_opts));
  }
  head::Head* head = opened.head.get();

  std::vector<querier::DeletedIntervalsFn> deleted;
  deleted.reserve(blocks.size());
  std::vector<std::unique_ptr<querier::SeriesSet>> sets;
  for (const auto& b : blocks) {
    if (b->meta().max_time <= opts.mint || b->meta().min_time > opts.maxt) {
      continue;
    }
    const tombstones::MemTombstones* ts = &b->tombstones();
    deleted.push_back([ts](SeriesRef ref) { return ts->Get(ref); });
    querier::SelectOptions o = opts;
    o.deleted = &deleted.back();
    TSDB_ASSIGN_OR_RETURN(
        auto set, querier::Select(b->index(), b->chunks(), matchers, o));
    sets.push_back(std::move(set));
  }
  // Prometheus also queries its (empty: the WAL has no out-of-order
  // samples) out-of-order head when [mint, maxt] overlaps [minOOOTime,
  // maxOOOTime] = [INT64_MAX, INT64_MIN]: only for the full default range.
  const bool ooo_head_source =
      opts.mint == std::numeric_limits<int64_t>::min() &&
      opts.maxt == std::numeric_limits<int64_t>::max();
  head::HeadReaders head_readers;
  if (opts.maxt >= head->MinTime()) {
    head_readers = head->Readers(opts.mint, opts.maxt);
    querier::SelectOptions o = opts;
    o.sorted = !sets.empty() || ooo_head_source;
    TSDB_ASSIGN_OR_RETURN(
        auto set, querier::Select(*head_readers.index, *head_readers.chunks,
                                  matchers, o));
    sets.push_back(std::move(set));
  }
  // One source (and no out-of-order head): promtool prints it unmerged, in
  // its postings order (the head's is series creation order).
  std::unique_ptr<querier::SeriesSet> merged =
      sets.size() == 1 && !ooo_head_source
          ? std::move(sets[0])
          : querier::MergeSeriesSets(std::move(sets));
  std::string line;
  while (merged->Next()) {
    const querier::Series& s = merged->At();
    const std::string lset = s.Labels().ToString();
    auto it = s.Iterator();
    while (it->Next()) {
      const chunkenc::Sample smp = it->At();
      line.assign(lset);
      line.push_back(' ');
      AppendGoFloat(&line, smp.v);
      line.push_back(' ');
      line += std::to_string(smp.t);
      line.push_back('\n');
      out << line;
    }
    TSDB_RETURN_IF_ERROR(it->status());
  }
  return merged->status();
}

}  // namespace tsdb::cli
