#include "testing/fault_file_system.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tsdb::testing {
namespace {

std::string ParentOf(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

class FaultWritableFile final : public io::WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::unique_ptr<io::WritableFile> f)
      : fs_(fs), f_(std::move(f)) {}
  absl::Status Append(std::string_view data) override {
    if (absl::Status s = fs_->BeforeAppend(path()); !s.ok()) return s;
    return f_->Append(data);
  }
  absl::Status Flush() override {
    if (absl::Status s = fs_->CheckActive("flush", path()); !s.ok()) return s;
    return f_->Flush();
  }
  absl::Status Sync() override {
    if (absl::Status s = fs_->CheckActive("sync", path()); !s.ok()) return s;
    absl::Status s = f_->Sync();
    if (s.ok()) fs_->Synced(path(), f_->Size());
    return s;
  }
  absl::Status Close() override {
    if (absl::Status s = fs_->CheckActive("close", path()); !s.ok()) return s;
    return f_->Close();
  }
  uint64_t Size() const override { return f_->Size(); }
  const std::string& path() const override { return f_->path(); }

 private:
  FaultFileSystem* const fs_;
  std::unique_ptr<io::WritableFile> f_;
};

}  // namespace

absl::Status FaultFileSystem::CheckActive(const std::string& op,
                                          const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (!active_) {
    return absl::UnavailableError(
        absl::StrCat(op, " ", path, ": simulated crash"));
  }
  return absl::OkStatus();
}

absl::Status FaultFileSystem::BeforeAppend(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (!active_) {
    return absl::UnavailableError(
        absl::StrCat("write ", path, ": simulated crash"));
  }
  if (failing_) {
    return absl::InternalError(
        absl::StrCat("write ", path, ": injected I/O error"));
  }
  if (writes_until_failure_ > 0 && --writes_until_failure_ == 0) {
    writes_until_failure_ = -1;
    failing_ = fail_all_after_;
    return absl::InternalError(
        absl::StrCat("write ", path, ": injected I/O error"));
  }
  return absl::OkStatus();
}

void FaultFileSystem::Synced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  synced_[path] = size;
}

void FaultFileSystem::SetFilesystemActive(bool active) {
  std::lock_guard<std::mutex> l(mu_);
  active_ = active;
}

void FaultFileSystem::FailWrite(int n, bool all_after) {
  std::lock_guard<std::mutex> l(mu_);
  writes_until_failure_ = n;
  fail_all_after_ = all_after;
  failing_ = false;
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
FaultFileSystem::NewWritableFile(const std::string& path) {
  if (absl::Status s = CheckActive("create", path); !s.ok()) return s;
  auto f = base_->NewWritableFile(path);
  if (!f.ok()) return f.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    synced_[path] = 0;
    new_files_.insert(path);
  }
  return std::unique_ptr<io::WritableFile>(
      new FaultWritableFile(this, std::move(*f)));
}

absl::StatusOr<std::unique_ptr<io::WritableFile>>
FaultFileSystem::NewAppendableFile(const std::string& path) {
  if (absl::Status s = CheckActive("open", path); !s.ok()) return s;
  auto existed = base_->Exists(path);
  auto f = base_->NewAppendableFile(path);
  if (!f.ok()) return f.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    // Existing bytes count as durable unless they were never synced.
    if (!synced_.count(path)) synced_[path] = (*f)->Size();
    if (existed.ok() && !*existed) new_files_.insert(path);
  }
  return std::unique_ptr<io::WritableFile>(
      new FaultWritableFile(this, std::move(*f)));
}

absl::Status FaultFileSystem::CreateDirs(const std::string& dir) {
  if (absl::Status s = CheckActive("mkdir", dir); !s.ok()) return s;
  return base_->CreateDirs(dir);
}

absl::Status FaultFileSystem::RemoveFile(const std::string& path) {
  if (absl::Status s = CheckActive("unlink", path); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    synced_.erase(path);
    new_files_.erase(path);
  }
  return base_->RemoveFile(path);
}

absl::Status FaultFileSystem::RemoveAll(const std::string& path) {
  if (absl::Status s = CheckActive("remove", path); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    const std::string prefix = path + "/";
    for (auto it = synced_.begin(); it != synced_.end();) {
      it = (it->first == path || it->first.rfind(prefix, 0) == 0)
               ? synced_.erase(it)
               : std::next(it);
    }
    for (auto it = new_files_.begin(); it != new_files_.end();) {
      it = (*it == path || it->rfind(prefix, 0) == 0) ? new_files_.erase(it)
                                                      : std::next(it);
    }
  }
  return base_->RemoveAll(path);
}

absl::Status FaultFileSystem::Rename(const std::string& from,
                                     const std::string& to) {
  if (absl::Status s = CheckActive("rename", from); !s.ok()) return s;
  absl::Status s = base_->Rename(from, to);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  // Move the bookkeeping of `from` (a file, or a directory's files).
  const std::string prefix = from + "/";
  std::map<std::string, uint64_t> moved;
  for (auto it = synced_.begin(); it != synced_.end();) {
    if (it->first == from || it->first.rfind(prefix, 0) == 0) {
      moved[to + it->first.substr(from.size())] = it->second;
      it = synced_.erase(it);
    } else {
      ++it;
    }
  }
  std::set<std::string> moved_new;
  for (auto it = new_files_.begin(); it != new_files_.end();) {
    if (*it == from || it->rfind(prefix, 0) == 0) {
      moved_new.insert(to + it->substr(from.size()));
      it = new_files_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [p, n] : moved) synced_[p] = n;
  new_files_.insert(moved_new.begin(), moved_new.end());
  return absl::OkStatus();
}

absl::Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  if (absl::Status s = CheckActive("truncate", path); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = synced_.find(path);
    if (it != synced_.end() && it->second > size) it->second = size;
  }
  return base_->Truncate(path, size);
}

absl::Status FaultFileSystem::SyncDir(const std::string& dir) {
  if (absl::Status s = CheckActive("syncdir", dir); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = new_files_.begin(); it != new_files_.end();) {
      it = ParentOf(*it) == dir ? new_files_.erase(it) : std::next(it);
    }
  }
  return base_->SyncDir(dir);
}

absl::Status FaultFileSystem::DropUnsyncedData() {
  std::map<std::string, uint64_t> synced;
  std::set<std::string> new_files;
  {
    std::lock_guard<std::mutex> l(mu_);
    synced.swap(synced_);
    new_files.swap(new_files_);
  }
  for (const std::string& p : new_files) {
    absl::Status s = base_->RemoveFile(p);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    synced.erase(p);
  }
  for (const auto& [p, n] : synced) {
    auto size = base_->FileSize(p);
    if (!size.ok()) continue;  // removed meanwhile
    if (*size > n) {
      if (absl::Status s = base_->Truncate(p, n); !s.ok()) return s;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  synced_ = std::move(synced);
  return absl::OkStatus();
}

absl::Status FaultFileSystem::CorruptByte(const std::string& path,
                                          uint64_t offset, uint8_t mask) {
  absl::StatusOr<std::string> data = base_->ReadFile(path);
  if (!data.ok()) return data.status();
  if (offset >= data->size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "corrupt ", path, ": offset ", offset, " past size ", data->size()));
  }
  (*data)[offset] = static_cast<char>((*data)[offset] ^ mask);
  auto f = base_->NewWritableFile(path);
  if (!f.ok()) return f.status();
  if (absl::Status s = (*f)->Append(*data); !s.ok()) return s;
  return (*f)->Close();
}

}  // namespace tsdb::testing
