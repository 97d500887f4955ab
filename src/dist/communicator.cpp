#include "oacim/dist/communicator.hpp"
#include "oacim/dist/payload.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace oacim::dist {

std::vector<std::string> Communicator::all_gather(const std::string& bytes) {
  std::vector<std::string> parts = gather(bytes, 0);
  std::string joined;
  if (root()) joined = join_parts(parts);
  broadcast(joined, 0);
  return split_parts(joined, "all_gather");
}

namespace {

std::string host_name() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  void broadcast(std::string&, int) override {}
  std::vector<std::string> gather(const std::string& bytes, int) override { return {bytes}; }
  void send(int dest, int, const std::string&) override {
    throw Error(fmt::format("send to rank {}: this job is a single process", dest));
  }
  std::optional<Message> poll(int) override { return std::nullopt; }
  Message receive(int source, int) override {
    throw Error(fmt::format("receive from rank {}: this job is a single process", source));
  }
  [[noreturn]] void abort(int exit_code) override { std::_Exit(exit_code); }
  std::string host() const override { return host_name(); }
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return end != nullptr && *end == 0 && x >= 0 && x < (1L << 30) ? static_cast<int>(x) : -1;
}

}  // namespace

Communicator& single_process() {
  static SingleProcess world;
  return world;
}

LaunchInfo launch_info() {
  LaunchInfo info;
  const auto take = [&](const char* launcher, const char* rank_var, const char* size_var) {
    if (info.launched || std::getenv(rank_var) == nullptr) return;
    info.launched = true;
    info.launcher = launcher;
    info.rank = env_int(rank_var);
    info.size = size_var ? env_int(size_var) : -1;
  };
  take("OpenMPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
  take("PMIx", "PMIX_RANK", nullptr);
  take("PMI", "PMI_RANK", "PMI_SIZE");
  return info;
}

std::vector<std::string> environment_without_launcher() {
  static const char* const kPrefixes[] = {"OMPI_", "PMIX_", "PMI_", "HYDRA_", "MPI_LOCALNRANKS=", "MPI_LOCALRANKID=",
                                          "PRTE_", "OPAL_"};
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    bool launcher = false;
    for (const char* p : kPrefixes) launcher = launcher || std::strncmp(*e, p, std::strlen(p)) == 0;
    if (!launcher) env.emplace_back(*e);
  }
  return env;
}

std::string join_parts(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    const std::uint64_t n = p.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += p;
  }
  return out;
}

std::vector<std::string> split_parts(const std::string& bytes, const char* what) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::uint64_t n = 0;
    if (bytes.size() - at < sizeof n) throw Error(fmt::format("message '{}': truncated part length", what));
    std::memcpy(&n, bytes.data() + at, sizeof n);
    at += sizeof n;
    if (n > bytes.size() - at) throw Error(fmt::format("message '{}': a part runs past the end", what));
    parts.emplace_back(bytes.substr(at, n));
    at += n;
  }
  return parts;
}

}  // namespace oacim::dist
