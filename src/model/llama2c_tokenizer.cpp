#include "oacim/model/llama2c_tokenizer.hpp"

#include <cmath>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <queue>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/model/tokenizer_json.hpp"

namespace oacim::model {

namespace {

// A SentencePiece piece as llama2.c's export writes it: the meta-space U+2581 becomes a space; BOS
// and EOS get printable markers.
std::string export_piece(const std::string& piece, bool bos, bool eos) {
  if (bos) return "\n<s>\n";
  if (eos) return "\n</s>\n";
  std::string text;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
      text += ' ';
      i += 2;
    } else {
      text += piece[i];
    }
  }
  return text;
}

}  // namespace

Llama2cTokenizer Llama2cTokenizer::load(const std::string& path, int vocab_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open the tokenizer");
  if (vocab_size < 3) throw FormatError(path, fmt::format("a vocabulary of {} pieces has no <unk>, <s> and </s>", vocab_size));
  Llama2cTokenizer t;
  std::int32_t max_len = 0;
  if (!in.read(reinterpret_cast<char*>(&max_len), 4) || max_len <= 0 || max_len > 4096) {
    throw FormatError(path, "missing or implausible max_token_length header");
  }
  for (int i = 0; i < vocab_size; ++i) {
    float score = 0;
    std::int32_t len = 0;
    if (!in.read(reinterpret_cast<char*>(&score), 4) || !in.read(reinterpret_cast<char*>(&len), 4)) {
      throw FormatError(path, fmt::format("truncated at piece {} of {}", i, vocab_size));
    }
    if (len < 0 || len > max_len) {
      throw FormatError(path, fmt::format("piece {} has length {} (max_token_length {})", i, len, max_len));
    }
    if (!std::isfinite(score)) throw FormatError(path, fmt::format("piece {} has a non-finite score", i));
    std::string s(static_cast<std::size_t>(len), '\0');
    if (len > 0 && !in.read(s.data(), len)) throw FormatError(path, fmt::format("truncated inside piece {}", i));
    t.add_piece(std::move(s), score);
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    throw FormatError(path, fmt::format("holds more than the model's {} pieces", vocab_size));
  }
  return t;
}

namespace {

// Protobuf wire format: just enough for ModelProto.pieces (field 1) and SentencePiece
// {piece = 1 (string), score = 2 (float), type = 3 (enum)}.
struct WireReader {
  const std::uint8_t* p;
  const std::uint8_t* end;
  const std::string& path;
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) throw FormatError(path, "truncated varint");
      const std::uint8_t b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    throw FormatError(path, "varint longer than 10 bytes");
  }
  const std::uint8_t* take(std::uint64_t n) {
    if (n > static_cast<std::uint64_t>(end - p)) throw FormatError(path, "length-delimited field runs past the end");
    const std::uint8_t* at = p;
    p += n;
    return at;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: take(8); break;
      case 2: take(varint()); break;
      case 5: take(4); break;
      default: throw FormatError(path, fmt::format("unsupported protobuf wire type {}", wire));
    }
  }
};

}  // namespace

Llama2cTokenizer Llama2cTokenizer::load_sentencepiece(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  WireReader r{data, data + bytes.size(), path};
  Llama2cTokenizer t;
  while (r.p < r.end) {
    const std::uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field != 1 || wire != 2) {
      r.skip(wire);
      continue;
    }
    const std::uint64_t len = r.varint();
    WireReader m{r.take(len), nullptr, path};
    m.end = m.p + len;
    std::string piece;
    float score = 0.0f;
    while (m.p < m.end) {
      const std::uint64_t k = m.varint();
      const int f = static_cast<int>(k >> 3), w = static_cast<int>(k & 7);
      if (f == 1 && w == 2) {
        const std::uint64_t n = m.varint();
        piece.assign(reinterpret_cast<const char*>(m.take(n)), n);
      } else if (f == 2 && w == 5) {
        std::memcpy(&score, m.take(4), 4);
      } else {  // type (3) and anything newer
        m.skip(w);
      }
    }
    const int id = static_cast<int>(t.pieces_.size());
    if (!std::isfinite(score)) throw FormatError(path, fmt::format("piece {} has a non-finite score", id));
    t.add_piece(export_piece(piece, id == kBos, id == kEos), score);
  }
  if (t.pieces_.size() < 3) throw FormatError(path, fmt::format("holds {} pieces: not a SentencePiece model", t.pieces_.size()));
  return t;
}

Llama2cTokenizer Llama2cTokenizer::from_pieces(const std::vector<std::string>& pieces, const std::vector<float>& scores,
                                               const std::string& source) {
  if (pieces.size() != scores.size()) {
    throw FormatError(source, fmt::format("{} pieces but {} scores", pieces.size(), scores.size()));
  }
  if (pieces.size() < 3) throw FormatError(source, fmt::format("holds {} pieces: not a SentencePiece vocabulary", pieces.size()));
  Llama2cTokenizer t;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    if (!std::isfinite(scores[id])) throw FormatError(source, fmt::format("piece {} has a non-finite score", id));
    t.add_piece(export_piece(pieces[id], static_cast<int>(id) == kBos, static_cast<int>(id) == kEos), scores[id]);
  }
  return t;
}

Llama2cTokenizer Llama2cTokenizer::load_tokenizer_json(const std::string& path) {
  const TokenizerJson tj = read_tokenizer_json(path);
  if (tj.byte_level) {
    throw FormatError(path, "is a byte-level BPE (GPT-2 style), not a SentencePiece-style LLaMA tokenizer");
  }
  int max_id = -1;
  for (const auto& [piece, id] : tj.vocab) max_id = std::max(max_id, id);
  // Ids are 0..n-1 without gaps: a larger id means a gap (and must not size an allocation).
  if (max_id < 0 || static_cast<std::size_t>(max_id) >= tj.vocab.size()) {
    std::vector<int> ids;
    for (const auto& [piece, id] : tj.vocab) ids.push_back(id);
    throw FormatError(path, fmt::format("no piece has id {} (ids must be 0..{} without gaps)", first_missing_id(ids),
                                        static_cast<std::int64_t>(tj.vocab.size()) - 1));
  }
  std::vector<std::string> pieces(static_cast<std::size_t>(max_id) + 1);
  std::vector<bool> seen(pieces.size(), false);
  for (const auto& [piece, id] : tj.vocab) {
    if (id < 0) throw FormatError(path, fmt::format("id {} of '{}' is negative", id, piece));
    pieces[static_cast<std::size_t>(id)] = piece;
    seen[static_cast<std::size_t>(id)] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) throw FormatError(path, fmt::format("no piece has id {} (ids must be 0..{} without gaps)", i, max_id));
  }
  // SentencePiece merges by piece score; HF's converter lists the merges in that order, so a
  // merged piece's score is minus the rank of the first merge that makes it.
  std::unordered_map<std::string, int> first_rank;
  for (std::size_t r = 0; r < tj.merges.size(); ++r) first_rank.emplace(tj.merges[r].first + tj.merges[r].second, static_cast<int>(r));
  Llama2cTokenizer t;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    const auto it = first_rank.find(pieces[id]);
    const float score = it != first_rank.end() ? -static_cast<float>(it->second) : -1e9f;
    t.add_piece(export_piece(pieces[id], pieces[id] == "<s>", pieces[id] == "</s>"), score);
  }
  if (t.pieces_.size() < 3) throw FormatError(path, fmt::format("holds {} pieces: not a LLaMA tokenizer", t.pieces_.size()));
  return t;
}

void Llama2cTokenizer::add_piece(std::string piece, float score) {
  // The first occurrence of a piece wins, like llama2.c's sorted lookup of unique pieces.
  ids_.emplace(piece, static_cast<int>(pieces_.size()));
  pieces_.push_back(std::move(piece));
  scores_.push_back(score);
}

int Llama2cTokenizer::lookup(const std::string& s) const {
  const auto it = ids_.find(s);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int> Llama2cTokenizer::encode(const std::string& text, bool bos, bool eos) const {
  std::vector<int> tokens;
  if (bos) tokens.push_back(kBos);
  if (!text.empty()) {
    const int space = lookup(" ");
    if (space >= 0) tokens.push_back(space);
  }
  // One piece per UTF-8 code point (at most 4 bytes); unknown code points fall back to the byte
  // pieces <0x00>..<0xFF> (ids 3..258 in llama2.c files), or to <unk> (0) in a vocabulary without them.
  const int byte_base = lookup("<0x00>");
  const bool has_bytes = byte_base >= 0 && static_cast<std::size_t>(byte_base) + 256 <= pieces_.size();
  std::string cp;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if ((ch & 0xC0) != 0x80) cp.clear();
    cp.push_back(static_cast<char>(ch));
    const bool next_is_continuation =
        i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80 && cp.size() < 4;
    if (next_is_continuation) continue;
    const int id = lookup(cp);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (unsigned char b : cp) tokens.push_back(has_bytes ? byte_base + static_cast<int>(b) : 0);
    }
    cp.clear();
  }
  // llama2.c merges, again and again, the adjacent pair whose merged piece scores highest (the
  // leftmost on ties). The same choice sequence with a heap and a linked list: O(n log n) instead
  // of llama2.c's O(n^2) rescans, which take minutes on a corpus.
  const std::size_t n = tokens.size();
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int>(i) + 1 : -1;
  }
  struct Candidate {
    float score;
    int left;   // position of the left token (positions keep the sequence order)
    int right;
    int left_id;
    int right_id;
    int merged;
    bool operator<(const Candidate& o) const {  // max-heap: higher score first, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> heap;
  auto push = [&](int l) {
    if (l < 0 || next[static_cast<std::size_t>(l)] < 0) return;
    const int r = next[static_cast<std::size_t>(l)];
    const int lid = tokens[static_cast<std::size_t>(l)];
    const int rid = tokens[static_cast<std::size_t>(r)];
    const int id = lookup(pieces_[static_cast<std::size_t>(lid)] + pieces_[static_cast<std::size_t>(rid)]);
    if (id >= 0) heap.push({scores_[static_cast<std::size_t>(id)], l, r, lid, rid, id});
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<int>(i));
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const auto l = static_cast<std::size_t>(c.left);
    const auto r = static_cast<std::size_t>(c.right);
    // Stale: a side was merged away or changed since this pair was scored.
    if (!alive[l] || !alive[r] || next[l] != c.right || tokens[l] != c.left_id || tokens[r] != c.right_id) continue;
    tokens[l] = c.merged;
    alive[r] = false;
    next[l] = next[r];
    if (next[r] >= 0) prev[static_cast<std::size_t>(next[r])] = c.left;
    push(prev[l]);
    push(c.left);
  }
  std::vector<int> merged;
  merged.reserve(n);
  for (int i = n ? 0 : -1; i >= 0; i = next[static_cast<std::size_t>(i)]) merged.push_back(tokens[static_cast<std::size_t>(i)]);
  tokens = std::move(merged);
  if (eos) tokens.push_back(kEos);
  return tokens;
}

std::string Llama2cTokenizer::decode(int prev, int token) const {
  std::string piece = pieces_.at(static_cast<std::size_t>(token));
  if (prev == kBos && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  unsigned int byte = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &byte) == 1) return std::string(1, static_cast<char>(byte));
  return piece;
}

}  // namespace oacim::model
