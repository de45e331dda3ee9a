#include "tsdb/block/block.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {

absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> BlockChunkReader::Chunk(
    const ChunkMeta& meta) const {
  uint8_t enc = 0;
  std::string data;
  TSDB_RETURN_IF_ERROR(files_->Read(meta.ref, &enc, &data));
  if (codecs_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("block ", dir_, ": no codec registry to decode chunks"));
  }
  absl::StatusOr<const chunkenc::ChunkCodec*> codec = codecs_->Get(enc);
  if (!codec.ok()) {
    return absl::DataLossError(absl::StrCat(
        "block ", dir_, ": chunk ref ", meta.ref, " (segment ",
        chunks::SegmentFileName(chunks::RefSegment(meta.ref)), " offset ",
        chunks::RefOffset(meta.ref), ") has unknown chunk encoding byte ",
        static_cast<int>(enc), " (0x", absl::Hex(enc, absl::kZeroPad2),
        "): ", codec.status().message()));
  }
  return (*codec)->FromBytes(data);
}

absl::StatusOr<std::unique_ptr<Block>> Block::Open(
    const std::string& dir, const chunks::ChunkFileReaderRegistry& readers,
    std::string_view chunk_reader, const chunkenc::CodecRegistry* codecs) {
  io::FileSystem* fs = io::PosixFileSystem();
  std::unique_ptr<Block> b(new Block());
  b->dir_ = dir;
  uint64_t meta_size = 0;
  TSDB_ASSIGN_OR_RETURN(b->meta_, ReadMetaFile(fs, dir, &meta_size));
  TSDB_ASSIGN_OR_RETURN(b->index_, index::IndexFileReader::Open(io::JoinPath(
                                       dir, index::kIndexFileName)));
  const std::string chunk_dir = io::JoinPath(dir, "chunks");
  std::vector<std::string> paths;
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(chunk_dir));
  for (const std::string& n : names) {
    // Segment files are all-digit names; skip anything else (e.g. .tmp).
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    paths.push_back(io::JoinPath(chunk_dir, n));
  }
  TSDB_ASSIGN_OR_RETURN(auto files, readers.Open(chunk_reader, paths));
  const uint64_t chunk_bytes = files->TotalSize();
  b->chunks_ =
      std::make_unique<BlockChunkReader>(dir, std::move(files), codecs);
  uint64_t ts_size = 0;
  TSDB_ASSIGN_OR_RETURN(b->tombstones_,
                        tombstones::ReadFile(fs, dir, &ts_size));
  b->size_ = meta_size + b->index_->Size() + chunk_bytes + ts_size;
  return b;
}

}  // namespace tsdb::block
