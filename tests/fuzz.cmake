# Fuzz targets of the tensor-file parsers (the frontend's and the IR text's register with their
# own tests). Built only with -DTFC_FUZZ=ON (clang); each runs for a bounded time in CI.
if(TFC_FUZZ)
  tfc_fuzz_test(npy 20 tfc_runtime)
  tfc_fuzz_test(safetensors 20 tfc_runtime)
endif()
