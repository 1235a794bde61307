# find_package(nnc) support: imports nnc::nnc (the static library and its header).
include(CMakeFindDependencyMacro)
find_dependency(ZLIB)
find_dependency(Threads)
include("${CMAKE_CURRENT_LIST_DIR}/nncTargets.cmake")
