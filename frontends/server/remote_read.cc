// Remote read: decoding with the generated protobuf classes (not a hot
// path), querying through db::Querier, SAMPLES and streamed-chunk answers.
#include "frontends/server/remote_read.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "frontends/prompb/remote.pb.h"
#include "frontends/server/proto_wire.h"
#include "frontends/server/remote_write.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/matcher.h"

namespace tsdb::server {
namespace {

Response TextError(int status, absl::string_view msg) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = absl::StrCat(msg, "\n");
  return r;
}

absl::StatusOr<std::vector<labels::Matcher>> ToMatchers(
    const prometheus::Query& q) {
  std::vector<labels::Matcher> out;
  for (const prometheus::LabelMatcher& m : q.matchers()) {
    labels::MatchType type;
    switch (m.type()) {
      case prometheus::LabelMatcher::EQ:
        type = labels::MatchType::kEqual;
        break;
      case prometheus::LabelMatcher::NEQ:
        type = labels::MatchType::kNotEqual;
        break;
      case prometheus::LabelMatcher::RE:
        type = labels::MatchType::kRegexp;
        break;
      case prometheus::LabelMatcher::NRE:
        type = labels::MatchType::kNotRegexp;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("invalid matcher type ", static_cast<int>(m.type())));
    }
    TSDB_ASSIGN_OR_RETURN(labels::Matcher matcher,
                          labels::Matcher::Make(type, m.name(), m.value()));
    out.push_back(std::move(matcher));
  }
  return out;
}

void SetLabels(const labels::Labels& lset,
               google::protobuf::RepeatedPtrField<prometheus::Label>* out) {
  out->Reserve(static_cast<int>(lset.size()));
  for (const labels::Label& l : lset) {
    prometheus::Label* pl = out->Add();
    pl->set_name(l.name);
    pl->set_value(l.value);
  }
}

// A 400 (bad input) or a 500 (storage) for a query error.
Response QueryError(const absl::Status& s) {
  const int code = s.code() == absl::StatusCode::kInvalidArgument ? 400 : 500;
  return TextError(code, s.message());
}

Response ServeSamples(db::DB* db, const prometheus::ReadRequest& rr,
                      const RemoteReadOptions& opts) {
  prometheus::ReadResponse resp;
  uint64_t total = 0;
  for (const prometheus::Query& q : rr.queries()) {
    prometheus::QueryResult* result = resp.add_results();
    absl::StatusOr<std::vector<labels::Matcher>> ms = ToMatchers(q);
    if (!ms.ok()) return TextError(400, ms.status().message());
    const int64_t mint = q.start_timestamp_ms();
    const int64_t maxt = q.end_timestamp_ms();
    absl::StatusOr<std::unique_ptr<db::Querier>> querier =
        db->Querier(mint, maxt);
    if (!querier.ok()) return QueryError(querier.status());
    absl::StatusOr<std::unique_ptr<querier::SeriesSet>> set =
        (*querier)->Select(*ms);
    if (!set.ok()) return QueryError(set.status());
    while ((*set)->Next()) {
      const querier::Series& series = (*set)->At();
      prometheus::TimeSeries* ts = nullptr;
      std::unique_ptr<chunkenc::SampleIterator> it = series.Iterator();
      if (!it->Seek(mint)) {
        if (!it->status().ok()) return QueryError(it->status());
        continue;
      }
      do {
        const chunkenc::Sample s = it->At();
        if (s.t > maxt) break;
        if (ts == nullptr) {
          ts = result->add_timeseries();
          SetLabels(series.Labels(), ts->mutable_labels());
        }
        prometheus::Sample* ps = ts->add_samples();
        ps->set_timestamp(s.t);
        ps->set_value(s.v);
        if (opts.sample_limit > 0 && ++total > opts.sample_limit) {
          return TextError(400, absl::StrCat("exceeded sample limit (",
                                             opts.sample_limit, ")"));
        }
      } while (it->Next());
      if (!it->status().ok()) return QueryError(it->status());
    }
    if (!(*set)->status().ok()) return QueryError((*set)->status());
  }
  std::string raw;
  if (!resp.SerializeToString(&raw)) {
    return TextError(500, "serializing the ReadResponse failed");
  }
  Response r;
  r.status = 200;
  r.content_type = "application/x-protobuf";
  r.headers["Content-Encoding"] = "snappy";
  r.body = SnappyEncode(raw);
  return r;
}

// One ChunkedReadResponse frame for `lset` with `chunks`, written with the
// wire helpers (chunk bytes are copied once, into the frame).
void AppendSeriesFrame(const std::string& labels_bytes,
                       const std::vector<const db::RawChunk*>& chunks,
                       int64_t query_index, std::string* scratch,
                       std::string* out) {
  std::string series;
  series.reserve(labels_bytes.size() + 64);
  series.append(labels_bytes);
  std::string chunk;
  for (const db::RawChunk* c : chunks) {
    chunk.clear();
    if (c->min_time != 0) PutVarintField(&chunk, 1, c->min_time);
    if (c->max_time != 0) PutVarintField(&chunk, 2, c->max_time);
    if (c->encoding != 0) PutVarintField(&chunk, 3, c->encoding);
    if (!c->bytes.empty()) PutLenField(&chunk, 4, c->bytes);
    PutLenField(&series, 2, chunk);
  }
  scratch->clear();
  PutLenField(scratch, 1, series);
  if (query_index != 0) PutVarintField(scratch, 2, query_index);
  AppendChunkedFrame(*scratch, out);
}

Response ServeStreamed(db::DB* db, const prometheus::ReadRequest& rr,
                       const RemoteReadOptions& opts) {
  std::string body;
  std::string scratch;
  for (int qi = 0; qi < rr.queries_size(); ++qi) {
    const prometheus::Query& q = rr.queries(qi);
    absl::StatusOr<std::vector<labels::Matcher>> ms = ToMatchers(q);
    if (!ms.ok()) return TextError(400, ms.status().message());
    absl::StatusOr<std::unique_ptr<db::Querier>> querier =
        db->Querier(q.start_timestamp_ms(), q.end_timestamp_ms());
    if (!querier.ok()) return QueryError(querier.status());
    absl::Status st = (*querier)->SelectChunks(
        *ms, [&](const db::ChunkSeries& cs) -> absl::Status {
          std::string labels_bytes;
          for (const labels::Label& l : cs.lset) {
            std::string label;
            PutLenField(&label, 1, l.name);
            PutLenField(&label, 2, l.value);
            PutLenField(&labels_bytes, 1, label);
          }
          // Prometheus: fill a frame up to about max_bytes_in_frame (the
          // labels count against each frame), at least one chunk per frame.
          std::vector<const db::RawChunk*> frame;
          int64_t left = static_cast<int64_t>(opts.max_bytes_in_frame) -
                         static_cast<int64_t>(labels_bytes.size());
          for (const db::RawChunk& c : cs.chunks) {
            frame.push_back(&c);
            left -= static_cast<int64_t>(c.bytes.size() + 32);
            if (left <= 0) {
              AppendSeriesFrame(labels_bytes, frame, qi, &scratch, &body);
              frame.clear();
              left = static_cast<int64_t>(opts.max_bytes_in_frame) -
                     static_cast<int64_t>(labels_bytes.size());
            }
          }
          // A series without chunks gets no frame (as in Prometheus).
          if (!frame.empty()) {
            AppendSeriesFrame(labels_bytes, frame, qi, &scratch, &body);
          }
          return absl::OkStatus();
        });
    if (!st.ok()) return QueryError(st);
  }
  Response r;
  r.status = 200;
  r.content_type = std::string(kStreamedContentType);
  r.body = std::move(body);
  return r;
}

}  // namespace

void AppendChunkedFrame(std::string_view msg, std::string* out) {
  PutVarint(out, msg.size());
  uint8_t crc[4];
  PutBE32(crc, crc32c::Value(msg));
  out->append(reinterpret_cast<const char*>(crc), 4);
  out->append(msg.data(), msg.size());
}

absl::Status NextChunkedFrame(std::string_view* in, std::string_view* msg) {
  WireReader r(*in);
  uint64_t n;
  if (!r.ReadVarint(&n)) {
    return absl::InvalidArgumentError("chunked frame: truncated length");
  }
  const size_t header = static_cast<size_t>(r.position() - in->data());
  if (in->size() - header < 4 || in->size() - header - 4 < n) {
    return absl::InvalidArgumentError("chunked frame: truncated");
  }
  const uint32_t want =
      GetBE32(reinterpret_cast<const uint8_t*>(in->data() + header));
  *msg = in->substr(header + 4, n);
  if (crc32c::Value(*msg) != want) {
    return absl::InvalidArgumentError("chunked frame: CRC32C mismatch");
  }
  in->remove_prefix(header + 4 + n);
  return absl::OkStatus();
}

Response HandleRemoteRead(db::DB* db, const Request& req,
                          const RemoteReadOptions& opts) {
  std::string decoded;
  if (absl::Status st =
          SnappyDecode(req.body, opts.max_decoded_bytes, &decoded);
      !st.ok()) {
    return TextError(
        st.code() == absl::StatusCode::kResourceExhausted ? 413 : 400,
        st.message());
  }
  prometheus::ReadRequest rr;
  if (!rr.ParseFromString(decoded)) {
    return TextError(400, "invalid protobuf: cannot parse ReadRequest");
  }
  // The first accepted type we support; none listed means SAMPLES.
  bool streamed = false;
  if (rr.accepted_response_types_size() > 0) {
    bool found = false;
    for (int t : rr.accepted_response_types()) {
      if (t == prometheus::ReadRequest::SAMPLES ||
          t == prometheus::ReadRequest::STREAMED_XOR_CHUNKS) {
        streamed = t == prometheus::ReadRequest::STREAMED_XOR_CHUNKS;
        found = true;
        break;
      }
    }
    if (!found) {
      return TextError(400,
                       "server does not support any of the requested response "
                       "types; supported: SAMPLES, STREAMED_XOR_CHUNKS");
    }
  }
  return streamed ? ServeStreamed(db, rr, opts) : ServeSamples(db, rr, opts);
}

}  // namespace tsdb::server
