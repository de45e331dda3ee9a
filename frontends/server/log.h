// Log lines in Prometheus's logfmt shape, to stderr:
//
//   ts=2026-11-21T07:55:24.123Z level=info msg="Server is ready to receive web
//   requests."
//
//   Logger log(LogLevel::kInfo);
//   log.Info("Starting TSDB ...", {{"path", "data/"}});
//
// Thread safety: Log may be called from any thread; lines are written whole.
#ifndef FRONTENDS_SERVER_LOG_H_
#define FRONTENDS_SERVER_LOG_H_

#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsdb::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view s);

class Logger {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  explicit Logger(LogLevel min = LogLevel::kInfo, FILE* out = stderr)
      : min_(min), out_(out) {}

  void Log(LogLevel level, std::string_view msg, const Fields& fields = {});
  void Debug(std::string_view msg, const Fields& f = {}) {
    Log(LogLevel::kDebug, msg, f);
  }
  void Info(std::string_view msg, const Fields& f = {}) {
    Log(LogLevel::kInfo, msg, f);
  }
  void Warn(std::string_view msg, const Fields& f = {}) {
    Log(LogLevel::kWarn, msg, f);
  }
  void Error(std::string_view msg, const Fields& f = {}) {
    Log(LogLevel::kError, msg, f);
  }

  // One logfmt line without the trailing newline (exposed for tests).
  static std::string Format(LogLevel level, std::string_view msg,
                            const Fields& fields);

 private:
  const LogLevel min_;
  FILE* const out_;
  std::mutex mu_;
};

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_LOG_H_
