"""The integer transformer: the float reference model, offline quantisation, the integer
kernels and layers the chip runs (the arithmetic of :mod:`golden.vector` and
:mod:`golden.matrix` composed into all-MiniLM-L6-v2), and the evaluation against the float
model."""
