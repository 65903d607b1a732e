#include "runtime/regex.h"

#include <memory>

#include "base/error.h"
#include "runtime/unicode.h"

namespace unicorn {

bool Regex::CharClass::matches_raw(uint32_t cp) const {
  if (any) return cp != '\n';
  const uint16_t f = unicode::flags(cp);
  if (f & flag_mask) return true;
  for (uint32_t m : neg_flag_masks)
    if (!(f & m)) return true;
  for (const auto& r : ranges)
    if (cp >= r.first && cp <= r.second) return true;
  return false;
}

bool Regex::CharClass::matches(uint32_t cp) const {
  bool m = matches_raw(cp);
  if (!m && icase) {
    const uint32_t lo = unicode::to_lower(cp), up = unicode::to_upper(cp);
    m = (lo != cp && matches_raw(lo)) || (up != cp && matches_raw(up));
  }
  return m != negate;
}

// Parses a pattern into an AST and emits backtracking-VM instructions.
class RegexCompiler {
 public:
  RegexCompiler(Regex& re, std::string_view pattern) : re_(re), p_(unicode::to_cpts(pattern)) {}

  void compile() {
    auto root = parse_alt(false);
    if (i_ != p_.size()) error("unbalanced ')'");
    emit(*root);
    re_.prog_.push_back({Regex::Op::Match});
  }

 private:
  enum class Kind { Alt, Seq, Repeat, Class, Bol, Eol, Look };
  struct Node {
    Kind kind;
    std::vector<std::unique_ptr<Node>> kids;
    int min = 0, max = -1;  // Repeat; max -1 = unbounded
    bool greedy = true;
    int cls = -1;           // Class
    bool negate = false;    // Look
  };
  using NodeP = std::unique_ptr<Node>;

  [[noreturn]] void error(const std::string& what) const {
    fail("regex '", re_.pattern_, "': ", what, " at character ", i_);
  }
  bool eof() const { return i_ >= p_.size(); }
  uint32_t peek() const { return eof() ? 0 : p_[i_]; }
  bool accept(uint32_t c) {
    if (!eof() && p_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  static NodeP make(Kind k) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    return n;
  }

  NodeP parse_alt(bool icase) {
    auto alt = make(Kind::Alt);
    alt->kids.push_back(parse_seq(icase));
    while (accept('|')) alt->kids.push_back(parse_seq(icase));
    if (alt->kids.size() == 1) return std::move(alt->kids[0]);
    return alt;
  }

  NodeP parse_seq(bool icase) {
    auto seq = make(Kind::Seq);
    while (!eof() && peek() != '|' && peek() != ')') {
      NodeP atom = parse_atom(icase);
      atom = parse_quant(std::move(atom));
      seq->kids.push_back(std::move(atom));
    }
    return seq;
  }

  int parse_int() {
    if (eof() || peek() < '0' || peek() > '9') error("expected a number");
    int v = 0;
    while (!eof() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + static_cast<int>(p_[i_++] - '0');
      if (v > 100000) error("repeat count too large");
    }
    return v;
  }

  NodeP parse_quant(NodeP atom) {
    for (;;) {
      int mn, mx;
      if (accept('?')) { mn = 0; mx = 1; }
      else if (accept('*')) { mn = 0; mx = -1; }
      else if (accept('+')) { mn = 1; mx = -1; }
      else if (peek() == '{' && i_ + 1 < p_.size() && p_[i_ + 1] >= '0' && p_[i_ + 1] <= '9') {
        ++i_;
        mn = parse_int();
        mx = mn;
        if (accept(',')) mx = (peek() == '}') ? -1 : parse_int();
        if (!accept('}')) error("expected '}'");
        if (mx >= 0 && mx < mn) error("bad repeat range");
      } else {
        return atom;
      }
      if (atom->kind == Kind::Bol || atom->kind == Kind::Eol || atom->kind == Kind::Look)
        error("quantifier after an assertion");
      auto rep = make(Kind::Repeat);
      rep->min = mn;
      rep->max = mx;
      if (accept('?')) rep->greedy = false;
      else accept('+');  // possessive: treated as greedy
      rep->kids.push_back(std::move(atom));
      atom = std::move(rep);
    }
  }

  int add_class(Regex::CharClass c) {
    re_.classes_.push_back(std::move(c));
    return static_cast<int>(re_.classes_.size() - 1);
  }

  NodeP class_node(Regex::CharClass c) {
    auto n = make(Kind::Class);
    n->cls = add_class(std::move(c));
    return n;
  }

  uint32_t parse_hex(int digits) {
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      if (eof()) error("short hex escape");
      const uint32_t c = p_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else error("bad hex digit");
    }
    return v;
  }

  // \p{..} name -> flag mask.
  uint32_t category_mask() {
    std::string name;
    if (accept('{')) {
      while (!eof() && peek() != '}') name.push_back(static_cast<char>(p_[i_++]));
      if (!accept('}')) error("expected '}' after \\p{");
    } else {
      if (eof()) error("dangling \\p");
      name.push_back(static_cast<char>(p_[i_++]));
    }
    using namespace unicode;
    if (name == "L" || name == "Letter") return kLetter;
    if (name == "N" || name == "Number") return kNumber;
    if (name == "P" || name == "Punctuation") return kPunct;
    if (name == "S" || name == "Symbol") return kSymbol;
    if (name == "M" || name == "Mark") return kMark;
    if (name == "Z" || name == "Separator") return kSeparator;
    if (name == "C" || name == "Other") return kControl;
    if (name == "Lu") return kUpper;
    if (name == "Ll") return kLower;
    if (name == "Lt") return kTitle;
    if (name == "Lm") return kModifier;
    if (name == "Lo") return kOtherLetter;
    if (name == "Nd") return kDecimal;
    error("unsupported Unicode property \\p{" + name + "}");
  }

  // One escape inside or outside a class: either a single code point (returns true, cp set) or a set
  // (adds to cls and returns false).
  bool parse_escape(uint32_t& cp, Regex::CharClass& cls) {
    if (eof()) error("dangling backslash");
    const uint32_t c = p_[i_++];
    using namespace unicode;
    switch (c) {
      case 'n': cp = '\n'; return true;
      case 'r': cp = '\r'; return true;
      case 't': cp = '\t'; return true;
      case 'f': cp = '\f'; return true;
      case 'v': cp = '\v'; return true;
      case '0': cp = 0; return true;
      case 'x': cp = parse_hex(2); return true;
      case 'u': cp = parse_hex(4); return true;
      case 's': cls.flag_mask |= kWhitespace; return false;
      case 'S': cls.neg_flag_masks.push_back(kWhitespace); return false;
      case 'd': cls.flag_mask |= kDecimal; return false;
      case 'D': cls.neg_flag_masks.push_back(kDecimal); return false;
      case 'w': cls.flag_mask |= kLetter | kMark | kDecimal; cls.ranges.push_back({'_', '_'}); return false;
      case 'W': cls.neg_flag_masks.push_back(kLetter | kMark | kDecimal); return false;  // '_' approximated
      case 'p': cls.flag_mask |= category_mask(); return false;
      case 'P': cls.neg_flag_masks.push_back(category_mask()); return false;
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))
          error("unsupported escape \\" + unicode::to_utf8(c));
        cp = c;  // escaped punctuation stands for itself
        return true;
    }
  }

  NodeP parse_class(bool icase) {
    Regex::CharClass cls;
    cls.icase = icase;
    if (accept('^')) cls.negate = true;
    bool first = true;
    for (;;) {
      if (eof()) error("unterminated [");
      if (peek() == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      uint32_t lo;
      if (accept('\\')) {
        if (!parse_escape(lo, cls)) continue;
      } else {
        lo = p_[i_++];
      }
      uint32_t hi = lo;
      if (peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        if (accept('\\')) {
          Regex::CharClass dummy;
          if (!parse_escape(hi, dummy)) error("class range ends in a set");
        } else {
          hi = p_[i_++];
        }
        if (hi < lo) error("reversed class range");
      }
      cls.ranges.push_back({lo, hi});
    }
    return class_node(std::move(cls));
  }

  NodeP parse_atom(bool icase) {
    const uint32_t c = p_[i_++];
    switch (c) {
      case '(': {
        NodeP inner;
        if (accept('?')) {
          if (accept(':')) {
            inner = parse_alt(icase);
          } else if (accept('=') || peek() == '!') {
            const bool neg = accept('!');
            auto look = make(Kind::Look);
            look->negate = neg;
            look->kids.push_back(parse_alt(icase));
            inner = std::move(look);
          } else if (accept('i')) {
            if (!accept(':')) error("only (?i:...) groups are supported");
            inner = parse_alt(true);
          } else {
            error("unsupported group syntax");
          }
        } else {
          inner = parse_alt(icase);
        }
        if (!accept(')')) error("expected ')'");
        return inner;
      }
      case '[': return parse_class(icase);
      case '.': {
        Regex::CharClass cls;
        cls.any = true;
        return class_node(std::move(cls));
      }
      case '^': return make(Kind::Bol);
      case '$': return make(Kind::Eol);
      case '\\': {
        Regex::CharClass cls;
        cls.icase = icase;
        uint32_t cp;
        if (parse_escape(cp, cls)) cls.ranges.push_back({cp, cp});
        return class_node(std::move(cls));
      }
      case '*': case '+': case '?': error("nothing to repeat");
      default: {
        Regex::CharClass cls;
        cls.icase = icase;
        cls.ranges.push_back({c, c});
        return class_node(std::move(cls));
      }
    }
  }

  int32_t pc() const { return static_cast<int32_t>(re_.prog_.size()); }
  int32_t push(Regex::Inst in) {
    re_.prog_.push_back(in);
    return pc() - 1;
  }

  void emit(const Node& n) {
    using Op = Regex::Op;
    switch (n.kind) {
      case Kind::Class: push({Op::Class, false, n.cls, 0}); break;
      case Kind::Bol: push({Op::Bol}); break;
      case Kind::Eol: push({Op::Eol}); break;
      case Kind::Seq:
        for (const auto& k : n.kids) emit(*k);
        break;
      case Kind::Alt: {
        std::vector<int32_t> jumps;
        for (size_t k = 0; k < n.kids.size(); ++k) {
          if (k + 1 < n.kids.size()) {
            const int32_t split = push({Op::Split});
            re_.prog_[split].x = pc();
            emit(*n.kids[k]);
            jumps.push_back(push({Op::Jmp}));
            re_.prog_[split].y = pc();
          } else {
            emit(*n.kids[k]);
          }
        }
        for (int32_t j : jumps) re_.prog_[j].x = pc();
        break;
      }
      case Kind::Repeat: {
        const Node& body = *n.kids[0];
        for (int k = 0; k < n.min; ++k) emit(body);
        if (n.max < 0) {
          const int32_t loop = push({Op::Split});
          emit(body);
          push({Op::Jmp, false, loop, 0});
          set_split(loop, loop + 1, pc(), n.greedy);
        } else {
          std::vector<int32_t> splits;
          for (int k = n.min; k < n.max; ++k) {
            splits.push_back(push({Op::Split}));
            emit(body);
          }
          for (int32_t s : splits) set_split(s, s + 1, pc(), n.greedy);
        }
        break;
      }
      case Kind::Look: {
        const int32_t look = push({Op::Look, n.negate, 0, 0});
        const int32_t jmp = push({Op::Jmp});
        re_.prog_[look].x = pc();
        emit(*n.kids[0]);
        push({Op::Match});
        re_.prog_[jmp].x = pc();
        break;
      }
    }
  }

  void set_split(int32_t at, int32_t body, int32_t skip, bool greedy) {
    re_.prog_[at].x = greedy ? body : skip;
    re_.prog_[at].y = greedy ? skip : body;
  }

  Regex& re_;
  std::vector<uint32_t> p_;
  size_t i_ = 0;
};

Regex::Regex(std::string_view pattern) : pattern_(pattern) {
  RegexCompiler(*this, pattern).compile();
}

bool Regex::exec(int32_t start_pc, std::span<const uint32_t> text, size_t start_pos, size_t& end) const {
  struct Frame {
    int32_t pc;
    size_t pos;
  };
  std::vector<Frame> stack;
  stack.push_back({start_pc, start_pos});
  const size_t n = text.size();
  while (!stack.empty()) {
    int32_t pc = stack.back().pc;
    size_t pos = stack.back().pos;
    stack.pop_back();
    for (;;) {
      const Inst& in = prog_[pc];
      bool ok = true;
      switch (in.op) {
        case Op::Class:
          ok = pos < n && classes_[in.x].matches(text[pos]);
          if (ok) {
            ++pos;
            ++pc;
          }
          break;
        case Op::Split:
          stack.push_back({in.y, pos});
          pc = in.x;
          break;
        case Op::Jmp:
          pc = in.x;
          break;
        case Op::Match:
          end = pos;
          return true;
        case Op::Bol:
          ok = pos == 0;
          ++pc;
          break;
        case Op::Eol:
          ok = pos == n;
          ++pc;
          break;
        case Op::Look: {
          size_t ignored;
          ok = exec(in.x, text, pos, ignored) != in.negate;
          ++pc;
          break;
        }
      }
      if (!ok) break;
    }
  }
  return false;
}

long Regex::match_at(std::span<const uint32_t> text, size_t pos) const {
  size_t end;
  return exec(0, text, pos, end) ? static_cast<long>(end) : -1;
}

bool Regex::search(std::span<const uint32_t> text, size_t from, size_t& match_begin, size_t& match_end) const {
  for (size_t pos = from; pos <= text.size(); ++pos) {
    size_t end;
    if (exec(0, text, pos, end)) {
      match_begin = pos;
      match_end = end;
      return true;
    }
  }
  return false;
}

void regex_split(const Regex& re, std::span<const uint32_t> text, size_t begin, size_t end, SplitBehavior behavior,
                 bool invert, std::vector<std::pair<size_t, size_t>>& out) {
  // Pieces of [begin, end) each tagged as delimiter (a match) or not.
  struct Piece {
    size_t b, e;
    bool delim;
  };
  std::vector<Piece> pieces;
  const auto segment = text.subspan(begin, end - begin);
  size_t gap = 0, from = 0;
  while (from <= segment.size()) {
    size_t mb, me;
    if (!re.search(segment, from, mb, me)) break;
    if (me == mb) {  // empty matches split nothing
      from = mb + 1;
      continue;
    }
    if (mb > gap) pieces.push_back({begin + gap, begin + mb, invert});
    pieces.push_back({begin + mb, begin + me, !invert});
    gap = from = me;
  }
  if (gap < segment.size()) pieces.push_back({begin + gap, end, invert});

  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const auto& p : pieces) out.push_back({p.b, p.e});
      break;
    case SplitBehavior::Removed:
      for (const auto& p : pieces)
        if (!p.delim) out.push_back({p.b, p.e});
      break;
    case SplitBehavior::MergedWithPrevious: {
      bool prev_open = false;  // last piece out can take a following delimiter
      for (const auto& p : pieces) {
        if (p.delim && prev_open) {
          out.back().second = p.e;
          prev_open = false;
        } else {
          out.push_back({p.b, p.e});
          prev_open = !p.delim;
        }
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      size_t pending = SIZE_MAX;  // start of a delimiter waiting for the next piece
      for (const auto& p : pieces) {
        if (p.delim) {
          if (pending != SIZE_MAX) out.push_back({pending, p.b});
          pending = p.b;
        } else if (pending != SIZE_MAX) {
          out.push_back({pending, p.e});
          pending = SIZE_MAX;
        } else {
          out.push_back({p.b, p.e});
        }
      }
      if (pending != SIZE_MAX) out.push_back({pending, end});
      break;
    }
    case SplitBehavior::Contiguous: {
      bool prev_delim = false;
      for (const auto& p : pieces) {
        if (p.delim && prev_delim) out.back().second = p.e;
        else out.push_back({p.b, p.e});
        prev_delim = p.delim;
      }
      break;
    }
  }
}

}  // namespace unicorn
