#include "testing/mem_file_system.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tsdb::testing {
namespace {

using Data = MemFileSystem::Data;

class MemWritableFile final : public io::WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<Data> data)
      : path_(std::move(path)), data_(std::move(data)) {
    std::lock_guard<std::mutex> l(data_->mu);
    size_ = data_->bytes.size();
  }
  absl::Status Append(std::string_view d) override {
    if (closed_)
      return absl::FailedPreconditionError("append to closed file " + path_);
    std::lock_guard<std::mutex> l(data_->mu);
    data_->bytes.append(d.data(), d.size());
    size_ += d.size();
    return absl::OkStatus();
  }
  absl::Status Flush() override { return Check("flush"); }
  absl::Status Sync() override { return Check("sync"); }
  absl::Status Close() override {
    absl::Status s = Check("close");
    closed_ = true;
    return s;
  }
  uint64_t Size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  absl::Status Check(const char* op) const {
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrCat(op, " closed file ", path_));
    }
    return absl::OkStatus();
  }
  const std::string path_;
  std::shared_ptr<Data> data_;
  uint64_t size_ = 0;
  bool closed_ = false;
};

class MemRandomAccessFile final : public io::RandomAccessFile {
 public:
  MemRandomAccessFile(std::string path, std::shared_ptr<Data> data)
      : path_(std::move(path)), data_(std::move(data)) {}
  absl::Status Read(uint64_t offset, size_t n, char* scratch,
                    std::string_view* result) const override {
    std::lock_guard<std::mutex> l(data_->mu);
    const std::string& b = data_->bytes;
    if (offset > b.size()) {
      *result = {};
      return absl::OkStatus();
    }
    const size_t k = std::min<size_t>(n, b.size() - offset);
    std::copy_n(b.data() + offset, k, scratch);
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
  std::shared_ptr<Data> data_;
};

absl::Status NotFound(const char* op, const std::string& path) {
  return absl::NotFoundError(
      absl::StrCat(op, " ", path, ": No such file or directory"));
}

}  // namespace

std::string MemFileSystem::Normalize(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string MemFileSystem::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool MemFileSystem::DirExistsLocked(const std::string& dir) const {
  return dir.empty() || dir == "/" || dirs_.count(dir) > 0;
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
MemFileSystem::NewWritableFile(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(Parent(p))) return NotFound("open", p);
  if (dirs_.count(p))
    return absl::FailedPreconditionError("open " + p + ": Is a directory");
  auto data = std::make_shared<Data>();
  files_[p] = data;
  return std::unique_ptr<io::WritableFile>(new MemWritableFile(p, data));
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
MemFileSystem::NewAppendableFile(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(Parent(p))) return NotFound("open", p);
  auto& data = files_[p];
  if (data == nullptr) data = std::make_shared<Data>();
  return std::unique_ptr<io::WritableFile>(new MemWritableFile(p, data));
}

absl::StatusOr<std::unique_ptr<io::RandomAccessFile>>
MemFileSystem::NewRandomAccessFile(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(p);
  if (it == files_.end()) return NotFound("open", p);
  return std::unique_ptr<io::RandomAccessFile>(
      new MemRandomAccessFile(p, it->second));
}

absl::StatusOr<std::string> MemFileSystem::ReadFile(const std::string& path) {
  const std::string p = Normalize(path);
  std::shared_ptr<Data> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return NotFound("open", p);
    data = it->second;
  }
  std::lock_guard<std::mutex> l(data->mu);
  return data->bytes;
}

absl::StatusOr<bool> MemFileSystem::Exists(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  return files_.count(p) > 0 || DirExistsLocked(p);
}

absl::StatusOr<uint64_t> MemFileSystem::FileSize(const std::string& path) {
  const std::string p = Normalize(path);
  std::shared_ptr<Data> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return NotFound("stat", p);
    data = it->second;
  }
  std::lock_guard<std::mutex> l(data->mu);
  return data->bytes.size();
}

absl::StatusOr<std::vector<std::string>> MemFileSystem::ListDir(
    const std::string& dir) {
  const std::string d = Normalize(dir);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(d)) return NotFound("opendir", d);
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (Parent(p) == d) out.push_back(p.substr(d == "/" ? 1 : d.size() + 1));
  };
  for (const auto& [p, f] : files_) add(p);
  for (const std::string& p : dirs_) add(p);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<bool> MemFileSystem::IsDirectory(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (DirExistsLocked(p)) return true;
  if (files_.count(p)) return false;
  return NotFound("stat", p);
}

absl::Status MemFileSystem::CreateDirs(const std::string& dir) {
  std::string d = Normalize(dir);
  std::lock_guard<std::mutex> l(mu_);
  while (!d.empty() && d != "/") {
    if (files_.count(d)) {
      return absl::FailedPreconditionError("mkdir " + d + ": File exists");
    }
    dirs_.insert(d);
    d = Parent(d);
  }
  return absl::OkStatus();
}

absl::Status MemFileSystem::RemoveFile(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (files_.erase(p) == 0) return NotFound("unlink", p);
  return absl::OkStatus();
}

absl::Status MemFileSystem::RemoveAll(const std::string& path) {
  const std::string p = Normalize(path);
  const std::string prefix = p + "/";
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(p);
  dirs_.erase(p);
  for (auto it = files_.begin(); it != files_.end();) {
    it = it->first.rfind(prefix, 0) == 0 ? files_.erase(it) : std::next(it);
  }
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    it = it->rfind(prefix, 0) == 0 ? dirs_.erase(it) : std::next(it);
  }
  return absl::OkStatus();
}

absl::Status MemFileSystem::Rename(const std::string& from,
                                   const std::string& to) {
  const std::string f = Normalize(from);
  const std::string t = Normalize(to);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(Parent(t))) return NotFound("rename", t);
  if (auto it = files_.find(f); it != files_.end()) {
    auto data = it->second;
    files_.erase(it);
    files_[t] = data;
    return absl::OkStatus();
  }
  if (!dirs_.count(f)) return NotFound("rename", f);
  // A directory: move it and everything under it (replacing an empty dir).
  const std::string fp = f + "/";
  std::map<std::string, std::shared_ptr<Data>> moved_files;
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->first.rfind(fp, 0) == 0) {
      moved_files[t + it->first.substr(f.size())] = it->second;
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  std::set<std::string> moved_dirs = {t};
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (*it == f || it->rfind(fp, 0) == 0) {
      moved_dirs.insert(t + it->substr(f.size()));
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  files_.insert(moved_files.begin(), moved_files.end());
  dirs_.insert(moved_dirs.begin(), moved_dirs.end());
  return absl::OkStatus();
}

absl::Status MemFileSystem::Truncate(const std::string& path, uint64_t size) {
  const std::string p = Normalize(path);
  std::shared_ptr<Data> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return NotFound("truncate", p);
    data = it->second;
  }
  std::lock_guard<std::mutex> l(data->mu);
  data->bytes.resize(size, '\0');
  return absl::OkStatus();
}

absl::Status MemFileSystem::SyncDir(const std::string& dir) {
  const std::string d = Normalize(dir);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(d)) return NotFound("open", d);
  return absl::OkStatus();
}

absl::Status MemFileSystem::WriteFileContents(const std::string& path,
                                              std::string contents) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (!DirExistsLocked(Parent(p))) return NotFound("open", p);
  auto& data = files_[p];
  if (data == nullptr) data = std::make_shared<Data>();
  std::lock_guard<std::mutex> dl(data->mu);
  data->bytes = std::move(contents);
  return absl::OkStatus();
}

absl::Status MemFileSystem::CorruptByte(const std::string& path,
                                        uint64_t offset, uint8_t mask) {
  const std::string p = Normalize(path);
  std::shared_ptr<Data> data;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return NotFound("corrupt", p);
    data = it->second;
  }
  std::lock_guard<std::mutex> l(data->mu);
  if (offset >= data->bytes.size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "corrupt ", p, ": offset ", offset, " past size ", data->bytes.size()));
  }
  data->bytes[offset] = static_cast<char>(data->bytes[offset] ^ mask);
  return absl::OkStatus();
}

std::vector<std::string> MemFileSystem::AllFiles() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [p, f] : files_) out.push_back(p);
  return out;
}

}  // namespace tsdb::testing
