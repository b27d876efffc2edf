"""NumPy golden model: the integer arithmetic (the definition) and the architectural simulator."""
