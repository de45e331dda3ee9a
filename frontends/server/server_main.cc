// The ctsdb server binary: `tools/bazel run //frontends:server` serves
// ./data on 127.0.0.1:9090 (flags: frontends/server/flags.h, --help).
//
// SIGTERM / SIGINT: stop accepting, finish requests in flight, close the DB
// cleanly, exit 0. A DB that fails to open exits 1.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontends/builtin_plugins.h"
#include "frontends/server/flags.h"
#include "frontends/server/log.h"
#include "frontends/server/server.h"

int main(int argc, char** argv) {
  // Under `bazel run` the process starts in its runfiles tree; relative
  // paths (the default data/ included) mean the caller's directory.
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (::chdir(wd) != 0) {
      std::cerr << "server: cannot change to " << wd << "\n";
      return 1;
    }
  }
  tsdb::Registry registry;
  if (absl::Status s = tsdb::frontends::RegisterBuiltinPlugins(registry);
      !s.ok()) {
    std::cerr << "server: registering plugins: " << s << "\n";
    return 1;
  }
  absl::StatusOr<tsdb::server::ServerFlags> flags =
      tsdb::server::ParseServerFlags(
          std::vector<std::string>(argv + 1, argv + argc), registry);
  if (!flags.ok()) {
    std::cerr << "server: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help) {
    std::cout << tsdb::server::kServerUsage;
    return 0;
  }
  tsdb::server::Logger log(flags->log_level);
  for (const std::string& f : flags->ignored) {
    log.Warn("Flag accepted but ignored by this server", {{"flag", f}});
  }
  log.Info("Starting ctsdb server",
           {{"storage_path", flags->server.data_dir},
            {"listen_address", flags->server.listen_address},
            {"wal", flags->server.db.wal},
            {"chunk_reader", flags->server.db.chunk_reader}});

  // Block the stop signals in every thread; main waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);  // the DB failed to open
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  tsdb::server::ServerOptions opts = flags->server;
  opts.logger = &log;
  tsdb::server::Server server(opts, &registry);
  if (absl::Status s = server.Start(); !s.ok()) {
    log.Error("Starting the web server failed",
              {{"err", std::string(s.message())}});
    return 1;
  }
  bool open_failed = false;
  std::thread watcher([&server, &open_failed] {
    if (!server.WaitDbOpen().ok()) {
      open_failed = true;
      ::kill(::getpid(), SIGUSR1);
    }
  });
  int sig = 0;
  sigwait(&set, &sig);
  if (sig != SIGUSR1) {
    log.Info("Received a stop signal, exiting gracefully...",
             {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  }
  const absl::Status closed = server.Shutdown();
  watcher.join();
  if (open_failed) return 1;
  if (!closed.ok()) return 1;
  log.Info("See you next time!");
  return 0;
}
