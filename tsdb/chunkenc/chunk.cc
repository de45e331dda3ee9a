#include "tsdb/chunkenc/chunk.h"

#include "absl/strings/str_cat.h"

namespace tsdb::chunkenc {

std::string EncodingName(uint8_t encoding) {
  switch (static_cast<Encoding>(encoding)) {
    case Encoding::kNone:
      return "none";
    case Encoding::kXOR:
      return "XOR";
    case Encoding::kHistogram:
      return "histogram";
    case Encoding::kFloatHistogram:
      return "floathistogram";
  }
  return absl::StrCat("<unknown encoding ", encoding, ">");
}

size_t SampleIterator::NextBatch(int64_t* ts, double* vs, size_t n) {
  size_t i = 0;
  while (i < n && Next()) {
    const Sample s = At();
    ts[i] = s.t;
    vs[i] = s.v;
    ++i;
  }
  return i;
}

}  // namespace tsdb::chunkenc
