"""NumPy golden model: the arithmetic of the units (the definition: :mod:`golden.vector`,
:mod:`golden.matrix`, :mod:`golden.switch`), the architectural simulator built from unit models
(:mod:`golden.archsim`), and the integer transformer built from that arithmetic
(:mod:`golden.transformer`)."""
