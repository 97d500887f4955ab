# The CMake package (docs/library.md): `cmake --install build --prefix P`, then in a consumer
# `find_package(oacim REQUIRED COMPONENTS core hw [sim] [torch])` and link oacim::core, oacim::hw
# (no torch, SystemC or Boost), oacim::sim (SystemC) and oacim::frontend (libtorch: model, eval,
# quant, tweak). The libraries are static; their own dependencies are found again by
# oacimConfig.cmake.
include(CMakePackageConfigHelpers)

set(OACIM_PACKAGE_TARGETS oacim_core oacim_hw)
set(OACIM_PACKAGE_COMPONENTS core hw)
set_target_properties(oacim_core PROPERTIES EXPORT_NAME core)
set_target_properties(oacim_hw PROPERTIES EXPORT_NAME hw)
if(OACIM_WITH_SYSTEMC)
  list(APPEND OACIM_PACKAGE_TARGETS oacim_sim oacim_systemc_deps)
  list(APPEND OACIM_PACKAGE_COMPONENTS sim)
  set_target_properties(oacim_sim PROPERTIES EXPORT_NAME sim)
endif()
if(OACIM_WITH_TORCH)
  # One target for the libtorch layers; the libraries behind it are exported by their own names.
  add_library(oacim_frontend INTERFACE)
  target_link_libraries(oacim_frontend INTERFACE oacim_model oacim_eval oacim_quant oacim_tweak oacim_torch_runtime)
  set_target_properties(oacim_frontend PROPERTIES EXPORT_NAME frontend)
  list(APPEND OACIM_PACKAGE_TARGETS oacim_frontend oacim_model oacim_model_io oacim_options oacim_data oacim_eval
       oacim_quant oacim_optim oacim_tweak oacim_dist oacim_torch_runtime oacim_blas_environment)
  list(APPEND OACIM_PACKAGE_COMPONENTS torch)
endif()

foreach(t IN LISTS OACIM_PACKAGE_TARGETS)
  get_target_property(type ${t} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${t} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
endforeach()

install(TARGETS ${OACIM_PACKAGE_TARGETS} EXPORT oacimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/oacim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/oacim/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/oacim)
if(OACIM_WITH_SYSTEMC)
  install(DIRECTORY sim/include/oacim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
endif()
install(EXPORT oacimTargets NAMESPACE oacim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/oacim)

configure_package_config_file(tools/cmake/oacimConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/oacimConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/oacim)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/oacimConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/oacimConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/oacimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/oacim)
