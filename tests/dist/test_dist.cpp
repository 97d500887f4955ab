// The dist layer (docs/scaleout.md): collectives and messages in rank order, payloads read back
// with their lengths checked, the launcher's environment recognised and kept from child
// processes. Runs as one process and, registered again, as 3 MPI ranks (every rank runs every
// test in the same order, so the collectives pair up).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "oacim/core/error.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/dist/payload.hpp"

namespace oacim::dist {

Communicator* g_world = nullptr;

namespace {

Communicator& world() { return g_world ? *g_world : single_process(); }

TEST(Dist, GatherArrivesInRankOrderAtAnyRoot) {
  Communicator& w = world();
  for (int root = 0; root < w.size(); ++root) {
    const std::string mine(static_cast<std::size_t>(w.rank()) * 3, static_cast<char>('a' + w.rank()));
    const std::vector<std::string> parts = w.gather(mine, root);
    if (w.rank() != root) {
      EXPECT_TRUE(parts.empty());
      continue;
    }
    ASSERT_EQ(parts.size(), static_cast<std::size_t>(w.size()));
    for (int r = 0; r < w.size(); ++r) {
      EXPECT_EQ(parts[static_cast<std::size_t>(r)], std::string(static_cast<std::size_t>(r) * 3, static_cast<char>('a' + r)));
    }
  }
}

TEST(Dist, BroadcastAndAllGather) {
  Communicator& w = world();
  std::string bytes = w.root() ? std::string("\0from rank 0\xff", 13) : std::string("stale");
  w.broadcast(bytes, 0);
  EXPECT_EQ(bytes, std::string("\0from rank 0\xff", 13));
  const std::vector<std::string> all = w.all_gather(std::to_string(w.rank() * 10));
  ASSERT_EQ(all.size(), static_cast<std::size_t>(w.size()));
  for (int r = 0; r < w.size(); ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)], std::to_string(r * 10));
  w.barrier();
}

TEST(Dist, MessagesKeepTheirOrderAndPollNeverWaits) {
  Communicator& w = world();
  EXPECT_FALSE(w.poll(11).has_value());  // nothing was sent with this tag
  if (!w.distributed()) {
    EXPECT_THROW(w.send(1, 5, "x"), Error);
    return;
  }
  if (w.rank() != 0) {
    for (int k = 0; k < 3; ++k) w.send(0, 5, std::to_string(w.rank()) + ":" + std::to_string(k));
    const Message m = w.receive(0, 6);
    EXPECT_EQ(m.bytes, "done");
  } else {
    std::vector<std::vector<std::string>> got(static_cast<std::size_t>(w.size()));
    for (int n = 0; n < 3 * (w.size() - 1);) {
      if (std::optional<Message> m = w.poll(5)) {
        got[static_cast<std::size_t>(m->source)].push_back(m->bytes);
        ++n;
      }
    }
    for (int r = 1; r < w.size(); ++r) {
      const std::vector<std::string> want = {std::to_string(r) + ":0", std::to_string(r) + ":1", std::to_string(r) + ":2"};
      EXPECT_EQ(got[static_cast<std::size_t>(r)], want);
      w.send(r, 6, "done");
    }
  }
  w.barrier();
}

TEST(Dist, PayloadsRoundTripAndRefuseTruncation) {
  const std::vector<double> v = {1.5, -0.0, 1e300};
  EXPECT_EQ(from_bytes<double>(to_bytes(v), "v"), v);
  EXPECT_THROW(from_bytes<double>(to_bytes(v).substr(0, 20), "v"), Error);
  const std::vector<std::string> parts = {"", std::string("a\0b", 3), "ccc"};
  EXPECT_EQ(split_parts(join_parts(parts), "p"), parts);
  const std::string joined = join_parts(parts);
  EXPECT_THROW(split_parts(joined.substr(0, joined.size() - 1), "p"), Error);
  EXPECT_THROW(split_parts("abc", "p"), Error);
}

TEST(Dist, LauncherVariablesAreRecognisedAndKeptFromChildren) {
  // Under mpirun the real variables are there; as one process, set some.
  const bool under_mpi = launch_info().launched;
  if (!under_mpi) {
    ::setenv("PMI_RANK", "2", 1);
    ::setenv("PMI_SIZE", "4", 1);
  }
  const LaunchInfo li = launch_info();
  EXPECT_TRUE(li.launched);
  if (!under_mpi) {
    EXPECT_EQ(li.launcher, "PMI");
    EXPECT_EQ(li.rank, 2);
    EXPECT_EQ(li.size, 4);
  }
  ::setenv("OACIM_TEST_KEEP", "1", 1);
  bool kept = false;
  for (const std::string& e : environment_without_launcher()) {
    EXPECT_NE(e.rfind("OMPI_", 0), 0u) << e;
    EXPECT_NE(e.rfind("PMI_", 0), 0u) << e;
    EXPECT_NE(e.rfind("PMIX_", 0), 0u) << e;
    kept = kept || e == "OACIM_TEST_KEEP=1";
  }
  EXPECT_TRUE(kept);
  if (!under_mpi) {
    ::unsetenv("PMI_RANK");
    ::unsetenv("PMI_SIZE");
    EXPECT_FALSE(launch_info().launched);
  }
}

}  // namespace
}  // namespace oacim::dist

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  oacim::dist::Session session(argc, argv);
  oacim::dist::g_world = &session.world();
  // Only rank 0 prints; every rank's failures still fail the job (its exit code).
  if (!session.world().root()) {
    ::testing::TestEventListeners& l = ::testing::UnitTest::GetInstance()->listeners();
    delete l.Release(l.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  return rc;
}
