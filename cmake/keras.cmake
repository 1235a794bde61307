# Keras files (.keras zips and legacy .h5) in src/interop/: with NNC_INTEROP on, the HDF5 C
# library and libzip are required (Debian: libhdf5-dev libzip-dev) and configure stops with a
# message naming the packages when they are missing; with it off, the Keras sources are left
# out and src/interop/stubs.c answers that reading and writing them is not built.
# Included from the top CMakeLists.txt before the library's targets are made; it filters
# NNC_SOURCES and defines nnc_keras_usage(), which the library's usage function calls.

set(NNC_KERAS OFF)
if(NNC_INTEROP)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(NNC_HDF5 QUIET hdf5)
    pkg_check_modules(NNC_LIBZIP QUIET libzip)
  endif()
  if(NOT NNC_HDF5_FOUND)
    # Without pkg-config (or its hdf5.pc), CMake's own module.
    find_package(HDF5 QUIET COMPONENTS C)
    if(HDF5_FOUND)
      set(NNC_HDF5_FOUND ON)
      set(NNC_HDF5_INCLUDE_DIRS ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
      set(NNC_HDF5_LINK_LIBRARIES ${HDF5_C_LIBRARIES})
    endif()
  endif()
  set(nnc_missing "")
  if(NOT NNC_HDF5_FOUND)
    list(APPEND nnc_missing "the HDF5 C library (Debian: libhdf5-dev)")
  endif()
  if(NOT NNC_LIBZIP_FOUND)
    list(APPEND nnc_missing "libzip (Debian: libzip-dev)")
  endif()
  if(nnc_missing)
    string(REPLACE ";" " and " nnc_missing "${nnc_missing}")
    message(FATAL_ERROR "NNC_INTEROP is ON (Keras .keras/.h5 files) but ${nnc_missing} was not "
      "found. Install it (apt-get install -y libhdf5-dev libzip-dev) or configure with "
      "-DNNC_INTEROP=OFF.")
  endif()
  set(NNC_KERAS ON)
  message(STATUS "Keras files: HDF5 ${NNC_HDF5_VERSION}, libzip ${NNC_LIBZIP_VERSION}")
else()
  list(FILTER NNC_SOURCES EXCLUDE REGEX "/src/interop/(keras|h5|zip)_[^/]*\\.c$")
endif()

# What a target that compiles or links the library needs for Keras files: the headers (for
# the static libraries PUBLIC, so that the tests may make HDF5 and zip files too), the
# libraries, and NNC_HAVE_KERAS, which tells stubs.c and the tests that they are built.
function(nnc_keras_usage target scope)
  if(NOT NNC_KERAS)
    return()
  endif()
  target_include_directories(${target} SYSTEM ${scope} ${NNC_HDF5_INCLUDE_DIRS} ${NNC_LIBZIP_INCLUDE_DIRS})
  target_link_libraries(${target} ${scope} ${NNC_HDF5_LINK_LIBRARIES} ${NNC_LIBZIP_LINK_LIBRARIES})
  target_compile_definitions(${target} ${scope} NNC_HAVE_KERAS)
endfunction()

# The Keras-file benchmark (bench/keras_bench.c: load times, predict from .h5 vs safetensors).
if(NNC_KERAS AND NNC_BUILD_BENCH)
  add_executable(keras_bench ${PROJECT_SOURCE_DIR}/bench/keras_bench.c)
  target_compile_options(keras_bench PRIVATE ${NNC_WARNINGS})
  target_link_libraries(keras_bench PRIVATE nnc)
endif()
