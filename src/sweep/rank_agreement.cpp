#include "rank_agreement.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/version.hpp"

namespace oacim::sweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kProbeName = ".oacim-rank-probe";

std::string file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "unreadable";
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  return fmt::format("{:016x}", fnv1a64(bytes.data(), bytes.size()));
}

json fingerprint(dist::Communicator& comm, const std::string& config, const std::string& out_dir, int jobs) {
  std::error_code ec;
  return {{"version", kVersion},
          {"commit", kGitCommit},
          {"config", file_digest(config)},
          {"cwd", fs::current_path(ec).string()},
          {"out", out_dir},
          {"host", comm.host()},
          {"jobs", jobs}};
}

// The first way rank r differs from rank 0, or "".
std::string disagreement(const json& mine, const json& theirs, int r, const std::string& config) {
  const std::string who = fmt::format("rank {} on {}", r, theirs.value("host", "?"));
  if (theirs.at("version") != mine.at("version") || theirs.at("commit") != mine.at("commit")) {
    return fmt::format("{} runs oacim {} (commit {}), rank 0 runs {} (commit {}): every rank must run the same build",
                       who, theirs.at("version").get<std::string>(), theirs.at("commit").get<std::string>(),
                       mine.at("version").get<std::string>(), mine.at("commit").get<std::string>());
  }
  if (theirs.at("cwd") != mine.at("cwd")) {
    return fmt::format("{} starts in {}, rank 0 in {}: start every rank in the same directory (mpirun --wdir DIR)", who,
                       theirs.at("cwd").get<std::string>(), mine.at("cwd").get<std::string>());
  }
  if (theirs.at("config") != mine.at("config")) {
    return fmt::format("{} reads a different {} (digest {}, rank 0 has {}): every rank must see the same experiment "
                       "file (a shared file system)",
                       who, config, theirs.at("config").get<std::string>(), mine.at("config").get<std::string>());
  }
  if (theirs.at("out") != mine.at("out")) {
    return fmt::format("{} was given --out {}, rank 0 --out {}", who, theirs.at("out").get<std::string>(),
                       mine.at("out").get<std::string>());
  }
  return "";
}

// Rank 0's word on every rank: go on, or stop with this error.
void broadcast_verdict(dist::Communicator& comm, json& verdict) {
  std::string bytes = comm.root() ? verdict.dump() : std::string();
  comm.broadcast(bytes, 0);
  verdict = json::parse(bytes);
  if (!verdict.at("ok").get<bool>()) throw dist::JobFailure(verdict.at("error").get<std::string>(), verdict.at("code").get<int>());
}

std::string read_probe(const std::string& path) {
  // A file just created on a network file system may take a moment to appear on another node.
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream in(path);
    std::string text;
    if (in && std::getline(in, text)) return text;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

RankAgreement agreement_of(const std::vector<std::string>& prints, long long threads) {
  RankAgreement a;
  for (const std::string& p : prints) {
    const json j = json::parse(p);
    a.hosts.push_back(j.at("host").get<std::string>());
    a.jobs.push_back(j.at("jobs").get<int>());
  }
  a.threads = threads;
  return a;
}

}  // namespace

int RankAgreement::ranks_on_host(int rank) const {
  int n = 0;
  for (const std::string& h : hosts) n += h == hosts[static_cast<std::size_t>(rank)] ? 1 : 0;
  return n;
}

RankAgreement agree_as_root(dist::Communicator& comm, const std::string& config, const std::string& out_dir, int jobs,
                            const std::function<long long()>& prepare) {
  const json mine = fingerprint(comm, config, out_dir, jobs);
  const std::vector<std::string> prints = comm.gather(mine.dump(), 0);
  json verdict = {{"ok", true}, {"error", ""}, {"code", 0}};
  for (int r = 1; r < comm.size() && verdict["ok"]; ++r) {
    const std::string why = disagreement(mine, json::parse(prints[static_cast<std::size_t>(r)]), r, config);
    if (!why.empty()) verdict = {{"ok", false}, {"error", why}, {"code", 2}};
  }
  const std::string probe = (fs::path(out_dir) / kProbeName).string();
  const std::string nonce = fmt::format("{}-{}-{}", comm.host(), ::getpid(),
                                        std::chrono::steady_clock::now().time_since_epoch().count());
  long long threads = 0;
  if (verdict["ok"]) {
    try {
      threads = prepare();
      write_file_atomically(probe, nonce + "\n");
    } catch (const InvalidArgument& e) {
      verdict = {{"ok", false}, {"error", e.what()}, {"code", 2}};
    } catch (const std::exception& e) {
      verdict = {{"ok", false}, {"error", e.what()}, {"code", 1}};
    }
  }
  verdict["threads"] = threads;
  verdict["nonce"] = nonce;
  std::vector<std::string> hosts;
  for (const std::string& p : prints) hosts.push_back(json::parse(p).at("host").get<std::string>());
  verdict["hosts"] = hosts;
  broadcast_verdict(comm, verdict);
  // Every rank must see the file rank 0 just wrote into DIR.
  const std::vector<std::string> seen = comm.gather("", 0);
  json final_verdict = {{"ok", true}, {"error", ""}, {"code", 0}};
  for (int r = 1; r < comm.size(); ++r) {
    if (seen[static_cast<std::size_t>(r)] == nonce) continue;
    const json them = json::parse(prints[static_cast<std::size_t>(r)]);
    final_verdict = {{"ok", false},
                     {"error", fmt::format("rank {} on {} does not see {} that rank 0 wrote: DIR must be on a file "
                                           "system every rank shares",
                                           r, them.at("host").get<std::string>(), probe)},
                     {"code", 2}};
    break;
  }
  std::error_code ec;
  fs::remove(probe, ec);
  broadcast_verdict(comm, final_verdict);
  return agreement_of(prints, threads);
}

RankAgreement agree_as_worker(dist::Communicator& comm, const std::string& config, const std::string& out_dir,
                              int jobs) {
  const json mine = fingerprint(comm, config, out_dir, jobs);
  comm.gather(mine.dump(), 0);
  json verdict;
  broadcast_verdict(comm, verdict);
  comm.gather(read_probe((fs::path(out_dir) / kProbeName).string()), 0);
  json final_verdict;
  broadcast_verdict(comm, final_verdict);
  RankAgreement a;
  a.threads = verdict.at("threads").get<long long>();
  a.hosts = verdict.at("hosts").get<std::vector<std::string>>();
  a.jobs.assign(a.hosts.size(), 0);  // only rank 0 needs the others' slots
  a.jobs[static_cast<std::size_t>(comm.rank())] = jobs;
  return a;
}

}  // namespace oacim::sweep
