#include "tsdb/wal/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tsdb::wal {

absl::Status WalRegistry::Register(const std::string& name, WalFactory factory,
                                   WalRepairer repairer) {
  if (name.empty() || !factory) {
    return absl::InvalidArgumentError(
        "WAL registration needs a name and a factory");
  }
  if (!factories_.emplace(name, std::move(factory)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("WAL \"", name, "\" is already registered"));
  }
  if (repairer) repairers_.emplace(name, std::move(repairer));
  return absl::OkStatus();
}

absl::StatusOr<const WalFactory*> WalRegistry::Get(
    const std::string& name) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unknown WAL \"", name,
                     "\"; valid names: ", absl::StrJoin(Names(), ", ")));
  }
  return &it->second;
}

absl::StatusOr<std::unique_ptr<Wal>> WalRegistry::Open(
    const std::string& name, const WalOptions& options) const {
  absl::StatusOr<const WalFactory*> f = Get(name);
  if (!f.ok()) return f.status();
  return (**f)(options);
}

const WalRepairer* WalRegistry::GetRepairer(const std::string& name) const {
  auto it = repairers_.find(name);
  return it == repairers_.end() ? nullptr : &it->second;
}

std::vector<std::string> WalRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace tsdb::wal
