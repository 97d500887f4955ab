#include "oacim/model/bpe_tokenizer.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/tokenizer_json.hpp"

namespace oacim::model {

namespace {

struct CodeRange {
  char32_t lo, hi;
};
#include "unicode_classes.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&r)[N], char32_t c) {
  const CodeRange* it = std::upper_bound(r, r + N, c, [](char32_t v, const CodeRange& x) { return v < x.lo; });
  return it != r && c <= (it - 1)->hi;
}
bool is_letter(char32_t c) { return c < 0x80 ? ((c | 32) >= 'a' && (c | 32) <= 'z') : in_ranges(kLetterRanges, c); }
bool is_number(char32_t c) { return c < 0x80 ? (c >= '0' && c <= '9') : in_ranges(kNumberRanges, c); }
// Unicode White_Space (what \s matches in the `regex` module GPT-2 uses).
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// UTF-8 decoding into code points with their byte offsets; invalid bytes become U+FFFD, one byte each.
struct Cp {
  char32_t c;
  std::size_t at, len;
};
std::vector<Cp> decode_utf8(const std::string& s) {
  std::vector<Cp> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = n != 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      ok = (cb & 0xC0) == 0x80;
      c = (c << 6) | (cb & 0x3F);
    }
    if (!ok) {
      out.push_back({0xFFFD, i, 1});
      ++i;
      continue;
    }
    out.push_back({c, i, n});
    i += n;
  }
  return out;
}

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

}  // namespace

std::vector<std::string> BpeTokenizer::pre_tokenize(const std::string& text) {
  const std::vector<Cp> cps = decode_utf8(text);
  const std::size_t n = cps.size();
  std::vector<std::string> out;
  auto piece = [&](std::size_t a, std::size_t b) {  // code points [a, b)
    const std::size_t from = cps[a].at;
    const std::size_t to = b < n ? cps[b].at : text.size();
    out.push_back(text.substr(from, to - from));
  };
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = cps[i].c;
    // 's 't 're 've 'm 'll 'd
    if (c == '\'' && i + 1 < n) {
      const char32_t c1 = cps[i + 1].c, c2 = i + 2 < n ? cps[i + 2].c : 0;
      std::size_t len = 0;
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') len = 2;
      else if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) len = 3;
      if (len) {
        piece(i, i + len);
        i += len;
        continue;
      }
    }
    // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
    const std::size_t s0 = (c == ' ' && i + 1 < n) ? i + 1 : i;
    const char32_t d = cps[s0].c;
    auto run = [&](auto pred) {
      std::size_t j = s0;
      while (j < n && pred(cps[j].c)) ++j;
      return j;
    };
    std::size_t end = i;
    if (is_letter(d)) end = run(is_letter);
    else if (is_number(d)) end = run(is_number);
    else if (!is_space(d)) end = run([](char32_t x) { return !is_space(x) && !is_letter(x) && !is_number(x); });
    if (end > s0) {
      piece(i, end);
      i = end;
      continue;
    }
    // '\s+(?!\S)' then '\s+': a whitespace run, leaving its last character to the next piece when
    // a non-space follows (so " word" keeps its space).
    std::size_t j = i;
    while (j < n && is_space(cps[j].c)) ++j;
    if (j < n && j - i > 1) --j;
    piece(i, j);
    i = j;
  }
  return out;
}

int first_missing_id(std::vector<int> ids) {
  std::sort(ids.begin(), ids.end());
  int want = 0;
  for (const int id : ids) {
    if (id > want) break;
    if (id == want) ++want;
  }
  return want;
}

BpeTokenizer BpeTokenizer::build(const std::string& source, const std::vector<std::pair<std::string, int>>& vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges) {
  BpeTokenizer t;
  int max_id = -1;
  for (const auto& [piece, id] : vocab) {
    if (id < 0) throw FormatError(source, fmt::format("id {} of '{}' is negative", id, piece));
    t.piece_to_id_[piece] = id;
    max_id = std::max(max_id, id);
  }
  if (max_id < 0) throw FormatError(source, "the vocabulary is empty");
  // Ids are 0..n-1 without gaps: a larger id means a gap (and must not size an allocation).
  if (static_cast<std::size_t>(max_id) >= t.piece_to_id_.size()) {
    std::vector<int> ids;
    for (const auto& [piece, id] : t.piece_to_id_) ids.push_back(id);
    throw FormatError(source, fmt::format("no piece has id {} (ids must be 0..{} without gaps)", first_missing_id(ids),
                                          t.piece_to_id_.size() - 1));
  }
  t.id_to_piece_.resize(static_cast<std::size_t>(max_id) + 1);
  std::vector<bool> seen(t.id_to_piece_.size(), false);
  for (const auto& [piece, id] : t.piece_to_id_) {
    t.id_to_piece_[static_cast<std::size_t>(id)] = piece;
    seen[static_cast<std::size_t>(id)] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) throw FormatError(source, fmt::format("no piece has id {} (ids must be 0..{} without gaps)", i, max_id));
  }
  int rank = 0;
  for (const auto& m : merges) t.ranks_.emplace(m, rank++);
  // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + k.
  int k = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    t.byte_to_char_[b] = utf8(printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + k++));
    t.char_to_byte_[t.byte_to_char_[b]] = static_cast<unsigned char>(b);
  }
  return t;
}

BpeTokenizer BpeTokenizer::load(const std::string& vocab_json, const std::string& merges_file) {
  const nlohmann::json j = read_json_file(vocab_json);
  if (!j.is_object() || j.empty()) throw FormatError(vocab_json, "must be a non-empty object of piece -> id");
  std::vector<std::pair<std::string, int>> vocab;
  for (const auto& [piece, id] : j.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= static_cast<std::int64_t>(j.size())) {
      throw FormatError(vocab_json, fmt::format("id of '{}' is not an integer in [0, {})", piece, j.size()));
    }
    vocab.emplace_back(piece, id.get<int>());
  }
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(read_whole_file(merges_file));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const std::size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size()) {
      throw FormatError(merges_file, fmt::format("line {} is not two symbols separated by a space", lineno));
    }
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  return build(vocab_json, vocab, merges);
}

BpeTokenizer BpeTokenizer::load_tokenizer_json(const std::string& path) {
  const TokenizerJson tj = read_tokenizer_json(path);
  if (!tj.byte_level) {
    throw FormatError(path, "is not a byte-level BPE (GPT-2/OPT): its pre_tokenizer has no ByteLevel step");
  }
  if (tj.split_regex) {
    throw FormatError(path, "uses a Split pre-tokenizer regex (Llama 3 / GPT-4 style), not GPT-2's pattern; not supported");
  }
  return build(path, tj.vocab, tj.merges);
}

std::vector<std::string> BpeTokenizer::bpe(const std::string& mapped) const {
  std::vector<std::string> word;
  for (const Cp& cp : decode_utf8(mapped)) word.push_back(mapped.substr(cp.at, cp.len));
  while (word.size() > 1) {
    int best = -1;
    std::pair<std::string, std::string> bigram;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = ranks_.find({word[i], word[i + 1]});
      if (it != ranks_.end() && (best < 0 || it->second < best)) {
        best = it->second;
        bigram = it->first;
      }
    }
    if (best < 0) break;
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == bigram.first && word[i + 1] == bigram.second) {
        merged.push_back(word[i] + word[i + 1]);
        i += 2;
      } else {
        merged.push_back(word[i]);
        ++i;
      }
    }
    word = std::move(merged);
  }
  return word;
}

std::vector<int> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  for (const std::string& piece : pre_tokenize(text)) {
    std::string mapped;
    for (unsigned char b : piece) mapped += byte_to_char_[b];
    for (const std::string& sym : bpe(mapped)) {
      const auto it = piece_to_id_.find(sym);
      if (it == piece_to_id_.end()) throw FormatError("the BPE vocabulary", fmt::format("BPE produced '{}', which has no id", sym));
      ids.push_back(it->second);
    }
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids) const {
  std::string mapped;
  for (int id : ids) mapped += id_to_piece_.at(static_cast<std::size_t>(id));
  std::string out;
  for (const Cp& cp : decode_utf8(mapped)) {
    const auto it = char_to_byte_.find(mapped.substr(cp.at, cp.len));
    if (it != char_to_byte_.end()) out += static_cast<char>(it->second);
  }
  return out;
}

}  // namespace oacim::model
