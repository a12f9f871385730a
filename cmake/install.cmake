# cmake/install.cmake — what `cmake --install` puts where.
install(TARGETS tfc RUNTIME DESTINATION bin)
