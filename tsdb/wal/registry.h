// WalRegistry: the WAL implementations a program knows, keyed by name.
//
// Filled at start-up by explicit registration functions the plugins export
// (plugins/wal/segmented: RegisterSegmentedWal, plugins/wal/none:
// RegisterNoneWal), called from the frontend's plugin list; tests build a
// registry holding exactly what they need. Lookup is by exact name.
//
// Thread safety: Register must finish before the registry is shared; Open,
// Get and Names are then safe from any thread.
#ifndef TSDB_WAL_REGISTRY_H_
#define TSDB_WAL_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/wal.h"

namespace tsdb::wal {

// Opens (creating if needed) a WAL as `options` say.
using WalFactory =
    std::function<absl::StatusOr<std::unique_ptr<Wal>>(const WalOptions&)>;

// Cuts the log in `options.dir` at `at` (where a replay found corruption):
// the damaged segment keeps its records before `at`, later data is dropped.
// Optional per implementation. With one, a DB replays first and repairs only
// if the replay stopped early (one read of the log at start-up, as
// Prometheus); without one, it opens the WAL with repair_on_open.
using WalRepairer = std::function<absl::Status(const WalOptions& options,
                                               const Corruption& at)>;

class WalRegistry final {
 public:
  WalRegistry() = default;
  WalRegistry(const WalRegistry&) = delete;
  WalRegistry& operator=(const WalRegistry&) = delete;

  // AlreadyExists if `name` is taken; InvalidArgument for an empty name or
  // factory.
  [[nodiscard]] absl::Status Register(const std::string& name,
                                      WalFactory factory,
                                      WalRepairer repairer = nullptr);

  // The factory registered as exactly `name`; NotFound listing the valid
  // names otherwise. The pointer lives as long as the registry.
  absl::StatusOr<const WalFactory*> Get(const std::string& name) const;

  // Get(name), then the factory applied to `options`.
  absl::StatusOr<std::unique_ptr<Wal>> Open(const std::string& name,
                                            const WalOptions& options) const;

  // The repairer registered with `name`; null if none (or unknown name).
  const WalRepairer* GetRepairer(const std::string& name) const;

  // Registered names, sorted.
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, WalFactory> factories_;
  std::map<std::string, WalRepairer> repairers_;
};

}  // namespace tsdb::wal

#endif  // TSDB_WAL_REGISTRY_H_
