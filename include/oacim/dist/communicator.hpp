#pragma once
// The processes of one job and the messages between them (docs/scaleout.md). Launched by an MPI
// launcher (mpirun, srun --mpi=pmix) in a build with MPI (OACIM_WITH_MPI), the world is
// MPI_COMM_WORLD through Boost.MPI; otherwise it is this process alone and every collective
// returns its input. Payloads are byte strings that the callers serialise (payload.hpp,
// safetensors), so no MPI type leaks above this layer. Every rank calls the collectives in the
// same order; messages between two ranks arrive in the order they were sent. No torch.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oacim/core/error.hpp"

namespace oacim::dist {

// Several processes were launched but this binary cannot join them (built without MPI).
class LaunchError : public Error {
 public:
  using Error::Error;
};

// A failure the ranks of a job learned together (rank 0 decided it and told the others): rank 0
// reports it, the other ranks end with the same exit code without repeating the message.
class JobFailure : public Error {
 public:
  JobFailure(const std::string& what, int exit_code) : Error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct Message {
  int source = -1;
  int tag = 0;
  std::string bytes;
};

// Tags from kFirstInternalTag up are the collectives' own; callers' point-to-point tags stay below.
inline constexpr int kFirstInternalTag = 30000;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool root() const { return rank() == 0; }
  bool distributed() const { return size() > 1; }

  virtual void barrier() = 0;
  // `bytes` of rank `root` on every rank.
  virtual void broadcast(std::string& bytes, int root) = 0;
  // On `root`: every rank's bytes, by rank; on the others: nothing.
  virtual std::vector<std::string> gather(const std::string& bytes, int root) = 0;
  // Every rank's bytes, by rank, on every rank.
  std::vector<std::string> all_gather(const std::string& bytes);

  virtual void send(int dest, int tag, const std::string& bytes) = 0;
  // A message with `tag` that has arrived from any rank, or nothing: never waits.
  virtual std::optional<Message> poll(int tag) = 0;
  // Waits for the next message from `source` with `tag`.
  virtual Message receive(int source, int tag) = 0;

  // Ends every process of the job with `exit_code`: a rank that cannot go on must not leave the
  // others waiting in a collective.
  [[noreturn]] virtual void abort(int exit_code) = 0;
  virtual std::string host() const = 0;
};

// The world of this process alone.
Communicator& single_process();

// Whether this binary was built with MPI (OACIM_WITH_MPI), and the MPI library's version ("" without).
bool mpi_built_in();
std::string mpi_library_version();

// What the environment says about an MPI launch: mpirun/mpiexec (OMPI_COMM_WORLD_*), PMIx
// (srun --mpi=pmix, prterun: PMIX_RANK) or PMI (MPICH/Hydra, srun --mpi=pmi2: PMI_RANK/PMI_SIZE).
struct LaunchInfo {
  bool launched = false;  // started by an MPI launcher
  int rank = 0;           // as the launcher numbered this process (-1: not said)
  int size = 1;           // processes in the job (-1: not said)
  std::string launcher;   // "OpenMPI", "PMIx", "PMI", or ""
};
LaunchInfo launch_info();

// The process environment without the variables an MPI launcher sets for its ranks (OMPI_*,
// PMIX_*, PMI_*, HYDRA_*, MPI_LOCAL*), so that a child process (a sweep task) runs as a plain
// single process and never tries to join the job; as "NAME=value" strings.
std::vector<std::string> environment_without_launcher();

// Owns the MPI runtime of this process: initialises it when the binary has MPI and an MPI
// launcher started the process, and finalises it on destruction. Throws dist::LaunchError when a
// launcher started several processes but the binary has no MPI (each would repeat the whole job).
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Communicator& world();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oacim::dist
