// The torch runtime: the thread count is what we set, and a BLAS is loaded and runs a matmul.
#include <gtest/gtest.h>

#include "oacim/runtime/torch_runtime.hpp"

namespace oacim {
namespace {

TEST(TorchRuntime, ConfiguresThreadsAndFindsBlas) {
  const TorchRuntimeInfo info = configure_torch(1);
  EXPECT_EQ(info.threads, 1);
  EXPECT_FALSE(info.torch_version.empty());
  EXPECT_NE(info.blas_library.find("blas"), std::string::npos) << info.blas_library;
  EXPECT_GT(measure_matmul_gflops(64, 3), 0.0);
}

}  // namespace
}  // namespace oacim
