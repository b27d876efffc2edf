"""The VXM ALU's lookup table, banked so that it maps to FPGA LUT RAM.

Architecturally the table is :data:`~isa.config.LUT_ENTRIES` int32 entries; LUTW writes one
entry per lane (``table[base + lane] = data[lane]`` for ``base + lane < 256``), LUT reads one
entry per lane (``value[lane] = table[index[lane]]``), and a write is seen by reads from the
next cycle on. As one memory that is a write port and a read port per lane, which no RAM
primitive has: Yosys builds it from flip-flops and a 256:1 multiplexer per read bit (409,186
ECP5 LUT4 sites for a 16-lane ALU).

Here the entries are spread over ``banks`` memories by entry number modulo ``banks``, where
``banks`` is the smallest power of two covering the lanes. A LUTW writes consecutive entries,
at most ``banks`` of them, so each bank takes at most one write: a memory with one write port,
whose data comes from rotating the lane vector by ``base``. Every lane then has a read port on
every bank and picks the bank of its index. A bank of 16 entries or fewer with asynchronous
reads is what an ECP5 ``TRELLIS_DPR16X4`` (and other vendors' distributed RAM) provides; Yosys
duplicates it per read port. The memories carry ``ram_style = "distributed"`` because Yosys's
cost model would otherwise keep a 16-entry memory with 16 read ports in flip-flops.

A folded ALU writes and reads fewer entries per cycle (``writers`` and ``readers``, each
``lanes / vxm_fold``): a LUTW's chunk of ``writers`` consecutive entries goes to as many banks,
so bank ``b`` takes input ``(b - base) mod writers`` (with one writer every bank takes the
single input, no multiplexer), and only ``readers`` lanes read every bank.

Banking pays on an FPGA and costs in simulation: each lane reads every bank, which made the
32-lane `default` preset's Verilator model a third slower (10,864 against 16,450 cycles/s on a
GEMM). So the table is banked up to :data:`BANKED_MAX_LANES` lanes, the FPGA-sized
configurations, where a bank of 16 entries is exactly one ECP5 LUT RAM deep; a wider table is
one memory with a write port per lane, a register file that Verilator reads with one index per
lane (and that Yosys builds from flip-flops).
"""

from amaranth import *
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from isa.config import LUT_ENTRIES
from .parameters import check_flag, check_integer

__all__ = ["LookupTable", "table_banks", "is_banked", "BANKED_MAX_LANES"]

_INDEX_BITS = (LUT_ENTRIES - 1).bit_length()
#: Tables of up to this many lanes are banked (see the module docstring).
BANKED_MAX_LANES = 16


def table_banks(lanes):
    """Banks of a ``lanes``-lane table: the smallest power of two >= ``lanes``, at most
    :data:`~isa.config.LUT_ENTRIES`."""
    banks = 1
    while banks < min(lanes, LUT_ENTRIES):
        banks *= 2
    return banks


def is_banked(lanes, banked=None):
    """Whether a ``lanes``-lane table is banked: as ``banked`` says (``None``: up to
    :data:`BANKED_MAX_LANES` lanes), but never when a bank would hold a single entry."""
    if banked is None:
        banked = lanes <= BANKED_MAX_LANES
    return banked and table_banks(lanes) < LUT_ENTRIES


class LookupTable(wiring.Component):
    """One ALU's lookup table.

    Parameters
    ----------
    lanes : int
    banked : bool or None
        Bank the entries (see :func:`is_banked`).
    readers : int or None
        Read ports (``lanes`` if None): a folded ALU reads ``lanes / vxm_fold`` entries per
        cycle.
    writers : int or None
        Entries one write writes (``lanes`` if None): a folded ALU writes ``lanes /
        vxm_fold`` per cycle. A divisor of ``lanes``.

    Members
    -------
    write : In(1)
        Write ``data[lane]`` to entry ``base + lane`` for every lane with ``base + lane`` <
        :data:`~isa.config.LUT_ENTRIES`, at the end of this cycle.
    base : In(8)
    data : In(ArrayLayout(signed(32), writers))
    index : In(ArrayLayout(8, readers))
    value : Out(ArrayLayout(signed(32), readers))
        ``value[r]`` is entry ``index[r]`` as it is this cycle (combinational read).
    """

    def __init__(self, lanes, *, banked=None, readers=None, writers=None):
        self.lanes = check_integer("Lookup table lane count", lanes, 1)
        if banked is not None:
            check_flag("Lookup table banked", banked)
        self.readers = lanes if readers is None else \
            check_integer("Lookup table read port count", readers, 1)
        self.writers = lanes if writers is None else \
            check_integer("Lookup table write width", writers, 1)
        if lanes % self.writers:
            raise ValueError(f"Lookup table write width must divide the lane count {lanes}, "
                             f"not {self.writers}")
        self.banks = table_banks(lanes)
        self.banked = is_banked(lanes, banked)
        if self.banked and self.writers < lanes and self.banks % self.writers:
            raise ValueError(f"Lookup table write width must divide the {self.banks} banks of "
                             f"a banked table, not {self.writers}")
        super().__init__({
            "write": In(1),
            "base":  In(_INDEX_BITS),
            "data":  In(data.ArrayLayout(signed(32), self.writers)),
            "index": In(data.ArrayLayout(_INDEX_BITS, self.readers)),
            "value": Out(data.ArrayLayout(signed(32), self.readers)),
        })

    def elaborate(self, platform):
        m = Module()
        if self.banked:
            self._banked(m)
        else:
            self._register_file(m)
        return m

    def _register_file(self, m):
        m.submodules.entries = entries = memory.Memory(
            shape=signed(32), depth=LUT_ENTRIES, init=[])
        for lane in range(min(self.writers, LUT_ENTRIES)):
            port = entries.write_port()
            entry = self.base + lane
            m.d.comb += [port.addr.eq(entry), port.data.eq(self.data[lane]),
                         port.en.eq(self.write & (entry < LUT_ENTRIES))]
        for reader in range(self.readers):
            port = entries.read_port(domain="comb")
            m.d.comb += [port.addr.eq(self.index[reader]), self.value[reader].eq(port.data)]

    def _banked(self, m):
        banks, writers = self.banks, self.writers
        bank_bits = (banks - 1).bit_length()
        depth = LUT_ENTRIES // banks
        shift = self.base[:bank_bits]

        if writers == self.lanes:
            # Bank b takes lane (b - base) mod banks: the lane vector rotated up by base mod
            # banks, in log2(banks) stages of whole-lane moves.
            slots = Cat(self.data.as_value(), Const(0, 32 * (banks - writers)))
            for bit in range(bank_bits):
                step = 32 << bit
                rotated = Signal(32 * banks, name=f"rotated_{1 << bit}")
                m.d.comb += rotated.eq(Mux(shift[bit], Cat(slots[-step:], slots[:-step]),
                                           slots))
                slots = rotated
        else:
            # A partial write: bank b takes lane (b - base) mod banks whenever that is below
            # `writers`, which divides `banks` (both divide the 16-lane table), so the lane is
            # (b - base) mod writers.
            inputs = Array(self.data[lane] for lane in range(writers))
            slots = Cat(*(inputs[(b - shift)[:(writers - 1).bit_length()]] if writers > 1
                          else self.data[0] for b in range(banks)))

        readers = self.readers
        outputs = [[] for _ in range(readers)]
        for b in range(banks):
            bank = memory.Memory(shape=signed(32), depth=depth, init=[],
                                 attrs={"ram_style": "distributed"})
            m.submodules[f"bank{b}"] = bank
            lane = Signal(bank_bits, name=f"bank{b}_lane")
            entry = Signal(_INDEX_BITS + 1, name=f"bank{b}_entry")
            m.d.comb += [lane.eq(b - shift), entry.eq(self.base + lane)]
            port = bank.write_port()
            m.d.comb += [
                port.addr.eq(entry[bank_bits:]),
                port.data.eq(slots[32 * b:32 * b + 32]),
                port.en.eq(self.write & (lane < writers) & (entry < LUT_ENTRIES)),
            ]
            for reader in range(readers):
                port = bank.read_port(domain="comb")
                m.d.comb += port.addr.eq(self.index[reader][bank_bits:])
                outputs[reader].append(port.data)

        for reader in range(readers):
            m.d.comb += self.value[reader].eq(
                Array(outputs[reader])[self.index[reader][:bank_bits]])
