#include "plugins/wal/none/none_wal.h"

#include <atomic>
#include <string>
#include <utility>

namespace tsdb::plugins {
namespace {

class NoneWal final : public wal::Wal {
 public:
  explicit NoneWal(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Log(absl::Span<const std::string_view>) override {
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::StatusOr<wal::SegmentRange> Segments() override {
    return wal::SegmentRange{};
  }
  absl::StatusOr<int> NextSegment() override { return next_.fetch_add(1); }
  absl::Status Close() override { return absl::OkStatus(); }
  const std::string& dir() const override { return dir_; }

 private:
  const std::string dir_;
  std::atomic<int> next_{0};
};

}  // namespace

absl::StatusOr<std::unique_ptr<wal::Wal>> OpenNoneWal(
    const wal::WalOptions& options) {
  return std::make_unique<NoneWal>(options.dir);
}

absl::Status RegisterNoneWal(wal::WalRegistry& registry) {
  return registry.Register("none", OpenNoneWal);
}

}  // namespace tsdb::plugins
