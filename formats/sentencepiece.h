#pragma once
// SentencePiece's tokenizer.model: a protobuf ModelProto, read and written with a small hand-written wire-format
// codec (no libprotobuf). Only the fields tokenization needs are kept; unknown fields are skipped when reading.
//
// Wire facts: each field is a varint key (field_number << 3 | wire_type); wire types 0 varint, 1 fixed64,
// 2 length-delimited, 5 fixed32 (3/4, groups, are refused). ModelProto: 1 repeated SentencePiece pieces
// {1 piece: string, 2 score: float, 3 type: enum NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6},
// 2 TrainerSpec {3 model_type: UNIGRAM=1 BPE=2 WORD=3 CHAR=4, 35 byte_fallback, 40 unk_id, 41 bos_id, 42 eos_id,
// 43 pad_id}, 3 NormalizerSpec {1 name, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces}.
// Negative int32 values are 10-byte varints. Every length is checked against the bytes left before it is used.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace unicorn {

// SpmPiece: plain value; type uses SentencePiece's numbering, which equals GGUF's tokenizer.ggml.token_type.
struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  int32_t type = 1;
};

// SpmModel: plain value with ModelProto's defaults for absent fields.
struct SpmModel {
  enum Type : int32_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };
  std::vector<SpmPiece> pieces;
  int32_t model_type = kUnigram;
  bool byte_fallback = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::string normalizer_name;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// SentencePieceReader: stateless; parse() decodes caller bytes (NAME is used in errors), open() reads a file.
// Throws a one-line Error naming the file and the field (e.g. "pieces[12].score") for truncated or corrupt input.
class SentencePieceReader {
 public:
  static SpmModel parse(std::span<const uint8_t> bytes, const std::string& name);
  static SpmModel open(const std::string& path);
};

// SentencePieceWriter: stateless; serialize() gives the ModelProto bytes of MODEL (fields always written),
// write() puts them at PATH through AtomicFileWriter.
class SentencePieceWriter {
 public:
  static std::string serialize(const SpmModel& model);
  static void write(const SpmModel& model, const std::string& path);
};

}  // namespace unicorn
