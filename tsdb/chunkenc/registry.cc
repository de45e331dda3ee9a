#include "tsdb/chunkenc/registry.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tsdb::chunkenc {

absl::Status CodecRegistry::Register(std::unique_ptr<ChunkCodec> codec) {
  if (codec == nullptr) {
    return absl::InvalidArgumentError("cannot register a null chunk codec");
  }
  const uint8_t enc = codec->encoding();
  if (enc == static_cast<uint8_t>(Encoding::kNone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk codec \"", std::string(codec->name()),
        "\" uses encoding byte 0, which is reserved for \"none\""));
  }
  if (codecs_[enc] != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(
        "chunk encoding byte ", enc, " is already registered to codec \"",
        std::string(codecs_[enc]->name()), "\"; cannot register \"",
        std::string(codec->name()), "\""));
  }
  codecs_[enc] = std::move(codec);
  return absl::OkStatus();
}

absl::StatusOr<const ChunkCodec*> CodecRegistry::Get(uint8_t encoding) const {
  if (const ChunkCodec* c = codecs_[encoding].get(); c != nullptr) return c;
  std::vector<std::string> known;
  for (uint8_t e : Encodings()) {
    known.push_back(
        absl::StrCat(e, " (", std::string(codecs_[e]->name()), ")"));
  }
  return absl::NotFoundError(
      absl::StrCat("unknown chunk encoding byte ", encoding, " (",
                   EncodingName(encoding), "); registered encodings: ",
                   known.empty() ? "none" : absl::StrJoin(known, ", ")));
}

std::vector<uint8_t> CodecRegistry::Encodings() const {
  std::vector<uint8_t> out;
  for (int i = 0; i < 256; ++i) {
    if (codecs_[i] != nullptr) out.push_back(static_cast<uint8_t>(i));
  }
  return out;
}

}  // namespace tsdb::chunkenc
