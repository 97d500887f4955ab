#include "oacim/model/calibration_generator.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/host_memory.hpp"
#include "oacim/core/py_random.hpp"
#include "oacim/model/generation.hpp"
#include "oacim/model/model_loader.hpp"

namespace oacim::model {

namespace {

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
}

std::string join(const std::vector<int>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

// Tokens per sample, prefix included.
int sample_length(const LoadedModel& m, const CalibrationGenOptions& o) {
  return o.length == 0 ? m.decoder->max_positions() : o.length;
}

void validate(const LoadedModel& m, const CalibrationGenOptions& o) {
  if (o.n < 1) throw InvalidArgument("nsamples", fmt::format("{} is not a positive sample count", o.n));
  const int positions = m.decoder->max_positions();
  const int length = sample_length(m, o);
  const int longest_greedy = o.greedy_lengths.empty() ? 0 : *std::max_element(o.greedy_lengths.begin(), o.greedy_lengths.end());
  if (length < 1 || length > positions) {
    throw InvalidArgument("seqlen", fmt::format("{} is outside 1..{} (the model's positions)", length, positions));
  }
  if (o.greedy_lengths.empty() || *std::min_element(o.greedy_lengths.begin(), o.greedy_lengths.end()) < 1) {
    throw InvalidArgument("greedy", "needs at least one greedy length, each >= 1 (the first token counts)");
  }
  if (static_cast<int>(m.prefix_ids.size()) + longest_greedy > length) {
    throw InvalidArgument("seqlen", fmt::format("{} leaves no room for {} greedy tokens after a prefix of {}", length,
                                               longest_greedy, m.prefix_ids.size()));
  }
  if (o.top_k < 1) throw InvalidArgument("top_k", fmt::format("{} is not a positive count", o.top_k));
  if (!(o.temperature > 0.0f)) throw InvalidArgument("temperature", "must be > 0");
  if (o.chunk < 0) throw InvalidArgument("chunk", "must not be negative");
  for (int id : o.allowed_first_tokens) {
    if (id < 0 || id >= m.decoder->vocab_size()) {
      throw InvalidArgument("first_token_ids", fmt::format("id {} is outside the vocabulary of {}", id, m.decoder->vocab_size()));
    }
  }
}

}  // namespace

std::vector<int> eligible_first_tokens(const LoadedModel& m, const CalibrationGenOptions& o) {
  std::regex re;
  if (!o.first_token_regex.empty()) {
    try {
      re = std::regex(o.first_token_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw InvalidArgument("first_token_regex", fmt::format("'{}' is not a valid regex: {}", o.first_token_regex, e.what()));
    }
  }
  const std::set<int> special(m.special_ids.begin(), m.special_ids.end());
  const std::set<int> allowed(o.allowed_first_tokens.begin(), o.allowed_first_tokens.end());
  std::vector<int> out;
  for (int id = 0; id < m.decoder->vocab_size(); ++id) {
    if (special.count(id) || (!allowed.empty() && !allowed.count(id))) continue;
    const std::string text = m.token_text(id);
    if (blank(text) || !valid_utf8(text)) continue;
    if (text.size() >= 3 && text[0] == text[1] && text[1] == text[2]) continue;  // "...", "===" (NT's filter)
    if (!o.first_token_regex.empty() && !std::regex_match(text, re)) continue;
    out.push_back(id);
  }
  return out;
}

namespace {

// Decoding makes every Linear's fp32 weight: refuse a model that cannot fit before hours of
// generation end in the OOM killer.
void check_memory(const LoadedModel& m, const CalibrationGenOptions& o) {
  std::int64_t to_make = 0;
  for (const QuantLinear* lin : m.decoder->linears()) {
    to_make += static_cast<std::int64_t>(lin->in_features()) * lin->out_features() * 4 -
               static_cast<std::int64_t>(lin->float_bytes_held());
  }
  const std::int64_t limit = o.memory_limit_bytes >= 0 ? o.memory_limit_bytes : read_host_memory().usable();
  if (limit < 0 || to_make <= limit) return;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  throw InvalidArgument("model", fmt::format("self-generated calibration decodes with the whole float model, {:.1f} GiB of "
                                             "fp32 weights still to make, and {:.1f} GiB are available; calibrate on a "
                                             "dataset or a token file instead, or generate the calibration file on a "
                                             "machine with more memory",
                                             static_cast<double>(to_make) / gib, static_cast<double>(limit) / gib));
}

int chunk_size(const CalibrationGenOptions& o) { return o.chunk > 0 ? o.chunk : std::max(1, std::min(16, o.n / 3)); }


}  // namespace

CalibrationShare generate_calibration_share(const LoadedModel& m, const CalibrationGenOptions& o, int rank, int ranks,
                                            const std::function<void(int, int)>& progress) {
  if (ranks < 1 || rank < 0 || rank >= ranks) {
    throw InvalidArgument("rank", fmt::format("rank {} of {} does not exist", rank, ranks));
  }
  validate(m, o);
  check_memory(m, o);
  const int length = sample_length(m, o);
  std::vector<int> pool = eligible_first_tokens(m, o);
  if (static_cast<int>(pool.size()) < o.n) {
    throw InvalidArgument("nsamples", fmt::format("only {} first tokens pass the filters, fewer than the {} samples asked for "
                                             "(first tokens never repeat)",
                                             pool.size(), o.n));
  }
  // Partial Fisher-Yates with Python's generator: n distinct first tokens (every rank draws them all).
  PyRandom rng(o.seed);
  for (int i = 0; i < o.n; ++i) {
    const auto j = static_cast<std::size_t>(rng.randint(i, static_cast<std::int64_t>(pool.size()) - 1));
    std::swap(pool[static_cast<std::size_t>(i)], pool[j]);
  }
  const int chunk = chunk_size(o);
  const int chunks = (o.n + chunk - 1) / chunk;
  const int mine = chunks / ranks + (rank < chunks % ranks ? 1 : 0);
  CalibrationShare out;
  int done = 0;
  for (int k = rank; k < chunks; k += ranks) {
    const int c0 = k * chunk;
    const int c1 = std::min(o.n, c0 + chunk);
    std::vector<std::vector<int>> prompts;
    std::vector<std::uint64_t> ids;
    for (int i = c0; i < c1; ++i) {
      std::vector<int> p = m.prefix_ids;
      p.push_back(pool[static_cast<std::size_t>(i)]);
      prompts.push_back(std::move(p));
      ids.push_back(static_cast<std::uint64_t>(i));
    }
    GenerationOptions g;
    g.length = length;
    g.greedy_until = static_cast<int>(m.prefix_ids.size()) + o.greedy_lengths[static_cast<std::size_t>(k) % o.greedy_lengths.size()];
    g.top_k = o.top_k;
    g.temperature = o.temperature;
    if (o.stop_at_eos) g.stop_ids = m.stop_ids;
    g.seed = o.seed;
    int i = c0;
    for (auto& s : generate_batch(*m.decoder, prompts, ids, g, Backend::Float)) {
      out.index.push_back(i++);
      out.samples.push_back(std::move(s));
    }
    if (progress) progress(++done, mine);
  }
  return out;
}

TokenSamples assemble_calibration(const LoadedModel& m, const CalibrationGenOptions& o,
                                  std::vector<CalibrationShare> shares) {
  TokenSamples out;
  out.samples.resize(static_cast<std::size_t>(o.n));
  std::vector<bool> seen(static_cast<std::size_t>(o.n), false);
  for (CalibrationShare& share : shares) {
    if (share.index.size() != share.samples.size()) {
      throw InvalidArgument("shares", fmt::format("a share has {} indices for {} samples", share.index.size(), share.samples.size()));
    }
    for (std::size_t i = 0; i < share.index.size(); ++i) {
      const int at = share.index[i];
      if (at < 0 || at >= o.n || seen[static_cast<std::size_t>(at)]) {
        throw InvalidArgument("shares", fmt::format("sample {} is outside 0..{} or given twice", at, o.n - 1));
      }
      seen[static_cast<std::size_t>(at)] = true;
      out.samples[static_cast<std::size_t>(at)] = std::move(share.samples[i]);
    }
  }
  const auto missing = std::find(seen.begin(), seen.end(), false);
  if (missing != seen.end()) {
    throw InvalidArgument("shares", fmt::format("sample {} is in no share", missing - seen.begin()));
  }
  std::string greedy;
  for (int g : o.greedy_lengths) greedy += (greedy.empty() ? "" : ",") + std::to_string(g);
  const int length = sample_length(m, o);
  out.metadata = {{"oacim.model", m.source_model},
                  {"oacim.generator", "self-generated (docs/algorithms.md C.3)"},
                  {"oacim.n", std::to_string(o.n)},
                  {"oacim.length", std::to_string(length)},
                  {"oacim.seed", std::to_string(o.seed)},
                  {"oacim.top_k", std::to_string(o.top_k)},
                  {"oacim.temperature", fmt::format("{}", o.temperature)},
                  {"oacim.greedy_lengths", greedy},
                  {"oacim.chunk", std::to_string(chunk_size(o))},
                  {"oacim.first_token_regex", o.first_token_regex},
                  {"oacim.allowed_first_tokens", join(o.allowed_first_tokens)},
                  {"oacim.stop_at_eos", o.stop_at_eos ? "true" : "false"},
                  {"oacim.prefix", join(m.prefix_ids)}};
  return out;
}

TokenSamples generate_calibration(const LoadedModel& m, const CalibrationGenOptions& o,
                                  const std::function<void(int, int)>& progress) {
  // Progress in samples: a chunk's worth after each chunk.
  const auto by_samples = [&](int chunks_done, int) {
    if (progress) progress(std::min(o.n, chunks_done * chunk_size(o)), o.n);
  };
  return assemble_calibration(m, o, {generate_calibration_share(m, o, 0, 1, by_samples)});
}

}  // namespace oacim::model
