# codegen/aot/aot.cmake — ahead-of-time libraries: the library's object (with the runtime linked
# in as LLVM bitcode), the archive, the header, pkg-config, the shared library.
file(GLOB TFC_AOT_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/codegen/aot/*.c)
add_library(tfc_aot STATIC ${TFC_AOT_SOURCES})
target_compile_options(tfc_aot PRIVATE ${TFC_WARNINGS})
target_link_libraries(tfc_aot PUBLIC tfc_cpu tfc_codegen tfc_ir tfc_runtime)
