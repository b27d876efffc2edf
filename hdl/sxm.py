"""SXM: the switch unit, the only unit that moves data between lanes.

Lane movements (SHUP, SHDN, ROT, BCAST, PERM) move the ``dtype.bytes`` planes of an element
group together; TRANS transposes 16 x 16 int8 blocks across 16 streams. An operation issued in
cycle t reads its streams in cycle t and is computed and registered in the same cycle; its
result is at the neighbouring position in cycle t + :data:`~isa.timing.SXM_LATENCY`.
Semantics: :mod:`golden.switch`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from isa.config import SUPERLANE
from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import DType, Direction, SwitchOp
from .interfaces import ERROR_BITS, OFFSET_BITS, IssueSignature, StreamTapSignature
from .lane import sign_extend
from .parameters import check_config
from .streams import aligned_stream, group_size

__all__ = ["SwitchUnit"]

_MOVES = [SwitchOp.SHUP, SwitchOp.SHDN, SwitchOp.ROT, SwitchOp.BCAST, SwitchOp.PERM]


class SwitchUnit(wiring.Component):
    """One SXM.

    Parameters
    ----------
    config : ChipConfig

    Members
    -------
    issue : In(IssueSignature)
    error : Out(ERROR_BITS)
    tap : Out(StreamTapSignature)
    clear : In(1)
        Program start: drop the result in flight.
    """

    def __init__(self, config):
        self.config = check_config("SwitchUnit", config)
        super().__init__({
            "issue": In(IssueSignature()),
            "error": Out(ERROR_BITS),
            "tap":   Out(StreamTapSignature(config)),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        lanes, streams, vb = cfg.lanes, cfg.streams, cfg.vector_bits
        f = data.View(FORMATS["switch"].layout, self.issue.word)
        op = f.op
        amount = Signal(signed(OFFSET_BITS + 1))
        m.d.comb += amount.eq(f.amount + self.issue.offset)

        # ---- Checks (isa.legality). ----
        def group_ok(base, size):
            return ((base & (size - 1)) == 0) & (base + size <= streams)

        is_trans = op == SwitchOp.TRANS.value
        is_perm = op == SwitchOp.PERM.value
        size = group_size(f.dtype)
        type_ok = f.dtype.as_value() != 3
        trans_ok = ((f.dtype == DType.I8) & (f.src % SUPERLANE == 0) & (f.dst % SUPERLANE == 0) &
                    (f.src + SUPERLANE <= streams) & (f.dst + SUPERLANE <= streams)
                    if streams >= SUPERLANE else Const(0))
        move_ok = (group_ok(f.src, size) & group_ok(f.dst, size) &
                   Mux(is_perm, group_ok(f.map, 2), (amount >= 0) & (amount < lanes)))
        legal_op = op.matches(*(o.value for o in SwitchOp))
        flag = Mux(~legal_op, ErrorFlag.ILLEGAL_OPCODE,
                   Mux(~type_ok | ~Mux(is_trans, trans_ok, move_ok), ErrorFlag.BAD_OPERAND, 0))
        go = Signal()
        m.d.comb += go.eq(self.issue.valid & (flag == 0))
        with m.If(self.issue.valid):
            m.d.comb += self.error.eq(flag)

        # ---- Sources: up to 16 adjacent planes, and the map. ----
        # Plane k matters only when the group is wider than k (checked above: a group starts
        # at a multiple of its size; TRANS reads 16 from a multiple of 16), which narrows its
        # candidates (see hdl.streams).
        east, west = self.tap.east, self.tap.west
        count = min(SUPERLANE, streams)
        source = [Signal(vb, name=f"source_{k}") for k in range(count)]
        for k, plane in enumerate(source):
            m.d.comb += plane.eq(aligned_stream(east, west, f.src_dir == Direction.WEST, f.src, k,
                                                alignment=None if k < 4 else SUPERLANE))
        map_planes = [Signal(vb, name=f"map_{k}") for k in range(2)]
        m.d.comb += [plane.eq(aligned_stream(east, west, f.map_dir == Direction.WEST, f.map, k,
                                             alignment=2))
                     for k, plane in enumerate(map_planes)]

        # ---- Lane movements: out[l] = in[index[l]] where valid[l], else the fill. ----
        # The fill: the 16-bit immediate wrapped to the element type, as 32 bits.
        fill32 = Signal(32)
        m.d.comb += fill32.eq(Mux(f.dtype == DType.I8, sign_extend(f.fill, 8),
                                  sign_extend(f.fill, 16)))
        moved = [Signal(vb, name=f"moved_{b}") for b in range(4)]
        source_lanes = [Array(source[b][8 * lane:8 * lane + 8] for lane in range(lanes))
                        for b in range(min(4, count))]
        for lane in range(lanes):
            index = Signal(range(2 * lanes), name=f"index_{lane}")
            valid = Signal(name=f"valid_{lane}")
            mapped = Cat(map_planes[0][8 * lane:8 * lane + 8], map_planes[1][8 * lane:8 * lane + 8])
            with m.Switch(op):
                with m.Case(SwitchOp.SHUP.value):
                    m.d.comb += [index.eq(lane - amount), valid.eq(lane >= amount)]
                with m.Case(SwitchOp.SHDN.value):
                    m.d.comb += [index.eq(lane + amount), valid.eq(lane + amount < lanes)]
                with m.Case(SwitchOp.ROT.value):
                    m.d.comb += [index.eq(Mux(lane + amount >= lanes, lane + amount - lanes,
                                              lane + amount)), valid.eq(1)]
                with m.Case(SwitchOp.BCAST.value):
                    m.d.comb += [index.eq(amount), valid.eq(1)]
                with m.Case(SwitchOp.PERM.value):
                    m.d.comb += [index.eq(mapped), valid.eq(mapped < lanes)]
            for b, lane_source in enumerate(source_lanes):
                m.d.comb += moved[b][8 * lane:8 * lane + 8].eq(
                    Mux(valid, lane_source[index], fill32[8 * b:8 * b + 8]))

        # ---- Register the result; send it next cycle. ----
        result = [Signal(vb, name=f"result_{k}", reset_less=True) for k in range(count)]
        x_valid = Signal()
        x_dst = Signal(5, reset_less=True)
        x_dir = Signal(Direction, reset_less=True)
        x_size = Signal(range(SUPERLANE + 1), reset_less=True)
        m.d.sync += [x_valid.eq(go), x_dst.eq(f.dst), x_dir.eq(f.dst_dir),
                     x_size.eq(Mux(is_trans, SUPERLANE, size))]
        for k in range(count):
            if streams >= SUPERLANE:
                # TRANS: out[j][16 s + i] = in[i][16 s + j].
                transposed = Cat(source[i][8 * (SUPERLANE * s + k):8 * (SUPERLANE * s + k) + 8]
                                 for s in range(lanes // SUPERLANE) for i in range(SUPERLANE))
            else:
                transposed = Const(0, vb)
            m.d.sync += result[k].eq(Mux(is_trans, transposed,
                                         moved[k % 4] if k < 4 else 0))
        with m.If(self.clear):
            m.d.sync += x_valid.eq(0)

        we = Signal(streams)
        m.d.comb += we.eq(Mux(x_valid, ((1 << x_size) - 1) << x_dst, 0))
        for s in range(streams):
            # An aligned group of n streams carries plane s mod n at stream s.
            plane = Mux(x_size == SUPERLANE, result[s % count],
                    Mux(x_size == 4, result[s % 4],
                    Mux(x_size == 2, result[s % 2], result[0])))
            m.d.comb += [self.tap.east_out[s].eq(plane), self.tap.west_out[s].eq(plane)]
        m.d.comb += [self.tap.east_we.eq(Mux(x_dir == Direction.EAST, we, 0)),
                     self.tap.west_we.eq(Mux(x_dir == Direction.WEST, we, 0))]
        return m
