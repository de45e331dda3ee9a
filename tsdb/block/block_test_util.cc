#include "tsdb/block/block_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "plugins/chunkreader/pread/pread_chunk_reader.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block::testutil {

Registries::Registries() {
  if (!chunkenc::RegisterXorCodec(codecs).ok() ||
      !plugins::RegisterMmapChunkReader(readers).ok() ||
      !plugins::RegisterPreadChunkReader(readers).ok()) {
    std::abort();
  }
}

namespace {

// A test-only XOR (encoding 1) encoder, a direct transcription of
// Prometheus 2.42's xorAppender and bstream (including bstream's trailing
// zero byte after byte writes), so that test data does not depend on the
// codec plugin's appender. Decoding in tests goes through the plugin.
class XorEncoder {
 public:
  XorEncoder() : bytes_(2, 0) {}

  void Append(int64_t t, double v) {
    const uint16_t num = GetBE16(bytes_.data());
    const uint64_t vbits = std::bit_cast<uint64_t>(v);
    uint64_t t_delta = 0;
    uint8_t buf[kMaxVarintLen64];
    if (num == 0) {
      const int n = EncodeVarint(buf, t);
      for (int i = 0; i < n; ++i) WriteByte(buf[i]);
      WriteBits(vbits, 64);
    } else if (num == 1) {
      t_delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
      const int n = EncodeUvarint(buf, t_delta);
      for (int i = 0; i < n; ++i) WriteByte(buf[i]);
      WriteValue(vbits);
    } else {
      t_delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
      const int64_t dod = static_cast<int64_t>(t_delta - t_delta_);
      if (dod == 0) {
        WriteBit(false);
      } else if (InRange(dod, 14)) {
        WriteBits(0b10, 2);
        WriteBits(static_cast<uint64_t>(dod), 14);
      } else if (InRange(dod, 17)) {
        WriteBits(0b110, 3);
        WriteBits(static_cast<uint64_t>(dod), 17);
      } else if (InRange(dod, 20)) {
        WriteBits(0b1110, 4);
        WriteBits(static_cast<uint64_t>(dod), 20);
      } else {
        WriteBits(0b1111, 4);
        WriteBits(static_cast<uint64_t>(dod), 64);
      }
      WriteValue(vbits);
    }
    t_ = t;
    vbits_ = vbits;
    t_delta_ = t_delta;
    PutBE16(bytes_.data(), static_cast<uint16_t>(num + 1));
  }

  int NumSamples() const { return GetBE16(bytes_.data()); }
  std::string Bytes() const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()),
                       bytes_.size());
  }

 private:
  static bool InRange(int64_t x, int nbits) {
    return -((int64_t{1} << (nbits - 1)) - 1) <= x &&
           x <= (int64_t{1} << (nbits - 1));
  }

  void WriteBit(bool bit) {
    if (count_ == 0) {
      bytes_.push_back(0);
      count_ = 8;
    }
    if (bit) bytes_.back() |= static_cast<uint8_t>(1 << (count_ - 1));
    --count_;
  }
  void WriteByte(uint8_t b) {
    if (count_ == 0) {
      bytes_.push_back(0);
      count_ = 8;
    }
    bytes_.back() |= static_cast<uint8_t>(b >> (8 - count_));
    bytes_.push_back(static_cast<uint8_t>(b << count_));
  }
  void WriteBits(uint64_t u, int nbits) {
    u <<= 64 - nbits;
    while (nbits >= 8) {
      WriteByte(static_cast<uint8_t>(u >> 56));
      u <<= 8;
      nbits -= 8;
    }
    while (nbits-- > 0) {
      WriteBit((u >> 63) != 0);
      u <<= 1;
    }
  }
  void WriteValue(uint64_t vbits) {
    const uint64_t delta = vbits ^ vbits_;
    if (delta == 0) {
      WriteBit(false);
      return;
    }
    WriteBit(true);
    int lead = std::countl_zero(delta);
    const int trail = std::countr_zero(delta);
    if (lead >= 32) lead = 31;
    if (leading_ != 0xFF && lead >= leading_ && trail >= trailing_) {
      WriteBit(false);
      WriteBits(delta >> trailing_, 64 - leading_ - trailing_);
      return;
    }
    leading_ = static_cast<uint8_t>(lead);
    trailing_ = static_cast<uint8_t>(trail);
    WriteBit(true);
    WriteBits(static_cast<uint64_t>(lead), 5);
    const int sig = 64 - lead - trail;
    WriteBits(static_cast<uint64_t>(sig), 6);  // 64 wraps to 0
    WriteBits(delta >> trail, sig);
  }

  std::vector<uint8_t> bytes_;
  uint8_t count_ = 0;  // free bits in the last byte
  int64_t t_ = 0;
  uint64_t vbits_ = 0;
  uint64_t t_delta_ = 0;
  uint8_t leading_ = 0xFF;
  uint8_t trailing_ = 0;
};

}  // namespace

std::vector<SeriesChunks> Encode(const Registries& r,
                                 const std::vector<TestSeries>& series,
                                 size_t per_chunk, int64_t range_ms) {
  (void)r;
  std::vector<SeriesChunks> out;
  out.reserve(series.size());
  for (const TestSeries& s : series) {
    SeriesChunks sc;
    sc.lset = s.lset;
    std::optional<XorEncoder> enc;
    ChunkData cur;
    auto flush = [&] {
      if (!enc.has_value()) return;
      cur.encoding = 1;
      cur.bytes = enc->Bytes();
      cur.num_samples = enc->NumSamples();
      sc.chunks.push_back(std::move(cur));
      cur = ChunkData();
      enc.reset();
    };
    int64_t boundary = 0;
    for (const Sample& x : s.samples) {
      if (enc.has_value() &&
          (static_cast<size_t>(enc->NumSamples()) >= per_chunk ||
           (range_ms > 0 && x.t >= boundary))) {
        flush();
      }
      if (!enc.has_value()) {
        enc.emplace();
        cur.min_time = x.t;
        if (range_ms > 0) {
          // Floor division for negative timestamps.
          int64_t q = x.t / range_ms;
          if (x.t % range_ms != 0 && x.t < 0) --q;
          boundary = (q + 1) * range_ms;
        }
      }
      enc->Append(x.t, x.v);
      cur.max_time = x.t;
    }
    flush();
    out.push_back(std::move(sc));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<Sample>>> ReadAll(
    const Block& b) {
  std::map<std::string, std::vector<Sample>> out;
  auto p = b.index().Postings("", "");
  labels::Labels lset;
  std::vector<ChunkMeta> metas;
  while (p->Next()) {
    TSDB_RETURN_IF_ERROR(b.index().Series(p->At(), &lset, &metas));
    std::vector<Sample>& dst = out[lset.ToString()];
    for (const ChunkMeta& m : metas) {
      TSDB_ASSIGN_OR_RETURN(auto chunk, b.chunks().Chunk(m));
      auto it = chunk->Iterator();
      while (it->Next()) {
        const chunkenc::Sample s = it->At();
        dst.push_back({s.t, s.v});
      }
      TSDB_RETURN_IF_ERROR(it->status());
    }
  }
  TSDB_RETURN_IF_ERROR(p->status());
  return out;
}

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  (void)io::PosixFileSystem()->CreateDirs(dir);
  return dir;
}

int Run(const std::string& cmd, std::string* out, bool with_stderr) {
  const std::string full = with_stderr ? cmd + " 2>&1" : cmd;
  FILE* f = ::popen(full.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  const int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

}  // namespace tsdb::block::testutil
