#include "formats/sentencepiece.h"

#include <cstring>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/mapped_file.h"

namespace unicorn {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// Cursor over one message's bytes; every read is bounds-checked and names FIELD on failure.
class WireReader {
 public:
  WireReader(const uint8_t* p, const uint8_t* end, const std::string& file) : p_(p), end_(end), file_(file) {}

  bool done() const { return p_ >= end_; }

  uint64_t varint(const std::string& field) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) bad(field, "truncated varint");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    bad(field, "varint longer than 10 bytes");
  }

  // Reads a key; returns false at the end of the message.
  bool key(uint32_t& number, uint32_t& wire, const std::string& where) {
    if (done()) return false;
    const uint64_t k = varint(where + " (field key)");
    number = static_cast<uint32_t>(k >> 3);
    wire = static_cast<uint32_t>(k & 7);
    if (number == 0 || k >> 3 > 0x1fffffff) bad(where, "invalid field number");
    return true;
  }

  std::span<const uint8_t> bytes(const std::string& field) {
    const uint64_t n = varint(field);
    if (n > static_cast<uint64_t>(end_ - p_))
      bad(field, str_cat("length ", n, " runs past the end (", end_ - p_, " bytes left)"));
    std::span<const uint8_t> s(p_, static_cast<size_t>(n));
    p_ += n;
    return s;
  }

  uint32_t fixed32(const std::string& field) {
    if (end_ - p_ < 4) bad(field, "truncated 32-bit value");
    uint32_t v;
    std::memcpy(&v, p_, 4);  // little-endian on x86-64, as protobuf stores it
    p_ += 4;
    return v;
  }

  void skip(uint32_t wire, const std::string& field) {
    switch (wire) {
      case kVarint: varint(field); break;
      case kFixed64:
        if (end_ - p_ < 8) bad(field, "truncated 64-bit value");
        p_ += 8;
        break;
      case kLen: bytes(field); break;
      case kFixed32: fixed32(field); break;
      default: bad(field, str_cat("unsupported wire type ", wire));
    }
  }

  void expect(uint32_t wire, uint32_t want, const std::string& field) {
    if (wire != want) bad(field, str_cat("wire type ", wire, ", expected ", want));
  }

  int32_t int32(uint32_t wire, const std::string& field) {
    expect(wire, kVarint, field);
    return static_cast<int32_t>(static_cast<int64_t>(varint(field)));
  }
  bool boolean(uint32_t wire, const std::string& field) {
    expect(wire, kVarint, field);
    return varint(field) != 0;
  }

  [[noreturn]] void bad(const std::string& field, const std::string& msg) const { fail_in({file_, "", field}, msg); }
  const std::string& file() const { return file_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& file_;
};

std::string as_string(std::span<const uint8_t> s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

SpmPiece parse_piece(std::span<const uint8_t> msg, const std::string& file, const std::string& where) {
  WireReader r(msg.data(), msg.data() + msg.size(), file);
  SpmPiece p;
  uint32_t num, wire;
  while (r.key(num, wire, where)) {
    switch (num) {
      case 1: r.expect(wire, kLen, where + ".piece"); p.piece = as_string(r.bytes(where + ".piece")); break;
      case 2: {
        r.expect(wire, kFixed32, where + ".score");
        const uint32_t bits = r.fixed32(where + ".score");
        std::memcpy(&p.score, &bits, 4);
        break;
      }
      case 3:
        p.type = r.int32(wire, where + ".type");
        if (p.type < 1 || p.type > 6) r.bad(where + ".type", str_cat("unknown piece type ", p.type));
        break;
      default: r.skip(wire, where); break;
    }
  }
  return p;
}

void parse_trainer(std::span<const uint8_t> msg, const std::string& file, SpmModel& m) {
  WireReader r(msg.data(), msg.data() + msg.size(), file);
  uint32_t num, wire;
  while (r.key(num, wire, "trainer_spec")) {
    switch (num) {
      case 3: m.model_type = r.int32(wire, "trainer_spec.model_type"); break;
      case 35: m.byte_fallback = r.boolean(wire, "trainer_spec.byte_fallback"); break;
      case 40: m.unk_id = r.int32(wire, "trainer_spec.unk_id"); break;
      case 41: m.bos_id = r.int32(wire, "trainer_spec.bos_id"); break;
      case 42: m.eos_id = r.int32(wire, "trainer_spec.eos_id"); break;
      case 43: m.pad_id = r.int32(wire, "trainer_spec.pad_id"); break;
      default: r.skip(wire, "trainer_spec"); break;
    }
  }
}

void parse_normalizer(std::span<const uint8_t> msg, const std::string& file, SpmModel& m) {
  WireReader r(msg.data(), msg.data() + msg.size(), file);
  uint32_t num, wire;
  while (r.key(num, wire, "normalizer_spec")) {
    switch (num) {
      case 1:
        r.expect(wire, kLen, "normalizer_spec.name");
        m.normalizer_name = as_string(r.bytes("normalizer_spec.name"));
        break;
      case 3: m.add_dummy_prefix = r.boolean(wire, "normalizer_spec.add_dummy_prefix"); break;
      case 4: m.remove_extra_whitespaces = r.boolean(wire, "normalizer_spec.remove_extra_whitespaces"); break;
      case 5: m.escape_whitespaces = r.boolean(wire, "normalizer_spec.escape_whitespaces"); break;
      default: r.skip(wire, "normalizer_spec"); break;
    }
  }
}

// Protobuf writer helpers.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, uint32_t number, uint32_t wire) { put_varint(out, (uint64_t{number} << 3) | wire); }
void put_int32(std::string& out, uint32_t number, int32_t v) {
  put_key(out, number, kVarint);
  put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(v)));  // negative: 10 bytes, as protobuf does
}
void put_bytes(std::string& out, uint32_t number, const std::string& bytes) {
  put_key(out, number, kLen);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_float(std::string& out, uint32_t number, float f) {
  put_key(out, number, kFixed32);
  char b[4];
  std::memcpy(b, &f, 4);
  out.append(b, 4);
}

}  // namespace

SpmModel SentencePieceReader::parse(std::span<const uint8_t> bytes, const std::string& name) {
  WireReader r(bytes.data(), bytes.data() + bytes.size(), name);
  SpmModel m;
  bool have_trainer = false;
  uint32_t num, wire;
  while (r.key(num, wire, "ModelProto")) {
    switch (num) {
      case 1: {
        const std::string where = str_cat("pieces[", m.pieces.size(), "]");
        r.expect(wire, kLen, where);
        m.pieces.push_back(parse_piece(r.bytes(where), name, where));
        break;
      }
      case 2:
        r.expect(wire, kLen, "trainer_spec");
        parse_trainer(r.bytes("trainer_spec"), name, m);
        have_trainer = true;
        break;
      case 3:
        r.expect(wire, kLen, "normalizer_spec");
        parse_normalizer(r.bytes("normalizer_spec"), name, m);
        break;
      default: r.skip(wire, "ModelProto"); break;
    }
  }
  if (m.pieces.empty()) fail_in({name, "", "pieces"}, "no pieces (not a SentencePiece model, or cut short)");
  if (!have_trainer) fail_in({name, "", "trainer_spec"}, "missing (not a SentencePiece model, or cut short)");
  const int64_t n = static_cast<int64_t>(m.pieces.size());
  const std::pair<const char*, int32_t> ids[] = {
      {"trainer_spec.unk_id", m.unk_id}, {"trainer_spec.bos_id", m.bos_id}, {"trainer_spec.eos_id", m.eos_id},
      {"trainer_spec.pad_id", m.pad_id}};
  for (const auto& [field, id] : ids)
    if (id < -1 || id >= n) fail_in({name, "", field}, str_cat("id ", id, " is outside the ", n, " pieces"));
  return m;
}

SpmModel SentencePieceReader::open(const std::string& path) {
  const std::string bytes = read_text_file(path);
  return parse(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), path);
}

std::string SentencePieceWriter::serialize(const SpmModel& m) {
  std::string out;
  for (const SpmPiece& p : m.pieces) {
    std::string msg;
    put_bytes(msg, 1, p.piece);
    put_float(msg, 2, p.score);
    put_int32(msg, 3, p.type);
    put_bytes(out, 1, msg);
  }
  std::string trainer;
  put_int32(trainer, 3, m.model_type);
  put_key(trainer, 35, kVarint);
  put_varint(trainer, m.byte_fallback ? 1 : 0);
  put_int32(trainer, 40, m.unk_id);
  put_int32(trainer, 41, m.bos_id);
  put_int32(trainer, 42, m.eos_id);
  put_int32(trainer, 43, m.pad_id);
  put_bytes(out, 2, trainer);
  std::string norm;
  put_bytes(norm, 1, m.normalizer_name);
  for (const auto& [number, v] : {std::pair<uint32_t, bool>{3, m.add_dummy_prefix}, {4, m.remove_extra_whitespaces},
                                  {5, m.escape_whitespaces}}) {
    put_key(norm, number, kVarint);
    put_varint(norm, v ? 1 : 0);
  }
  put_bytes(out, 3, norm);
  return out;
}

void SentencePieceWriter::write(const SpmModel& model, const std::string& path) {
  const std::string bytes = serialize(model);
  AtomicFileWriter w(path);
  w.write(bytes.data(), bytes.size());
  w.commit();
}

}  // namespace unicorn
