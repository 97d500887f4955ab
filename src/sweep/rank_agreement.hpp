#pragma once
// Before a distributed sweep runs anything, its ranks agree (task_executor.hpp): the same oacim
// version and commit, the same experiment file, the same working and output directory; rank 0
// validates and prepares DIR, and every rank proves it sees DIR through a file rank 0 wrote there
// (a shared file system). Any disagreement stops every rank with one error from rank 0
// (dist::JobFailure). Private to the sweep layer.
#include <functional>
#include <string>
#include <vector>

#include "oacim/dist/communicator.hpp"

namespace oacim::sweep {

struct RankAgreement {
  std::vector<std::string> hosts;  // by rank
  std::vector<int> jobs;           // each rank's --jobs
  long long threads = 0;           // the experiment's `threads` (0: each rank divides its CPUs)
  int ranks_on_host(int rank) const;
};

// Rank 0: `prepare` validates the experiment, writes DIR and returns the experiment's `threads`.
RankAgreement agree_as_root(dist::Communicator& comm, const std::string& config, const std::string& out_dir, int jobs,
                            const std::function<long long()>& prepare);
RankAgreement agree_as_worker(dist::Communicator& comm, const std::string& config, const std::string& out_dir,
                              int jobs);

}  // namespace oacim::sweep
