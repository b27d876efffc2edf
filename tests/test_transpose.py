"""The transpose kernel (compiler/transpose.py) on the golden simulator: ``Y = X^T`` for row
and column counts that are and are not whole vectors, exactly, in the predicted cycles."""

import numpy as np
import pytest

from compiler.queues import ScheduleError
from compiler.schedule import Schedule
from compiler.tensors import planar_tensor
from compiler.transpose import place_transpose
from golden.archsim import ArchSim
from isa import preset
from isa.geometry import QueueKind
from isa.opcodes import DType

CONFIG = preset("default")


def transpose_on_chip(values, config=CONFIG):
    schedule = Schedule(config)
    x = schedule.input("x", planar_tensor(schedule.calendar.sram, "x", DType.I8, values.shape,
                                          config.lanes, [3]))
    schedule.output("y", place_transpose(schedule, x))
    kernel = schedule.compile()
    outcome = ArchSim(config).execute(kernel.bind({"x": values}))
    assert outcome.errors == 0 and outcome.cycles == kernel.predicted_cycles
    return kernel.unbind(outcome.outputs)["y"]


@pytest.mark.parametrize("rows, cols", [(128, 32), (7, 32), (40, 64), (33, 20)])
def test_transpose_is_exact(rows, cols):
    values = np.random.default_rng(rows * cols).integers(-128, 128, (rows, cols))
    np.testing.assert_array_equal(transpose_on_chip(values), values.T)


def test_transpose_leaves_the_matrix_units_free():
    """The rotations go through the switch units: a transpose's program has no matrix-unit
    instruction, so it runs beside the GEMMs (the keys' transposes beside the projection
    that writes them)."""
    schedule = Schedule(CONFIG)
    x = schedule.input("x", planar_tensor(schedule.calendar.sram, "x", DType.I8, (64, 32),
                                          CONFIG.lanes, [3]))
    schedule.output("y", place_transpose(schedule, x))
    kernel = schedule.compile()
    queues = schedule.calendar.plan.queues
    matrix = [n for n, q in enumerate(queues)
              if q.kind in (QueueKind.MXM_LOAD, QueueKind.MXM_COMPUTE)]
    switch = [n for n, q in enumerate(queues) if q.kind is QueueKind.SXM]
    assert matrix and not any(kernel.queues.get(n) for n in matrix)
    assert any(kernel.queues.get(n) for n in switch)


def test_transpose_needs_sixteen_slices_and_int8():
    schedule = Schedule(preset("tiny"))
    x = planar_tensor(schedule.calendar.sram, "x", DType.I8, (16, 16), 16, [0])
    with pytest.raises(ScheduleError, match="reads 16 vectors at once from 16 MEM slices on 16 "
                                            "streams and moves 16-lane blocks; the "
                                            "configuration has 8 slices, 16 streams and 16 lanes"):
        place_transpose(schedule, x)
    # Enough slices and streams, but half a superlane: no 16-lane blocks to move.
    schedule = Schedule(CONFIG.derive(lanes=8))
    x = planar_tensor(schedule.calendar.sram, "x", DType.I8, (16, 8), 8, [0])
    with pytest.raises(ScheduleError, match="the configuration has 16 slices, 16 streams and 8 "
                                            "lanes"):
        place_transpose(schedule, x)
    schedule = Schedule(CONFIG)
    x = planar_tensor(schedule.calendar.sram, "x", DType.I16, (16, 16), 32, [0, 1])
    with pytest.raises(ScheduleError, match="moves int8 tensors, not I16"):
        place_transpose(schedule, x)
