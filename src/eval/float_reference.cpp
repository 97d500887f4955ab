#include "oacim/eval/float_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/safetensors.hpp"
#include "byte_fields.hpp"

namespace oacim::eval {

namespace fs = std::filesystem;

namespace {

template <class T>
std::vector<T> from_tensor(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// log-probabilities of the `tokens` predictions of a window [tokens, vocab], and their targets.
at::Tensor log_probs(const at::Tensor& logits, int tokens) {
  return at::log_softmax(logits.narrow(0, 0, tokens).to(at::kFloat), 1);
}

at::Tensor targets(const std::vector<int>& window) {
  const std::vector<std::int64_t> next(window.begin() + 1, window.end());
  return at::tensor(next, at::kLong);
}

}  // namespace

FloatReference::FloatReference(int vocab, int tokens_per_window, int first_window, bool full)
    : vocab_(vocab), tokens_(tokens_per_window), first_(first_window), full_(full || vocab <= kReferenceTopK) {}

bool FloatReference::full_fits(std::int64_t windows, int tokens_per_window, int vocab, std::int64_t max_bytes) {
  return windows * tokens_per_window * static_cast<std::int64_t>(vocab) * 4 <= max_bytes;
}

std::string FloatReference::basis() const {
  return full_ ? "full distribution"
               : fmt::format("top-{} tokens + rest (lower bound of the KL divergence)", kReferenceTopK);
}

void FloatReference::append(const at::Tensor& logits, const std::vector<int>& window) {
  const at::Tensor lp = log_probs(logits, tokens_);
  append_to(target_lp_, from_tensor<float>(lp.gather(1, targets(window).unsqueeze(1)).squeeze(1)));
  append_to(argmax_, from_tensor<std::int32_t>(lp.argmax(1).to(at::kInt)));
  if (full_) {
    append_to(lp_, from_tensor<float>(lp));
  } else {
    const auto [values, indices] = lp.topk(kReferenceTopK, 1);
    append_to(lp_, from_tensor<float>(values));
    append_to(ids_, from_tensor<std::int32_t>(indices.to(at::kInt)));
  }
  ++windows_;
}

void FloatReference::append_token_nll(const at::Tensor& logits, const std::vector<int>& window, TokenStats& out) {
  const int tokens = static_cast<int>(window.size()) - 1;
  const at::Tensor lp = log_probs(logits, tokens);
  append_to(out.nll, from_tensor<float>(-lp.gather(1, targets(window).unsqueeze(1)).squeeze(1)));
}

void FloatReference::compare(int w, const at::Tensor& logits, const std::vector<int>& window, TokenStats& out) const {
  if (w < first_ || w >= first_ + windows_) {
    throw Error(fmt::format("window {} is not in the float reference (windows {}..{})", w, first_, first_ + windows_ - 1));
  }
  const std::int64_t at0 = static_cast<std::int64_t>(w - first_) * tokens_;
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor lp = log_probs(logits, tokens_);
  const at::Tensor tgt = targets(window);
  const at::Tensor nll = -lp.gather(1, tgt.unsqueeze(1)).squeeze(1);
  const at::Tensor ref_target =
      at::from_blob(const_cast<float*>(target_lp_.data()) + at0, {tokens_}, opts).clone();
  const at::Tensor ref_argmax =
      at::from_blob(const_cast<std::int32_t*>(argmax_.data()) + at0, {tokens_}, at::TensorOptions().dtype(at::kInt)).clone();
  const std::int64_t kk = k();
  const at::Tensor ref_lp = at::from_blob(const_cast<float*>(lp_.data()) + at0 * kk, {tokens_, kk}, opts);
  at::Tensor kld;
  if (full_) {
    kld = (ref_lp.exp() * (ref_lp - lp)).sum(1);
  } else {
    const at::Tensor ids = at::from_blob(const_cast<std::int32_t*>(ids_.data()) + at0 * kk, {tokens_, kk},
                                         at::TensorOptions().dtype(at::kInt))
                               .to(at::kLong);
    const at::Tensor lp_k = lp.gather(1, ids);
    const at::Tensor p_ref = ref_lp.exp();
    const at::Tensor rest_ref = (1.0 - p_ref.sum(1)).clamp_min(0.0);
    const at::Tensor rest = (1.0 - lp_k.exp().sum(1)).clamp_min(1e-30);
    const at::Tensor rest_term =
        at::where(rest_ref > 0, rest_ref * (rest_ref.clamp_min(1e-30).log() - rest.log()), at::zeros_like(rest_ref));
    kld = (p_ref * (ref_lp - lp_k)).sum(1) + rest_term;
  }
  append_to(out.nll, from_tensor<float>(nll));
  append_to(out.float_nll, from_tensor<float>(-ref_target));
  append_to(out.kld, from_tensor<float>(kld));
  append_to(out.delta_p, from_tensor<float>((-nll).exp() - ref_target.exp()));
  append_to(out.top1_agree, from_tensor<std::uint8_t>(lp.argmax(1).to(at::kInt).eq(ref_argmax).to(at::kByte)));
}

FloatReference FloatReference::slice(int begin, int end) const {
  if (begin < first_ || end > first_ + windows_ || begin > end) {
    throw Error(fmt::format("windows {}..{} are not in the float reference", begin, end - 1));
  }
  FloatReference r(vocab_, tokens_, begin, full_);
  const auto cut = [&](const auto& v, std::size_t per_window) {
    using V = std::decay_t<decltype(v)>;
    return V(v.begin() + static_cast<std::ptrdiff_t>((begin - first_) * per_window),
             v.begin() + static_cast<std::ptrdiff_t>((end - first_) * per_window));
  };
  const std::size_t t = static_cast<std::size_t>(tokens_);
  r.target_lp_ = cut(target_lp_, t);
  r.argmax_ = cut(argmax_, t);
  r.lp_ = cut(lp_, t * static_cast<std::size_t>(k()));
  if (!full_) r.ids_ = cut(ids_, t * static_cast<std::size_t>(k()));
  r.windows_ = end - begin;
  return r;
}

void FloatReference::extend(const FloatReference& next) {
  if (next.first_ != first_ + windows_ || next.full_ != full_ || next.vocab_ != vocab_ || next.tokens_ != tokens_) {
    throw Error("float-reference shares do not follow each other");
  }
  append_to(target_lp_, next.target_lp_);
  append_to(argmax_, next.argmax_);
  append_to(lp_, next.lp_);
  append_to(ids_, next.ids_);
  windows_ += next.windows_;
}

std::string FloatReference::to_bytes() const {
  std::string out;
  put(out, std::vector<std::int32_t>{vocab_, tokens_, first_, windows_, full_ ? 1 : 0});
  put(out, target_lp_);
  put(out, argmax_);
  put(out, lp_);
  put(out, ids_);
  return out;
}

FloatReference FloatReference::from_bytes(const std::string& bytes) {
  std::size_t at = 0;
  const auto head = take<std::int32_t>(bytes, at);
  if (head.size() != 5) throw Error("a float-reference message has no header");
  FloatReference r(head[0], head[1], head[2], head[4] != 0);
  r.windows_ = head[3];
  r.target_lp_ = take<float>(bytes, at);
  r.argmax_ = take<std::int32_t>(bytes, at);
  r.lp_ = take<float>(bytes, at);
  r.ids_ = take<std::int32_t>(bytes, at);
  return r;
}

std::uint64_t FloatReference::checksum() const {
  std::uint64_t h = fnv1a64(target_lp_.data(), target_lp_.size() * sizeof(float));
  h = fnv1a64(argmax_.data(), argmax_.size() * sizeof(std::int32_t), h);
  h = fnv1a64(lp_.data(), lp_.size() * sizeof(float), h);
  return fnv1a64(ids_.data(), ids_.size() * sizeof(std::int32_t), h);
}

void FloatReference::write(const std::string& path, const std::string& key,
                           const std::vector<std::pair<std::string, std::string>>& describe) const {
  const std::int64_t n = static_cast<std::int64_t>(windows_) * tokens_;
  SafetensorsWriter w;
  w.add("target_logprob", DType::F32, {n}, target_lp_);
  w.add("argmax", DType::I32, {n}, argmax_);
  w.add("logprobs", DType::F32, {n, k()}, lp_);
  if (!full_) w.add("topk_ids", DType::I32, {n, k()}, ids_);
  for (const auto& [name, value] : describe) w.set_metadata(name, value);
  w.set_metadata("oacim.format", kFloatReferenceFormat);
  w.set_metadata("oacim.key", key);
  w.set_metadata("oacim.basis", full_ ? "full" : fmt::format("top{}", kReferenceTopK));
  w.set_metadata("oacim.vocab", std::to_string(vocab_));
  w.set_metadata("oacim.tokens_per_window", std::to_string(tokens_));
  w.set_metadata("oacim.windows", std::to_string(windows_));
  w.set_metadata("oacim.checksum", fmt::format("{:016x}", checksum()));
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  w.write(path);
}

std::optional<FloatReference> FloatReference::read(const std::string& path, const std::string& key, int vocab,
                                                   int tokens_per_window, int windows, std::string& why_not) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    why_not = "not computed yet";
    return std::nullopt;
  }
  try {
    const SafetensorsFile f = SafetensorsFile::open(path);
    const auto& m = f.metadata();
    const auto meta = [&](const char* name) { return m.count(name) ? m.at(name) : std::string(); };
    if (meta("oacim.format") != kFloatReferenceFormat) throw FormatError(path, "not a float reference");
    if (meta("oacim.key") != key) throw FormatError(path, "made for another model, dataset or window");
    const bool full = meta("oacim.basis") == "full";
    FloatReference r(vocab, tokens_per_window, 0, full);
    if (meta("oacim.vocab") != std::to_string(vocab) || meta("oacim.tokens_per_window") != std::to_string(tokens_per_window) ||
        meta("oacim.windows") != std::to_string(windows) || r.full_ != full) {
      throw FormatError(path, "its sizes do not match the evaluation");
    }
    const std::int64_t n = static_cast<std::int64_t>(windows) * tokens_per_window;
    r.target_lp_ = f.read<float>("target_logprob", DType::F32, {n});
    r.argmax_ = f.read<std::int32_t>("argmax", DType::I32, {n});
    r.lp_ = f.read<float>("logprobs", DType::F32, {n, r.k()});
    if (!full) r.ids_ = f.read<std::int32_t>("topk_ids", DType::I32, {n, r.k()});
    r.windows_ = windows;
    if (meta("oacim.checksum") != fmt::format("{:016x}", r.checksum())) throw FormatError(path, "the checksum does not match");
    for (const std::int32_t id : r.argmax_) {
      if (id < 0 || id >= vocab) throw FormatError(path, "a token id is outside the vocabulary");
    }
    for (const std::int32_t id : r.ids_) {
      if (id < 0 || id >= vocab) throw FormatError(path, "a token id is outside the vocabulary");
    }
    return r;
  } catch (const std::exception& e) {
    why_not = fmt::format("unusable ({}); computed again", e.what());
    return std::nullopt;
  }
}

std::string model_files_identity(const std::string& model_path) {
  std::error_code ec;
  const fs::path model = fs::weakly_canonical(fs::absolute(model_path, ec), ec);
  std::string id;
  std::vector<fs::path> files;
  if (fs::is_directory(model, ec)) {
    for (const auto& e : fs::directory_iterator(model, ec)) {
      if (e.is_regular_file(ec)) files.push_back(e.path());
    }
  } else {
    files.push_back(model);
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    const auto size = fs::file_size(p, ec);
    const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
    id += fmt::format("{}:{}:{}|", p.filename().string(), size, static_cast<long long>(mtime));
  }
  return id;
}

std::string float_reference_key(const std::string& source_model, const std::vector<int>& corpus, int seqlen, int windows,
                                bool full) {
  std::error_code ec;
  const fs::path model = fs::weakly_canonical(fs::absolute(source_model, ec), ec);
  const std::string id = fmt::format("{}|{}|{}|{}|{}|", kFloatReferenceFormat, model.string(), seqlen, windows,
                                     full ? "full" : "topk") + model_files_identity(source_model);
  const std::uint64_t h = fnv1a64(corpus.data(), corpus.size() * sizeof(int), fnv1a64(id));
  return fmt::format("{:016x}", h);
}

}  // namespace oacim::eval
