#include "testing/test_codec/test_codec.h"

#include <bit>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"

namespace tsdb::test_codec {

namespace {

using chunkenc::Chunk;
using chunkenc::ChunkAppender;
using chunkenc::ChunkCodec;
using chunkenc::Sample;
using chunkenc::SampleIterator;

constexpr size_t kHeader = 2;
constexpr size_t kSampleSize = 16;

const uint8_t* U8(const char* p) { return reinterpret_cast<const uint8_t*>(p); }

class UncompressedIterator final : public SampleIterator {
 public:
  // `pin` (may be null) owns the bytes `data` points into.
  UncompressedIterator(std::string_view data,
                       std::shared_ptr<const std::string> pin)
      : pin_(std::move(pin)), data_(data) {
    if (data_.size() < kHeader) {
      status_ = absl::DataLossError("uncompressed chunk: no header");
      done_ = true;
      return;
    }
    total_ = GetBE16(U8(data_.data()));
  }

  bool Next() override {
    if (done_) return false;
    if (read_ == total_) {
      done_ = true;
      return false;
    }
    const size_t off = kHeader + size_t{read_} * kSampleSize;
    if (data_.size() < off + kSampleSize) {
      status_ = absl::DataLossError(
          absl::StrCat("uncompressed chunk: sample ", read_, " of ", total_,
                       " is past the end of ", data_.size(), " bytes"));
      done_ = true;
      return false;
    }
    cur_.t = static_cast<int64_t>(GetBE64(U8(data_.data() + off)));
    cur_.v = std::bit_cast<double>(GetBE64(U8(data_.data() + off + 8)));
    ++read_;
    return true;
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    while (read_ == 0 || cur_.t < t) {
      if (!Next()) return false;
    }
    return true;
  }

  Sample At() const override { return cur_; }
  absl::Status status() const override { return status_; }

 private:
  std::shared_ptr<const std::string> pin_;
  std::string_view data_;
  uint32_t total_ = 0;
  uint32_t read_ = 0;
  Sample cur_{0, 0};
  bool done_ = false;
  absl::Status status_;
};

class UncompressedChunk final : public Chunk {
 public:
  explicit UncompressedChunk(std::string bytes)
      : bytes_(std::make_shared<std::string>(std::move(bytes))) {}

  uint8_t encoding() const override { return kUncompressedEncoding; }
  std::string_view Bytes() const override { return *bytes_; }
  int NumSamples() const override { return GetBE16(U8(bytes_->data())); }

  absl::StatusOr<std::unique_ptr<ChunkAppender>> Appender() override;

  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<UncompressedIterator>(*bytes_, bytes_);
  }

  // Appends one sample, copying the bytes first if an iterator shares them.
  void Append(int64_t t, double v) {
    if (bytes_.use_count() > 1) {
      bytes_ = std::make_shared<std::string>(*bytes_);
    }
    AppendBE64(bytes_.get(), static_cast<uint64_t>(t));
    AppendBE64(bytes_.get(), std::bit_cast<uint64_t>(v));
    const uint16_t n = static_cast<uint16_t>(NumSamples() + 1);
    PutBE16(reinterpret_cast<uint8_t*>(bytes_->data()), n);
  }

  // Drops bytes past the last sample; DataLoss if samples are missing.
  absl::Status Trim() {
    const size_t want = kHeader + size_t(NumSamples()) * kSampleSize;
    if (bytes_->size() < want) {
      return absl::DataLossError(
          absl::StrCat("uncompressed chunk: ", NumSamples(), " samples need ",
                       want, " bytes, have ", bytes_->size()));
    }
    if (bytes_->size() > want) {
      bytes_ = std::make_shared<std::string>(bytes_->substr(0, want));
    }
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<std::string> bytes_;
};

class UncompressedAppender final : public ChunkAppender {
 public:
  explicit UncompressedAppender(UncompressedChunk* chunk) : chunk_(chunk) {}
  void Append(int64_t t, double v) override { chunk_->Append(t, v); }

 private:
  UncompressedChunk* chunk_;
};

absl::StatusOr<std::unique_ptr<ChunkAppender>> UncompressedChunk::Appender() {
  if (absl::Status s = Trim(); !s.ok()) return s;
  return std::make_unique<UncompressedAppender>(this);
}

class UncompressedCodec final : public ChunkCodec {
 public:
  uint8_t encoding() const override { return kUncompressedEncoding; }
  std::string_view name() const override { return "uncompressed-test"; }

  std::unique_ptr<Chunk> NewChunk() const override {
    return std::make_unique<UncompressedChunk>(std::string(kHeader, '\0'));
  }

  absl::StatusOr<std::unique_ptr<Chunk>> FromBytes(
      std::string_view data) const override {
    if (data.size() < kHeader) {
      return absl::DataLossError("uncompressed chunk: no header");
    }
    return std::make_unique<UncompressedChunk>(std::string(data));
  }

  std::unique_ptr<SampleIterator> NewIterator(
      std::string_view data) const override {
    return std::make_unique<UncompressedIterator>(data, nullptr);
  }
};

}  // namespace

absl::Status RegisterUncompressedTestCodec(chunkenc::CodecRegistry& registry) {
  return registry.Register(std::make_unique<UncompressedCodec>());
}

}  // namespace tsdb::test_codec
