#pragma once
// A tensor as stored in a file: name, type, shape and a pointer into mapped bytes (never owned here).
#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace unicorn {

// TensorView: non-owning, trivially copyable; `data` lives as long as the reader that produced it.
// shape is outermost-first (row-major, like safetensors/PyTorch): a [rows, cols] matrix has shape {rows, cols},
// and each row of `cols` elements is contiguous. GGUF stores dims innermost-first; its reader reverses them.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  // Product of all but the innermost dim (computed directly so a zero-width tensor does not divide by zero).
  int64_t rows() const {
    int64_t n = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) n *= shape[i];
    return n;
  }
};

}  // namespace unicorn
