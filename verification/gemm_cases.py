"""GEMM test cases: random int8 operands, a bias and requantisation parameters that keep the
int8 results mostly in range, compiled for a configuration, with the NumPy expectation."""

import math
from dataclasses import dataclass

import numpy as np

from compiler.gemm import compile_gemm
from verification.reference import gemm_reference

__all__ = ["GemmCase", "gemm_case", "random_shapes", "ACCEPTANCE_SHAPES"]

#: The shapes issue 3 names: transformer-sized GEMMs and the decode-time matrix-vector product.
ACCEPTANCE_SHAPES = [(64, 384, 384), (64, 384, 1536), (64, 1536, 384), (1, 384, 384)]


@dataclass
class GemmCase:
    name: str
    config: object
    kernel: object
    program: object
    expected: np.ndarray
    operands: tuple


def _shift_for(k):
    """A right shift that maps the int32 sum of ``k`` random int8 products (standard deviation
    about 5500 * sqrt(k)) onto int8 with a 0.5 multiplier."""
    spread = 3 * 5500 * math.sqrt(k) / 127
    return -max(0, math.ceil(math.log2(spread)) - 1)


def gemm_case(config, m, k, n, *, seed=0, bias=True, per_channel=False, requantise=True,
              out_dtype=None):
    """A compiled GEMM with random operands from ``seed`` and its expected result."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k))
    b = rng.integers(-128, 128, (k, n))
    c_bias = rng.integers(-(1 << 16), 1 << 16, n) if bias else None
    base_shift = _shift_for(k)
    if per_channel:
        multiplier = rng.integers(1 << 30, (1 << 31) - 1, n)
        shift = base_shift + rng.integers(-1, 2, n)
    else:
        multiplier, shift = int(rng.integers(1 << 30, (1 << 31) - 1)), base_shift
    kernel = compile_gemm(config, m, k, n, bias=bias, requantise=requantise,
                          per_channel=per_channel,
                          multiplier=None if per_channel else multiplier,
                          shift=None if per_channel else shift, out_dtype=out_dtype)
    program = kernel.program(a, b, c_bias, multiplier, shift)
    expected = gemm_reference(a, b, c_bias, multiplier if requantise else None, shift,
                              out_dtype)
    return GemmCase(f"{config.name}-{m}x{k}x{n}-s{seed}", config, kernel, program, expected,
                    (a, b, c_bias, multiplier, shift))


def random_shapes(count, *, seed, limit=200):
    """``count`` random (m, k, n), each dimension in 1 .. ``limit`` and mostly not a multiple
    of 16."""
    rng = np.random.default_rng(seed)
    return [tuple(int(x) for x in rng.integers(1, limit + 1, 3)) for _ in range(count)]
