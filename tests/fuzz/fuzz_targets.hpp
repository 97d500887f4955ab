#pragma once
// The fuzz targets of oacim's loaders: one entry point per file format, shared by the libFuzzer
// binaries (tools/fuzz.sh, built with -DOACIM_FUZZ=ON and clang) and by the deterministic replay
// of tests/fuzz/corpus that ctest runs on every build (fuzz_replay.cpp). A loader may refuse an
// input only with an oacim::Error (a clear message naming the file); anything else escaping an
// entry point (another exception type, a sanitizer report, a crash, a hang) is a finding.
#include <string>
#include <vector>

namespace oacim::fuzz {

struct Target {
  const char* name;
  void (*run)(const std::string& bytes);  // may throw oacim::Error (a clean refusal)
};

// Every target this build has (the torch-free ones always; with OACIM_FUZZ_WITH_TORCH the model
// loaders as well).
const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

// Runs one input: "" when the target accepted or cleanly refused it, else what escaped.
std::string run_one(const Target& target, const std::string& bytes);

// A per-process scratch folder for the files the loaders read (created on first use).
const std::string& scratch_dir();
// Writes `bytes` to scratch_dir()/name and returns the path.
std::string scratch_file(const std::string& name, const std::string& bytes);

}  // namespace oacim::fuzz
