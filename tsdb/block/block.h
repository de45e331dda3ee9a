// Block: an opened persistent block directory (see block_writer.h for the
// layout): its meta.json, its index as a tsdb::IndexReader, its chunks as a
// tsdb::ChunkReader, and its tombstones.
//
// Chunk segment files are read through a ChunkFileReader plugin chosen by
// name from a ChunkFileReaderRegistry ("mmap", "pread"); chunk bytes become
// chunkenc::Chunks through the CodecRegistry's codec for their encoding byte.
// A chunk with an encoding the registry lacks is an error naming the byte,
// the ref and the block.
//
// Example:
//   chunks::ChunkFileReaderRegistry readers;
//   TSDB_RETURN_IF_ERROR(plugins::RegisterMmapChunkReader(readers));
//   chunkenc::CodecRegistry codecs;
//   TSDB_RETURN_IF_ERROR(chunkenc::RegisterXorCodec(codecs));
//   TSDB_ASSIGN_OR_RETURN(auto b, Block::Open(dir, readers, "mmap", &codecs));
//   auto p = b->index().Postings("job", "node");
//
// Ownership: the registries must outlive the Block; the readers it hands out
// live as long as it. Thread safety: immutable after Open; every reader is
// safe from any number of threads.
#ifndef TSDB_BLOCK_BLOCK_H_
#define TSDB_BLOCK_BLOCK_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/index/index_reader.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::block {

// Reads a block's chunks: ChunkMeta.ref is a BlockChunkRef.
class BlockChunkReader final : public ChunkReader {
 public:
  BlockChunkReader(std::string dir,
                   std::unique_ptr<chunks::ChunkFileReader> files,
                   const chunkenc::CodecRegistry* codecs)
      : dir_(std::move(dir)), files_(std::move(files)), codecs_(codecs) {}

  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> Chunk(
      const ChunkMeta& meta) const override;

  // The raw record (encoding byte + bytes), without a codec.
  [[nodiscard]] absl::Status ReadRaw(chunks::BlockChunkRef ref,
                                     uint8_t* encoding,
                                     std::string* data) const {
    return files_->Read(ref, encoding, data);
  }

  const chunks::ChunkFileReader& files() const { return *files_; }

 private:
  std::string dir_;
  std::unique_ptr<chunks::ChunkFileReader> files_;
  const chunkenc::CodecRegistry* codecs_;
};

class Block final {
 public:
  // Opens the block at `dir` (meta.json, index, chunks/ through the reader
  // named `chunk_reader`, tombstones). `codecs` may be null if Chunk() is
  // never called (then it fails with FailedPrecondition).
  static absl::StatusOr<std::unique_ptr<Block>> Open(
      const std::string& dir, const chunks::ChunkFileReaderRegistry& readers,
      std::string_view chunk_reader, const chunkenc::CodecRegistry* codecs);

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  const index::IndexFileReader& index() const { return *index_; }
  const BlockChunkReader& chunks() const { return *chunks_; }
  const tombstones::MemTombstones& tombstones() const { return *tombstones_; }
  // Bytes on disk: index + chunk files + meta.json + tombstones.
  uint64_t Size() const { return size_; }

 private:
  Block() = default;

  std::string dir_;
  BlockMeta meta_;
  std::unique_ptr<index::IndexFileReader> index_;
  std::unique_ptr<BlockChunkReader> chunks_;
  std::unique_ptr<tombstones::MemTombstones> tombstones_;
  uint64_t size_ = 0;
};

}  // namespace tsdb::block

#endif  // TSDB_BLOCK_BLOCK_H_
