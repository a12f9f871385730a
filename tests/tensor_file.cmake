# tests/tensor_file.cmake — the unit test of runtime/tensor_file.h (.npy and safetensors): round
# trips, hand-built headers of every .npy version and one hostile file per refusal. It needs no
# Python and writes only under a mkdtemp folder in /tmp, which it removes.
tfc_unit_test(tensor_file tfc_runtime)
