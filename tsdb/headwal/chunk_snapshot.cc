#include "tsdb/headwal/chunk_snapshot.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "tsdb/base/bounded_queue.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::headwal {
namespace {

// Prometheus logs the series records in batches of about this many bytes.
constexpr size_t kFlushBytes = 10 << 20;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Parses "chunk_snapshot.<a>.<b>" as Prometheus does (two dot-separated
// decimal fields); false for anything else.
bool ParseSnapshotName(std::string_view name, int* segment, uint64_t* offset) {
  const std::string_view prefix = kChunkSnapshotPrefix;
  if (name.substr(0, prefix.size()) != prefix) return false;
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(name.data() + prefix.size(),
                                       name.size() - prefix.size()),
                     '.');
  if (parts.size() != 2) return false;
  int64_t seg = 0, off = 0;
  if (!absl::SimpleAtoi(parts[0], &seg) || !absl::SimpleAtoi(parts[1], &off) ||
      seg < 0 || off < 0 || seg > std::numeric_limits<int>::max()) {
    return false;
  }
  *segment = static_cast<int>(seg);
  *offset = static_cast<uint64_t>(off);
  return true;
}

absl::Status SnapshotError(std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("chunk snapshot: ", std::string(what)));
}

void AppendBEDouble(std::string* out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  AppendBE64(out, bits);
}

}  // namespace

std::string ChunkSnapshotDirName(int segment, uint64_t offset) {
  return absl::StrFormat("%s%06d.%010d", kChunkSnapshotPrefix, segment, offset);
}

absl::StatusOr<std::optional<ChunkSnapshotRef>> LastChunkSnapshot(
    io::FileSystem* fs, const std::string& data_dir) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(bool exists, fs->Exists(data_dir));
  if (!exists) return std::optional<ChunkSnapshotRef>();
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(data_dir));
  std::optional<ChunkSnapshotRef> best;
  for (const std::string& name : names) {
    int segment = 0;
    uint64_t offset = 0;
    if (!ParseSnapshotName(name, &segment, &offset)) continue;
    const std::string path = io::JoinPath(data_dir, name);
    TSDB_ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
    if (!is_dir) {
      return absl::FailedPreconditionError(
          absl::StrCat("chunk snapshot ", path, " is not a directory"));
    }
    if (!best.has_value() || segment > best->segment ||
        (segment == best->segment && offset > best->offset)) {
      best = ChunkSnapshotRef{path, segment, offset};
    }
  }
  return best;
}

absl::StatusOr<int> DeleteChunkSnapshots(io::FileSystem* fs,
                                         const std::string& data_dir,
                                         int segment, uint64_t offset) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(data_dir));
  int deleted = 0;
  absl::Status first_error;
  for (const std::string& name : names) {
    int seg = 0;
    uint64_t off = 0;
    if (!ParseSnapshotName(name, &seg, &off)) continue;
    if (seg < segment || (seg == segment && off < offset)) {
      absl::Status st = fs->RemoveAll(io::JoinPath(data_dir, name));
      if (st.ok()) {
        ++deleted;
      } else if (first_error.ok()) {
        first_error = st;
      }
    }
  }
  TSDB_RETURN_IF_ERROR(first_error);
  return deleted;
}

void EncodeSnapshotSeries(const head::SnapshotSeries& s, std::string* out) {
  out->push_back(static_cast<char>(kSnapshotSeriesRecord));
  AppendBE64(out, s.ref);
  AppendUvarint(out, s.labels.size());
  for (const labels::Label& l : s.labels) {
    AppendUvarintStr(out, l.name);
    AppendUvarintStr(out, l.value);
  }
  // Was the chunk range; Prometheus 2.42 writes 0 and ignores it.
  AppendBE64(out, 0);
  if (!s.has_open_chunk) {
    AppendUvarint(out, 0);
    return;
  }
  AppendUvarint(out, 1);
  AppendBE64(out, static_cast<uint64_t>(s.open.min_time));
  AppendBE64(out, static_cast<uint64_t>(s.open.max_time));
  out->push_back(static_cast<char>(s.open.encoding));
  AppendUvarintStr(out, s.open.bytes);
  // The four (t, v) slots of the removed sampleBuf: three zero pairs, then
  // (0, last value).
  for (int i = 0; i < 7; ++i) AppendBE64(out, 0);
  AppendBEDouble(out, s.open.last_value);
}

absl::Status DecodeSnapshotSeries(std::string_view rec,
                                  head::SnapshotSeries* out) {
  Decbuf d(rec);
  const uint8_t type = d.Byte();
  if (d.ok() && type != kSnapshotSeriesRecord) {
    return SnapshotError(
        absl::StrCat("invalid series record type ", static_cast<int>(type)));
  }
  out->ref = d.BE64();
  const uint64_t n = d.Uvarint();
  if (d.ok() && n > d.Remaining() / 2) {
    return SnapshotError(absl::StrCat("series record with ", n, " labels in ",
                                      rec.size(), " bytes"));
  }
  std::vector<labels::Label> ls;
  ls.reserve(d.ok() ? n : 0);
  for (uint64_t i = 0; d.ok() && i < n; ++i) {
    const std::string_view name = d.UvarintStr();
    const std::string_view value = d.UvarintStr();
    ls.push_back(labels::Label{std::string(name), std::string(value)});
  }
  d.BE64();  // was the chunk range
  const uint64_t has_chunk = d.Uvarint();
  out->has_open_chunk = d.ok() && has_chunk != 0;
  if (out->has_open_chunk) {
    out->open.min_time = static_cast<int64_t>(d.BE64());
    out->open.max_time = static_cast<int64_t>(d.BE64());
    out->open.encoding = d.Byte();
    const std::string_view bytes = d.UvarintStr();
    if (d.ok() && out->open.encoding != 1) {
      return SnapshotError(
          absl::StrCat("series ", out->ref, ": unsupported chunk encoding ",
                       static_cast<int>(out->open.encoding), " (only XOR, 1)"));
    }
    out->open.bytes.assign(bytes.data(), bytes.size());
    for (int i = 0; i < 7; ++i) d.BE64();
    const uint64_t bits = d.BE64();
    std::memcpy(&out->open.last_value, &bits, sizeof(bits));
  }
  if (!d.ok()) {
    return SnapshotError(absl::StrCat("series record: ", d.status().message()));
  }
  // Trailing bytes are accepted, as Prometheus 2.42 does.
  out->labels = labels::Labels::FromUnsorted(std::move(ls));
  return absl::OkStatus();
}

void EncodeSnapshotTombstones(const std::vector<record::Stone>& stones,
                              std::string* out) {
  // Prometheus's tombstones.Encode: the format version, then the entries
  // (no magic, no CRC), as one length-prefixed byte string.
  std::string body;
  body.push_back(static_cast<char>(tombstones::kTombstoneFormatV1));
  for (const record::Stone& st : stones) {
    AppendUvarint(&body, st.ref);
    AppendVarint(&body, st.mint);
    AppendVarint(&body, st.maxt);
  }
  out->push_back(static_cast<char>(kSnapshotTombstonesRecord));
  AppendUvarintStr(out, body);
}

absl::Status DecodeSnapshotTombstones(std::string_view rec,
                                      std::vector<record::Stone>* out) {
  Decbuf d(rec);
  const uint8_t type = d.Byte();
  if (d.ok() && type != kSnapshotTombstonesRecord) {
    return SnapshotError(absl::StrCat("invalid tombstones record type ",
                                      static_cast<int>(type)));
  }
  const std::string_view body = d.UvarintStr();
  if (!d.ok()) {
    return SnapshotError(
        absl::StrCat("tombstones record: ", d.status().message()));
  }
  Decbuf b(body);
  const uint8_t version = b.Byte();
  if (b.ok() && version != tombstones::kTombstoneFormatV1) {
    return SnapshotError(
        absl::StrCat("invalid tombstone format ", static_cast<int>(version)));
  }
  while (b.ok() && b.Remaining() > 0) {
    record::Stone st;
    st.ref = b.Uvarint();
    st.mint = b.Varint();
    st.maxt = b.Varint();
    if (b.ok()) out->push_back(st);
  }
  if (!b.ok()) {
    return SnapshotError(absl::StrCat("tombstones: ", b.status().message()));
  }
  return absl::OkStatus();
}

absl::Status StreamChunkSnapshot(
    io::FileSystem* fs, const std::string& dir, size_t batch,
    const std::function<bool(std::vector<head::SnapshotSeries>&)>& on_series,
    DecodedChunkSnapshot* rest) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  batch = std::max<size_t>(1, batch);
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, dir, 0, -1));
  if (segs.empty()) {
    return SnapshotError(absl::StrCat(dir, " holds no segment"));
  }
  std::vector<head::SnapshotSeries> series;
  series.reserve(batch);
  wal::Reader reader(fs, std::move(segs));
  while (reader.Next()) {
    const std::string_view rec = reader.record();
    if (rec.empty()) {
      return SnapshotError(absl::StrCat(dir, ": empty record"));
    }
    absl::Status st;
    switch (static_cast<uint8_t>(rec[0])) {
      case kSnapshotSeriesRecord:
        series.emplace_back();
        st = DecodeSnapshotSeries(rec, &series.back());
        break;
      case kSnapshotTombstonesRecord:
        st = DecodeSnapshotTombstones(rec, &rest->tombstones);
        break;
      case kSnapshotExemplarsRecord:
        ++rest->exemplar_records;
        break;
      default:
        st = SnapshotError(absl::StrCat("unsupported snapshot record type ",
                                        static_cast<int>(rec[0])));
        break;
    }
    if (!st.ok()) {
      return absl::DataLossError(
          absl::StrCat(dir, " segment ", reader.segment(), " offset ",
                       reader.offset(), ": ", st.message()));
    }
    if (series.size() >= batch) {
      if (!on_series(series)) return absl::OkStatus();
      series.clear();
    }
  }
  if (!reader.status().ok()) {
    return absl::Status(
        reader.status().code(),
        absl::StrCat("chunk snapshot ", dir, ": ", reader.status().message()));
  }
  if (!series.empty()) on_series(series);
  return absl::OkStatus();
}

absl::StatusOr<DecodedChunkSnapshot> ReadChunkSnapshot(io::FileSystem* fs,
                                                       const std::string& dir) {
  DecodedChunkSnapshot out;
  TSDB_RETURN_IF_ERROR(StreamChunkSnapshot(
      fs, dir, 4096,
      [&out](std::vector<head::SnapshotSeries>& b) {
        std::move(b.begin(), b.end(), std::back_inserter(out.series));
        return true;
      },
      &out));
  return out;
}

absl::StatusOr<SnapshotWriteResult> WriteChunkSnapshot(
    const head::Head& head, io::FileSystem* fs, const std::string& data_dir,
    wal::Wal* wal, const tombstones::MemTombstones* tombstones,
    const WalOpenFn& open_wal, wal::Compression compression, wal::LogFn log) {
  if (wal == nullptr || open_wal == nullptr) {
    return absl::InvalidArgumentError("chunk snapshot: no WAL or WAL opener");
  }
  if (fs == nullptr) fs = io::PosixFileSystem();
  if (log == nullptr) log = wal::LogToStderr;
  const auto start = std::chrono::steady_clock::now();
  SnapshotWriteResult out;

  // The WAL position: the end of the segment just closed.
  TSDB_ASSIGN_OR_RETURN(int next, wal->NextSegment());
  if (next < 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "chunk snapshot: WAL ", wal->dir(), " started segment ", next));
  }
  out.segment = next - 1;
  TSDB_ASSIGN_OR_RETURN(
      out.offset,
      fs->FileSize(io::JoinPath(wal->dir(), wal::SegmentName(out.segment))));

  out.dir =
      io::JoinPath(data_dir, ChunkSnapshotDirName(out.segment, out.offset));
  const std::string tmp = out.dir + ".tmp";
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(tmp));
  wal::WalOptions wo;
  wo.fs = fs;
  wo.dir = tmp;
  wo.compression = compression;
  wo.repair_on_open = false;
  wo.log = [](std::string_view) {};
  absl::Status st = [&]() -> absl::Status {
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<wal::Wal> cp, open_wal(wo));
    std::string buf;
    std::vector<size_t> ends;
    absl::Status write_status;
    auto flush = [&]() -> absl::Status {
      if (ends.empty()) return absl::OkStatus();
      std::vector<std::string_view> recs;
      recs.reserve(ends.size());
      size_t begin = 0;
      for (size_t end : ends) {
        recs.emplace_back(buf.data() + begin, end - begin);
        begin = end;
      }
      absl::Status s = cp->Log(absl::MakeConstSpan(recs));
      buf.clear();
      ends.clear();
      return s;
    };
    head.ForEachSeriesForSnapshot([&](const head::SnapshotSeries& s) {
      if (!write_status.ok()) return;
      EncodeSnapshotSeries(s, &buf);
      ends.push_back(buf.size());
      ++out.series;
      if (s.has_open_chunk) ++out.open_chunks;
      if (buf.size() > kFlushBytes) write_status = flush();
    });
    TSDB_RETURN_IF_ERROR(write_status);
    std::vector<record::Stone> stones;
    if (tombstones != nullptr) {
      tombstones->Iterate([&](uint64_t ref, const tombstones::Intervals& ivs) {
        for (const tombstones::Interval& iv : ivs) {
          stones.push_back(record::Stone{ref, iv.mint, iv.maxt});
        }
      });
    }
    out.tombstones = static_cast<int64_t>(stones.size());
    EncodeSnapshotTombstones(stones, &buf);
    ends.push_back(buf.size());
    TSDB_RETURN_IF_ERROR(flush());
    return cp->Close();
  }();
  if (!st.ok()) {
    (void)fs->RemoveAll(tmp);
    return absl::Status(
        st.code(), absl::StrCat("chunk snapshot ", tmp, ": ", st.message()));
  }
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, tmp, 0, -1));
  for (const wal::SegmentFile& f : segs) {
    TSDB_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(f.path));
    out.bytes += size;
  }
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(out.dir));
  TSDB_RETURN_IF_ERROR(fs->Rename(tmp, out.dir));
  TSDB_RETURN_IF_ERROR(fs->SyncDir(data_dir));
  absl::StatusOr<int> deleted =
      DeleteChunkSnapshots(fs, data_dir, out.segment, out.offset);
  if (deleted.ok()) {
    out.deleted_snapshots = *deleted;
  } else {
    // Older snapshots only take space: a newer one exists.
    log(absl::StrCat("delete old chunk snapshots: ",
                     deleted.status().message()));
  }
  out.seconds = Seconds(start);
  log(absl::StrCat("chunk snapshot complete: ", out.series, " series (",
                   out.open_chunks, " open chunks), ", out.bytes, " bytes in ",
                   out.dir));
  return out;
}

absl::StatusOr<SnapshotLoadResult> LoadChunkSnapshot(
    head::Head* head, io::FileSystem* fs, const std::string& data_dir,
    int64_t min_valid_time, chunks::MappedChunks* mapped, wal::LogFn log) {
  if (head == nullptr || mapped == nullptr) {
    return absl::InvalidArgumentError("chunk snapshot: null head or chunks");
  }
  if (fs == nullptr) fs = io::PosixFileSystem();
  if (log == nullptr) log = wal::LogToStderr;
  const auto start = std::chrono::steady_clock::now();
  SnapshotLoadResult out;
  absl::StatusOr<std::optional<ChunkSnapshotRef>> last =
      LastChunkSnapshot(fs, data_dir);
  if (!last.ok()) {
    out.ignored_reason = std::string(last.status().message());
    log(absl::StrCat("Could not find last chunk snapshot: ",
                     out.ignored_reason));
    return out;
  }
  if (!last->has_value()) return out;
  const ChunkSnapshotRef snap = **last;
  out.dir = snap.dir;

  const std::string wal_dir = io::JoinPath(data_dir, "wal");
  TSDB_ASSIGN_OR_RETURN(std::vector<int> segments,
                        wal::ListSegments(fs, wal_dir));
  const int wal_last = segments.empty() ? -1 : segments.back();
  if (wal_last < snap.segment) {
    // Prometheus 2.42: the snapshot is newer than the WAL; all are deleted.
    out.ignored_reason = absl::StrCat("last WAL segment ", wal_last,
                                      " is behind the snapshot ", snap.dir);
    log(absl::StrCat(out.ignored_reason, "; removing chunk snapshots"));
    absl::StatusOr<int> del =
        DeleteChunkSnapshots(fs, data_dir, std::numeric_limits<int>::max(),
                             std::numeric_limits<uint64_t>::max());
    if (!del.ok()) {
      log(absl::StrCat("delete chunk snapshots: ", del.status().message()));
    }
    return out;
  }
  TSDB_ASSIGN_OR_RETURN(int checkpoint, wal::LastCheckpoint(fs, wal_dir));
  if (checkpoint >= snap.segment) {
    // The WAL was checkpointed past the snapshot (a crash after a later
    // run truncated the WAL): the checkpoint and segments are complete.
    out.ignored_reason =
        absl::StrCat("WAL checkpoint ", checkpoint,
                     " is not older than the snapshot ", snap.dir);
    log(absl::StrCat("chunk snapshot ignored: ", out.ignored_reason));
    return out;
  }

  // Pipeline: a thread reads and decodes batches of series, the others
  // restore them.
  using Batch = std::vector<head::SnapshotSeries>;
  BoundedQueue<Batch> batches(8);
  DecodedChunkSnapshot rest;
  absl::Status read_status;
  std::thread reader([&] {
    read_status = StreamChunkSnapshot(
        fs, snap.dir, 1024,
        [&batches](Batch& b) { return batches.Push(std::move(b)); }, &rest);
    batches.Close();
    out.read_seconds = Seconds(start);
  });
  // What one restoring thread did.
  struct Restored {
    int64_t open = 0, old = 0, mapped = 0, attached = 0, series = 0;
    std::vector<uint64_t> refs;
    absl::Status status;
  };
  auto restore = [&](Restored* r) {
    std::vector<head::MappedChunk> list;
    std::vector<head::Head::NewSeries> in;
    std::vector<SeriesRef> got;
    while (std::optional<Batch> b = batches.Pop()) {
      if (!r->status.ok()) continue;  // drain
      // The batch's series at once (prefetched lookups, one lock of the
      // symbols and of the postings), then their chunks one by one.
      in.clear();
      for (const head::SnapshotSeries& s : *b) in.push_back({s.ref, &s.labels});
      r->status = head->CreateSeriesWithRefs(in, &got);
      for (size_t i = 0; r->status.ok() && i < in.size(); ++i) {
        if (got[i] != in[i].ref) {
          r->status = absl::AlreadyExistsError(absl::StrCat(
              "head: series ", in[i].labels->ToString(), " of snapshot ref ",
              in[i].ref, " already exists as ", got[i]));
        }
      }
      for (size_t i = 0; r->status.ok() && i < b->size(); ++i) {
        const head::SnapshotSeries& s = (*b)[i];
        list.clear();
        auto it = mapped->by_series.find(s.ref);
        if (it != mapped->by_series.end()) {
          for (const chunks::MappedChunkInfo& c : it->second) {
            list.push_back(head::MappedChunk{c.ref, c.min_time, c.max_time,
                                             c.num_samples});
          }
        }
        const head::SnapshotOpenChunk* open = nullptr;
        if (s.has_open_chunk) {
          if (s.open.max_time < min_valid_time) {
            ++r->old;
          } else {
            open = &s.open;
          }
        }
        absl::StatusOr<bool> kept =
            head->RestoreSeriesChunks(s.ref, list, open);
        if (!kept.ok()) {
          r->status = kept.status();
          break;
        }
        ++r->series;
        r->refs.push_back(s.ref);
        r->attached += static_cast<int64_t>(list.size());
        if (*kept) {
          ++r->open;
        } else if (open != nullptr) {
          ++r->mapped;
        }
      }
      if (!r->status.ok()) batches.Close();
    }
  };
  // Restoring is most of the work: one thread per core takes batches (the
  // head's structures are locked once per batch, so they hardly contend).
  const int restorers = static_cast<int>(
      std::clamp<unsigned>(std::thread::hardware_concurrency(), 1, 4));
  std::vector<Restored> restored(restorers);
  std::vector<std::thread> helpers;
  for (int t = 1; t < restorers; ++t) {
    helpers.emplace_back(restore, &restored[t]);
  }
  restore(&restored[0]);
  for (std::thread& t : helpers) t.join();
  int64_t n_open = 0, n_old = 0, n_mapped = 0, n_attached = 0, n_series = 0;
  absl::Status restore_status;
  for (Restored& r : restored) {
    n_open += r.open;
    n_old += r.old;
    n_mapped += r.mapped;
    n_attached += r.attached;
    n_series += r.series;
    out.refs.insert(out.refs.end(), r.refs.begin(), r.refs.end());
    if (restore_status.ok()) restore_status = r.status;
  }
  reader.join();
  if (restore_status.ok() && !read_status.ok()) restore_status = read_status;
  if (!restore_status.ok()) {
    return absl::Status(restore_status.code(),
                        absl::StrCat("load chunk snapshot ", snap.dir, ": ",
                                     restore_status.message()));
  }
  for (uint64_t ref : out.refs) mapped->by_series.erase(ref);
  out.loaded = true;
  out.segment = snap.segment;
  out.offset = snap.offset;
  out.series = n_series;
  out.open_chunks = n_open;
  out.open_chunks_too_old = n_old;
  out.open_chunks_mapped = n_mapped;
  out.mapped_chunks_attached = n_attached;
  out.exemplar_records = rest.exemplar_records;
  out.tombstones = std::move(rest.tombstones);
  out.seconds = Seconds(start);
  log(absl::StrCat("chunk snapshot loaded: ", snap.dir, ", ", out.series,
                   " series, ", out.open_chunks, " open chunks, in ",
                   out.seconds, " s"));
  return out;
}

}  // namespace tsdb::headwal
