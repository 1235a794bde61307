# find_package(nnc) support: imports nnc::nnc (the shared library) and nnc::nnc_static (the
# static one), both with the headers. Only the static library needs zlib and threads here: the
# shared one brings its own.
include(CMakeFindDependencyMacro)
find_dependency(ZLIB)
find_dependency(Threads)
include("${CMAKE_CURRENT_LIST_DIR}/nncTargets.cmake")
