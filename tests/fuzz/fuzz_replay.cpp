// Deterministic fuzzing on every build: each target runs every seed of tests/fuzz/corpus/<target>/
// and a fixed number of seeded mutations of them (bit flips, boundary bytes, truncations,
// insertions, repeated slices, digit edits), through the same entry points as the libFuzzer
// binaries. Prints one line per target and fails on the first input that escapes or takes over 10 s.
// Usage: oacim_fuzz_replay CORPUS_DIR [MUTATIONS_PER_SEED=64] [TARGET...]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace {

struct XorShift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

std::string mutate(const std::string& seed, XorShift& r) {
  std::string b = seed;
  const int edits = 1 + static_cast<int>(r.below(4));
  for (int e = 0; e < edits; ++e) {
    switch (r.below(7)) {
      case 0:  // flip a bit
        if (!b.empty()) b[r.below(b.size())] ^= static_cast<char>(1u << r.below(8));
        break;
      case 1: {  // a boundary byte
        static const unsigned char kBytes[] = {0x00, 0xff, 0x7f, 0x80, 0x01, '"', '{', '[', ':', '-', '\n'};
        if (!b.empty()) b[r.below(b.size())] = static_cast<char>(kBytes[r.below(sizeof kBytes)]);
        break;
      }
      case 2:  // truncate
        b.resize(r.below(b.size() + 1));
        break;
      case 3: {  // insert random bytes
        std::string ins(1 + r.below(8), '\0');
        for (char& c : ins) c = static_cast<char>(r.next());
        b.insert(r.below(b.size() + 1), ins);
        break;
      }
      case 4: {  // repeat a slice
        if (b.empty()) break;
        const std::size_t at = r.below(b.size()), len = 1 + r.below(std::min<std::size_t>(64, b.size() - at));
        b.insert(r.below(b.size() + 1), b.substr(at, len));
        break;
      }
      case 5: {  // a digit to an extreme number (JSON, YAML, headers in text)
        const std::size_t at = b.find_first_of("0123456789", r.below(b.size() + 1));
        static const char* kNumbers[] = {"-1", "0", "2147483648", "-2147483648", "1e308", "nan", "99999999999999999999"};
        if (at != std::string::npos) b.replace(at, 1, kNumbers[r.below(7)]);
        break;
      }
      default: {  // overwrite a little-endian 32-bit field
        if (b.size() < 4) break;
        static const std::uint32_t kValues[] = {0u, 0xffffffffu, 0x80000000u, 0x7fffffffu, 1u << 20, 3u};
        const std::uint32_t v = kValues[r.below(6)];
        const std::size_t at = r.below(b.size() - 3);
        for (int k = 0; k < 4; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<char>(v >> (8 * k));
        break;
      }
    }
  }
  return b;
}

constexpr double kSlowInputSeconds = 10.0;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: oacim_fuzz_replay CORPUS_DIR [MUTATIONS_PER_SEED] [TARGET...]\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  const int mutations = argc > 2 ? std::atoi(argv[2]) : 64;
  std::vector<std::string> only(argv + std::min(argc, 3), argv + argc);
  int failures = 0;
  std::size_t total = 0;
  for (const auto& t : oacim::fuzz::targets()) {
    if (!only.empty() && std::find(only.begin(), only.end(), t.name) == only.end()) continue;
    const fs::path dir = corpus / t.name;
    std::vector<fs::path> seeds;
    if (fs::is_directory(dir)) {
      for (const auto& e : fs::directory_iterator(dir)) seeds.push_back(e.path());
    }
    std::sort(seeds.begin(), seeds.end());
    if (seeds.empty()) {
      std::printf("%-20s no seeds in %s\n", t.name, dir.c_str());
      ++failures;
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t runs = 0;
    std::string failed;
    for (const auto& seed_path : seeds) {
      const std::string seed = read_file(seed_path);
      XorShift r{0x9E3779B97F4A7C15ull ^ std::hash<std::string>{}(seed_path.filename().string())};
      for (int m = -1; m < mutations && failed.empty(); ++m) {
        const std::string input = m < 0 ? seed : mutate(seed, r);
        ++runs;
        const auto started = std::chrono::steady_clock::now();
        std::string why = oacim::fuzz::run_one(t, input);
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        // libFuzzer's -timeout of tools/fuzz.sh: a loader must refuse any input quickly, not crunch it.
        if (why.empty() && took > kSlowInputSeconds) why = "took " + std::to_string(took) + " s on one input";
        if (!why.empty()) {
          const fs::path keep = fs::temp_directory_path() / (std::string("oacim-fuzz-failure-") + t.name);
          std::ofstream(keep, std::ios::binary) << input;
          failed = why + " (seed " + seed_path.filename().string() + ", mutation " + std::to_string(m) +
                   "; input kept in " + keep.string() + ")";
        }
      }
    }
    total += runs;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-20s %zu seeds, %zu inputs, %.2f s: %s\n", t.name, seeds.size(), runs, s,
                failed.empty() ? "ok" : failed.c_str());
    if (!failed.empty()) ++failures;
  }
  std::error_code ec;
  fs::remove_all(oacim::fuzz::scratch_dir(), ec);
  std::printf("fuzz replay: %zu inputs, %d target(s) failed\n", total, failures);
  return failures == 0 ? 0 : 1;
}
