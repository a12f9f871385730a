# tests/aot_unit.cmake — the unit test of the generated library's containers (codegen/aot/): an
# ELF object's global symbols, the `ar` archive (parsed back, compared with `ar rcsD`, linked by
# cc) and the shared library. Files go to a mkdtemp folder in /tmp; ar, nm and cc are optional.
tfc_unit_test(aot_archive tfc_aot)
