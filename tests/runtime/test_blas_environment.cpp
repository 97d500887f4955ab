// The BLAS environment a program sets before the libraries load: what it adds for which
// environment, OpenBLAS core and CPU (pure function of its inputs), and the core check itself.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "oacim/runtime/blas_environment.hpp"

namespace {

using oacim::CpuVectorLevel;

oacim::EnvironmentLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST(BlasEnvironment, StopsTheSpinningWorkersWhenUnset) {
  const auto add = as_map(oacim::blas_environment_additions(env_of({}), "Cooperlake", CpuVectorLevel::Avx512));
  EXPECT_EQ(add, (std::map<std::string, std::string>{{"OPENBLAS_THREAD_TIMEOUT", "4"}, {"OMP_WAIT_POLICY", "PASSIVE"}}));
}

TEST(BlasEnvironment, PicksTheMatchingCoreWhenOpenBlasFellBackToGeneric) {
  EXPECT_EQ(as_map(oacim::blas_environment_additions(env_of({}), "Prescott", CpuVectorLevel::Avx512))["OPENBLAS_CORETYPE"],
            "SKYLAKEX");
  EXPECT_EQ(as_map(oacim::blas_environment_additions(env_of({}), "Prescott", CpuVectorLevel::Avx2))["OPENBLAS_CORETYPE"],
            "HASWELL");
  // A CPU without AVX2 has nothing better than the generic kernels.
  EXPECT_EQ(as_map(oacim::blas_environment_additions(env_of({}), "Prescott", CpuVectorLevel::Generic))
                .count("OPENBLAS_CORETYPE"),
            0u);
}

TEST(BlasEnvironment, LeavesWhatTheUserSetAlone) {
  const auto add = oacim::blas_environment_additions(
      env_of({{"OPENBLAS_THREAD_TIMEOUT", "1"}, {"OMP_WAIT_POLICY", "ACTIVE"}, {"OPENBLAS_CORETYPE", "PRESCOTT"}}),
      "Prescott", CpuVectorLevel::Avx512);
  EXPECT_TRUE(add.empty());
}

TEST(BlasEnvironment, RestartsOnlyOnceAndNotWhenTheUserSaysKeep) {
  EXPECT_TRUE(oacim::blas_environment_additions(env_of({{oacim::kBlasEnvironmentMarker, ""}}), "Prescott",
                                                CpuVectorLevel::Avx512)
                  .empty());
  EXPECT_TRUE(oacim::blas_environment_additions(env_of({{oacim::kBlasEnvironmentMarker, "keep"}}), "Prescott",
                                                CpuVectorLevel::Avx512)
                  .empty());
}

TEST(BlasEnvironment, GenericCoresAreThoseBelowTheCpu) {
  EXPECT_TRUE(oacim::openblas_core_is_generic("Prescott", CpuVectorLevel::Avx512));
  EXPECT_TRUE(oacim::openblas_core_is_generic("Haswell", CpuVectorLevel::Avx512));
  EXPECT_FALSE(oacim::openblas_core_is_generic("SkylakeX", CpuVectorLevel::Avx512));
  EXPECT_FALSE(oacim::openblas_core_is_generic("Cooperlake", CpuVectorLevel::Avx512));
  EXPECT_FALSE(oacim::openblas_core_is_generic("Haswell", CpuVectorLevel::Avx2));
  EXPECT_TRUE(oacim::openblas_core_is_generic("Prescott", CpuVectorLevel::Avx2));
  EXPECT_FALSE(oacim::openblas_core_is_generic("Prescott", CpuVectorLevel::Generic));
  EXPECT_FALSE(oacim::openblas_core_is_generic("", CpuVectorLevel::Avx512));  // not OpenBLAS
}

TEST(BlasEnvironment, WarnsOfAGenericCoreAndOfSpinningWorkers) {
  oacim::BlasSetup s;
  EXPECT_EQ(oacim::blas_setup_warning(s), "");  // not OpenBLAS: nothing to say
  s.core = "Cooperlake";
  EXPECT_NE(oacim::blas_setup_warning(s).find("spin"), std::string::npos);
  s.thread_timeout = "4";
  s.omp_wait_policy = "PASSIVE";
  EXPECT_EQ(oacim::blas_setup_warning(s), "");
  s.core = "Prescott";
  s.generic = true;
  EXPECT_NE(oacim::blas_setup_warning(s).find("OPENBLAS_CORETYPE"), std::string::npos);
}
