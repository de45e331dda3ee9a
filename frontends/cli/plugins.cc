// `tsdb plugins`: the inventory of registered implementations.
#include <string>

#include "frontends/cli/commands.h"

namespace tsdb::cli {

absl::Status Plugins(const Registry& registry, std::ostream& out) {
  out << "chunk codecs (encoding byte, name):\n";
  for (uint8_t e : registry.codecs.Encodings()) {
    out << "  " << int{e} << "  "
        << std::string((*registry.codecs.Get(e))->name()) << "\n";
  }
  out << "chunk readers (--chunk-reader):\n";
  for (const std::string& n : registry.chunk_readers.Names()) {
    out << "  " << n << "\n";
  }
  out << "write-ahead logs:\n";
  for (const std::string& n : registry.wals.Names()) {
    out << "  " << n << "\n";
  }
  return absl::OkStatus();
}

}  // namespace tsdb::cli
