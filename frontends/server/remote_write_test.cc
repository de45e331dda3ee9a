#include "frontends/server/remote_write.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "frontends/builtin_plugins.h"
#include "frontends/prompb/remote.pb.h"
#include "frontends/server/proto_wire.h"
#include "gtest/gtest.h"
#include "tsdb/db/db.h"

namespace tsdb::server {
namespace {

constexpr int64_t kHour = 3600 * 1000;

struct TestSeries {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<int64_t, double>> samples;
};

std::string Encode(const std::vector<TestSeries>& series) {
  prometheus::WriteRequest wr;
  for (const TestSeries& s : series) {
    prometheus::TimeSeries* ts = wr.add_timeseries();
    for (const auto& [n, v] : s.labels) {
      prometheus::Label* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    for (const auto& [t, v] : s.samples) {
      prometheus::Sample* smp = ts->add_samples();
      smp->set_timestamp(t);
      smp->set_value(v);
    }
  }
  return wr.SerializeAsString();
}

Request Post(std::string proto_bytes) {
  Request r;
  r.method = "POST";
  r.path = "/api/v1/write";
  r.body = SnappyEncode(proto_bytes);
  return r;
}

class RemoteWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry_).ok());
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("rw_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    writer_.reset();
    if (db_) {
      ASSERT_TRUE(db_->Close().ok());
    }
    std::filesystem::remove_all(dir_);
  }
  void Open(RemoteWriteOptions wopts = {}) {
    db::Options opts;
    opts.background = false;
    auto db = db::DB::Open(dir_.string(), opts, &registry_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    writer_ = std::make_unique<RemoteWriter>([this] { return db_->Appender(); },
                                             wopts);
  }
  Response Send(const std::vector<TestSeries>& series,
                WriteOutcome* out = nullptr) {
    WriteOutcome local;
    return writer_->Handle(Post(Encode(series)), out ? out : &local);
  }
  // Every sample of the series matching name=value.
  std::vector<std::pair<int64_t, double>> Samples(const std::string& name) {
    std::vector<std::pair<int64_t, double>> out;
    auto q = db_->Querier(INT64_MIN, INT64_MAX);
    EXPECT_TRUE(q.ok()) << q.status();
    auto m = labels::Matcher::Make(labels::MatchType::kEqual, "__name__", name);
    auto set = (*q)->Select({*m});
    EXPECT_TRUE(set.ok()) << set.status();
    while ((*set)->Next()) {
      auto it = (*set)->At().Iterator();
      while (it->Next()) out.emplace_back(it->At().t, it->At().v);
    }
    return out;
  }

  Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<db::DB> db_;
  std::unique_ptr<RemoteWriter> writer_;
};

TEST_F(RemoteWriteTest, AppendsAndCachesRefs) {
  WriteOutcome out;
  Response r =
      Send({{{{"__name__", "a"}, {"job", "x"}}, {{1000, 1}, {2000, 2}}},
            {{{"__name__", "b"}}, {{1000, 5}}}},
           &out);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(out.samples_appended, 3u);
  EXPECT_EQ(writer_->cache().size(), 2u);
  // Known series: the cached ref is used (same answer, no new entries).
  r = Send({{{{"__name__", "a"}, {"job", "x"}}, {{3000, 3}}},
            {{{"__name__", "b"}}, {{2000, 6}}}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(writer_->cache().size(), 2u);
  EXPECT_EQ(Samples("a"), (std::vector<std::pair<int64_t, double>>{
                              {1000, 1}, {2000, 2}, {3000, 3}}));
  EXPECT_EQ(Samples("b"),
            (std::vector<std::pair<int64_t, double>>{{1000, 5}, {2000, 6}}));
}

TEST_F(RemoteWriteTest, EmptyValuedLabelsAreDropped) {
  EXPECT_EQ(Send({{{{"__name__", "a"}, {"empty", ""}}, {{1, 1}}}}).status, 204);
  EXPECT_EQ(Samples("a").size(), 1u);
  EXPECT_EQ(db_->GetStats().head.num_series, 1u);
}

TEST_F(RemoteWriteTest, EmptyRequestIsOk) {
  EXPECT_EQ(Send({}).status, 204);
  // A series without samples is ignored, whatever its labels.
  EXPECT_EQ(Send({{{{"b", "1"}, {"a", "1"}}, {}}}).status, 204);
}

TEST_F(RemoteWriteTest, TruncatedSnappyIs400) {
  Request req = Post(Encode({{{{"__name__", "a"}}, {{1, 1}}}}));
  req.body.resize(req.body.size() / 2);
  WriteOutcome out;
  Response r = writer_->Handle(req, &out);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("snappy"), std::string::npos) << r.body;
  EXPECT_EQ(out.reject_reason, "malformed");
  // Not snappy at all.
  req.body = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  EXPECT_EQ(writer_->Handle(req, &out).status, 400);
  req.body.clear();
  EXPECT_EQ(writer_->Handle(req, &out).status, 400);
}

TEST_F(RemoteWriteTest, InvalidProtobufIs400AndAppendsNothing) {
  std::string good = Encode({{{{"__name__", "a"}}, {{1, 1}}}});
  for (std::string bad :
       {good.substr(0, good.size() - 3), good + "\x0a\x7f",
        std::string("\x0b\x00", 2), std::string("\x0a\x03\x0a\x05zz", 5)}) {
    WriteOutcome out;
    Response r = writer_->Handle(Post(bad), &out);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("invalid protobuf"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1);  // one line
  }
  EXPECT_TRUE(Samples("a").empty());
}

TEST_F(RemoteWriteTest, InvalidLabelsAre400AndRollBackTheRequest) {
  const TestSeries good{{{"__name__", "ok"}}, {{1, 1}}};
  struct Case {
    TestSeries bad;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{{"b", "1"}, {"a", "1"}}, {{1, 1}}}, "not sorted"},
      {{{{"a", "1"}, {"a", "2"}}, {{1, 1}}}, "not unique"},
      {{{{"", "1"}, {"a", "2"}}, {{1, 1}}}, "empty label name"},
      {{{}, {{1, 1}}}, "empty labelset"},
      {{{{"a", ""}}, {{1, 1}}}, "empty labelset"},
  };
  for (const Case& c : cases) {
    WriteOutcome out;
    Response r = Send({good, c.bad}, &out);
    EXPECT_EQ(r.status, 400) << c.want;
    EXPECT_NE(r.body.find(c.want), std::string::npos) << r.body;
    EXPECT_EQ(out.reject_reason, "invalid_labels");
  }
  EXPECT_TRUE(Samples("ok").empty());
  EXPECT_EQ(Send({good}).status, 204);
  EXPECT_EQ(Samples("ok").size(), 1u);
}

TEST_F(RemoteWriteTest, OutOfOrderAndDuplicateAre400) {
  ASSERT_EQ(Send({{{{"__name__", "a"}}, {{100, 1}}}}).status, 204);
  WriteOutcome out;
  Response r = Send(
      {{{{"__name__", "b"}}, {{100, 1}}}, {{{"__name__", "a"}}, {{50, 1}}}},
      &out);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("out of order sample"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("__name__=\"a\""), std::string::npos) << r.body;
  EXPECT_EQ(out.reject_reason, "out_of_order");
  EXPECT_TRUE(Samples("b").empty());  // rolled back with the request

  r = Send({{{{"__name__", "a"}}, {{100, 2}}}}, &out);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("duplicate sample for timestamp"), std::string::npos);
  // The same sample again is accepted (and dropped).
  EXPECT_EQ(Send({{{{"__name__", "a"}}, {{100, 1}}}}).status, 204);
  // Out of order within one series of one request.
  r = Send({{{{"__name__", "a"}}, {{300, 1}, {200, 1}}}}, &out);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Samples("a"), (std::vector<std::pair<int64_t, double>>{{100, 1}}));
}

TEST_F(RemoteWriteTest, OutOfBoundsIs400AndStaleRefsFallBack) {
  ASSERT_EQ(Send({{{{"__name__", "old"}}, {{1000, 1}}}}).status, 204);
  ASSERT_EQ(Send({{{{"__name__", "new"}}, {{4 * kHour, 1}}}}).status, 204);
  ASSERT_TRUE(db_->Compact().ok());  // persists [0, 2h), truncates the head
  ASSERT_GE(db_->head()->MinValidTime(), 2 * kHour);
  WriteOutcome out;
  Response r = Send({{{{"__name__", "new"}}, {{2000, 1}}}}, &out);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("out of bounds"), std::string::npos) << r.body;
  EXPECT_EQ(out.reject_reason, "out_of_bounds");
  // "old" was garbage-collected: its cached ref is stale.
  r = Send({{{{"__name__", "old"}}, {{5 * kHour, 7}}}}, &out);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Samples("old"), (std::vector<std::pair<int64_t, double>>{
                                {1000, 1}, {5 * kHour, 7}}));
}

TEST_F(RemoteWriteTest, DecodedSizeLimitIs413) {
  writer_.reset();
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  RemoteWriteOptions wopts;
  wopts.max_decoded_bytes = 100;
  Open(wopts);
  TestSeries big{{{"__name__", std::string(200, 'x')}}, {{1, 1}}};
  WriteOutcome out;
  EXPECT_EQ(Send({big}, &out).status, 413);
  EXPECT_EQ(out.reject_reason, "too_large");
}

TEST_F(RemoteWriteTest, HistogramsAre400UnknownFieldsIgnored) {
  std::string ts_bytes;
  {
    prometheus::TimeSeries ts;
    auto* l = ts.add_labels();
    l->set_name("__name__");
    l->set_value("h");
    auto* s = ts.add_samples();
    s->set_timestamp(5);
    s->set_value(1);
    ts_bytes = ts.SerializeAsString();
  }
  std::string with_hist = ts_bytes;
  PutLenField(&with_hist, 4, "");
  std::string req;
  PutLenField(&req, 1, with_hist);
  WriteOutcome hist_out;
  EXPECT_EQ(writer_->Handle(Post(req), &hist_out).status, 400);
  EXPECT_EQ(hist_out.reject_reason, "histograms");

  // Exemplars (3) in the series and metadata (3) in the request: ignored.
  std::string with_ex = ts_bytes;
  PutLenField(&with_ex, 3, "\x10\x01");
  req.clear();
  PutLenField(&req, 1, with_ex);
  PutLenField(&req, 3, "\x08\x01");
  WriteOutcome out;
  Response r = writer_->Handle(Post(req), &out);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Samples("h"), (std::vector<std::pair<int64_t, double>>{{5, 1}}));
}

TEST_F(RemoteWriteTest, SampleFieldsInAnyOrderAndNegativeTimestamps) {
  // Sample with the timestamp first, then the value; label value before name.
  std::string sample;
  PutVarintField(&sample, 2, static_cast<uint64_t>(int64_t{-5}));
  PutDoubleField(&sample, 1, 2.5);
  std::string label;
  PutLenField(&label, 2, "m");
  PutLenField(&label, 1, "__name__");
  std::string ts;
  PutLenField(&ts, 2, sample);  // samples before labels: not cacheable order
  PutLenField(&ts, 1, label);
  std::string req;
  PutLenField(&req, 1, ts);
  WriteOutcome out;
  Response r = writer_->Handle(Post(req), &out);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Samples("m"), (std::vector<std::pair<int64_t, double>>{{-5, 2.5}}));
}

TEST(SeriesRefCacheTest, BoundedAndErasable) {
  SeriesRefCache cache(SeriesRefCache::kShards * 2);
  for (int i = 0; i < 1000; ++i) {
    cache.Put(SeriesRefCache::KeyOf("k" + std::to_string(i)), i + 1);
  }
  EXPECT_LE(cache.size(), SeriesRefCache::kShards * 2);
  const auto k = SeriesRefCache::KeyOf("x");
  cache.Put(k, 42);
  EXPECT_EQ(cache.Get(k), 42u);
  cache.Erase(k);
  EXPECT_EQ(cache.Get(k), 0u);
  EXPECT_FALSE(SeriesRefCache::KeyOf("ab") == SeriesRefCache::KeyOf("ba"));
}

// Random puts, replacements and erases against a reference map: the open
// addressing table (linear probing, backward-shift deletion, growth) finds
// exactly what was put and not erased. Keys collide on their home slot
// often: h1 is taken from a small range for a third of them.
TEST(SeriesRefCacheTest, MatchesAReferenceMapUnderChurn) {
  SeriesRefCache cache;
  std::map<std::pair<uint64_t, uint64_t>, SeriesRef> want;
  std::mt19937_64 rng(7);
  auto key = [&](uint64_t i) {
    SeriesRefCache::Key k = SeriesRefCache::KeyOf("k" + std::to_string(i));
    if (i % 3 == 0) k.h1 = (k.h1 & ~uint64_t{0xfff}) | (i % 5);  // collide
    return k;
  };
  for (int step = 0; step < 20000; ++step) {
    const uint64_t i = rng() % 3000;
    const SeriesRefCache::Key k = key(i);
    if (rng() % 3 == 0) {
      cache.Erase(k);
      want.erase({k.h1, k.h2});
    } else {
      const SeriesRef ref = rng() % 1000000 + 1;
      cache.Put(k, ref);
      want[{k.h1, k.h2}] = ref;
    }
    if (step % 997 == 0) {
      for (uint64_t j = 0; j < 3000; ++j) {
        const SeriesRefCache::Key kj = key(j);
        auto it = want.find({kj.h1, kj.h2});
        ASSERT_EQ(cache.Get(kj), it == want.end() ? 0 : it->second)
            << "step " << step << " key " << j;
      }
    }
  }
  EXPECT_EQ(cache.size(), want.size());
  // A zero key (an uncacheable series) is never stored or found.
  cache.Put(SeriesRefCache::Key{0, 0}, 5);
  EXPECT_EQ(cache.Get(SeriesRefCache::Key{0, 0}), 0u);
  EXPECT_EQ(cache.size(), want.size());
}

TEST(SeriesRefCacheTest, GetBatchMatchesGet) {
  SeriesRefCache cache;
  std::vector<SeriesRefCache::Key> keys;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back(SeriesRefCache::KeyOf("series" + std::to_string(i)));
    if (i % 3 != 0) cache.Put(keys.back(), i + 1);
  }
  std::vector<SeriesRef> refs(keys.size(), 99);
  cache.GetBatch(keys.data(), keys.size(), refs.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(refs[i], i % 3 != 0 ? i + 1 : 0u) << i;
    EXPECT_EQ(refs[i], cache.Get(keys[i]));
  }
}

}  // namespace
}  // namespace tsdb::server
