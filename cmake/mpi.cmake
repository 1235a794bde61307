# Data-parallel training over MPI (src/dist/): with NNC_MPI on, CMake's FindMPI finds the MPI C
# library (Debian: libopenmpi-dev, mpirun from openmpi-bin) and configure stops with a message
# naming the packages when it is missing; off, src/dist/comm.c builds without MPI and says so
# when asked for a communicator. Defines nnc_mpi_usage(), which the library's usage and
# compile functions call.

if(NNC_MPI)
  find_package(MPI COMPONENTS C)
  if(NOT MPI_C_FOUND)
    message(FATAL_ERROR "NNC_MPI is ON but no MPI C library was found. Install one "
      "(apt-get install -y libopenmpi-dev openmpi-bin) or configure without -DNNC_MPI=ON.")
  endif()
  message(STATUS "MPI ${MPI_C_VERSION}: ${MPIEXEC_EXECUTABLE}")
endif()

# Plain include paths and libraries rather than MPI::MPI_C, so that the installed package
# needs no find_dependency.
function(nnc_mpi_usage target scope)
  if(NOT NNC_MPI)
    return()
  endif()
  target_include_directories(${target} SYSTEM ${scope} ${MPI_C_INCLUDE_DIRS})
  target_link_libraries(${target} ${scope} ${MPI_C_LIBRARIES})
  target_compile_definitions(${target} ${scope} NNC_MPI)
endfunction()
