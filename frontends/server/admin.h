// Prometheus 2.42's TSDB admin API over a db::DB (routed only with
// --web.enable-admin-api; the server answers for the disabled case):
//
//   POST/PUT /api/v1/admin/tsdb/snapshot?skip_head=false
//       200 {"status":"success","data":{"name":"20260101T000000Z-<16 hex>"}}
//       the snapshot is <data_dir>/snapshots/<name> (blocks hard-linked;
//       the head persisted as a block unless skip_head is true)
//   POST/PUT /api/v1/admin/tsdb/delete_series?match[]=<selector>&start=&end=
//       204; tombstones for the matching series over [start, end]
//   POST/PUT /api/v1/admin/tsdb/clean_tombstones
//       204; blocks with tombstones rewritten without the deleted data
//
//   Response r = HandleSnapshot(db, "/data", req);
//
// Parameters and errors as in Prometheus (api.h): skip_head is read with Go's
// strconv.ParseBool; delete_series needs at least one match[] and defaults
// start/end to Prometheus's min/max time. Storage failures are 500
// "internal"; a null `db` is 503 "unavailable".
//
// Ownership: `db` is borrowed for the call. Thread safety: any number of
// calls may run at once (the DB serializes its own maintenance work).
#ifndef FRONTENDS_SERVER_ADMIN_H_
#define FRONTENDS_SERVER_ADMIN_H_

#include <string>

#include "frontends/server/http.h"
#include "tsdb/db/db.h"

namespace tsdb::server {

// POST/PUT /api/v1/admin/tsdb/snapshot[?skip_head=true|false].
Response HandleSnapshot(db::DB* db, const std::string& data_dir,
                        const Request& req);
// POST/PUT /api/v1/admin/tsdb/delete_series.
Response HandleDeleteSeries(db::DB* db, const Request& req);
// POST/PUT /api/v1/admin/tsdb/clean_tombstones.
Response HandleCleanTombstones(db::DB* db, const Request& req);

// The name Prometheus gives a snapshot taken at `unix_seconds`:
// time.Format("20060102T150405Z0700") in UTC, "-", and 63 random bits as 16
// hex digits, e.g. "20261121T075210Z-4c2ba6444c316824".
std::string SnapshotName(int64_t unix_seconds, uint64_t random63);

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_ADMIN_H_
