// Bit-exactness against the real Prometheus 2.42: the chunks promtool wrote
// for the inputs in testing/golden/xor (see regen.sh there) must decode to
// exactly the input samples, and re-encoding those samples must give exactly
// promtool's bytes.
#include <bit>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::chunkenc {
namespace {

struct GoldenChunk {
  int samples = 0;
  std::string bytes;
};

struct Golden {
  std::vector<Sample> samples;
  std::vector<GoldenChunk> chunks;
};

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string ToHex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

Golden ReadGolden(const std::string& name) {
  const std::string path = "testing/golden/xor/" + name + ".golden";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  Golden g;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    if (kind == "sample") {
      int64_t t;
      std::string bits;
      fields >> t >> bits;
      g.samples.push_back(
          {t, std::bit_cast<double>(std::stoull(bits, nullptr, 16))});
    } else if (kind == "chunk") {
      GoldenChunk c;
      std::string hex;
      fields >> c.samples >> hex;
      c.bytes = FromHex(hex);
      g.chunks.push_back(std::move(c));
    } else {
      ADD_FAILURE() << path << ": bad line: " << line;
    }
  }
  return g;
}

class XorGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterXorCodec(registry_).ok());
    auto codec = registry_.Get(kXorEncoding);
    ASSERT_TRUE(codec.ok()) << codec.status();
    codec_ = *codec;
    golden_ = ReadGolden(GetParam());
    ASSERT_FALSE(golden_.chunks.empty());
    ASSERT_FALSE(golden_.samples.empty());
  }

  CodecRegistry registry_;
  const ChunkCodec* codec_ = nullptr;
  Golden golden_;
};

void ExpectSameSamples(const std::vector<Sample>& got,
                       const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].t, want[i].t) << "sample " << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(got[i].v),
              std::bit_cast<uint64_t>(want[i].v))
        << "sample " << i << " at t=" << want[i].t;
  }
}

// (a) Prometheus's chunks decode to exactly the input samples (by bits).
TEST_P(XorGoldenTest, DecodesPrometheusChunks) {
  std::vector<Sample> next_at, batched, from_bytes;
  for (const GoldenChunk& c : golden_.chunks) {
    auto it = codec_->NewIterator(c.bytes);
    int n = 0;
    while (it->Next()) {
      next_at.push_back(it->At());
      ++n;
    }
    ASSERT_TRUE(it->status().ok()) << it->status();
    EXPECT_EQ(n, c.samples);

    auto it2 = codec_->NewIterator(c.bytes);
    int64_t ts[32];
    double vs[32];
    size_t got;
    while ((got = it2->NextBatch(ts, vs, 32)) > 0) {
      for (size_t i = 0; i < got; ++i) batched.push_back({ts[i], vs[i]});
    }
    ASSERT_TRUE(it2->status().ok()) << it2->status();

    auto chunk = codec_->FromBytes(c.bytes);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    EXPECT_EQ((*chunk)->NumSamples(), c.samples);
    auto it3 = (*chunk)->Iterator();
    while (it3->Next()) from_bytes.push_back(it3->At());
    ASSERT_TRUE(it3->status().ok()) << it3->status();
  }
  ExpectSameSamples(next_at, golden_.samples);
  ExpectSameSamples(batched, golden_.samples);
  ExpectSameSamples(from_bytes, golden_.samples);
}

// (b) Re-encoding the input samples, cut where Prometheus cut them, gives
// Prometheus's bytes exactly.
TEST_P(XorGoldenTest, ReencodesToPrometheusBytes) {
  size_t next = 0;
  for (size_t k = 0; k < golden_.chunks.size(); ++k) {
    const GoldenChunk& c = golden_.chunks[k];
    ASSERT_LE(next + static_cast<size_t>(c.samples), golden_.samples.size());
    std::unique_ptr<Chunk> chunk = codec_->NewChunk();
    auto app = chunk->Appender();
    ASSERT_TRUE(app.ok()) << app.status();
    for (int i = 0; i < c.samples; ++i, ++next) {
      (*app)->Append(golden_.samples[next].t, golden_.samples[next].v);
    }
    EXPECT_EQ(ToHex(chunk->Bytes()), ToHex(c.bytes)) << "chunk " << k;
  }
  EXPECT_EQ(next, golden_.samples.size());
}

INSTANTIATE_TEST_SUITE_P(Promtool242, XorGoldenTest,
                         ::testing::Values("counter", "gauge", "edges",
                                           "short"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tsdb::chunkenc
