"""The VXM constant registers of folded ALUs, in FPGA LUT RAM.

A folded ALU (``vxm_fold`` f > 1) loads a constant register with LDC a chunk of ``lanes / f``
lanes per cycle (chunk c in cycle t + 1 + c) and reads the constant registers a chunk per cycle
in step (:mod:`hdl.vxm`). So the registers need not be flip-flops that every ALU can read whole:
each is ``f`` entries of one chunk, written at most once per cycle by each ALU and read by each
ALU at its own chunk. That is LUT RAM: one memory per writing ALU and register (a RAM primitive
has one write port), ``f`` entries deep, which Yosys duplicates per reading ALU; 16 entries of 4
bits is one ECP5 ``TRELLIS_DPR16X4``. A live-value table says, per register and chunk, which
ALU wrote it last and whether any did since the last :attr:`clear`: a chunk none wrote since
reads as zero, as the flip-flop registers of an unfolded VXM are zeroed at program start. Two ALUs
never write one chunk of one register in the same cycle: their LDCs would have been issued in
the same cycle, a conflict the VXM drops at issue.
"""

from amaranth import *
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_integer

__all__ = ["ConstantFile"]


class ConstantFile(wiring.Component):
    """``registers`` constant registers of ``chunks`` chunks of ``width`` int32 lanes.

    Parameters
    ----------
    registers, chunks, width, ports : int
        Constant registers, chunks per register (the fold), lanes per chunk, and ALUs (each
        has a write port and a read port).

    Members
    -------
    write : In(...).array(ports)
        ``en``: write ``data`` to chunk ``chunk`` of register ``index`` at the end of this
        cycle.
    read_chunk : In(range(chunks)).array(ports)
    value : Out(ArrayLayout(ArrayLayout(signed(32), width), registers)).array(ports)
        Chunk ``read_chunk[p]`` of every register, as it is this cycle (combinational).
    clear : In(1)
        Every register reads as zero from the next cycle until written.
    """

    def __init__(self, registers, chunks, width, ports):
        self.registers = check_integer("Constant register count", registers, 1)
        self.chunks = check_integer("Constant register chunks", chunks, 1)
        self.width = check_integer("Constant chunk width", width, 1)
        self.ports = check_integer("Constant register ports", ports, 1)
        chunk = data.ArrayLayout(signed(32), width)
        write = data.StructLayout({"en": 1, "index": range(registers), "chunk": range(chunks),
                                   "data": chunk})
        super().__init__({
            "write":      In(write).array(ports),
            "read_chunk": In(range(chunks)).array(ports),
            "value":      Out(data.ArrayLayout(chunk, registers)).array(ports),
            "clear":      In(1),
        })

    def elaborate(self, platform):
        m = Module()
        registers, chunks, ports = self.registers, self.chunks, self.ports
        bits = 32 * self.width
        # Per register and chunk: written since the last clear, and by which port last (with
        # one port, always it: no table, and no zero-width signals in the Verilog).
        live = [Signal(chunks, name=f"live_{k}") for k in range(registers)]
        owner = [[Signal(range(ports), name=f"owner_{k}_{c}") for c in range(chunks)]
                 for k in range(registers)] if ports > 1 else None
        read = [[[] for _ in range(registers)] for _ in range(ports)]
        for j, write in enumerate(self.write):
            for k in range(registers):
                bank = memory.Memory(shape=bits, depth=chunks, init=[],
                                     attrs={"ram_style": "distributed"})
                m.submodules[f"bank_{j}_{k}"] = bank
                port = bank.write_port()
                mine = write.en & (write.index == k)
                m.d.comb += [port.addr.eq(write.chunk), port.data.eq(write.data),
                             port.en.eq(mine)]
                with m.If(mine):
                    m.d.sync += live[k].bit_select(write.chunk, 1).eq(1)
                    if owner is not None:
                        m.d.sync += Array(owner[k])[write.chunk].eq(j)
                for p in range(ports):
                    reader = bank.read_port(domain="comb")
                    m.d.comb += reader.addr.eq(self.read_chunk[p])
                    read[p][k].append(reader.data)
        with m.If(self.clear):
            m.d.sync += [flags.eq(0) for flags in live]
        for p in range(ports):
            for k in range(registers):
                c = self.read_chunk[p]
                latest = (read[p][k][0] if owner is None else
                          Array(read[p][k])[Array(owner[k])[c]])
                m.d.comb += self.value[p][k].eq(Mux((live[k] >> c)[0], latest, 0))
        return m
