// gtest main for SystemC tests: libsystemc.so exports its own main(), so this binary defines one
// (and the sc_main stub comes from oacim_sim). Each test elaborates once; ctest runs every test
// in its own process (gtest_discover_tests).
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
