// The MPI runtime of one process (communicator.hpp): Boost.MPI's environment and MPI_COMM_WORLD
// when built with MPI and started by a launcher, the single-process world otherwise.
#include <fmt/format.h>

#include "oacim/dist/communicator.hpp"

#if OACIM_HAVE_MPI
#include <mpi.h>

#include <algorithm>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#endif

namespace oacim::dist {

#if OACIM_HAVE_MPI

bool mpi_built_in() { return true; }

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  if (MPI_Get_library_version(text, &len) != MPI_SUCCESS) return "MPI (version unknown)";
  std::string v(text, static_cast<std::size_t>(std::max(0, len)));
  const std::size_t nl = v.find_first_of("\n,");  // the first line, without the build details
  return nl == std::string::npos ? v : v.substr(0, nl);
}

namespace {

// MPI counts are int: large payloads travel in pieces of at most this many bytes.
constexpr std::size_t kChunkBytes = std::size_t{1} << 30;
constexpr int kGatherTag = kFirstInternalTag + 1;

class MpiWorld final : public Communicator {
 public:
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void barrier() override { comm_.barrier(); }

  void broadcast(std::string& bytes, int root) override {
    std::uint64_t n = bytes.size();
    boost::mpi::broadcast(comm_, n, root);
    if (comm_.rank() != root) bytes.assign(static_cast<std::size_t>(n), '\0');
    for (std::size_t at = 0; at < n; at += kChunkBytes) {
      const std::size_t len = std::min<std::size_t>(kChunkBytes, n - at);
      boost::mpi::broadcast(comm_, bytes.data() + at, static_cast<int>(len), root);
    }
  }

  // Point to point in rank order: no int limit on the total, and the root sees ranks in order.
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    if (comm_.rank() != root) {
      send_bytes(root, kGatherTag, bytes);
      return {};
    }
    std::vector<std::string> parts(static_cast<std::size_t>(comm_.size()));
    for (int r = 0; r < comm_.size(); ++r) parts[static_cast<std::size_t>(r)] = r == root ? bytes : receive_bytes(r, kGatherTag);
    return parts;
  }

  void send(int dest, int tag, const std::string& bytes) override { send_bytes(dest, tag, bytes); }

  std::optional<Message> poll(int tag) override {
    const boost::optional<boost::mpi::status> st = comm_.iprobe(boost::mpi::any_source, tag);
    if (!st) return std::nullopt;
    return Message{st->source(), tag, receive_bytes(st->source(), tag)};
  }

  Message receive(int source, int tag) override { return Message{source, tag, receive_bytes(source, tag)}; }

  [[noreturn]] void abort(int exit_code) override {
    comm_.abort(exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this line only satisfies [[noreturn]]
  }

  std::string host() const override { return boost::mpi::environment::processor_name(); }

 private:
  // A message is its length, then its bytes in pieces, all with one tag (MPI keeps their order).
  void send_bytes(int dest, int tag, const std::string& bytes) {
    const std::uint64_t n = bytes.size();
    comm_.send(dest, tag, n);
    for (std::size_t at = 0; at < n; at += kChunkBytes) {
      comm_.send(dest, tag, bytes.data() + at, static_cast<int>(std::min<std::size_t>(kChunkBytes, n - at)));
    }
  }
  std::string receive_bytes(int source, int tag) {
    std::uint64_t n = 0;
    comm_.recv(source, tag, n);
    std::string bytes(static_cast<std::size_t>(n), '\0');
    for (std::size_t at = 0; at < n; at += kChunkBytes) {
      comm_.recv(source, tag, bytes.data() + at, static_cast<int>(std::min<std::size_t>(kChunkBytes, n - at)));
    }
    return bytes;
  }

  boost::mpi::communicator comm_;
};

}  // namespace

struct Session::Impl {
  std::unique_ptr<boost::mpi::environment> env;
  std::unique_ptr<MpiWorld> world;
};

Session::Session(int& argc, char**& argv) : impl_(std::make_unique<Impl>()) {
  if (!launch_info().launched) return;
  // Only the main thread talks to MPI; libtorch's and the datapath's workers never do.
  impl_->env = std::make_unique<boost::mpi::environment>(argc, argv, boost::mpi::threading::funneled, false);
  impl_->world = std::make_unique<MpiWorld>();
}

Session::~Session() {
  impl_->world.reset();
  impl_->env.reset();  // MPI_Finalize
}

Communicator& Session::world() { return impl_->world ? static_cast<Communicator&>(*impl_->world) : single_process(); }

#else  // no MPI in this build

bool mpi_built_in() { return false; }
std::string mpi_library_version() { return ""; }

struct Session::Impl {};

Session::Session(int&, char**&) : impl_(std::make_unique<Impl>()) {
  const LaunchInfo li = launch_info();
  if (li.launched && li.size != 1) {
    throw LaunchError(fmt::format(
        "started by an MPI launcher ({}, rank {} of {}) but this oacim was built without MPI, so every process "
        "would repeat the whole job: run it without mpirun/srun, or rebuild with OACIM_WITH_MPI=ON "
        "(tools/install-deps.sh installs OpenMPI and Boost.MPI)",
        li.launcher, li.rank < 0 ? std::string("?") : std::to_string(li.rank),
        li.size < 0 ? std::string("?") : std::to_string(li.size)));
  }
}

Session::~Session() = default;

Communicator& Session::world() { return single_process(); }

#endif

}  // namespace oacim::dist
