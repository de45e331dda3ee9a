// Internal to the XOR plugin: the XOR chunk decoder.
//
// XorIterator decodes a chunk's bytes (BE16 count header included) exactly
// as Prometheus 2.42's xorIterator, with two deliberate differences that
// only show on bytes Prometheus never writes or on misuse:
// - a value window with leading + significant bits > 64 is reported as
//   DataLoss (Go silently decodes garbage; its encoder cannot produce one);
// - Seek after the iterator is exhausted returns false (Go's returns the
//   last sample again when t <= its timestamp).
//
// Thread safety: not thread-safe.
#ifndef PLUGINS_CHUNKENC_XOR_XOR_ITERATOR_H_
#define PLUGINS_CHUNKENC_XOR_XOR_ITERATOR_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "tsdb/chunkenc/bstream.h"
#include "tsdb/chunkenc/chunk.h"

// The decode loop is compiled twice, for baseline x86-64 and for x86-64-v3
// (BMI2's flag-free variable shifts and LZCNT suit the bit reader), and the
// loader picks one by CPU (an ifunc). Not under sanitizers.
#if defined(__x86_64__) && defined(__GNUC__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define TSDB_XOR_DECODE_CLONES \
  __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TSDB_XOR_DECODE_CLONES
#endif

namespace tsdb::chunkenc::xor_internal {

class XorIterator final : public SampleIterator {
 public:
  // Iterates the chunk bytes [data, data + size). `pin` (may be null) owns
  // the bytes; otherwise the caller keeps them alive for the iterator's
  // lifetime. Fewer than 2 bytes (no header) is a DataLoss error.
  XorIterator(const uint8_t* data, size_t size,
              std::shared_ptr<const uint8_t[]> pin);

  bool Next() override;
  bool Seek(int64_t t) override;
  Sample At() const override { return Sample{buf_t_[cur_], buf_v_[cur_]}; }
  absl::Status status() const override;
  size_t NextBatch(int64_t* ts, double* vs, size_t n) override;

  // Decoder state, for re-opening an appender after the last sample (Go's
  // Appender() takes it from its iterator). Meaningful once Next() has
  // returned false with an OK status; At() is then the last sample.
  uint16_t num_total() const { return num_total_; }
  uint64_t value_bits() const { return s_.vbits; }
  uint64_t t_delta() const { return s_.tdelta; }
  uint8_t leading() const { return static_cast<uint8_t>(s_.leading); }
  uint8_t trailing() const { return static_cast<uint8_t>(s_.trailing); }
  // Bits consumed after the 2-byte header.
  size_t bit_position() const { return s_.pos; }

 private:
  enum class Error : uint8_t { kNone, kNoHeader, kEndOfData, kVarint, kWindow };

  // Everything one decode step reads and writes. Decode works on a local
  // copy, so that the stores to the output arrays cannot alias it and it
  // stays in registers.
  //
  // The bit reader is a bit position and nothing else: Peek loads the 8
  // bytes holding the next bit (one unaligned big-endian load) and shifts
  // out the bits already consumed, which leaves at least 57 valid bits. No
  // bit buffer means no refill and no refill branch, and while the branches
  // on the control bits are predicted, the position advances by amounts
  // that do not wait for any load: the loads run ahead, off the critical
  // path (the position).
  struct State {
    const uint8_t* data = nullptr;  // the sample bytes, after the header
    size_t size = 0;                // bytes
    // Bits consumed from data. Checked reads see zeros past the end; then
    // `pos > size * 8` tells that a sample used bits the chunk lacks.
    size_t pos = 0;
    int64_t t = 0;
    uint64_t vbits = 0;
    uint64_t tdelta = 0;
    // The value window, as Go's iterator: starts (0, 0), so 64 bits.
    unsigned leading = 0;
    unsigned trailing = 0;
    unsigned mbits = 64;  // 64 - leading - trailing, 1..64
    uint16_t num_read = 0;
  };

  // The 64 bits starting at bit `pos`, MSB first, of which the first 57 are
  // valid. kChecked: bytes past the end read as zeros; otherwise REQUIRES:
  // pos / 8 + 8 <= s.size.
  template <bool kChecked>
  static TSDB_BSTREAM_INLINE uint64_t Peek(const State& s, size_t pos);
  // Peek's slow path near the end of the data: the 8 bytes at byte offset
  // p, zeros past the end. Static, takes no State: nothing escapes.
  static __attribute__((noinline)) uint64_t LoadTail(const uint8_t* data,
                                                     size_t size, size_t p);
  // Reads n (1..64) bits at s.pos and advances.
  template <bool kChecked>
  static TSDB_BSTREAM_INLINE uint64_t ReadBits(State& s, unsigned n);

  // Samples 0 and 1 (varint encoded), with checked reads.
  static Error DecodeHead(State& s);
  static Error ReadUvarint(State& s, uint64_t* v);
  // Samples 0 and 1 when both fit in the first 40 bytes with short varints
  // (the usual case), unchecked, into ts[0..1]/vs[0..1]; false (s
  // untouched) otherwise, or on an error (the checked path reports it).
  static bool DecodeHeadFast(State& s, int64_t* ts, double* vs);
  // One sample >= 2 (delta of delta), unchecked: the hot path, forced
  // inline so that the state stays in registers. REQUIRES: s.pos / 8 +
  // kMaxReach <= s.size. Leaves checking s.pos against the end to the
  // caller.
  static TSDB_BSTREAM_INLINE Error DecodeSample(State& s);
  // The value of a sample >= 1; `x` is Peek(s, s.pos).
  template <bool kChecked>
  static TSDB_BSTREAM_INLINE Error DecodeValue(State& s, uint64_t x);

  // Bytes a sample >= 2 may read from the byte b it starts in: it has at
  // most 145 bits (4 + 64 timestamp, 13 + 64 value), and its last 8-byte
  // load starts at most 113 + 7 bits after b, so it reads below b + 23.
  static constexpr size_t kMaxReach = 23;

  // Decodes up to n samples into ts/vs; fewer at the end or on an error
  // (then error_ is set).
  TSDB_XOR_DECODE_CLONES size_t Decode(int64_t* ts, double* vs, size_t n);
  // Decodes the next samples into the lookahead buffer; false at the end.
  // Out of line, so that Next's common path stays a few instructions.
  __attribute__((noinline)) bool Refill();

  // Samples are decoded kBufferSize at a time into a lookahead buffer, so
  // that Next/At cost an index increment; NextBatch decodes straight into
  // the caller's arrays.
  static constexpr size_t kBufferSize = 32;

  std::shared_ptr<const uint8_t[]> pin_;
  State s_;  // after the last decoded (not necessarily returned) sample
  uint16_t num_total_ = 0;
  Error error_ = Error::kNone;  // reported once the buffer is drained
  // Next() has returned false (end or error).
  bool exhausted_ = false;
  int cur_ = -1;  // the current sample in the buffer; -1 before the first
  int len_ = 0;
  int64_t buf_t_[kBufferSize];
  double buf_v_[kBufferSize];
};

}  // namespace tsdb::chunkenc::xor_internal

#endif  // PLUGINS_CHUNKENC_XOR_XOR_ITERATOR_H_
