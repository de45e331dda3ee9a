// `tsdb check` on a generated data dir: clean passes; one flipped byte in
// each kind of file (meta.json, index, chunk segment, tombstones,
// chunks_head, WAL segment, checkpoint segment), a torn WAL tail and a
// missing WAL segment are each reported with file and offset and fail.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "frontends/builtin_plugins.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/test_data.h"
#include "gtest/gtest.h"

namespace tsdb::cli {
namespace {

namespace fs = std::filesystem;

class CheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new Registry;
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(*registry_).ok());
    auto d = testing::MakeTestDataDir(*registry_,
                                      ::testing::TempDir() + "/check_clean");
    ASSERT_TRUE(d.ok()) << d.status();
    clean_ = new testing::TestDataDir(*d);
  }
  static void TearDownTestSuite() {
    delete clean_;
    delete registry_;
  }

  // A copy of the clean dir; `path` (in the clean dir) mapped into it.
  std::string Copy(const std::string& name) {
    const std::string dst = ::testing::TempDir() + "/check_" + name;
    fs::remove_all(dst);
    fs::copy(clean_->dir, dst, fs::copy_options::recursive);
    return dst;
  }
  std::string In(const std::string& copy, const std::string& path) {
    return copy + path.substr(clean_->dir.size());
  }
  static void Flip(const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    ASSERT_TRUE(f.good()) << path << " offset " << offset;
    c = static_cast<char>(c ^ 0x20);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(c);
  }
  static absl::Status Run(const std::string& dir, std::string* out) {
    std::ostringstream o;
    absl::Status s = Check({dir}, o);
    *out = o.str();
    return s;
  }

  // Flips the byte at `offset` of `file` in a copy and expects check to
  // name the file, the `want` text, and fail.
  void ExpectCorrupt(const std::string& name, const std::string& file,
                     uint64_t offset, const std::string& want) {
    const std::string copy = Copy(name);
    const std::string path = In(copy, file);
    Flip(path, offset);
    std::string out;
    absl::Status s = Run(copy, &out);
    EXPECT_TRUE(absl::IsDataLoss(s)) << name << ": " << s << "\n" << out;
    EXPECT_NE(out.find("CORRUPT  " + path + ": "), std::string::npos)
        << name << ":\n"
        << out;
    EXPECT_NE(out.find(want), std::string::npos) << name << ":\n" << out;
    EXPECT_NE(out.find(": 1 corrupt\n"), std::string::npos) << out;
  }

  static Registry* registry_;
  static testing::TestDataDir* clean_;
};

Registry* CheckTest::registry_ = nullptr;
testing::TestDataDir* CheckTest::clean_ = nullptr;

TEST_F(CheckTest, CleanDirPasses) {
  std::string out;
  absl::Status s = Run(clean_->dir, &out);
  EXPECT_TRUE(s.ok()) << s << "\n" << out;
  EXPECT_NE(out.find(" files (2 blocks): no corruption\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("CORRUPT"), std::string::npos) << out;
  EXPECT_NE(out.find("ok       " + clean_->index_path + " ("),
            std::string::npos)
      << out;
  for (const std::string& p :
       {clean_->meta_path, clean_->chunk_segment_path, clean_->tombstones_path,
        clean_->head_chunks_path, clean_->wal_segment_path,
        clean_->checkpoint_segment_path}) {
    EXPECT_NE(out.find("ok       " + p + " ("), std::string::npos) << p;
  }
  EXPECT_NE(out.find("(1 intervals)"), std::string::npos) << out;
}

TEST_F(CheckTest, FlippedByteInEachKindOfFileIsReported) {
  ExpectCorrupt("meta", clean_->meta_path, 0, "meta.json");
  const uint64_t index_size = fs::file_size(clean_->index_path);
  ExpectCorrupt("index_middle", clean_->index_path, index_size / 2, "offset ");
  ExpectCorrupt("index_toc", clean_->index_path, index_size - 10, "offset ");
  ExpectCorrupt("chunks", clean_->chunk_segment_path, 20,
                "offset 8: chunk: checksum mismatch: expected CRC32C ");
  ExpectCorrupt("tombstones", clean_->tombstones_path, 5, "offset");
  ExpectCorrupt("chunks_head", clean_->head_chunks_path, 40,
                "offset 8: chunk: checksum mismatch");
  ExpectCorrupt("wal", clean_->wal_segment_path, 100,
                "offset 0: fragment: checksum mismatch");
  ExpectCorrupt("checkpoint", clean_->checkpoint_segment_path, 10,
                "offset 0: fragment: checksum mismatch");
}

TEST_F(CheckTest, IndexEveryByteOfTheTocIsCovered) {
  const uint64_t index_size = fs::file_size(clean_->index_path);
  for (uint64_t off = index_size - 52; off < index_size; off += 7) {
    ExpectCorrupt("toc", clean_->index_path, off, "index");
  }
}

TEST_F(CheckTest, TornWalTailIsReported) {
  const std::string copy = Copy("torn");
  const std::string path = In(copy, clean_->wal_segment_path);
  fs::resize_file(path, 32768 + 100);
  std::string out;
  absl::Status s = Run(copy, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(out.find("CORRUPT  " + path + ": offset "), std::string::npos)
      << out;
  EXPECT_NE(out.find("torn"), std::string::npos) << out;
}

TEST_F(CheckTest, MissingWalSegmentIsReported) {
  const std::string copy = Copy("gap");
  const std::string wal = copy + "/wal/";
  ASSERT_TRUE(fs::exists(wal + "00000002"));
  fs::rename(wal + "00000002", wal + "00000005");
  std::string out;
  absl::Status s = Run(copy, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(out.find("CORRUPT  " + wal +
                     "00000005: segments are not "
                     "sequential: segment 2 is missing"),
            std::string::npos)
      << out;
}

TEST_F(CheckTest, MissingDirIsAnError) {
  std::string out;
  absl::Status s = Run("/nonexistent/check/dir", &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/check/dir"), std::string::npos) << s;
}

}  // namespace
}  // namespace tsdb::cli
