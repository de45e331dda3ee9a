#include "testing/prometheus/prometheus_binaries.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tsdb::testing {
namespace {

std::optional<std::string> Find(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':')) dirs.push_back(d);
  }
  dirs.push_back("/usr/bin");
  for (const std::string& d : dirs) {
    const std::string p = d + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

void ReadAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
}

}  // namespace

std::optional<std::string> FindPromtool() { return Find("promtool"); }
std::optional<std::string> FindPrometheus() { return Find("prometheus"); }

bool PrometheusRequired() {
  const char* v = std::getenv("TSDB_REQUIRE_PROMETHEUS");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

PromtoolDump ParsePromtoolDump(std::string_view text) {
  PromtoolDump out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    const size_t ts_sp = line.rfind(' ');
    if (line.empty() || ts_sp == std::string::npos || ts_sp == 0) continue;
    const size_t v_sp = line.rfind(' ', ts_sp - 1);
    if (v_sp == std::string::npos) continue;
    const std::string value = line.substr(v_sp + 1, ts_sp - v_sp - 1);
    out[line.substr(0, v_sp)].emplace_back(
        std::strtoll(line.c_str() + ts_sp + 1, nullptr, 10),
        std::strtod(value.c_str(), nullptr));
  }
  return out;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv) {
  // stderr goes to a temp file so that a chatty child cannot deadlock on
  // a full pipe while we read stdout.
  char err_path[] = "/tmp/tsdb_cmd_stderr_XXXXXX";
  const int err_fd = ::mkstemp(err_path);
  if (err_fd < 0) return absl::InternalError("mkstemp failed");
  ::unlink(err_path);
  int out_pipe[2];
  if (::pipe(out_pipe) != 0) {
    ::close(err_fd);
    return absl::InternalError("pipe failed");
  }
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_fd, 2);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  CommandResult r;
  ReadAll(out_pipe[0], &r.out);
  ::close(out_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::lseek(err_fd, 0, SEEK_SET);
  ReadAll(err_fd, &r.err);
  ::close(err_fd);
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.exit_code == 127) {
    return absl::NotFoundError(absl::StrCat("could not run ", argv[0]));
  }
  return r;
}

}  // namespace tsdb::testing
