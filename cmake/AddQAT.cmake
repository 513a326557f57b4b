# AddQAT.cmake: install qat as a CMake package (find_package(QAT CONFIG)) and
# link the MLIR C API archives next to the MLIR dylib.
#
# Libraries join the package without anyone listing them:
#   * add_mlir_library targets are installed by upstream's
#     add_mlir_library_install (AddMLIR.cmake) into the export set
#     `MLIRTargets` and recorded in the global property MLIR_EXPORTS; in this
#     project that set holds only qat's libraries (MLIR's own are imported), so
#     qat_install_package() exports it as QAT::<name>. DISABLE_INSTALL opts out.
#   * plain add_library targets (the CUDA runtime, which must also build
#     without LLVM) are found by walking the source tree and installed into the
#     same set; a plain library opts out with the target property
#     QAT_NO_INSTALL.

include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

# The layout of add_mlir_library_install, which places qat's MLIR libraries.
set(QAT_INSTALL_LIBDIR "lib${LLVM_LIBDIR_SUFFIX}")
set(QAT_INSTALL_INCLUDEDIR "include")
set(QAT_INSTALL_PACKAGE_DIR "${QAT_INSTALL_LIBDIR}/cmake/qat")

# qat_target_link_mlir_capi(<target> <PUBLIC|PRIVATE|INTERFACE> <MLIRCAPI...>)
#
# Links upstream C API archives (MLIRCAPIIR, ...) by their file rather than by
# their imported target. Debian ships the C API only as static archives, and
# the imported targets carry the static C++ libraries (MLIRIR, MLIRPass, ...) in
# their link interface: linking those next to libMLIR.so would put a second
# copy of MLIR's C++ code, with its own TypeIDs, registries and cl::opts, into
# the process. The archives' own objects hold only the extern "C" wrappers
# (C++ inline helpers compiled with hidden visibility, no static
# initializers), so the C++ code they call is resolved from the dylib.
# The generator expression resolves against the consumer's find_package(MLIR),
# so the installed package stays relocatable.
function(qat_target_link_mlir_capi target scope)
  foreach(capi IN LISTS ARGN)
    if(NOT TARGET ${capi})
      message(FATAL_ERROR "qat: ${capi} is not an MLIR C API library")
    endif()
    target_link_libraries(${target} ${scope} "$<TARGET_FILE:${capi}>")
  endforeach()
  target_link_libraries(${target} ${scope} MLIR)
endfunction()

# Collects the non-imported library targets defined in `dir` and below.
function(_qat_collect_library_targets dir out)
  set(found)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type MATCHES "^(STATIC|SHARED)_LIBRARY$")
      list(APPEND found ${target})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    _qat_collect_library_targets("${subdir}" sub)
    list(APPEND found ${sub})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# qat_install_package(): call once, at the end of the top-level CMakeLists.txt,
# when every library target exists. Installs the public headers (sources and
# generated .h.inc), the libraries, QATTargets.cmake (namespace QAT::) and
# QATConfig.cmake, and defines `qat-package`, the target that builds everything
# `cmake --install` copies: the libraries, and what other directories add to
# the global property QAT_INSTALLED_TARGETS (the tools, the Python package).
function(qat_install_package)
  get_property(mlir_libraries GLOBAL PROPERTY MLIR_EXPORTS)
  _qat_collect_library_targets("${PROJECT_SOURCE_DIR}" all_libraries)

  set(exported)
  foreach(target IN LISTS all_libraries)
    get_target_property(folder ${target} FOLDER)
    get_target_property(opt_out ${target} QAT_NO_INSTALL)
    if(target IN_LIST mlir_libraries)
      list(APPEND exported ${target})
    elseif(NOT folder STREQUAL "MLIR/Libraries" AND NOT opt_out)
      # Plain CMake libraries: install them the way add_mlir_library would.
      install(TARGETS ${target} EXPORT MLIRTargets COMPONENT ${target}
        LIBRARY DESTINATION "${QAT_INSTALL_LIBDIR}"
        ARCHIVE DESTINATION "${QAT_INSTALL_LIBDIR}"
        RUNTIME DESTINATION bin)
      list(APPEND exported ${target})
    endif()
  endforeach()
  list(SORT exported)

  # The installed headers sit under <prefix>/include; the build tree keeps
  # using the directory-wide include_directories().
  foreach(target IN LISTS exported)
    target_include_directories(${target} INTERFACE
      "$<INSTALL_INTERFACE:${QAT_INSTALL_INCLUDEDIR}>")
  endforeach()

  install(DIRECTORY
      "${PROJECT_SOURCE_DIR}/include/qat"
      "${PROJECT_SOURCE_DIR}/include/qat-c"
    DESTINATION "${QAT_INSTALL_INCLUDEDIR}"
    COMPONENT qat-headers
    FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
  # Generated declarations the public headers include (QATOps.h.inc, ...).
  install(DIRECTORY "${PROJECT_BINARY_DIR}/include/qat"
    DESTINATION "${QAT_INSTALL_INCLUDEDIR}"
    COMPONENT qat-headers
    FILES_MATCHING PATTERN "*.h.inc"
    PATTERN "CMakeFiles" EXCLUDE)

  install(EXPORT MLIRTargets
    FILE QATTargets.cmake
    NAMESPACE QAT::
    DESTINATION "${QAT_INSTALL_PACKAGE_DIR}"
    COMPONENT qat-cmake-package)

  set(QAT_EXPORTED_TARGETS ${exported})
  configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/QATConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/cmake/QATConfig.cmake"
    INSTALL_DESTINATION "${QAT_INSTALL_PACKAGE_DIR}"
    PATH_VARS QAT_INSTALL_INCLUDEDIR)
  write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/cmake/QATConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY SameMinorVersion)
  install(FILES
      "${PROJECT_BINARY_DIR}/cmake/QATConfig.cmake"
      "${PROJECT_BINARY_DIR}/cmake/QATConfigVersion.cmake"
    DESTINATION "${QAT_INSTALL_PACKAGE_DIR}"
    COMPONENT qat-cmake-package)

  # `cmake --install` copies files and builds nothing: tests that install the
  # package depend on this target.
  add_custom_target(qat-package)
  get_property(installed GLOBAL PROPERTY QAT_INSTALLED_TARGETS)
  add_dependencies(qat-package ${exported} ${installed})
  message(STATUS "qat: package exports ${exported}")
endfunction()

# qat_install_tool(<target>): installs an executable into <prefix>/bin. The
# MLIR dylib lives in LLVM's private library directory (Debian:
# /usr/lib/llvm-22/lib), which the dynamic loader does not search, so the
# installed tool keeps it on its RPATH next to $ORIGIN/../lib (add_llvm_
# executable's install RPATH has only the latter).
function(qat_install_tool target)
  set_property(TARGET ${target} PROPERTY INSTALL_RPATH
    "\$ORIGIN/../${QAT_INSTALL_LIBDIR}" "${LLVM_LIBRARY_DIR}")
  install(TARGETS ${target}
    RUNTIME DESTINATION bin
    COMPONENT qat-tools)
  set_property(GLOBAL APPEND PROPERTY QAT_INSTALLED_TARGETS ${target})
endfunction()
