// The inventory of built-in plugins: one function that registers every
// implementation this build ships. Binaries call it once at start-up; adding
// a plugin to the product means adding one line to builtin_plugins.cc and one
// dependency to its BUILD target.
#ifndef FRONTENDS_BUILTIN_PLUGINS_H_
#define FRONTENDS_BUILTIN_PLUGINS_H_

#include "absl/status/status.h"
#include "tsdb/registry/registry.h"

namespace tsdb::frontends {

[[nodiscard]] absl::Status RegisterBuiltinPlugins(Registry& registry);

}  // namespace tsdb::frontends

#endif  // FRONTENDS_BUILTIN_PLUGINS_H_
