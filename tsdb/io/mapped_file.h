// A read-only memory mapping of a whole file (POSIX mmap), used for index
// files and by the mmap chunk reader. An empty file maps to an empty span.
//
// Thread safety: immutable; data() may be read from any thread while the
// MappedFile lives.
#ifndef TSDB_IO_MAPPED_FILE_H_
#define TSDB_IO_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tsdb::io {

class MappedFile final {
 public:
  // Maps `path` read-only. Errors name the path and the failed call.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(
      const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace tsdb::io

#endif  // TSDB_IO_MAPPED_FILE_H_
