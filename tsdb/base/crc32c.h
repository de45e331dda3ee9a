// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, init and xorout
// 0xFFFFFFFF), the checksum of every Prometheus TSDB file. Prometheus stores
// it big-endian (Go's hash.Sum order): write it with PutBE32.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run
// time) and a portable slicing-by-8 table otherwise. Both are tested against
// published vectors. Thread-safe.
#ifndef TSDB_BASE_CRC32C_H_
#define TSDB_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tsdb::crc32c {

// Returns the CRC-32C of [data, data+n) continued from `crc`, which is the
// value a previous call returned (0 to start).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Value(s.data(), s.size()); }

// The two implementations, exposed so tests can pin each one.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);
// REQUIRES: HardwareAvailable().
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t n);
bool HardwareAvailable();

}  // namespace tsdb::crc32c

#endif  // TSDB_BASE_CRC32C_H_
