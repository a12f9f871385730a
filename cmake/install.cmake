# cmake/install.cmake — what `cmake --install` puts where: the tfc command, the CMake package
# (tfcConfig.cmake with tfc_add_library, and its version file), tfc.pc and the docs. No headers
# and no runtime library: a generated library holds the runtime, and its header is complete.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS tfc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The package is relocatable (configure_package_config_file computes the prefix from the
# config file's own location), so an installed tree can move as a whole.
set(TFC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tfc)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tfcConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/tfcConfig.cmake
                              INSTALL_DESTINATION ${TFC_CMAKE_DIR}
                              PATH_VARS CMAKE_INSTALL_BINDIR)
# 0.x: a minor version may change the generated API, so only the same major.minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/tfcConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/tfcConfig.cmake ${PROJECT_BINARY_DIR}/cmake/tfcConfigVersion.cmake
        DESTINATION ${TFC_CMAKE_DIR})

# tfc.pc: where the compiler is (`pkg-config --variable=tfc tfc`) and what every generated
# library links with (`pkg-config --libs tfc`). Each library also gets its own PREFIX.pc.
# The prefix is found from the file's own folder, so that an installed tree can move too.
file(RELATIVE_PATH TFC_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/tfc.pc.in ${PROJECT_BINARY_DIR}/cmake/tfc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/tfc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
