"""Kernels composed on one calendar, and the row-reduction kernel, on the golden simulator:
outputs equal NumPy, simulated length equals the prediction, kernels overlap, and the same
program takes the same cycles whatever its data; released tensors' words are reused."""

import numpy as np
import pytest

from compiler.elementwise import compile_graph, place_graph
from compiler.gemm import compile_gemm, place_gemm
from compiler.graph import Graph
from compiler.queues import ScheduleError
from compiler.reduce import place_row_reduction
from compiler.schedule import Schedule
from compiler.tensors import planar_tensor
from golden import vector
from golden.archsim import ArchSim
from isa import preset
from isa.opcodes import DType, VectorOp
from verification.programs import composed_case, reduction_case
from verification.reference import gemm_reference

PRESETS = ["tiny", "default", "fpga"]


def run(program):
    sim = ArchSim(program.config)
    program.load_into(sim)
    result = sim.run()
    return result, program.read_outputs(sim)


def check(case):
    result, regions = run(case.program)
    assert result.errors == 0
    assert result.cycles == case.kernel.predicted_cycles
    outputs = case.kernel.unbind(regions)
    for name, expected in case.expected.items():
        np.testing.assert_array_equal(outputs[name], expected, err_msg=name)
    return result


def run_beside(schedule, c, y, values):
    """Compile a GEMM's ``C`` and a graph's ``y`` placed beside it (``y`` written first), run
    them on ``values``; returns the outputs, checked for errors and the predicted cycles."""
    assert max(y.written.values()) < max(c.written.values())
    schedule.output("C", c)
    schedule.output("y", y)
    kernel = schedule.compile()
    result, regions = run(kernel.bind(values))
    assert result.errors == 0
    assert result.cycles == kernel.predicted_cycles
    return kernel.unbind(regions)


@pytest.mark.parametrize("preset_name", PRESETS)
@pytest.mark.parametrize("kind", ["sum", "max"])
def test_row_reductions(preset_name, kind):
    check(reduction_case(preset(preset_name), kind, rows=5, seed=4))


@pytest.mark.parametrize("preset_name", ["tiny", "fpga"])
@pytest.mark.parametrize("dtype", [DType.I8, DType.I16, DType.I32])
def test_reduction_of_wide_rows_of_every_type(dtype, preset_name):
    """Rows of three vectors, narrower types widened to int32 before they are added (by a
    second ALU as they arrive; on `fpga`, whose VXM has one ALU, by a pass of the whole tensor
    first); the sums wrap in int32 like the VXM's ADD."""
    config = preset(preset_name)
    lanes = config.lanes
    schedule = Schedule(config)
    x = schedule.input("x", planar_tensor(schedule.calendar.sram, "x", dtype, (4, 3 * lanes),
                                          lanes, [0, 1, 2, 3][:dtype.bytes]))
    schedule.output("sum", place_row_reduction(schedule, x, "sum"))
    kernel = schedule.compile()
    lo, hi = vector.type_range(dtype)
    values = np.random.default_rng(1).integers(lo, hi + 1, (4, 3 * lanes))
    values[0] = hi                      # the int32 rows overflow and wrap
    totals = vector.wrap(values.sum(axis=1), DType.I32)
    result, regions = run(kernel.bind({"x": values}))
    assert result.errors == 0
    assert result.cycles == kernel.predicted_cycles
    np.testing.assert_array_equal(kernel.unbind(regions)["sum"],
                                  np.repeat(totals[:, None], lanes, axis=1))


def test_reductions_refuse_what_they_cannot_do():
    config = preset("tiny")
    schedule = Schedule(config)
    x = planar_tensor(schedule.calendar.sram, "x", DType.I8, (2, 20), config.lanes, [0])
    with pytest.raises(ScheduleError, match="a row reduction reads whole vectors: tensor 'x' "
                                            "has 20 columns, not a multiple of 16 lanes"):
        place_row_reduction(schedule, x, "sum")
    with pytest.raises(ValueError, match="reduction must be one of sum, max, min, not 'mean'"):
        place_row_reduction(schedule, x, "mean")
    wide = config.derive(lanes=48)
    schedule = Schedule(wide)
    y = planar_tensor(schedule.calendar.sram, "y", DType.I8, (2, 48), 48, [0])
    with pytest.raises(ScheduleError, match="power-of-two lane count, not 48"):
        place_row_reduction(schedule, y, "max")


@pytest.mark.parametrize("preset_name", PRESETS)
def test_gemm_requantisation_and_reduction_compose(preset_name):
    """A GEMM's int32 result read by an elementwise graph (its two N-tiles in both
    hemispheres), whose int8 result a row reduction reads: one program, bit-exact."""
    check(composed_case(preset(preset_name), seed=5))


def test_composed_kernels_overlap():
    """The composed program is shorter than its kernels compiled alone and run one after the
    other: later kernels start while earlier ones still run, where their resources allow."""
    config = preset("default")
    case = composed_case(config, seed=0)
    m, n = case.expected["y"].shape
    k = case.inputs["a"].shape[1]
    gemm = compile_gemm(config, m, k, n, bias=True, requantise=False)
    graph = Graph(shape=(m, n))
    graph.output("y", graph.requantize(graph.input("c", DType.I32), multiplier=1 << 30,
                                       shift=-9))
    requantise = compile_graph(graph, config)
    schedule = Schedule(config)
    y = schedule.input("y", planar_tensor(schedule.calendar.sram, "y", DType.I8, (m, n),
                                          config.lanes, [0]))
    schedule.output("total", place_row_reduction(schedule, y, "sum"))
    reduction = schedule.compile()
    alone = gemm.predicted_cycles + requantise.predicted_cycles + reduction.predicted_cycles
    assert case.kernel.predicted_cycles < alone


def test_the_same_program_takes_the_same_cycles_whatever_its_data():
    case = composed_case(preset("tiny"), seed=6)
    rng = np.random.default_rng(99)
    other = {name: rng.integers(-128, 128, values.shape) for name, values in case.inputs.items()}
    first, _ = run(case.program)
    second, regions = run(case.kernel.bind(other))
    assert first.cycles == second.cycles == case.kernel.predicted_cycles
    assert not np.array_equal(case.kernel.unbind(regions)["y"], case.expected["y"])


def test_a_graph_reads_a_tensor_an_earlier_kernel_wrote_only_after_it_is_written():
    """Two graphs in one schedule: the second reads the first's output; every word is read
    after its WRITE (the golden simulator checks it in strict mode)."""
    config = preset("tiny")
    schedule = Schedule(config)
    first = Graph(100)
    first.output("y", first.op(VectorOp.ADD, first.input("x", DType.I16), 1000))
    y = place_graph(schedule, first)[0]["y"]
    second = Graph(100)
    second.output("z", second.op(VectorOp.MUL, second.input("y", DType.I16), 3, dtype=DType.I32))
    z = place_graph(schedule, second, {"y": y})[0]["z"]
    schedule.output("z", z)
    kernel = schedule.compile()
    x = np.arange(100) * 7 - 300
    result, regions = run(kernel.bind({"x": x[None, :]}))
    assert result.cycles == kernel.predicted_cycles
    np.testing.assert_array_equal(kernel.unbind(regions)["z"][0], (x + 1000) * 3)


def test_checker_fails_on_a_deliberately_wrong_reference():
    case = composed_case(preset("tiny"), seed=1)
    case.expected["total"] = case.expected["total"].copy()
    case.expected["total"][2, 5] += 1
    with pytest.raises(AssertionError):
        check(case)


def test_a_released_tensor_s_words_hold_a_later_kernel_s_results():
    """The GEMM's int32 result is released once the requantisation has read it; the row sums,
    written later to the same slices, land in its words, and every result is still right."""
    config = preset("tiny")
    lanes = config.lanes
    m, k, n = 8, 2 * lanes, 2 * lanes
    schedule = Schedule(config)
    c, _ = place_gemm(schedule, m, k, n, bias=True, requantise=False)
    graph = Graph(shape=(m, n))
    graph.output("y", graph.requantize(graph.input("c", DType.I32), multiplier=1 << 30,
                                       shift=-6))
    y = place_graph(schedule, graph, {"c": c})[0]["y"]
    schedule.release(c)
    # The row sums may go only to the slices that held the GEMM's result.
    held = {s for _, _, s, _ in c.words}
    total = place_row_reduction(schedule, y, "sum", avoid=set(range(2 * config.mem_slices)) - held)
    schedule.output("y", y)
    schedule.output("total", total)
    with pytest.raises(ValueError, match="tensor 'y' is an output"):
        schedule.release(y)
    reused = {(s, a) for _, _, s, a in c.words} & {(s, a) for _, _, s, a in total.words}
    assert reused
    kernel = schedule.compile()
    rng = np.random.default_rng(3)
    inputs = {"a": rng.integers(-128, 128, (m, k)), "b": rng.integers(-128, 128, (k, n)),
              "bias": rng.integers(-1000, 1000, (1, n))}
    result, regions = run(kernel.bind(inputs))
    assert result.cycles == kernel.predicted_cycles
    raw = gemm_reference(inputs["a"], inputs["b"], inputs["bias"][0])
    y_expected = vector.compute(VectorOp.REQ, DType.I32, DType.I8, raw, 1 << 30, -6)
    outputs = kernel.unbind(regions)
    np.testing.assert_array_equal(outputs["y"], y_expected)
    np.testing.assert_array_equal(outputs["total"][:, 0], vector.wrap(y_expected.sum(axis=1),
                                                                      DType.I32))


def test_a_graph_writes_into_words_released_before_its_inputs_were_written():
    """A chain of one-vector graphs, each input released once read: a graph writes after its
    input is written, so it may take the words of a tensor read for the last time before
    that; the chain fits in fewer words than without releases, and computes the same."""
    config = preset("tiny")

    def chain(release):
        schedule = Schedule(config)
        graph = Graph(shape=(1, config.lanes))
        graph.output("y", graph.op(VectorOp.ADD, graph.input("x", DType.I32), 1))
        x = place_graph(schedule, graph, avoid=())[0]["y"]
        for _ in range(8):
            y = place_graph(schedule, graph, {"x": x})[0]["y"]
            if release:
                schedule.release(x)
            x = y
        schedule.output("y", x)
        return schedule.compile()

    released, kept = chain(True), chain(False)
    assert released.sram_bytes < kept.sram_bytes
    values = np.arange(config.lanes)[None, :]
    for kernel in (released, kept):
        result, regions = run(kernel.bind({"x": values}))
        assert result.cycles == kernel.predicted_cycles
        np.testing.assert_array_equal(kernel.unbind(regions)["y"], values + 9)


def test_gemms_chained_through_tensors():
    """A GEMM reads its activations from the int8 tensor a requantisation wrote, and a second
    GEMM reads its weights from a tensor a kernel wrote (padded to a whole K-tile with zero
    rows); the weights of the first are fixed into the program."""
    config = preset("default")
    lanes = config.lanes
    rng = np.random.default_rng(8)
    m, k, n = 20, 2 * lanes, lanes + 7
    schedule = Schedule(config)
    graph = Graph(shape=(m, k))
    graph.output("x8", graph.requantize(graph.input("x", DType.I32), multiplier=1 << 30,
                                        shift=-4))
    x8 = place_graph(schedule, graph)[0]["x8"]
    h, _ = place_gemm(schedule, m, k, n, a=x8, bias=True, per_channel=True, prefix="l1.")
    w = rng.integers(-128, 128, (k, n))
    bias = rng.integers(-5000, 5000, n)
    mult = rng.integers(1 << 30, 1 << 31, n)
    shift = rng.integers(-9, -6, n)
    for name, values in (("l1.b", w), ("l1.bias", bias[None, :]),
                         ("l1.multiplier", mult[None, :]), ("l1.shift", shift[None, :])):
        schedule.fix(name, values)
    # h (m x n, int8) is the weight matrix of the second product: C2 = A2 @ h.
    c2, _ = place_gemm(schedule, 3, m, n, b=h, requantise=False, prefix="l2.")
    schedule.output("h", h)
    schedule.output("c2", c2)
    with pytest.raises(ValueError, match="no host input 'l1.b' to fix"):
        schedule.fix("l1.b", w)
    kernel = schedule.compile()
    assert sorted(kernel.inputs) == ["l2.a", "x"]
    x = rng.integers(-(1 << 11), 1 << 11, (m, k))
    a2 = rng.integers(-128, 128, (3, m))
    result, regions = run(kernel.bind({"x": x, "l2.a": a2}))
    assert result.cycles == kernel.predicted_cycles
    x8_expected = vector.compute(VectorOp.REQ, DType.I32, DType.I8, x, 1 << 30, -4)
    h_expected = gemm_reference(x8_expected, w, bias, mult, shift)
    outputs = kernel.unbind(regions)
    np.testing.assert_array_equal(outputs["h"], h_expected)
    np.testing.assert_array_equal(outputs["c2"], gemm_reference(a2, h_expected))


def test_a_broadcast_input_sharing_a_slice_is_copied_rather_than_the_graph_split():
    """An input read broadcast over the rows (one vector per row) lies in the slices of
    another input, which different operations of a graph that fits the ALUs read: the small
    input is copied away and the graph stays one pass (a split would store the values
    crossing the cut); the results are right and predicted."""
    config = preset("tiny")
    lanes = config.lanes
    rows, cols = 8, 2 * lanes
    schedule = Schedule(config)
    sram = schedule.calendar.sram
    slices = sram.emptiest_slices(DType.I32.bytes)
    a = schedule.input("a", planar_tensor(sram, "a", DType.I32, (rows, cols), lanes, slices))
    b = schedule.input("b", planar_tensor(sram, "b", DType.I32, (rows, lanes), lanes, slices))
    graph = Graph(shape=(rows, cols))
    x, y = graph.input("a", DType.I32), graph.input("b", DType.I32, broadcast="rows")
    graph.output("z", graph.op(VectorOp.ADD, graph.op(VectorOp.MUL, x, 3),
                               graph.op(VectorOp.SUB, y, 5)))
    outputs, passes, _ = place_graph(schedule, graph, {"a": a, "b": b})
    assert passes == 1
    schedule.output("z", outputs["z"])
    kernel = schedule.compile()
    rng = np.random.default_rng(3)
    values = {"a": rng.integers(-10**6, 10**6, (rows, cols)),
              "b": rng.integers(-10**6, 10**6, (rows, lanes))}
    result, regions = run(kernel.bind(values))
    assert result.errors == 0
    assert result.cycles == kernel.predicted_cycles
    np.testing.assert_array_equal(kernel.unbind(regions)["z"],
                                  values["a"] * 3 + np.tile(values["b"], (1, 2)) - 5)


def test_a_graph_with_wide_constants_runs_beside_a_per_channel_gemm():
    """A per-channel GEMM of several K-tiles holds one buffer of constant registers per
    matrix unit, so a graph needing a register of its own (a constant wider than the
    immediate) finishes while the GEMM still multiplies, not after it; both are right."""
    config = preset("default")
    lanes = config.lanes
    m, k, n = 32, 4 * lanes, 4 * lanes
    schedule = Schedule(config)
    c, _ = place_gemm(schedule, m, k, n, per_channel=True)
    graph = Graph(shape=(16, lanes))
    wide = (1 << 28) + 12345
    graph.output("y", graph.op(VectorOp.ADD, graph.input("x", DType.I32), wide))
    y = place_graph(schedule, graph)[0]["y"]
    rng = np.random.default_rng(5)
    values = {"a": rng.integers(-128, 128, (m, k)), "b": rng.integers(-128, 128, (k, n)),
              "multiplier": rng.integers(1 << 30, 1 << 31, (1, n)),
              "shift": rng.integers(-12, -8, (1, n)), "x": rng.integers(-10**6, 10**6, (16, lanes))}
    outputs = run_beside(schedule, c, y, values)
    np.testing.assert_array_equal(outputs["C"], gemm_reference(
        values["a"], values["b"], None, values["multiplier"][0], values["shift"][0]))
    np.testing.assert_array_equal(outputs["y"], values["x"] + wide)


def test_a_rolled_back_schedule_is_as_before():
    """Schedule.rollback undoes a placed graph: its queue slots, its words and its host input
    are gone, and placing it again gives the same program as placing it once."""
    config = preset("tiny")

    def graph():
        g = Graph(shape=(4, config.lanes))
        g.output("y", g.op(VectorOp.ADD, g.input("x", DType.I32), (1 << 28) + 1))
        return g

    once = Schedule(config)
    once.output("y", place_graph(once, graph())[0]["y"])
    again = Schedule(config)
    mark = again.checkpoint()
    place_graph(again, graph())
    assert "x" in again.inputs and again.calendar.sram.high_bytes() > 0
    again.rollback(mark)
    assert not again.inputs and again.calendar.sram.high_bytes() == 0
    again.output("y", place_graph(again, graph())[0]["y"])
    first, second = once.compile(), again.compile()
    assert first.queues == second.queues
    assert first.predicted_cycles == second.predicted_cycles


def test_a_graph_beside_a_gemm_writes_away_from_the_slices_it_streams():
    """A graph placed while a GEMM streams its activations writes its results to other slices
    of the hemisphere (where they can be read back while the GEMM runs), and both are
    right."""
    config = preset("default")
    lanes = config.lanes
    m, k, n = 64, 4 * lanes, 4 * lanes
    schedule = Schedule(config)
    c, _ = place_gemm(schedule, m, k, n, requantise=False)
    streamed = {slice_index for tensor in schedule.inputs["a"]
                for _, _, slice_index, _ in tensor.words}
    mems = schedule.calendar.plan.mem_units
    hemisphere = mems[min(streamed)].hemisphere
    others = {i for i, unit in enumerate(mems) if unit.hemisphere is not hemisphere}
    graph = Graph(shape=(16, lanes))
    graph.output("y", graph.op(VectorOp.ADD, graph.input("x", DType.I32), 3))
    y = place_graph(schedule, graph, avoid=others)[0]["y"]
    written = {slice_index for _, _, slice_index, _ in y.words}
    assert streamed and mems[min(written)].hemisphere is hemisphere
    assert not written & streamed
    rng = np.random.default_rng(6)
    values = {"a": rng.integers(-128, 128, (m, k)), "b": rng.integers(-128, 128, (k, n)),
              "x": rng.integers(-10**6, 10**6, (16, lanes))}
    outputs = run_beside(schedule, c, y, values)
    np.testing.assert_array_equal(outputs["C"], values["a"] @ values["b"])
    np.testing.assert_array_equal(outputs["y"], values["x"] + 3)
