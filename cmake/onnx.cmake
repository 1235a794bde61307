# ONNX writing (src/interop/onnx_*.c), included from the top CMakeLists.txt. With NNC_INTEROP
# ON it needs protobuf-c (Debian: libprotobuf-c-dev, protobuf-c-compiler) and ONNX's own
# onnx.proto (Debian: libonnx-dev puts it at /usr/include/onnx/onnx.proto; python3-onnx ships it
# too); the C code for the messages is generated from onnx.proto at build time by protoc-c into
# the build folder, never committed. Configure fails, saying what to install, when one is
# missing; -DNNC_INTEROP=OFF builds nnc without it (nnc_onnx_save then says it is not built).
# -DNNC_ONNX_PROTO=/path/to/onnx.proto picks another copy of the message definitions.
#
# nnc_onnx_compile(target) and nnc_onnx_usage(target scope) are what the library's variants
# call (nnc_library_compile and nnc_library_usage in CMakeLists.txt, and so fuzz/ too).

set(NNC_HAVE_ONNX OFF)
if(NNC_INTEROP)
  find_program(NNC_PROTOC_C protoc-c)
  find_path(NNC_PROTOBUF_C_INCLUDE protobuf-c/protobuf-c.h)
  find_library(NNC_PROTOBUF_C_LIB protobuf-c)
  find_file(NNC_ONNX_PROTO onnx.proto
    PATHS /usr/include/onnx /usr/local/include/onnx /usr/lib/python3/dist-packages/onnx
    NO_DEFAULT_PATH)
  set(missing "")
  if(NOT NNC_PROTOC_C)
    string(APPEND missing "\n  protoc-c (Debian: protobuf-c-compiler)")
  endif()
  if(NOT NNC_PROTOBUF_C_INCLUDE OR NOT NNC_PROTOBUF_C_LIB)
    string(APPEND missing "\n  the protobuf-c library and headers (Debian: libprotobuf-c-dev)")
  endif()
  if(NOT NNC_ONNX_PROTO OR NOT EXISTS "${NNC_ONNX_PROTO}")
    string(APPEND missing "\n  ONNX's onnx.proto (Debian: libonnx-dev, or python3-onnx; or -DNNC_ONNX_PROTO=FILE)")
  endif()
  if(missing)
    message(FATAL_ERROR "NNC_INTEROP is ON, and writing ONNX files needs what is missing here:${missing}\n"
      "Install them (apt-get install -y protobuf-c-compiler libprotobuf-c-dev libonnx-dev) "
      "or configure with -DNNC_INTEROP=OFF.")
  endif()
  set(NNC_HAVE_ONNX ON)
  message(STATUS "ONNX: writing with protobuf-c from ${NNC_ONNX_PROTO}")

  # protoc-c names its output after the .proto file and writes it beside the path it is given,
  # so the definitions are copied into the build folder first.
  set(NNC_ONNX_GEN ${PROJECT_BINARY_DIR}/onnx_proto)
  add_custom_command(
    OUTPUT ${NNC_ONNX_GEN}/onnx.pb-c.c ${NNC_ONNX_GEN}/onnx.pb-c.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${NNC_ONNX_GEN}
    COMMAND ${CMAKE_COMMAND} -E copy ${NNC_ONNX_PROTO} ${NNC_ONNX_GEN}/onnx.proto
    COMMAND ${NNC_PROTOC_C} --c_out=${NNC_ONNX_GEN} -I${NNC_ONNX_GEN} ${NNC_ONNX_GEN}/onnx.proto
    DEPENDS ${NNC_ONNX_PROTO}
    COMMENT "protoc-c: C code for ONNX's messages"
    VERBATIM)
  # Generated code: compiled without nnc's warning flags, and hidden like the rest of the
  # library (libnnc.so exports nnc_ symbols only).
  add_library(nnc_onnx_proto OBJECT ${NNC_ONNX_GEN}/onnx.pb-c.c)
  set_target_properties(nnc_onnx_proto PROPERTIES POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  target_include_directories(nnc_onnx_proto SYSTEM PRIVATE ${NNC_ONNX_GEN} ${NNC_PROTOBUF_C_INCLUDE})
  target_compile_options(nnc_onnx_proto PRIVATE -w)
endif()

# How a variant of the library compiles the ONNX writer: NNC_HAVE_ONNX and the generated header.
function(nnc_onnx_compile target)
  if(NNC_HAVE_ONNX)
    target_compile_definitions(${target} PRIVATE NNC_HAVE_ONNX)
    target_include_directories(${target} SYSTEM PRIVATE ${NNC_ONNX_GEN} ${NNC_PROTOBUF_C_INCLUDE})
    add_dependencies(${target} nnc_onnx_proto)
  endif()
endfunction()

# What a linkable variant adds: the generated messages and libprotobuf-c (by name, so that an
# installed static library's users link the system's copy wherever it is).
function(nnc_onnx_usage target link_scope)
  if(NNC_HAVE_ONNX)
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "OBJECT_LIBRARY")
      target_sources(${target} PRIVATE $<TARGET_OBJECTS:nnc_onnx_proto>)
    endif()
    target_link_libraries(${target} ${link_scope} protobuf-c)
  endif()
endfunction()
