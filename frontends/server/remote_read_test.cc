#include "frontends/server/remote_read.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontends/builtin_plugins.h"
#include "frontends/prompb/remote.pb.h"
#include "frontends/server/remote_write.h"
#include "gtest/gtest.h"
#include "tsdb/db/db.h"

namespace tsdb::server {
namespace {

class RemoteReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry_).ok());
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("rr_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db::Options opts;
    opts.background = false;
    auto db = db::DB::Open(dir_.string(), opts, &registry_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    // a{job="x"}: 300 samples (several chunks); b: 2 samples.
    prometheus::WriteRequest wr;
    auto add = [&](std::vector<std::pair<std::string, std::string>> ls, int n) {
      auto* ts = wr.add_timeseries();
      for (auto& [k, v] : ls) {
        auto* l = ts->add_labels();
        l->set_name(k);
        l->set_value(v);
      }
      for (int i = 0; i < n; ++i) {
        auto* s = ts->add_samples();
        s->set_timestamp(1000 * i);
        s->set_value(i * 0.5);
      }
    };
    add({{"__name__", "a"}, {"job", "x"}}, 300);
    add({{"__name__", "b"}}, 2);
    RemoteWriter writer([this] { return db_->Appender(); });
    Request req;
    req.body = SnappyEncode(wr.SerializeAsString());
    WriteOutcome out;
    ASSERT_EQ(writer.Handle(req, &out).status, 204);
  }
  void TearDown() override {
    ASSERT_TRUE(db_->Close().ok());
    std::filesystem::remove_all(dir_);
  }
  Request ReadReq(const prometheus::ReadRequest& rr) {
    Request r;
    r.method = "POST";
    r.path = "/api/v1/read";
    r.body = SnappyEncode(rr.SerializeAsString());
    return r;
  }
  static prometheus::Query* AddQuery(prometheus::ReadRequest* rr, int64_t s,
                                     int64_t e, std::string name) {
    auto* q = rr->add_queries();
    q->set_start_timestamp_ms(s);
    q->set_end_timestamp_ms(e);
    auto* m = q->add_matchers();
    m->set_type(prometheus::LabelMatcher::RE);
    m->set_name("__name__");
    m->set_value(name);
    return q;
  }

  Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<db::DB> db_;
};

TEST_F(RemoteReadTest, Samples) {
  prometheus::ReadRequest rr;
  AddQuery(&rr, 10000, 20000, "a|b");
  AddQuery(&rr, 0, 1000, "b");
  Response r = HandleRemoteRead(db_.get(), ReadReq(rr), {});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  EXPECT_EQ(r.headers["Content-Encoding"], "snappy");
  std::string raw;
  ASSERT_TRUE(SnappyDecode(r.body, 1 << 30, &raw).ok());
  prometheus::ReadResponse resp;
  ASSERT_TRUE(resp.ParseFromString(raw));
  ASSERT_EQ(resp.results_size(), 2);
  // Query 1: only a has samples in [10s, 20s].
  ASSERT_EQ(resp.results(0).timeseries_size(), 1);
  const auto& ts = resp.results(0).timeseries(0);
  ASSERT_EQ(ts.labels_size(), 2);
  EXPECT_EQ(ts.labels(0).name(), "__name__");
  EXPECT_EQ(ts.labels(1).value(), "x");
  ASSERT_EQ(ts.samples_size(), 11);
  EXPECT_EQ(ts.samples(0).timestamp(), 10000);
  EXPECT_EQ(ts.samples(10).value(), 10.0);
  ASSERT_EQ(resp.results(1).timeseries_size(), 1);
  EXPECT_EQ(resp.results(1).timeseries(0).samples_size(), 2);
}

TEST_F(RemoteReadTest, SampleLimitIs400) {
  prometheus::ReadRequest rr;
  AddQuery(&rr, 0, 1000000, "a");
  RemoteReadOptions opts;
  opts.sample_limit = 10;
  Response r = HandleRemoteRead(db_.get(), ReadReq(rr), opts);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("sample limit"), std::string::npos);
}

TEST_F(RemoteReadTest, StreamedChunks) {
  prometheus::ReadRequest rr;
  rr.add_accepted_response_types(prometheus::ReadRequest::STREAMED_XOR_CHUNKS);
  AddQuery(&rr, 0, 1000000, "a");
  AddQuery(&rr, 0, 1000000, "b");
  RemoteReadOptions opts;
  opts.max_bytes_in_frame = 100;  // one chunk per frame
  Response r = HandleRemoteRead(db_.get(), ReadReq(rr), opts);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kStreamedContentType);

  auto codec = registry_.codecs.Get(1);
  ASSERT_TRUE(codec.ok());
  std::string_view in = r.body;
  std::map<int64_t, std::vector<std::pair<int64_t, double>>> by_query;
  int frames = 0;
  while (!in.empty()) {
    std::string_view msg;
    ASSERT_TRUE(NextChunkedFrame(&in, &msg).ok());
    ++frames;
    prometheus::ChunkedReadResponse cr;
    ASSERT_TRUE(cr.ParseFromArray(msg.data(), static_cast<int>(msg.size())));
    ASSERT_EQ(cr.chunked_series_size(), 1);
    for (const auto& c : cr.chunked_series(0).chunks()) {
      EXPECT_EQ(c.type(), prometheus::Chunk::XOR);
      auto it = (*codec)->NewIterator(c.data());
      while (it->Next()) {
        by_query[cr.query_index()].emplace_back(it->At().t, it->At().v);
      }
      EXPECT_EQ(by_query[cr.query_index()].back().first, c.max_time_ms());
    }
  }
  EXPECT_GE(frames, 4);  // 300 samples: 3 chunks of a, one of b
  ASSERT_EQ(by_query[0].size(), 300u);
  EXPECT_EQ(by_query[0][299], (std::pair<int64_t, double>{299000, 149.5}));
  EXPECT_EQ(by_query[1].size(), 2u);

  // A corrupt frame is detected.
  std::string bad = r.body;
  bad[bad.size() - 1] ^= 1;
  std::string_view bin = bad;
  absl::Status st;
  while (!bin.empty() && st.ok()) {
    std::string_view msg;
    st = NextChunkedFrame(&bin, &msg);
  }
  EXPECT_FALSE(st.ok());
}

TEST_F(RemoteReadTest, BadRequests) {
  Request req;
  req.body = "garbage";
  EXPECT_EQ(HandleRemoteRead(db_.get(), req, {}).status, 400);
  req.body = SnappyEncode("\x0a\x05\x01");
  EXPECT_EQ(HandleRemoteRead(db_.get(), req, {}).status, 400);

  prometheus::ReadRequest rr;
  rr.add_accepted_response_types(
      static_cast<prometheus::ReadRequest::ResponseType>(7));
  AddQuery(&rr, 0, 1, "a");
  Response r = HandleRemoteRead(db_.get(), ReadReq(rr), {});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("response types"), std::string::npos);

  prometheus::ReadRequest bad_re;
  AddQuery(&bad_re, 0, 1, "a(");
  EXPECT_EQ(HandleRemoteRead(db_.get(), ReadReq(bad_re), {}).status, 400);
}

}  // namespace
}  // namespace tsdb::server
