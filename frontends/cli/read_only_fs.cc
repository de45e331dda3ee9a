#include "frontends/cli/read_only_fs.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::cli {

struct ReadOnlyOverlayFileSystem::MemData {
  mutable std::mutex mu;
  std::string bytes ABSL_GUARDED_BY(mu);
};

namespace {

// "a//b/" -> "a/b" (so that "data/" + "/wal" and "data/wal" are one path).
std::string Normalize(const std::string& p) {
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string Parent(const std::string& p) {
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string Base(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

using MemData = ReadOnlyOverlayFileSystem::MemData;

class MemWritableFile final : public io::WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemData> data)
      : path_(std::move(path)), data_(std::move(data)) {}
  absl::Status Append(std::string_view s) override {
    if (closed_) return absl::FailedPreconditionError("append after close");
    std::lock_guard<std::mutex> l(data_->mu);
    data_->bytes.append(s.data(), s.size());
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Close() override {
    closed_ = true;
    return absl::OkStatus();
  }
  uint64_t Size() const override {
    std::lock_guard<std::mutex> l(data_->mu);
    return data_->bytes.size();
  }
  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  std::shared_ptr<MemData> data_;
  bool closed_ = false;
};

class MemRandomAccessFile final : public io::RandomAccessFile {
 public:
  MemRandomAccessFile(std::string path, std::shared_ptr<MemData> data)
      : path_(std::move(path)), data_(std::move(data)) {}
  absl::Status Read(uint64_t offset, size_t n, char* scratch,
                    std::string_view* result) const override {
    std::lock_guard<std::mutex> l(data_->mu);
    const std::string& b = data_->bytes;
    const size_t k =
        offset >= b.size() ? 0 : std::min<uint64_t>(n, b.size() - offset);
    if (k > 0) std::memcpy(scratch, b.data() + offset, k);
    *result = std::string_view(scratch, k);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Size() const override {
    std::lock_guard<std::mutex> l(data_->mu);
    return data_->bytes.size();
  }
  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  std::shared_ptr<MemData> data_;
};

// A real file read only up to `limit` (a truncation the overlay recorded).
class LimitedFile final : public io::RandomAccessFile {
 public:
  LimitedFile(std::unique_ptr<io::RandomAccessFile> f, uint64_t limit)
      : f_(std::move(f)), limit_(limit) {}
  absl::Status Read(uint64_t offset, size_t n, char* scratch,
                    std::string_view* result) const override {
    if (offset >= limit_) {
      *result = std::string_view(scratch, 0);
      return absl::OkStatus();
    }
    return f_->Read(offset, std::min<uint64_t>(n, limit_ - offset), scratch,
                    result);
  }
  absl::StatusOr<uint64_t> Size() const override {
    TSDB_ASSIGN_OR_RETURN(uint64_t s, f_->Size());
    return std::min(s, limit_);
  }
  const std::string& path() const override { return f_->path(); }

 private:
  std::unique_ptr<io::RandomAccessFile> f_;
  const uint64_t limit_;
};

}  // namespace

std::shared_ptr<MemData> ReadOnlyOverlayFileSystem::FindMem(
    const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : it->second;
}

bool ReadOnlyOverlayFileSystem::Hidden(const std::string& path) const {
  for (std::string p = path;; p = Parent(p)) {
    if (hidden_.count(p)) return true;
    if (p == "/" || p == ".") return false;
  }
}

absl::Status ReadOnlyOverlayFileSystem::NotFound(
    const std::string& op, const std::string& path) const {
  return absl::NotFoundError(
      absl::StrCat(op, " ", path, ": No such file or directory"));
}

absl::StatusOr<std::string> ReadOnlyOverlayFileSystem::ReadBase(
    const std::string& path) {
  uint64_t limit = ~uint64_t{0};
  {
    std::lock_guard<std::mutex> l(mu_);
    if (Hidden(path)) return NotFound("open", path);
    auto it = truncated_.find(path);
    if (it != truncated_.end()) limit = it->second;
  }
  TSDB_ASSIGN_OR_RETURN(std::string s, base_->ReadFile(path));
  if (s.size() > limit) s.resize(limit);
  return s;
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
ReadOnlyOverlayFileSystem::NewWritableFile(const std::string& p) {
  const std::string path = Normalize(p);
  auto data = std::make_shared<MemData>();
  std::lock_guard<std::mutex> l(mu_);
  files_[path] = data;
  return std::unique_ptr<io::WritableFile>(
      new MemWritableFile(path, std::move(data)));
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
ReadOnlyOverlayFileSystem::NewAppendableFile(const std::string& p) {
  const std::string path = Normalize(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::shared_ptr<MemData> m = FindMem(path)) {
      return std::unique_ptr<io::WritableFile>(
          new MemWritableFile(path, std::move(m)));
    }
  }
  auto data = std::make_shared<MemData>();
  absl::StatusOr<std::string> real = ReadBase(path);
  if (real.ok()) {
    std::lock_guard<std::mutex> l(data->mu);
    data->bytes = *std::move(real);
  } else if (!absl::IsNotFound(real.status())) {
    return real.status();
  }
  std::lock_guard<std::mutex> l(mu_);
  files_[path] = data;
  return std::unique_ptr<io::WritableFile>(
      new MemWritableFile(path, std::move(data)));
}

absl::StatusOr<std::unique_ptr<io::RandomAccessFile>>
ReadOnlyOverlayFileSystem::NewRandomAccessFile(const std::string& p) {
  const std::string path = Normalize(p);
  uint64_t limit = ~uint64_t{0};
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::shared_ptr<MemData> m = FindMem(path)) {
      return std::unique_ptr<io::RandomAccessFile>(
          new MemRandomAccessFile(path, std::move(m)));
    }
    if (Hidden(path)) return NotFound("open", path);
    auto it = truncated_.find(path);
    if (it != truncated_.end()) limit = it->second;
  }
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<io::RandomAccessFile> f,
                        base_->NewRandomAccessFile(path));
  if (limit == ~uint64_t{0}) return f;
  return std::unique_ptr<io::RandomAccessFile>(
      new LimitedFile(std::move(f), limit));
}

absl::StatusOr<std::string> ReadOnlyOverlayFileSystem::ReadFile(
    const std::string& p) {
  const std::string path = Normalize(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::shared_ptr<MemData> m = FindMem(path)) {
      std::lock_guard<std::mutex> d(m->mu);
      return m->bytes;
    }
  }
  return ReadBase(path);
}

absl::StatusOr<bool> ReadOnlyOverlayFileSystem::Exists(const std::string& p) {
  const std::string path = Normalize(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.count(path) || dirs_.count(path)) return true;
    if (Hidden(path)) return false;
  }
  return base_->Exists(path);
}

absl::StatusOr<uint64_t> ReadOnlyOverlayFileSystem::FileSize(
    const std::string& p) {
  const std::string path = Normalize(p);
  uint64_t limit = ~uint64_t{0};
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::shared_ptr<MemData> m = FindMem(path)) {
      std::lock_guard<std::mutex> d(m->mu);
      return m->bytes.size();
    }
    if (Hidden(path)) return NotFound("stat", path);
    auto it = truncated_.find(path);
    if (it != truncated_.end()) limit = it->second;
  }
  TSDB_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
  return std::min(size, limit);
}

absl::StatusOr<std::vector<std::string>> ReadOnlyOverlayFileSystem::ListDir(
    const std::string& d) {
  const std::string dir = Normalize(d);
  std::set<std::string> names;
  bool found = false;
  bool hidden = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    hidden = Hidden(dir);
    found = dirs_.count(dir) > 0;
  }
  if (!hidden) {
    absl::StatusOr<bool> is_dir = base_->IsDirectory(dir);
    if (is_dir.ok() && *is_dir) {
      TSDB_ASSIGN_OR_RETURN(std::vector<std::string> real, base_->ListDir(dir));
      names.insert(real.begin(), real.end());
      found = true;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = names.begin(); it != names.end();) {
    it = Hidden(io::JoinPath(dir, *it)) ? names.erase(it) : std::next(it);
  }
  for (const auto& [path, data] : files_) {
    if (Parent(path) == dir) names.insert(Base(path));
  }
  for (const std::string& path : dirs_) {
    if (Parent(path) == dir) names.insert(Base(path));
  }
  if (!found) return NotFound("list", dir);
  return std::vector<std::string>(names.begin(), names.end());
}

absl::StatusOr<bool> ReadOnlyOverlayFileSystem::IsDirectory(
    const std::string& p) {
  const std::string path = Normalize(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (dirs_.count(path)) return true;
    if (files_.count(path) || Hidden(path)) return false;
  }
  return base_->IsDirectory(path);
}

absl::Status ReadOnlyOverlayFileSystem::CreateDirs(const std::string& d) {
  const std::string dir = Normalize(d);
  for (std::string p = dir; p != "/" && p != ".";) {
    bool hidden = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      hidden = Hidden(p);
    }
    absl::StatusOr<bool> real = base_->IsDirectory(p);
    if (!hidden && real.ok() && *real) break;
    std::lock_guard<std::mutex> l(mu_);
    hidden_.erase(p);
    dirs_.insert(p);
    p = Parent(p);
  }
  return absl::OkStatus();
}

absl::Status ReadOnlyOverlayFileSystem::RemoveFile(const std::string& p) {
  const std::string path = Normalize(p);
  bool had_mem = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    had_mem = files_.erase(path) > 0;
    if (Hidden(path)) {
      return had_mem ? absl::OkStatus() : NotFound("remove", path);
    }
  }
  TSDB_ASSIGN_OR_RETURN(bool real, base_->Exists(path));
  if (!real && !had_mem) return NotFound("remove", path);
  std::lock_guard<std::mutex> l(mu_);
  if (real) hidden_.insert(path);
  truncated_.erase(path);
  return absl::OkStatus();
}

absl::Status ReadOnlyOverlayFileSystem::RemoveAll(const std::string& p) {
  const std::string path = Normalize(p);
  const std::string prefix = path + "/";
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    it = (it->first == path || it->first.rfind(prefix, 0) == 0)
             ? files_.erase(it)
             : std::next(it);
  }
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    it = (*it == path || it->rfind(prefix, 0) == 0) ? dirs_.erase(it)
                                                    : std::next(it);
  }
  hidden_.insert(path);
  return absl::OkStatus();
}

absl::Status ReadOnlyOverlayFileSystem::Rename(const std::string& f,
                                               const std::string& t) {
  const std::string from = Normalize(f), to = Normalize(t);
  std::shared_ptr<MemData> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    data = FindMem(from);
  }
  if (data == nullptr) {
    TSDB_ASSIGN_OR_RETURN(bool is_dir, IsDirectory(from));
    if (is_dir) {
      return absl::UnimplementedError(
          absl::StrCat("rename ", from, " ", to,
                       ": directories cannot be renamed in a "
                       "read-only overlay"));
    }
    TSDB_ASSIGN_OR_RETURN(std::string bytes, ReadBase(from));
    data = std::make_shared<MemData>();
    std::lock_guard<std::mutex> d(data->mu);
    data->bytes = std::move(bytes);
  }
  TSDB_RETURN_IF_ERROR(RemoveFile(from));
  std::lock_guard<std::mutex> l(mu_);
  files_[to] = std::move(data);
  return absl::OkStatus();
}

absl::Status ReadOnlyOverlayFileSystem::Truncate(const std::string& p,
                                                 uint64_t size) {
  const std::string path = Normalize(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::shared_ptr<MemData> m = FindMem(path)) {
      std::lock_guard<std::mutex> d(m->mu);
      m->bytes.resize(size);
      return absl::OkStatus();
    }
    if (Hidden(path)) return NotFound("truncate", path);
  }
  TSDB_ASSIGN_OR_RETURN(uint64_t real, base_->FileSize(path));
  std::lock_guard<std::mutex> l(mu_);
  auto it = truncated_.find(path);
  const uint64_t cur = it == truncated_.end() ? real : it->second;
  if (size > cur) {
    return absl::UnimplementedError(absl::StrCat(
        "truncate ", path, ": cannot grow a file in a read-only overlay"));
  }
  truncated_[path] = size;
  return absl::OkStatus();
}

absl::Status ReadOnlyOverlayFileSystem::SyncDir(const std::string& dir) {
  (void)dir;
  return absl::OkStatus();
}

uint64_t ReadOnlyOverlayFileSystem::MemoryBytes() const {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t n = 0;
  for (const auto& [path, data] : files_) {
    std::lock_guard<std::mutex> d(data->mu);
    n += data->bytes.size();
  }
  return n;
}

}  // namespace tsdb::cli
