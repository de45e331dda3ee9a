// Remote read (POST /api/v1/read), as Prometheus 2.42 serves it: the body
// is a snappy-compressed prometheus.ReadRequest; each Query runs against
// the DB over [start_timestamp_ms, end_timestamp_ms] with its matchers.
//
//   Response resp = HandleRemoteRead(db, request, RemoteReadOptions{});
//
// The response type is the first of `accepted_response_types` we support
// (an empty list means SAMPLES; none supported is 400):
//  - SAMPLES: a snappy-compressed ReadResponse (one QueryResult per query,
//    in order), `Content-Type: application/x-protobuf`,
//    `Content-Encoding: snappy`. More than `sample_limit` samples is 400.
//  - STREAMED_XOR_CHUNKS: `Content-Type: application/x-streamed-protobuf;
//    proto=prometheus.ChunkedReadResponse`, a stream of frames
//    `uvarint(len) | BE32 CRC32C(msg) | msg`, each msg a ChunkedReadResponse
//    with one series (a series with many chunks spans several frames of
//    about `max_bytes_in_frame`), as storage/remote/chunked.go writes them.
// Errors: an undecodable body or a bad matcher is 400, a storage error 500,
// each with a one-line text body. The whole response is built in memory
// (bounded by sample_limit for SAMPLES).
//
// Thread safety: any number of concurrent calls (the DB is thread-safe).
#ifndef FRONTENDS_SERVER_REMOTE_READ_H_
#define FRONTENDS_SERVER_REMOTE_READ_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "frontends/server/http.h"
#include "tsdb/db/db.h"

namespace tsdb::server {

struct RemoteReadOptions {
  // --storage.remote.read-sample-limit (SAMPLES responses); 0: no limit.
  uint64_t sample_limit = 50000000;
  // --storage.remote.read-max-bytes-in-frame (streamed responses).
  size_t max_bytes_in_frame = 1048576;
  // Largest decoded ReadRequest.
  size_t max_decoded_bytes = size_t{32} << 20;
};

inline constexpr std::string_view kStreamedContentType =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

Response HandleRemoteRead(db::DB* db, const Request& req,
                          const RemoteReadOptions& opts);

// Appends one frame of a streamed response (chunked.go's ChunkedWriter).
void AppendChunkedFrame(std::string_view msg, std::string* out);

// Reads the next frame of `*in` into `*msg` (both views into the same
// bytes) and advances `*in`. InvalidArgument for a truncated frame or a CRC
// mismatch (clients and tests).
[[nodiscard]] absl::Status NextChunkedFrame(std::string_view* in,
                                            std::string_view* msg);

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_REMOTE_READ_H_
