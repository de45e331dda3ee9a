// Status propagation macros for absl::Status / absl::StatusOr.
//
// Debian's abseil (20220623) ships no status_macros.h, so the project defines
// its own, once, here:
//
//   absl::Status Open() {
//     TSDB_RETURN_IF_ERROR(CheckHeader());
//     TSDB_ASSIGN_OR_RETURN(auto file, fs->Open(path));
//     ...
//   }
//
// TSDB_ASSIGN_OR_RETURN's left-hand side may declare a variable
// (`auto x`, `std::string s`) or name an existing one.
#ifndef TSDB_BASE_STATUS_MACROS_H_
#define TSDB_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TSDB_STATUS_CONCAT_INNER_(a, b) a##b
#define TSDB_STATUS_CONCAT_(a, b) TSDB_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define TSDB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status tsdb_status_ = (expr);        \
    if (!tsdb_status_.ok()) return tsdb_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`.
#define TSDB_ASSIGN_OR_RETURN(lhs, rexpr)                                    \
  TSDB_ASSIGN_OR_RETURN_IMPL_(TSDB_STATUS_CONCAT_(tsdb_statusor_, __LINE__), \
                              lhs, rexpr)

#define TSDB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TSDB_BASE_STATUS_MACROS_H_
