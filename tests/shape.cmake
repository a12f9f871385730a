# Unit tests of shape and dtype inference (test_shape), and of the cost model and the verifier
# (test_verify); both share tests/unit/shape_fixture.h.
tfc_unit_test(shape tfc_ir)
tfc_unit_test(verify tfc_ir)
