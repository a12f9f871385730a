# Unit tests of the IR layer of training: the interpreter's gradient kernels against their forward
# ops (adjointness and cases by hand), and the IR of a training step (parameter updates, optimizer
# state, the minimize line) through the verifier, the rewrite helpers and the text form.
tfc_unit_test(grad_kernels tfc_ir)
tfc_unit_test(train_ir tfc_ir)
