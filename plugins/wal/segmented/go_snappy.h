// GoSnappyEncode: snappy block-format compression producing exactly the
// bytes of github.com/golang/snappy v0.0.4's Encode, which Prometheus 2.42
// uses for the WAL. Google's C++ snappy writes a valid but different stream
// (other match choices), so WAL segments would differ from Prometheus's
// byte for byte; any snappy decoder reads either.
//
// Thread safety: pure function.
#ifndef PLUGINS_WAL_SEGMENTED_GO_SNAPPY_H_
#define PLUGINS_WAL_SEGMENTED_GO_SNAPPY_H_

#include <string>
#include <string_view>

namespace tsdb::plugins {

// Replaces `*dst` with the compressed form of `src`.
void GoSnappyEncode(std::string_view src, std::string* dst);

}  // namespace tsdb::plugins

#endif  // PLUGINS_WAL_SEGMENTED_GO_SNAPPY_H_
