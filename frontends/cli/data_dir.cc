#include "frontends/cli/data_dir.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/ulid.h"
#include "tsdb/io/file_system.h"

namespace tsdb::cli {

absl::StatusOr<std::vector<std::unique_ptr<block::Block>>> OpenBlocks(
    const std::string& dir, const Registry& registry,
    const std::string& chunk_reader) {
  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::vector<std::unique_ptr<block::Block>> blocks;
  for (const std::string& name : names) {
    if (!block::Ulid::Parse(name).ok()) continue;
    const std::string path = io::JoinPath(dir, name);
    TSDB_ASSIGN_OR_RETURN(bool has_meta,
                          fs->Exists(io::JoinPath(path, "meta.json")));
    if (!has_meta) continue;
    auto b = block::Block::Open(path, registry.chunk_readers, chunk_reader,
                                &registry.codecs);
    if (!b.ok()) {
      return absl::Status(
          b.status().code(),
          absl::StrCat("open block ", path, ": ", b.status().message()));
    }
    blocks.push_back(*std::move(b));
  }
  std::sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    if (a->meta().min_time != b->meta().min_time) {
      return a->meta().min_time < b->meta().min_time;
    }
    return a->meta().ulid.ToString() < b->meta().ulid.ToString();
  });
  return blocks;
}

}  // namespace tsdb::cli
