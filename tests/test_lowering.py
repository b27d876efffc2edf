"""The transformer kernels lowered onto the chip (compiler/lowering.py), on the golden
simulator: every output integer equals the golden kernel's (golden/transformer/kernels.py),
and the simulated length equals the prediction."""

import math

import numpy as np
import pytest

from compiler import lowering
from compiler.schedule import Schedule
from compiler.tensors import Tensor, planar_tensor
from golden.archsim import ArchSim
from golden.transformer import kernels as K
from golden.transformer import quantize as Q
from golden.transformer import reference as R
from isa import preset
from isa.opcodes import DType

CONFIG = preset("default")
LANES = CONFIG.lanes
TABLES = Q.build_tables()


def compile_kernel(inputs, place):
    """A program of one lowered kernel: ``inputs`` ``{name: (dtype, values)}`` loaded by the
    host into the first free slices, ``place(schedule, tensors)`` its output tensor."""
    schedule = Schedule(CONFIG)
    tensors = {}
    next_slice = 0
    for name, (dtype, values) in inputs.items():
        slices = list(range(next_slice, next_slice + dtype.bytes))
        next_slice += dtype.bytes
        tensors[name] = schedule.input(name, planar_tensor(
            schedule.calendar.sram, name, dtype, values.shape, LANES, slices))
    schedule.output("y", place(schedule, tensors))
    kernel = schedule.compile()
    return kernel, kernel.bind({name: values for name, (_, values) in inputs.items()})


def run(kernel, program):
    outcome = ArchSim(CONFIG).execute(program)
    assert outcome.errors == 0
    assert outcome.cycles == kernel.predicted_cycles
    return kernel.unbind(outcome.outputs)["y"]


def softmax_params(real_per_unit):
    real = real_per_unit * math.log2(math.e) * 2 ** K.EXP_FRACTION_BITS
    floor = -min(math.ceil(33 * 2 ** K.EXP_FRACTION_BITS / real), K.INT32_MAX)
    return K.SoftmaxParams(Q.requant(real, -floor), np.array(floor))


@pytest.mark.parametrize("keys, causal", [(LANES, False), (7, False), (40, True), (64, True)])
def test_softmax(keys, causal):
    rng = np.random.default_rng(keys)
    rows = 5 if not causal else keys
    scores = rng.integers(-(1 << 20), 1 << 20, (rows, keys))
    params = softmax_params(2.0 ** -18)
    kernel, program = compile_kernel(
        {"s": (DType.I32, scores)},
        lambda schedule, t: lowering.softmax(schedule, t["s"], params, TABLES, causal=causal))
    mask = np.tril(np.ones((rows, keys), dtype=np.int64)) if causal else None
    np.testing.assert_array_equal(run(kernel, program), K.softmax(scores, params, TABLES, mask))


@pytest.mark.parametrize("dtype", [DType.I8, DType.I16])
def test_layer_norm(dtype):
    rng = np.random.default_rng(dtype.value)
    width = 2 * LANES
    limit = K.layer_norm_input_limit(width)
    x = rng.integers(-limit, limit + 1, (6, width))
    x[1] = 7                                    # a constant row gives beta
    params = Q._layer_norm(R.FloatLayerNorm(rng.uniform(-2, 2, width),
                                            rng.uniform(-1, 1, width), 0.0),
                           0.02 if dtype is DType.I8 else 2e-4)
    kernel, program = compile_kernel(
        {"x": (DType.I32, x)},
        lambda schedule, t: lowering.layer_norm(schedule, t["x"], params, TABLES, dtype))
    np.testing.assert_array_equal(run(kernel, program), K.layer_norm(x, params, TABLES, dtype))


def test_gelu():
    rng = np.random.default_rng(9)
    width = 3 * LANES
    acc = rng.integers(-(1 << 22), 1 << 22, (4, width))
    params = K.GeluParams(Q.requant(rng.uniform(1e-4, 3e-3, width)), Q.requant(0.7))
    kernel, program = compile_kernel(
        {"acc": (DType.I32, acc)},
        lambda schedule, t: lowering.gelu(schedule, t["acc"], params, TABLES))
    np.testing.assert_array_equal(run(kernel, program), K.gelu(acc, params, TABLES))


def test_residual_add_and_requantize():
    rng = np.random.default_rng(3)
    shape = (5, 2 * LANES)
    x16 = rng.integers(-(1 << 15), 1 << 15, shape)
    acc = rng.integers(-(1 << 28), 1 << 28, shape)
    terms = [Q.requant(0.5), Q.requant(rng.uniform(1e-3, 1e-2, shape[1]))]
    limit = K.layer_norm_input_limit(shape[1])

    def place(schedule, t):
        x8 = lowering.requantize(schedule, t["x16"], Q.requant(rng_scale), DType.I8)
        return lowering.residual_add(schedule, [(x8, terms[0]), (t["acc"], terms[1])], limit)

    rng_scale = rng.uniform(1e-3, 1e-2, shape[1])
    kernel, program = compile_kernel({"x16": (DType.I16, x16), "acc": (DType.I32, acc)}, place)
    x8 = K.requantize(x16, Q.requant(rng_scale), DType.I8)
    expected = K.residual_add([(x8, terms[0]), (acc, terms[1])], limit)
    np.testing.assert_array_equal(run(kernel, program), expected)


def test_l2_normalize():
    rng = np.random.default_rng(5)
    x = rng.integers(-(1 << 29), 1 << 29, (3, 2 * LANES))
    x[2] = 0                                    # a zero row gives 0
    kernel, program = compile_kernel(
        {"x": (DType.I32, x)},
        lambda schedule, t: lowering.l2_normalize(schedule, t["x"], TABLES))
    np.testing.assert_array_equal(run(kernel, program), K.l2_normalize(x, TABLES))


def test_outputs_kept_beside_a_tensor_go_anywhere_when_no_slice_is_free_of_it():
    """A lowering's graph writes its outputs away from the slices of a tensor a later graph
    reads with them; when that tensor lies in every slice, the graph is placed anywhere
    instead of failing, and its result is right."""
    x = np.arange(3 * LANES).reshape(3, LANES) - 40

    def place(schedule, tensors):
        slices = 2 * CONFIG.mem_slices
        everywhere = Tensor("everywhere", DType.I8, (slices, LANES), LANES)
        for row in range(slices):       # row r in slice r
            everywhere.place(row, 0, row, schedule.calendar.sram.allocate(row, 1))
        b = lowering._Builder(x.shape, "doubled")
        b.graph.output("y", b.op(lowering.V.ADD, b.graph.input("x", DType.I32), 1 << 27))
        return b.place(schedule, {"x": tensors["x"]}, beside=[everywhere])["y"]

    kernel, program = compile_kernel({"x": (DType.I32, x)}, place)
    np.testing.assert_array_equal(run(kernel, program), x + (1 << 27))
