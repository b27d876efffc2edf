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

With more than 128 lanes a bank would hold a single entry; the table is then one memory with a
write port per lane, which is the same register file.
"""

from amaranth import *
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from isa.config import LUT_ENTRIES

__all__ = ["LookupTable", "table_banks"]

_INDEX_BITS = (LUT_ENTRIES - 1).bit_length()


def table_banks(lanes):
    """Banks of a ``lanes``-lane table: the smallest power of two >= ``lanes``, at most
    :data:`~isa.config.LUT_ENTRIES`."""
    banks = 1
    while banks < min(lanes, LUT_ENTRIES):
        banks *= 2
    return banks


class LookupTable(wiring.Component):
    """One ALU's lookup table.

    Members
    -------
    write : In(1)
        Write ``data[lane]`` to entry ``base + lane`` for every lane with ``base + lane`` <
        :data:`~isa.config.LUT_ENTRIES`, at the end of this cycle.
    base : In(8)
    data : In(ArrayLayout(signed(32), lanes))
    index : In(ArrayLayout(8, lanes))
    value : Out(ArrayLayout(signed(32), lanes))
        ``value[lane]`` is entry ``index[lane]`` as it is this cycle (combinational read).
    """

    def __init__(self, lanes):
        self.lanes = lanes
        self.banks = table_banks(lanes)
        super().__init__({
            "write": In(1),
            "base":  In(_INDEX_BITS),
            "data":  In(data.ArrayLayout(signed(32), lanes)),
            "index": In(data.ArrayLayout(_INDEX_BITS, lanes)),
            "value": Out(data.ArrayLayout(signed(32), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        if self.banks == LUT_ENTRIES:
            self._register_file(m)
        else:
            self._banked(m)
        return m

    def _register_file(self, m):
        m.submodules.entries = entries = memory.Memory(
            shape=signed(32), depth=LUT_ENTRIES, init=[])
        for lane in range(min(self.lanes, LUT_ENTRIES)):
            port = entries.write_port()
            entry = self.base + lane
            m.d.comb += [port.addr.eq(entry), port.data.eq(self.data[lane]),
                         port.en.eq(self.write & (entry < LUT_ENTRIES))]
        for lane in range(self.lanes):
            port = entries.read_port(domain="comb")
            m.d.comb += [port.addr.eq(self.index[lane]), self.value[lane].eq(port.data)]

    def _banked(self, m):
        banks, lanes = self.banks, self.lanes
        bank_bits = (banks - 1).bit_length()
        depth = LUT_ENTRIES // banks

        # Bank b takes lane (b - base) mod banks: the lane vector rotated up by base mod banks,
        # in log2(banks) stages of whole-lane moves.
        slots = Cat(self.data.as_value(), Const(0, 32 * (banks - lanes)))
        shift = self.base[:bank_bits]
        for bit in range(bank_bits):
            step = 32 << bit
            rotated = Signal(32 * banks, name=f"rotated_{1 << bit}")
            m.d.comb += rotated.eq(Mux(shift[bit], Cat(slots[-step:], slots[:-step]), slots))
            slots = rotated

        outputs = [[] for _ in range(lanes)]
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
                port.en.eq(self.write & (lane < lanes) & (entry < LUT_ENTRIES)),
            ]
            for reader in range(lanes):
                port = bank.read_port(domain="comb")
                m.d.comb += port.addr.eq(self.index[reader][bank_bits:])
                outputs[reader].append(port.data)

        for reader in range(lanes):
            m.d.comb += self.value[reader].eq(
                Array(outputs[reader])[self.index[reader][:bank_bits]])
