# codegen/aot/aot.cmake — ahead-of-time libraries: the library's object, the runtime's object
# (precompiled here, at build time), the archive, the header, pkg-config, the shared library.
file(GLOB TFC_AOT_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/codegen/aot/*.c)
add_library(tfc_aot STATIC ${TFC_AOT_SOURCES})
target_compile_options(tfc_aot PRIVATE ${TFC_WARNINGS})
# The generated header and pkg-config file say which tfc wrote them.
target_compile_definitions(tfc_aot PRIVATE TFC_VERSION="${PROJECT_VERSION}")
target_link_libraries(tfc_aot PUBLIC tfc_cpu tfc_codegen tfc_ir tfc_runtime)

# The runtime as one LLVM bitcode module (runtime.bc), from which tfc_runtime_object makes the
# runtime's versioned object (runtime.o), embedded in tfc: `tfc compile` puts it beside each
# library's own object. The bitcode is compiled by the clang of the
# LLVM tfc links (bitcode is read by the same major version), position independent, and never
# with the sanitizer or fuzzer flags: the runtime in users' libraries is not instrumented, even
# when tfc itself is.
find_program(TFC_CLANG19 NAMES clang-19 clang PATHS ${LLVM_TOOLS_BINARY_DIR} /usr/lib/llvm-19/bin NO_DEFAULT_PATH)
find_program(TFC_CLANG19 NAMES clang-19)
find_program(TFC_LLVM_LINK NAMES llvm-link PATHS ${LLVM_TOOLS_BINARY_DIR} /usr/lib/llvm-19/bin NO_DEFAULT_PATH)
if(NOT TFC_CLANG19 OR NOT TFC_LLVM_LINK)
  message(FATAL_ERROR "tfc compile needs clang-19 and llvm-link of LLVM 19 to build the runtime's bitcode; "
                      "scripts/setup.sh installs them")
endif()

set(TFC_RUNTIME_BC_DIR ${CMAKE_BINARY_DIR}/runtime_bc)
file(MAKE_DIRECTORY ${TFC_RUNTIME_BC_DIR})
set(TFC_RUNTIME_BC_FLAGS -O2 -fPIC -fvisibility=hidden -std=c11 -emit-llvm -c -I${PROJECT_SOURCE_DIR})
foreach(dir ${OPENBLAS_INCLUDE_DIRS})
  list(APPEND TFC_RUNTIME_BC_FLAGS -I${dir})
endforeach()
set(TFC_RUNTIME_BC_FILES "")
foreach(src ${TFC_RUNTIME_SOURCES})
  get_filename_component(stem ${src} NAME_WE)
  set(bc ${TFC_RUNTIME_BC_DIR}/${stem}.bc)
  add_custom_command(OUTPUT ${bc}
                     COMMAND ${TFC_CLANG19} ${TFC_RUNTIME_BC_FLAGS} -MD -MF ${bc}.d -o ${bc} ${src}
                     DEPENDS ${src} DEPFILE ${bc}.d
                     COMMENT "Compiling runtime/${stem}.c to LLVM bitcode" VERBATIM)
  list(APPEND TFC_RUNTIME_BC_FILES ${bc})
endforeach()
set(TFC_RUNTIME_BC ${CMAKE_BINARY_DIR}/runtime.bc)
add_custom_command(OUTPUT ${TFC_RUNTIME_BC}
                   COMMAND ${TFC_LLVM_LINK} -o ${TFC_RUNTIME_BC} ${TFC_RUNTIME_BC_FILES}
                   DEPENDS ${TFC_RUNTIME_BC_FILES}
                   COMMENT "Linking the runtime's bitcode" VERBATIM)
# runtime.o: the runtime's entry points renamed tfcrt_H_* (H: a hash of runtime.bc), everything
# else internal, machine code for generic x86-64; runtime_object.h names H for tfc's sources.
add_executable(tfc_runtime_object ${PROJECT_SOURCE_DIR}/codegen/aot/runtime_object/main.c)
target_compile_options(tfc_runtime_object PRIVATE ${TFC_WARNINGS})
target_link_libraries(tfc_runtime_object PRIVATE tfc_cpu)
set(TFC_RUNTIME_OBJECT_DIR ${CMAKE_BINARY_DIR}/runtime_object)
file(MAKE_DIRECTORY ${TFC_RUNTIME_OBJECT_DIR})
set(TFC_RUNTIME_OBJECT ${TFC_RUNTIME_OBJECT_DIR}/runtime.o)
set(TFC_RUNTIME_OBJECT_H ${TFC_RUNTIME_OBJECT_DIR}/codegen/aot/runtime_object.h)
add_custom_command(OUTPUT ${TFC_RUNTIME_OBJECT} ${TFC_RUNTIME_OBJECT_H}
                   COMMAND ${CMAKE_COMMAND} -E make_directory ${TFC_RUNTIME_OBJECT_DIR}/codegen/aot
                   COMMAND tfc_runtime_object ${TFC_RUNTIME_BC} ${TFC_RUNTIME_OBJECT} ${TFC_RUNTIME_OBJECT_H}
                   DEPENDS ${TFC_RUNTIME_BC} tfc_runtime_object
                   COMMENT "Compiling the runtime's object" VERBATIM)
target_sources(tfc_aot PRIVATE ${TFC_RUNTIME_OBJECT} ${TFC_RUNTIME_OBJECT_H})
target_include_directories(tfc_aot PUBLIC ${TFC_RUNTIME_OBJECT_DIR})
# runtime_object.c includes runtime.o with .incbin: it rebuilds whenever runtime.o changes.
set_source_files_properties(${PROJECT_SOURCE_DIR}/codegen/aot/runtime_object.c PROPERTIES
                            OBJECT_DEPENDS ${TFC_RUNTIME_OBJECT}
                            COMPILE_DEFINITIONS TFC_RUNTIME_OBJECT="${TFC_RUNTIME_OBJECT}")
