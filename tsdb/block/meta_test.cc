#include "tsdb/block/meta.h"

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

Ulid U(const char* s) { return Ulid::Parse(s).value(); }

TEST(MetaTest, EncodesLikeGoMarshalIndent) {
  BlockMeta m;
  m.ulid = U("01GR3Z9S7KX0Y8QF3B6D2V5N4M");
  m.min_time = 1675152000000;
  m.max_time = 1675173600000;
  m.stats = {2471040, 1716, 20592, 0};
  m.compaction.level = 2;
  m.compaction.sources = {U("01GR2M6X0AJ1Q2ZV8KXW3E5T7P"),
                          U("01GR2V1N8C4D5F6G7H8J9K0M1N")};
  m.compaction.parents = {
      {U("01GR2M6X0AJ1Q2ZV8KXW3E5T7P"), 1675152000000, 1675159200000},
      {U("01GR2V1N8C4D5F6G7H8J9K0M1N"), 1675159200000, 1675166400000}};
  const std::string want =
      "{\n"
      "\t\"ulid\": \"01GR3Z9S7KX0Y8QF3B6D2V5N4M\",\n"
      "\t\"minTime\": 1675152000000,\n"
      "\t\"maxTime\": 1675173600000,\n"
      "\t\"stats\": {\n"
      "\t\t\"numSamples\": 2471040,\n"
      "\t\t\"numSeries\": 1716,\n"
      "\t\t\"numChunks\": 20592\n"
      "\t},\n"
      "\t\"compaction\": {\n"
      "\t\t\"level\": 2,\n"
      "\t\t\"sources\": [\n"
      "\t\t\t\"01GR2M6X0AJ1Q2ZV8KXW3E5T7P\",\n"
      "\t\t\t\"01GR2V1N8C4D5F6G7H8J9K0M1N\"\n"
      "\t\t],\n"
      "\t\t\"parents\": [\n"
      "\t\t\t{\n"
      "\t\t\t\t\"ulid\": \"01GR2M6X0AJ1Q2ZV8KXW3E5T7P\",\n"
      "\t\t\t\t\"minTime\": 1675152000000,\n"
      "\t\t\t\t\"maxTime\": 1675159200000\n"
      "\t\t\t},\n"
      "\t\t\t{\n"
      "\t\t\t\t\"ulid\": \"01GR2V1N8C4D5F6G7H8J9K0M1N\",\n"
      "\t\t\t\t\"minTime\": 1675159200000,\n"
      "\t\t\t\t\"maxTime\": 1675166400000\n"
      "\t\t\t}\n"
      "\t\t]\n"
      "\t},\n"
      "\t\"version\": 1\n"
      "}";
  EXPECT_EQ(EncodeMeta(m), want);
  auto back = DecodeMeta("m", want);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EncodeMeta(*back), want);
}

TEST(MetaTest, OmitsEmptyFields) {
  BlockMeta m;
  m.ulid = U("01GR3Z9S7KX0Y8QF3B6D2V5N4M");
  m.compaction.level = 1;
  m.compaction.deletable = true;
  m.compaction.failed = true;
  m.compaction.hints = {"from-out-of-order", "<&>"};
  EXPECT_EQ(EncodeMeta(m),
            "{\n"
            "\t\"ulid\": \"01GR3Z9S7KX0Y8QF3B6D2V5N4M\",\n"
            "\t\"minTime\": 0,\n"
            "\t\"maxTime\": 0,\n"
            "\t\"stats\": {},\n"
            "\t\"compaction\": {\n"
            "\t\t\"level\": 1,\n"
            "\t\t\"deletable\": true,\n"
            "\t\t\"failed\": true,\n"
            "\t\t\"hints\": [\n"
            "\t\t\t\"from-out-of-order\",\n"
            "\t\t\t\"\\u003c\\u0026\\u003e\"\n"
            "\t\t]\n"
            "\t},\n"
            "\t\"version\": 1\n"
            "}");
  auto back = DecodeMeta("m", EncodeMeta(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->compaction.hints[1], "<&>");
  EXPECT_TRUE(back->compaction.failed);
}

TEST(MetaTest, RejectsBadInput) {
  for (const char* bad : {"", "{", "[]", "{\"version\": 2}", "{}",
                          "{\"version\": 1, \"ulid\": \"xyz\"}",
                          "{\"version\": 1, \"minTime\": \"1\"}",
                          "{\"version\": 1, \"stats\": {\"numSamples\": -1}}",
                          "{\"version\": 1, \"compaction\": {\"sources\": 1}}",
                          "{\"version\": 1, \"minTime\": 1e400}"}) {
    auto m = DecodeMeta("/b/meta.json", bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(m.status().message(), "/b/meta.json"))
        << m.status();
  }
  // Unknown fields are ignored, like Go's json.Unmarshal.
  EXPECT_TRUE(DecodeMeta("m", "{\"version\": 1, \"x\": [1]}").ok());
}

TEST(MetaTest, FileRoundTrip) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = io::JoinPath(base ? base : "/tmp", "meta_rt");
  ASSERT_TRUE(io::PosixFileSystem()->CreateDirs(dir).ok());
  BlockMeta m;
  m.ulid = Ulid::Now();
  m.min_time = -5;
  m.max_time = 7;
  m.stats.num_samples = 3;
  m.compaction.level = 1;
  m.compaction.sources = {m.ulid};
  auto n = WriteMetaFile(io::PosixFileSystem(), dir, m);
  ASSERT_TRUE(n.ok()) << n.status();
  const std::string bytes =
      io::PosixFileSystem()->ReadFile(dir + "/meta.json").value();
  EXPECT_EQ(bytes.size(), *n);
  EXPECT_EQ(bytes.back(), '}');
  uint64_t size = 0;
  auto back = ReadMetaFile(io::PosixFileSystem(), dir, &size);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(size, *n);
  EXPECT_EQ(EncodeMeta(*back), bytes);
}

}  // namespace
}  // namespace tsdb::block
