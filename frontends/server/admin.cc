#include "frontends/server/admin.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "frontends/server/api.h"
#include "tsdb/labels/selector.h"

namespace tsdb::server {
namespace {

uint64_t Random63() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng() >> 1;
}

Response NotReady() {
  return ApiErrorResponse(ApiErrorType::kUnavailable, "TSDB not ready");
}

Response StorageError(std::string_view what, const absl::Status& s) {
  // Bad requests the DB itself refuses (e.g. a selector it cannot use) are
  // the caller's fault; everything else is internal.
  if (absl::IsInvalidArgument(s)) {
    return ApiErrorResponse(ApiErrorType::kBadData, s);
  }
  if (what.empty()) return ApiErrorResponse(ApiErrorType::kInternal, s);
  return ApiErrorResponse(ApiErrorType::kInternal,
                          absl::StrCat(std::string(what), ": ", s.message()));
}

}  // namespace

std::string SnapshotName(int64_t unix_seconds, uint64_t random63) {
  return absl::StrCat(
      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::FromUnixSeconds(unix_seconds),
                       absl::UTCTimeZone()),
      "-", absl::StrFormat("%016x", random63));
}

Response HandleSnapshot(db::DB* db, const std::string& data_dir,
                        const Request& req) {
  bool skip_head = false;
  if (const std::string* v = FormValue(req, "skip_head");
      v != nullptr && !v->empty()) {
    absl::StatusOr<bool> b = ParseGoBool(*v);
    if (!b.ok()) {
      return ApiErrorResponse(
          ApiErrorType::kBadData,
          absl::StrCat("invalid parameter \"skip_head\": unable to parse "
                       "boolean: ",
                       b.status().message()));
    }
    skip_head = *b;
  }
  if (db == nullptr) return NotReady();
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string name = SnapshotName(now, Random63());
  const std::filesystem::path dir =
      std::filesystem::path(data_dir) / "snapshots" / name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return ApiErrorResponse(ApiErrorType::kInternal,
                            absl::StrCat("create snapshot directory: mkdir ",
                                         dir.string(), ": ", ec.message()));
  }
  if (absl::Status s = db->Snapshot(dir.string(), !skip_head); !s.ok()) {
    return StorageError("create snapshot", s);
  }
  std::string data = "{\"name\":";
  AppendJsonString(&data, name);
  data.push_back('}');
  return ApiSuccessResponse(data);
}

Response HandleDeleteSeries(db::DB* db, const Request& req) {
  const std::vector<std::string_view> selectors = FormValues(req, "match[]");
  if (selectors.empty()) {
    return ApiErrorResponse(ApiErrorType::kBadData,
                            "no match[] parameter provided");
  }
  absl::StatusOr<int64_t> start = ParseTimeParam(req, "start", kApiMinTimeMs);
  if (!start.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData, start.status());
  }
  absl::StatusOr<int64_t> end = ParseTimeParam(req, "end", kApiMaxTimeMs);
  if (!end.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData, end.status());
  }
  // Every selector is parsed before anything is deleted (Prometheus deletes
  // as it parses, so a bad second selector leaves the first one applied).
  std::vector<std::vector<labels::Matcher>> sets;
  for (std::string_view s : selectors) {
    absl::StatusOr<std::vector<labels::Matcher>> ms = labels::ParseSelector(s);
    if (!ms.ok()) {
      return ApiErrorResponse(ApiErrorType::kBadData,
                              absl::StrCat("invalid parameter \"match[]\": ",
                                           ms.status().message()));
    }
    sets.push_back(*std::move(ms));
  }
  if (db == nullptr) return NotReady();
  for (const std::vector<labels::Matcher>& ms : sets) {
    if (absl::Status s = db->Delete(*start, *end, ms); !s.ok()) {
      return StorageError("", s);
    }
  }
  return NoContentResponse();
}

Response HandleCleanTombstones(db::DB* db, const Request& req) {
  (void)req;
  if (db == nullptr) return NotReady();
  if (absl::Status s = db->CleanTombstones(); !s.ok()) {
    return StorageError("", s);
  }
  return NoContentResponse();
}

}  // namespace tsdb::server
