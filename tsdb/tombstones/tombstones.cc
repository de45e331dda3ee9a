#include "tsdb/tombstones/tombstones.h"

#include <algorithm>
#include <limits>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::tombstones {

void AddInterval(Intervals* in, Interval n) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // First interval that overlaps or touches n from the left.
  auto lo = in->begin();
  if (n.mint != kMin) {
    lo = std::lower_bound(
        in->begin(), in->end(), n.mint - 1,
        [](const Interval& iv, int64_t t) { return iv.maxt < t; });
  }
  // One past the last interval that overlaps or touches n from the right.
  auto hi = in->end();
  if (n.maxt != kMax) {
    hi = std::upper_bound(
        lo, in->end(), n.maxt + 1,
        [](int64_t t, const Interval& iv) { return t < iv.mint; });
  }
  if (lo == hi) {
    in->insert(lo, n);
    return;
  }
  Interval merged{std::min(n.mint, lo->mint), std::max(n.maxt, (hi - 1)->maxt)};
  *lo = merged;
  in->erase(lo + 1, hi);
}

bool IsDeleted(const Intervals& in, int64_t t) {
  auto it = std::lower_bound(
      in.begin(), in.end(), t,
      [](const Interval& iv, int64_t x) { return iv.maxt < x; });
  return it != in.end() && it->mint <= t;
}

void MemTombstones::AddInterval(uint64_t ref, Interval iv) {
  std::unique_lock lock(mu_);
  tombstones::AddInterval(&intervals_[ref], iv);
}

Intervals MemTombstones::Get(uint64_t ref) const {
  std::shared_lock lock(mu_);
  auto it = intervals_.find(ref);
  return it == intervals_.end() ? Intervals{} : it->second;
}

void MemTombstones::Iterate(
    const std::function<void(uint64_t, const Intervals&)>& fn) const {
  std::shared_lock lock(mu_);
  for (const auto& [ref, ivs] : intervals_) fn(ref, ivs);
}

void MemTombstones::DeleteTombstones(const std::vector<uint64_t>& refs) {
  std::unique_lock lock(mu_);
  for (uint64_t r : refs) intervals_.erase(r);
}

void MemTombstones::TruncateBefore(int64_t t) {
  std::unique_lock lock(mu_);
  for (auto it = intervals_.begin(); it != intervals_.end();) {
    Intervals& ivs = it->second;
    Intervals kept;
    for (Interval iv : ivs) {
      if (iv.maxt < t) continue;
      iv.mint = std::max(iv.mint, t);
      kept.push_back(iv);
    }
    if (kept.empty()) {
      it = intervals_.erase(it);
    } else {
      ivs = std::move(kept);
      ++it;
    }
  }
}

uint64_t MemTombstones::NumTombstones() const {
  std::shared_lock lock(mu_);
  uint64_t n = 0;
  for (const auto& [ref, ivs] : intervals_) n += ivs.size();
  return n;
}

size_t MemTombstones::NumSeries() const {
  std::shared_lock lock(mu_);
  return intervals_.size();
}

std::string Encode(const MemTombstones& ts) {
  std::string out;
  AppendBE32(&out, kMagicTombstone);
  out.push_back(static_cast<char>(kTombstoneFormatV1));
  ts.Iterate([&](uint64_t ref, const Intervals& ivs) {
    for (const Interval& iv : ivs) {
      AppendUvarint(&out, ref);
      AppendVarint(&out, iv.mint);
      AppendVarint(&out, iv.maxt);
    }
  });
  AppendBE32(&out, crc32c::Value(out.data() + 5, out.size() - 5));
  return out;
}

absl::StatusOr<std::unique_ptr<MemTombstones>> Decode(std::string_view path,
                                                      std::string_view data) {
  auto err = [&](uint64_t off, std::string_view what) {
    return absl::DataLossError(absl::StrCat("tombstones ", std::string(path),
                                            " offset ", off, ": ",
                                            std::string(what)));
  };
  if (data.size() < 9) {
    return err(0, absl::StrCat("file has ", data.size(),
                               " bytes, fewer than the 9 of an empty file"));
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const uint32_t magic = GetBE32(p);
  if (magic != kMagicTombstone) {
    return err(0, absl::StrCat("invalid magic number ", absl::Hex(magic)));
  }
  const size_t crc_at = data.size() - 4;
  const uint32_t want = GetBE32(p + crc_at);
  const uint32_t got = crc32c::Value(p + 5, crc_at - 5);
  if (want != got) {
    return err(crc_at,
               absl::StrCat("checksum mismatch: stored ",
                            absl::Hex(want, absl::kZeroPad8), ", computed ",
                            absl::Hex(got, absl::kZeroPad8)));
  }
  if (p[4] != kTombstoneFormatV1) {
    return err(4, absl::StrCat("invalid tombstone format version ",
                               static_cast<int>(p[4])));
  }
  auto ts = std::make_unique<MemTombstones>();
  Decbuf d(p + 5, crc_at - 5);
  while (d.Remaining() > 0) {
    const size_t at = 5 + d.Offset();
    const uint64_t ref = d.Uvarint();
    const int64_t mint = d.Varint();
    const int64_t maxt = d.Varint();
    if (!d.ok()) {
      return err(at, absl::StrCat("bad entry: ", d.status().message()));
    }
    ts->AddInterval(ref, {mint, maxt});
  }
  return ts;
}

absl::StatusOr<uint64_t> WriteFile(io::FileSystem* fs, const std::string& dir,
                                   const MemTombstones& ts) {
  const std::string path = io::JoinPath(dir, kTombstonesFileName);
  const std::string tmp = path + ".tmp";
  const std::string bytes = Encode(ts);
  {
    TSDB_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(tmp));
    TSDB_RETURN_IF_ERROR(f->Append(bytes));
    TSDB_RETURN_IF_ERROR(f->Sync());
    TSDB_RETURN_IF_ERROR(f->Close());
  }
  TSDB_RETURN_IF_ERROR(fs->Rename(tmp, path));
  TSDB_RETURN_IF_ERROR(fs->SyncDir(dir));
  return bytes.size();
}

absl::StatusOr<std::unique_ptr<MemTombstones>> ReadFile(io::FileSystem* fs,
                                                        const std::string& dir,
                                                        uint64_t* size) {
  const std::string path = io::JoinPath(dir, kTombstonesFileName);
  absl::StatusOr<std::string> data = fs->ReadFile(path);
  if (absl::IsNotFound(data.status())) {
    *size = 0;
    return std::make_unique<MemTombstones>();
  }
  if (!data.ok()) return data.status();
  *size = data->size();
  return Decode(path, *data);
}

}  // namespace tsdb::tombstones
