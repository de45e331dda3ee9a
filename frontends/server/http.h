// The server's HTTP request and response, independent of the HTTP library:
// handlers (remote write/read, the Prometheus API, admin) are functions
// from Request to Response, so they can be tested without a socket.
//
//   Response HandleLabels(db::DB* db, const Request& req);
//   Response r = HandleLabels(db, Request{.method = "GET", .path = "..."});
//
// Thread safety: plain values.
#ifndef FRONTENDS_SERVER_HTTP_H_
#define FRONTENDS_SERVER_HTTP_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tsdb::server {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  // Query-string and form (application/x-www-form-urlencoded body)
  // parameters, decoded, in order; a name may repeat (match[]).
  std::vector<std::pair<std::string, std::string>> params;
  // Header names lower-cased.
  std::map<std::string, std::string> headers;
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  std::string body;
};

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_HTTP_H_
