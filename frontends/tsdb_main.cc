// The `tsdb` command-line tool: promtool's `tsdb` subcommands (list, dump,
// ...) over Prometheus data directories written by Prometheus 2.42 or by us.
//
//   tools/bazel run //frontends:tsdb -- list /path/to/data
//   tools/bazel run //frontends:tsdb -- dump --match='up' /path/to/data
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "frontends/builtin_plugins.h"
#include "frontends/cli/commands.h"

namespace {

constexpr char kUsage[] =
    R"(usage: tsdb [--chunk-reader=mmap|pread] <command> [<args>...]

Commands:
  list [-r|--human-readable] [<db path>]
      List the blocks of a data dir (default "data/"), as promtool does.
  dump [--min-time=MS] [--max-time=MS] [--match=SELECTOR] [<db path>]
      Print every float sample in promtool's dump format.
  analyze [--limit=20] [--match=SELECTOR] [<db path>] [<block id>]
      Churn and cardinality of a block (default: the last), as promtool's.
  bench write [--out=DIR] [--metrics=N] [--scrapes=N] [<file>]
      Ingest benchmark into a fresh DB with a WAL (promtool's bench write);
      without <file>, synthetic series.
  check [<db path>]
      Verify every checksum of a data dir (blocks, chunks_head, WAL); one line
      per file, exit status 1 on any corruption.
  import openmetrics [-r] [-q] [--max-block-duration=DURATION] <input file>
         [<output dir>]
      Backfill an OpenMetrics file (timestamps in seconds) into 2h blocks,
      as promtool's "tsdb create-blocks-from openmetrics".
  plugins
      List the registered chunk codecs and chunk readers.
)";

}  // namespace

int main(int argc, char** argv) {
  // Under `bazel run` the process starts in its runfiles tree; relative paths
  // on the command line mean the caller's directory.
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (::chdir(wd) != 0) {
      std::cerr << "tsdb: cannot change to " << wd << "\n";
      return 1;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  tsdb::cli::CommonFlags common;
  // Global flags come before the command.
  while (!args.empty() && args[0].rfind("--", 0) == 0) {
    const std::string flag = args[0];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (flag.rfind("--chunk-reader=", 0) == 0) {
      common.chunk_reader = flag.substr(std::string("--chunk-reader=").size());
      args.erase(args.begin());
      continue;
    }
    std::cerr << "tsdb: unknown flag " << flag << "\n" << kUsage;
    return 2;
  }
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  tsdb::Registry registry;
  if (absl::Status s = tsdb::frontends::RegisterBuiltinPlugins(registry);
      !s.ok()) {
    std::cerr << "tsdb: registering plugins: " << s << "\n";
    return 1;
  }
  {
    const std::vector<std::string> readers = registry.chunk_readers.Names();
    if (std::find(readers.begin(), readers.end(), common.chunk_reader) ==
        readers.end()) {
      std::cerr << "tsdb: unknown --chunk-reader \"" << common.chunk_reader
                << "\"; valid: " << absl::StrJoin(readers, ", ") << "\n";
      return 2;
    }
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  absl::Status s;
  if (cmd == "list") {
    s = tsdb::cli::List(args, common, registry, std::cout);
  } else if (cmd == "dump") {
    s = tsdb::cli::Dump(args, common, registry, std::cout);
  } else if (cmd == "analyze") {
    s = tsdb::cli::Analyze(args, common, registry, std::cout);
  } else if (cmd == "bench") {
    s = tsdb::cli::BenchWrite(args, registry, std::cout);
  } else if (cmd == "check") {
    s = tsdb::cli::Check(args, std::cout);
  } else if (cmd == "import") {
    s = tsdb::cli::Import(args, common, registry, std::cout);
  } else if (cmd == "plugins") {
    s = tsdb::cli::Plugins(registry, std::cout);
  } else if (cmd == "help") {
    std::cout << kUsage;
  } else {
    std::cerr << "tsdb: unknown command \"" << cmd << "\"\n" << kUsage;
    return 2;
  }
  std::cout.flush();
  if (!s.ok()) {
    std::cerr << "tsdb " << cmd << ": " << s.message() << "\n";
    return 1;
  }
  return 0;
}
