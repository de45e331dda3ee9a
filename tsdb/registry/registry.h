// Registry: every pluggable implementation a program knows, by kind.
//
// A frontend fills one Registry at start-up by calling the plugins'
// registration functions from one list (frontends/builtin_plugins.cc, the
// inventory), then hands it to the engine; tests build a Registry holding
// exactly what they need. Lookups are by exact key (an encoding byte or a
// plain name). There are no static registrars.
//
// Thread safety: fill it from one thread; after that it is read-only and may
// be shared by any number of threads.
#ifndef TSDB_REGISTRY_REGISTRY_H_
#define TSDB_REGISTRY_REGISTRY_H_

#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/wal/registry.h"

namespace tsdb {

struct Registry {
  // Sample compression, keyed by the on-disk encoding byte.
  chunkenc::CodecRegistry codecs;
  // How block chunk files are read, by name ("mmap", "pread").
  chunks::ChunkFileReaderRegistry chunk_readers;
  // Write-ahead logs, by name ("segmented", "none").
  wal::WalRegistry wals;
};

}  // namespace tsdb

#endif  // TSDB_REGISTRY_REGISTRY_H_
