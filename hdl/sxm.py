"""SXM: the switch unit, the only unit that moves data between lanes.

Lane movements (SHUP, SHDN, ROT, BCAST, PERM) move the ``dtype.bytes`` planes of an element
group together; TRANS transposes 16 x 16 int8 blocks across 16 streams. An operation issued in
cycle t reads its streams in cycle t and is computed and registered in the same cycle; its
result is at the neighbouring position in cycle t + :data:`~isa.timing.SXM_LATENCY`.

With ``sxm_fold = f`` the unit moves ``lanes / f`` lanes per cycle (one ``lanes``-way
multiplexer per plane byte of those lanes instead of one per plane byte of every lane): it
registers its sources in the issue cycle, moves a chunk of lanes in each of the next f cycles
and sends in the last, at :func:`~isa.timing.sxm_latency`; it takes an operation every f
cycles and flags one issued sooner (``BAD_OPERAND``, as a busy matrix unit does).
Semantics: :mod:`golden.switch`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from isa.config import SUPERLANE
from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import DType, Direction, SwitchOp
from .fold import fold_phase
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
        lanes, streams, vb, fold = cfg.lanes, cfg.streams, cfg.vector_bits, cfg.sxm_fold
        f = data.View(FORMATS["switch"].layout, self.issue.word)
        op = f.op
        amount = Signal(signed(OFFSET_BITS + 1))
        m.d.comb += amount.eq(f.amount + self.issue.offset)

        # ---- Checks (isa.legality), then a folded unit's busy check. ----
        def group_ok(base, size):
            return ((base & (size - 1)) == 0) & (base + size <= streams)

        is_trans = op == SwitchOp.TRANS.value
        is_perm = op == SwitchOp.PERM.value
        size = group_size(f.dtype)
        type_ok = f.dtype.as_value() != 3
        trans_ok = ((f.dtype == DType.I8) & (f.src % SUPERLANE == 0) & (f.dst % SUPERLANE == 0) &
                    (f.src + SUPERLANE <= streams) & (f.dst + SUPERLANE <= streams)
                    if cfg.transposes else Const(0))
        move_ok = (group_ok(f.src, size) & group_ok(f.dst, size) &
                   Mux(is_perm, group_ok(f.map, 2), (amount >= 0) & (amount < lanes)))
        legal_op = op.matches(*(o.value for o in SwitchOp))
        busy = Signal()             # a folded operation is computing ...
        finishing = Signal()        # ... in its last cycle (it accepts the next one then)
        flag = Mux(~legal_op, ErrorFlag.ILLEGAL_OPCODE,
                   Mux(~type_ok | ~Mux(is_trans, trans_ok, move_ok), ErrorFlag.BAD_OPERAND,
                       Mux(busy & ~finishing, ErrorFlag.BAD_OPERAND, 0)))
        go = Signal()
        m.d.comb += go.eq(self.issue.valid & (flag == 0))
        with m.If(self.issue.valid):
            m.d.comb += self.error.eq(flag)

        # ---- Sources: up to 16 adjacent planes, and the map. ----
        # Plane k matters only when the group is wider than k (checked above: a group starts
        # at a multiple of its size; TRANS reads 16 from a multiple of 16), which narrows its
        # candidates (see hdl.streams). Without TRANS (16 streams and whole superlanes) only the 4
        # planes a move reads matter.
        east, west = self.tap.east, self.tap.west
        count = SUPERLANE if cfg.transposes else 4
        source = [Signal(vb, name=f"source_{k}") for k in range(count)]
        for k, plane in enumerate(source):
            m.d.comb += plane.eq(aligned_stream(east, west, f.src_dir == Direction.WEST, f.src, k,
                                                alignment=None if k < 4 else SUPERLANE))
        map_planes = [Signal(vb, name=f"map_{k}") for k in range(2)]
        m.d.comb += [plane.eq(aligned_stream(east, west, f.map_dir == Direction.WEST, f.map, k,
                                             alignment=2))
                     for k, plane in enumerate(map_planes)]
        # The fill: the 16-bit immediate wrapped to the element type, as 32 bits.
        fill32 = Signal(32)
        m.d.comb += fill32.eq(Mux(f.dtype == DType.I8, sign_extend(f.fill, 8),
                                  sign_extend(f.fill, 16)))
        # A legal move's amount is below `lanes` (checked above; an illegal one sends nothing),
        # so the lane arithmetic needs only its low bits: narrow adders and comparators, not
        # ones as wide as the offset-adjusted immediate.
        short = Signal(range(lanes))
        m.d.comb += short.eq(amount)

        # Where the result goes, kept from the issue until it is sent: the streams it
        # overwrites in each direction (decoded at the issue, so that sending needs no
        # arithmetic), and its group size.
        x_size = Signal(range(SUPERLANE + 1), reset_less=True)
        x_east_we = Signal(streams, reset_less=True)
        x_west_we = Signal(streams, reset_less=True)
        group = Signal(streams)
        m.d.comb += group.eq(((1 << Mux(is_trans, SUPERLANE, size)) - 1) << f.dst)
        with m.If(go):
            m.d.sync += [x_size.eq(Mux(is_trans, SUPERLANE, size)),
                         x_east_we.eq(Mux(f.dst_dir == Direction.EAST, group, 0)),
                         x_west_we.eq(Mux(f.dst_dir == Direction.WEST, group, 0))]
        if fold == 1:
            # Computed from the streams and registered in the issue cycle, sent in the next.
            moved = _move(m, op, source, map_planes, short, fill32, lanes)
            result = [Signal(vb, name=f"result_{k}", reset_less=True) for k in range(count)]
            for k in range(count):
                m.d.sync += result[k].eq(Mux(is_trans, _transposed(source, k, lanes),
                                             moved[k] if k < 4 else 0))
            send = Signal()
            m.d.sync += send.eq(go)
            with m.If(self.clear):
                m.d.sync += send.eq(0)
        else:
            result, send = self._folded(m, go, busy, finishing, op, is_trans, source,
                                        map_planes, short, fill32, count)

        for s in range(streams):
            # An aligned group of n streams carries plane s mod n at stream s.
            plane = Mux(x_size == SUPERLANE, result[s % count],
                    Mux(x_size == 4, result[s % 4],
                    Mux(x_size == 2, result[s % 2], result[0])))
            m.d.comb += [self.tap.east_out[s].eq(plane), self.tap.west_out[s].eq(plane)]
        m.d.comb += [self.tap.east_we.eq(Mux(send, x_east_we, 0)),
                     self.tap.west_we.eq(Mux(send, x_west_we, 0))]
        return m

    def _folded(self, m, go, busy, finishing, op, is_trans, source, map_planes, short, fill32,
                count):
        """A folded unit (``sxm_fold = f``): the issue cycle registers the sources and the
        operation; in each of the next f cycles ``lanes / f`` lanes of every plane are moved
        (phase p: lanes ``p lanes / f ..``) into waiting registers, except the last chunk,
        which goes straight onto the streams with the others in the last cycle. Returns the
        result planes and the signal of the cycle that sends them."""
        cfg = self.config
        lanes, vb, fold = cfg.lanes, cfg.vector_bits, cfg.sxm_fold
        block = lanes // fold
        phase = fold_phase(m, fold, go=go, clear=self.clear, busy=busy, finishing=finishing)

        # The operation's sources and fields are captured in every cycle the unit could take
        # an operation, issued or not (an idle unit's captures are never used): the enable of
        # these 800-odd registers does not wait for the issue's decode.
        capture = ~busy | finishing

        def kept(signal, name):
            register = Signal.like(signal, name=name, reset_less=True)
            with m.If(capture):
                m.d.sync += register.eq(signal)
            return register

        x_source = [kept(plane, f"x_source_{k}") for k, plane in enumerate(source)]
        x_map = [kept(plane, f"x_map_{k}") for k, plane in enumerate(map_planes)]
        x_op, x_trans = kept(op, "x_op"), kept(is_trans, "x_trans")
        x_short, x_fill = kept(short, "x_short"), kept(fill32, "x_fill")

        # Which source lane (or the fill) each lane of this cycle's chunk takes was worked out
        # in the cycle before, so that a cycle holds only the lane multiplexers: phase p moves
        # lanes p * block + i. Phase 0's come from the issuing operation's own fields, the
        # next phase's from the kept ones; the issue decides between them only at the end.
        index, valid = [], []
        for i in range(block):
            lane = Signal(range(lanes), name=f"next_lane_{i}")
            m.d.comb += lane.eq((phase + 1) * block + i)
            first_index, first_valid = _source_lane(m, op, short, map_planes, i, lanes,
                                                    f"first_{i}")
            next_index, next_valid = _source_lane(m, x_op, x_short, x_map, lane, lanes,
                                                  f"next_{i}")
            index.append(Signal.like(next_index, name=f"x_index_{i}", reset_less=True))
            valid.append(Signal(name=f"x_valid_{i}", reset_less=True))
            m.d.sync += [index[i].eq(Mux(go, first_index, next_index)),
                         valid[i].eq(Mux(go, first_valid, next_valid))]
        moved = _pick(x_source, index, valid, x_fill, lanes)
        # The earlier chunks wait in registers for the last one.
        waiting = [Signal(vb - 8 * block, name=f"waiting_{b}", reset_less=True)
                   for b in range(4)]
        for p in range(fold - 1):
            with m.If(busy & (phase == p)):
                for b in range(4):
                    m.d.sync += waiting[b][8 * block * p:8 * block * (p + 1)].eq(moved[b])
        result = [Signal(vb, name=f"result_{k}") for k in range(count)]
        for k in range(count):
            move = Cat(waiting[k], moved[k]) if k < 4 else 0
            m.d.comb += result[k].eq(Mux(x_trans, _transposed(x_source, k, lanes), move))
        return result, finishing


def _move(m, op, source, map_planes, short, fill32, lanes):
    """Every lane's movement in one cycle: ``out[l] = in[index[l]]`` where ``valid[l]``, else
    the fill. Returns 4 planes."""
    picks = [_source_lane(m, op, short, map_planes, lane, lanes, lane) for lane in range(lanes)]
    return _pick(source, [i for i, _ in picks], [v for _, v in picks], fill32, lanes)


def _source_lane(m, op, short, map_planes, lane, lanes, name):
    """``(index, valid)``: the source lane output lane ``lane`` (an int, or a signal of a
    folded unit's phase) takes, and whether it takes one rather than the fill."""
    index = Signal(range(lanes), name=f"index_{name}")
    valid = Signal(name=f"valid_{name}")
    if isinstance(lane, int):
        mapped = Cat(map_planes[0][8 * lane:8 * lane + 8], map_planes[1][8 * lane:8 * lane + 8])
    else:
        mapped = Cat(Array(map_planes[0][8 * k:8 * k + 8] for k in range(lanes))[lane],
                     Array(map_planes[1][8 * k:8 * k + 8] for k in range(lanes))[lane])
    up = lane + short          # SHDN's and ROT's source lane, before wrapping
    with m.Switch(op):
        with m.Case(SwitchOp.SHUP.value):
            # (The last lane is always at or above the amount.)
            last = isinstance(lane, int) and lane == lanes - 1
            m.d.comb += [index.eq(lane - short), valid.eq(1 if last else lane >= short)]
        with m.Case(SwitchOp.SHDN.value):
            m.d.comb += [index.eq(up), valid.eq(up < lanes)]
        with m.Case(SwitchOp.ROT.value):
            m.d.comb += [index.eq(Mux(up >= lanes, up - lanes, up)), valid.eq(1)]
        with m.Case(SwitchOp.BCAST.value):
            m.d.comb += [index.eq(short), valid.eq(1)]
        with m.Case(SwitchOp.PERM.value):
            m.d.comb += [index.eq(mapped), valid.eq(mapped < lanes)]
    return index, valid


def _pick(source, index, valid, fill32, lanes):
    """The 4 planes of the lanes whose source lanes are ``index`` (fill where not ``valid``),
    each ``len(index)`` lanes wide."""
    source_lanes = [Array(source[b][8 * lane:8 * lane + 8] for lane in range(lanes))
                    for b in range(min(4, len(source)))]
    return [Cat(Mux(ok, source_lanes[b][at] if b < len(source_lanes) else Const(0, 8),
                    fill32[8 * b:8 * b + 8]) for at, ok in zip(index, valid))
            for b in range(4)]


def _transposed(source, k, lanes):
    """TRANS output plane ``k``: ``out[k][16 s + i] = in[i][16 s + k]`` (needs 16 planes)."""
    if len(source) < SUPERLANE:
        return Const(0, 8 * lanes)
    return Cat(source[i][8 * (SUPERLANE * s + k):8 * (SUPERLANE * s + k) + 8]
               for s in range(lanes // SUPERLANE) for i in range(SUPERLANE))
