#include "tsdb/chunkenc/registry.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace tsdb::chunkenc {
namespace {

// A codec that only has an identity; enough to exercise the registry.
class FakeCodec final : public ChunkCodec {
 public:
  FakeCodec(uint8_t enc, std::string name)
      : enc_(enc), name_(std::move(name)) {}
  uint8_t encoding() const override { return enc_; }
  std::string_view name() const override { return name_; }
  std::unique_ptr<Chunk> NewChunk() const override { return nullptr; }
  absl::StatusOr<std::unique_ptr<Chunk>> FromBytes(
      std::string_view) const override {
    return absl::UnimplementedError("fake");
  }
  std::unique_ptr<SampleIterator> NewIterator(std::string_view) const override {
    return nullptr;
  }

 private:
  uint8_t enc_;
  std::string name_;
};

TEST(CodecRegistryTest, GetReturnsRegisteredCodec) {
  CodecRegistry r;
  ASSERT_TRUE(r.Register(std::make_unique<FakeCodec>(1, "XOR")).ok());
  auto c = r.Get(1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->name(), "XOR");
  EXPECT_EQ(r.Encodings(), std::vector<uint8_t>{1});
}

TEST(CodecRegistryTest, DuplicateRegistrationIsAnError) {
  CodecRegistry r;
  ASSERT_TRUE(r.Register(std::make_unique<FakeCodec>(1, "XOR")).ok());
  absl::Status s = r.Register(std::make_unique<FakeCodec>(1, "other"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("\"XOR\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("\"other\""), std::string::npos) << s;
  // The first registration is kept.
  EXPECT_EQ((*r.Get(1))->name(), "XOR");
}

TEST(CodecRegistryTest, UnknownByteNamesIt) {
  CodecRegistry r;
  ASSERT_TRUE(r.Register(std::make_unique<FakeCodec>(1, "XOR")).ok());
  auto c = r.Get(200);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("200"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("1 (XOR)"), std::string::npos)
      << c.status();
}

TEST(CodecRegistryTest, RejectsNullAndReservedByte) {
  CodecRegistry r;
  EXPECT_EQ(r.Register(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register(std::make_unique<FakeCodec>(0, "none")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.Encodings().empty());
}

TEST(EncodingNameTest, KnownAndUnknown) {
  EXPECT_EQ(EncodingName(1), "XOR");
  EXPECT_EQ(EncodingName(2), "histogram");
  EXPECT_EQ(EncodingName(3), "floathistogram");
  EXPECT_EQ(EncodingName(0), "none");
  EXPECT_EQ(EncodingName(77), "<unknown encoding 77>");
}

}  // namespace
}  // namespace tsdb::chunkenc
