# tests/json.cmake — the strict JSON reader of the runtime (runtime/json.h): its unit test and,
# with -DTFC_FUZZ=ON, a libFuzzer target that checks every accepted tree and every refusal.
tfc_unit_test(json tfc_runtime)
if(TFC_FUZZ)
  tfc_fuzz_test(json 20 tfc_runtime)
endif()
