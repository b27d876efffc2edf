"""The elementwise scheduler, checked on the golden simulator: outputs equal the NumPy
reference and the simulated length equals the prediction, for hand-built and random graphs."""

import numpy as np
import pytest

from compiler.elementwise import ScheduleError, compile_graph
from compiler.graph import Graph, GraphError
from golden.archsim import ArchSim
from isa import preset
from isa.geometry import QueueKind, floorplan
from isa.opcodes import DType, VectorOp, opcode_of
from isa.timing import vxm_latency
from verification.programs import graph_case, hand_written
from verification.reference import evaluate_graph

PRESETS = ["tiny", "default", "fpga"]


def simulate(case_or_program, config):
    program = getattr(case_or_program, "program", case_or_program)
    sim = ArchSim(config)
    program.load_into(sim)
    result = sim.run()
    return result, program.read_outputs(sim)


def check_case(case, config):
    result, regions = simulate(case, config)
    assert result.errors == 0
    assert result.cycles == case.kernel.predicted_cycles
    outputs = case.kernel.decode_outputs(regions)
    for name, expected in case.expected.items():
        np.testing.assert_array_equal(outputs[name], expected, err_msg=name)


@pytest.mark.parametrize("preset_name", PRESETS)
@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_match_numpy_and_prediction(preset_name, seed):
    config = preset(preset_name)
    check_case(graph_case(config, seed), config)


@pytest.mark.parametrize("fold", [2, 4, 16])
@pytest.mark.parametrize("seed", range(4))
def test_random_graphs_on_folded_alus(fold, seed):
    # A folded ALU takes an operation every `fold` cycles: a node's vectors issue `fold`
    # cycles apart and the levels are the folded latency apart (the golden simulator flags an
    # operation issued sooner as BAD_OPERAND, and reads of values not yet there).
    config = preset("tiny").derive(vxm_fold=fold)
    case = graph_case(config, seed)
    check_case(case, config)
    sim = ArchSim(config)
    case.program.load_into(sim)
    result = sim.run(trace=True)
    for queue in floorplan(config).queues:
        if queue.kind is QueueKind.VXM_ALU:
            cycles = [cycle for cycle, _, _ in result.issues(queue.number)]
            assert all(b - a >= fold for a, b in zip(cycles, cycles[1:])), queue.name


def test_deep_graph_splits_into_passes():
    config = preset("tiny")
    g = Graph(50)
    x = g.input("x", DType.I16)
    value = x
    for step in range(2 * config.vxm_alus):
        value = g.op(VectorOp.ADD, value, step + 1)
    g.output("y", value)
    kernel = compile_graph(g, config)
    assert kernel.passes >= 2
    rng = np.random.default_rng(0)
    inputs = {"x": rng.integers(-1000, 1000, 50)}
    result, regions = simulate(kernel.program(inputs), config)
    assert result.cycles == kernel.predicted_cycles
    np.testing.assert_array_equal(kernel.decode_outputs(regions)["y"],
                                  evaluate_graph(g, inputs, config.lanes)["y"])


def test_skip_connection_is_delayed_by_mov_nodes():
    config = preset("tiny")
    g = Graph(40)
    x = g.input("x", DType.I32)
    deep = g.op(VectorOp.MUL, g.op(VectorOp.ADD, g.op(VectorOp.ADD, x, 3), 5), 7)
    g.output("y", g.op(VectorOp.SUB, deep, g.op(VectorOp.SHL, x, 2)))
    kernel = compile_graph(g, config)
    assert kernel.passes == 1
    inputs = {"x": np.arange(40) * 1000 - 20000}
    result, regions = simulate(kernel.program(inputs), config)
    assert result.cycles == kernel.predicted_cycles
    np.testing.assert_array_equal(kernel.decode_outputs(regions)["y"],
                                  (np.arange(40) * 1000 - 20000 + 8) * 7 -
                                  (np.arange(40) * 1000 - 20000) * 4)


def test_per_lane_constants_and_wide_scalars():
    config = preset("tiny")
    g = Graph(64)
    x = g.input("x", DType.I32)
    multipliers = g.constant_vector([(1 << 30) + 1000 * lane for lane in range(16)])
    g.output("y", g.requantize(x, multiplier=multipliers, shift=-4))
    g.output("z", g.op(VectorOp.AND, x, 0x7FFF_F00F))
    kernel = compile_graph(g, config)
    rng = np.random.default_rng(1)
    inputs = {"x": rng.integers(-(1 << 31), 1 << 31, 64)}
    result, regions = simulate(kernel.program(inputs), config)
    assert result.cycles == kernel.predicted_cycles
    outputs = kernel.decode_outputs(regions)
    expected = evaluate_graph(g, inputs, config.lanes)
    for name in ("y", "z"):
        np.testing.assert_array_equal(outputs[name], expected[name])


def check_graph(graph, config, inputs):
    """Compile ``graph`` for ``config``, run it on the golden simulator with ``inputs`` and
    check it: no error, the predicted cycles, the NumPy outputs. Returns the kernel."""
    kernel = compile_graph(graph, config)
    result, regions = simulate(kernel.program(inputs), config)
    assert result.errors == 0
    assert result.cycles == kernel.predicted_cycles
    outputs = kernel.decode_outputs(regions)
    for name, expected in evaluate_graph(graph, inputs, config.lanes).items():
        np.testing.assert_array_equal(outputs[name], expected, err_msg=name)
    return kernel


def test_four_streams_carry_a_pass_of_int32_values():
    # `fpga` has 4 streams per direction: one int32 value at a time. a + b, all int32, runs
    # in one pass: a and b come from opposite hemispheres, and the result leaves on the
    # streams that brought one of them (values flow into and out of the VXM over different
    # positions).
    config = preset("fpga")
    assert config.streams == DType.I32.bytes
    g = Graph(48)
    g.output("y", g.op(VectorOp.ADD, g.input("a", DType.I32), g.input("b", DType.I32)))
    rng = np.random.default_rng(2)
    inputs = {name: rng.integers(-(1 << 31), 1 << 31, 48) for name in "ab"}
    assert check_graph(g, config, inputs).passes == 1


def test_levels_of_a_folded_pass_share_streams():
    # With folded ALUs, vector v of level r reaches the VXM in t0 + f v + L r, L the latency
    # (f + 4): levels whose L r differ by other than a multiple of f never arrive in one
    # cycle, so their operands may share a direction's streams. Here (f = 8, L = 12) c (level
    # 1) shares them with a or b (level 0), in one pass (8 MEM slices per hemisphere hold the
    # three int32 inputs).
    config = preset("tiny").derive(streams=4, vxm_fold=8, mem_slices=8)
    assert vxm_latency(config) % config.vxm_fold != 0
    g = Graph(40)
    a, b, c = (g.input(name, DType.I32) for name in "abc")
    g.output("y", g.op(VectorOp.SUB, g.op(VectorOp.ADD, a, b), c))
    rng = np.random.default_rng(3)
    inputs = {name: rng.integers(-(1 << 31), 1 << 31, 40) for name in "abc"}
    assert check_graph(g, config, inputs).passes == 1


# The hand-written program uses three ALUs, more than the `fpga` preset has.
@pytest.mark.parametrize("preset_name", ["tiny", "default"])
def test_hand_written_program(preset_name):
    config = preset(preset_name)
    program, expected = hand_written(config, "add_requant")
    result, regions = simulate(program, config)
    assert result.errors == 0 and result.cycles == program.predicted_cycles
    np.testing.assert_array_equal(regions["out"], expected["out"])


def test_checker_fails_on_a_deliberately_wrong_reference():
    """The comparison above can fail: corrupt one lane of the reference and it must."""
    config = preset("tiny")
    case = graph_case(config, 3)
    name = next(iter(case.expected))
    case.expected[name] = case.expected[name].copy()
    case.expected[name][0] += 1
    with pytest.raises(AssertionError):
        check_case(case, config)


def test_graph_errors_are_clear():
    g = Graph(10)
    x = g.input("x", DType.I8)
    with pytest.raises(GraphError, match="ADD takes 2 operand\\(s\\), got 1"):
        g.op(VectorOp.ADD, x)
    with pytest.raises(GraphError, match=r"LUT reads a table \(table=Graph.table\(...\)\), "
                                         "not None"):
        g.op(VectorOp.LUT, x)
    with pytest.raises(GraphError, match="ADD takes no table"):
        g.op(VectorOp.ADD, x, 1, table=Graph.table("t", np.arange(256)))
    with pytest.raises(GraphError, match="table 'short' must have 256 entries"):
        Graph.table("short", np.arange(10))
    with pytest.raises(GraphError, match="broadcast must be one of None, 'rows', 'cols', "
                                         "not 'lanes'"):
        g.input("z", DType.I8, broadcast="lanes")
    with pytest.raises(GraphError, match="operand 1.5 is neither a value nor an integer"):
        g.op(VectorOp.ADD, x, 1.5)
    with pytest.raises(GraphError, match="tensor length must be a positive integer, not 0"):
        Graph(0)
    y = g.op(VectorOp.ADD, x, 1)
    g.output("y", y)
    with pytest.raises(GraphError, match="input 'x' must have shape \\(10,\\), not \\(3,\\)"):
        g.check_inputs({"x": np.zeros(3)})
    with pytest.raises(GraphError, match="missing input 'x'"):
        g.check_inputs({})
    g.op(VectorOp.ADD, x, 2)
    with pytest.raises(GraphError, match="is never used"):
        compile_graph(g, preset("tiny"))


def test_too_many_constants_is_a_schedule_error():
    config = preset("tiny")
    g = Graph(4)
    x = g.input("x", DType.I32)
    value = x
    for k in range(config.vxm_consts + 1):
        value = g.op(VectorOp.ADD, value, (1 << 30) + k)
    g.output("y", value)
    with pytest.raises(ScheduleError, match="needs 9 constant registers, the VXM has 8"):
        compile_graph(g, config)


def test_lookup_tables_and_broadcast_inputs():
    """A graph over a 5 x 40 matrix with a per-column input, a per-row input (one vector per
    row, as a row reduction gives) and two lookup tables: NumPy and the golden simulator
    agree, and each table is loaded once into the ALU that reads it."""
    config = preset("tiny")
    lanes = config.lanes
    rng = np.random.default_rng(4)
    g = Graph(shape=(5, 40))
    x = g.input("x", DType.I32)
    scale = g.input("scale", DType.I32, broadcast="cols")
    offset = g.input("offset", DType.I32, broadcast="rows")
    squares = Graph.table("squares", np.arange(256) ** 2)
    cubes = Graph.table("cubes", np.arange(256) ** 3 - 5_000_000)
    index = g.op(VectorOp.AND, g.op(VectorOp.ADD, x, offset), 255)
    g.output("y", g.op(VectorOp.MUL, g.op(VectorOp.LUT, index, table=squares), scale))
    g.output("z", g.op(VectorOp.LUT, index, table=cubes, dtype=DType.I32))
    kernel = compile_graph(g, config)
    inputs = {"x": rng.integers(-1000, 1000, (5, 40)), "scale": rng.integers(-9, 9, (1, 40)),
              "offset": rng.integers(0, 300, (5, lanes))}
    result, regions = simulate(kernel.program(inputs), config)
    assert result.errors == 0 and result.cycles == kernel.predicted_cycles
    outputs = kernel.decode_outputs(regions)
    expected = evaluate_graph(g, inputs, lanes)
    for name in ("y", "z"):
        np.testing.assert_array_equal(outputs[name], expected[name])
    assert set(kernel.inputs) == {"x", "scale", "offset"}
    assert [kernel.inputs["scale"][0].shape, kernel.inputs["offset"][0].shape] == \
        [(1, 40), (5, lanes)]
    traced = ArchSim(config).execute(kernel.program(inputs), trace=True)
    lutws = [word for _, _, word, _, _ in traced.trace
             if word is not None and opcode_of(word) == VectorOp.LUTW.value]
    assert len(lutws) == 2 * 256 // lanes
