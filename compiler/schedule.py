"""Kernels composed into one program: a :class:`Schedule` holds the calendar every kernel
places its instructions on, the tensors the host loads before the run and those it reads back
after it; :meth:`Schedule.compile` turns it into a :class:`Kernel`, a program template that
takes input values and gives a :class:`~compiler.program.Program` for either engine.

A kernel is a function ``place_<kernel>(schedule, ..., start=cycle)``: it reads tensors that
earlier kernels wrote (or that it declares as host inputs), places its instructions on the
calendar no earlier than ``start`` and where every resource is free, and returns the tensors it
wrote, which the next kernel reads. Kernels in one schedule therefore overlap wherever their
resources allow, and the program's predicted length is the last queue's halt.
"""

from dataclasses import dataclass, field

import numpy as np

from isa.config import LUT_ENTRIES
from isa.opcodes import DType
from .calendar import Calendar
from .program import Program
from .queues import ScheduleError
from .tensors import planar_tensor

__all__ = ["Schedule", "Kernel"]


class Schedule:
    """Kernels being placed on one chip of ``config``.

    Parameters
    ----------
    config : ChipConfig
    residency : Residency, optional
        Tensors already in SRAM (a model), whose words the program leaves alone and whose
        tables it uses.
    """

    def __init__(self, config, residency=None):
        self.config = config
        self.calendar = Calendar(config)
        self.residency = residency
        if residency is not None:
            if residency.config != config:
                raise ValueError(f"the residency is for configuration {residency.config.name!r}, "
                                 f"not {config.name!r}")
            for slice_index, address, count in _runs(residency.words()):
                self.calendar.sram.reserve(slice_index, address, count)
        #: Words of resident tensors: a view of one is never released.
        self._resident = set(residency.words()) if residency is not None else set()
        #: ``{name: [Tensor]}``: tensors the host loads with the input ``name`` (a kernel may
        #: read one input from several copies).
        self.inputs = {}
        #: ``[(Tensor, values)]``: tensors the host loads with values fixed at compile time.
        self.constants = []
        #: ``{name: Tensor}``: tensors read back after the run.
        self.outputs = {}
        #: ``{name: (values, Tensor)}``: the lookup tables in SRAM, one per name.
        self.tables = {}

    def input(self, name, tensor):
        """Declare ``tensor`` (placed by the kernel) as loaded by the host with input ``name``."""
        self.inputs.setdefault(name, []).append(tensor)
        return tensor

    def fix(self, name, values):
        """Make host input ``name`` a constant of the program with ``values`` (a model's
        weights, which the host loads with the program instead of binding them per run)."""
        if name not in self.inputs:
            raise ValueError(f"no host input {name!r} to fix; inputs: "
                             f"{', '.join(sorted(self.inputs)) or 'none'}")
        for tensor in self.inputs.pop(name):
            self.constant(tensor, values)

    def constant(self, tensor, values):
        """Declare ``tensor`` as loaded by the host with ``values`` (``[rows, cols]``)."""
        self.constants.append((tensor, np.asarray(values, dtype=np.int64)))
        return tensor

    def table(self, name, values):
        """The tensor holding lookup table ``name`` (``LUT_ENTRIES`` int32 ``values``): loaded
        by the host once, into the four emptiest slices of a hemisphere, for every kernel that
        reads the table."""
        values = np.asarray(values, dtype=np.int64)
        if self.residency is not None and f"table.{name}" in self.residency.tensors:
            tensor, known = self.residency.tensors[f"table.{name}"]
            if not np.array_equal(known[0], values):
                raise ValueError(f"the resident table {name!r} holds other values")
            return tensor
        if name in self.tables:
            known, tensor = self.tables[name]
            if not np.array_equal(known, values):
                raise ValueError(f"two different lookup tables are called {name!r}")
            return tensor
        sram = self.calendar.sram
        slices = sram.emptiest_slices(DType.I32.bytes)
        if len(slices) < DType.I32.bytes:
            raise ScheduleError("a lookup table needs four MEM slices in a hemisphere")
        lanes = self.config.lanes
        tensor = planar_tensor(sram, f"table.{name}", DType.I32, (1, LUT_ENTRIES), lanes,
                               slices)
        self.constant(tensor, values[None, :])
        self.tables[name] = (values, tensor)
        return tensor

    def checkpoint(self):
        """A mark to :meth:`rollback` to."""
        return (self.calendar.checkpoint(), {name: list(tensors) for name, tensors in
                                              self.inputs.items()},
                len(self.constants), dict(self.tables))

    def rollback(self, mark):
        """Undo every kernel placed since :meth:`checkpoint` returned ``mark``: its slots,
        words, host inputs, constants and tables. (The tensors it read keep their last reads,
        which only delays their release.)"""
        calendar, inputs, constants, tables = mark
        self.calendar.rollback(calendar)
        self.inputs = inputs
        del self.constants[constants:]
        self.tables = tables

    def release(self, tensor):
        """Free every word of ``tensor`` for writes after its last read: kernels placed from now
        on may store their results there. Nothing may read ``tensor`` afterwards, and the host
        may not read it back. The words of resident tensors stay taken."""
        if any(tensor is output for output in self.outputs.values()):
            raise ValueError(f"tensor {tensor.name!r} is an output: it is read back after the "
                             f"run and cannot be released")
        for slice_index, address in sorted({(s, a) for _, _, s, a in tensor.words} -
                                           self._resident):
            self.calendar.sram.release(slice_index, address, 1, tensor.last_read)

    def output(self, name, tensor):
        """Read ``tensor`` back after the run as output ``name``."""
        if name in self.outputs:
            raise ValueError(f"output {name!r} declared twice")
        self.outputs[name] = tensor
        return tensor

    def compile(self, kernel=None, *, resident=True, **attributes):
        """The program template: queue words, predicted length and tensors. ``kernel`` is the
        :class:`Kernel` subclass to make (with ``attributes``). With ``resident``, the program
        also loads the residency's tensors (a program that runs alone); without, it expects
        them in SRAM already (:meth:`Residency.images` loaded once for a sequence of
        programs)."""
        queues, predicted = self.calendar.programs()
        constants = list(self.constants)
        if resident and self.residency is not None:
            constants += [(tensor, values) for tensor, values in
                          self.residency.tensors.values() if values is not None]
        return (kernel or Kernel)(self.config, queues, predicted, dict(self.inputs),
                                  constants, dict(self.outputs),
                                  self.calendar.sram.high_bytes(), **attributes)


def _runs(words):
    """``[(slice, first address, count)]`` of sorted ``(slice, address)`` words."""
    runs = []
    for slice_index, address in words:
        if runs and runs[-1][0] == slice_index and runs[-1][1] + runs[-1][2] == address:
            runs[-1][2] += 1
        else:
            runs.append([slice_index, address, 1])
    return runs


@dataclass
class Kernel:
    """A compiled program template: its queue words, its predicted length, and the tensors the
    host loads and reads back.

    Attributes
    ----------
    config : ChipConfig
    queues : dict
        ``{queue number: [64-bit words]}``.
    predicted_cycles : int
    inputs : dict
        ``{input name: [Tensor]}``.
    constants : list
        ``[(Tensor, values)]`` loaded with fixed values.
    outputs : dict
        ``{output name: Tensor}``.
    sram_bytes : int
        SRAM the program and its residency take: bytes up to the highest word used in each
        slice, summed.
    """
    config: object
    queues: dict
    predicted_cycles: int
    inputs: dict = field(default_factory=dict)
    constants: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    sram_bytes: int = 0

    def bind(self, values):
        """A :class:`~compiler.program.Program` loading ``values`` (``{input name: [rows,
        cols] values}``) into the input tensors and reading every output back."""
        missing = sorted(set(self.inputs) - set(values))
        if missing:
            raise ValueError(f"missing input {missing[0]!r}")
        unknown = sorted(set(values) - set(self.inputs))
        if unknown:
            raise ValueError(f"unknown input {unknown[0]!r}")
        images = []
        for name, copies in self.inputs.items():
            for tensor in copies:
                images += tensor.images(values[name])
        for tensor, fixed in self.constants:
            images += tensor.images(fixed)
        regions = [region for tensor in self.outputs.values() for region in tensor.regions()]
        return Program(self.config, queues=dict(self.queues), sram=images, outputs=regions,
                       predicted_cycles=self.predicted_cycles)

    def unbind(self, regions):
        """``{output name: [rows, cols] values}`` from the regions read back after a run."""
        return {name: tensor.unpack(regions) for name, tensor in self.outputs.items()}
