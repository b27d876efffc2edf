"""VXM: the central vector unit, ``vxm_alus`` lane-wise ALUs sharing one stream position.

Each ALU has its own queue. An operation issued in cycle t reads its operands in cycle t from
the stream registers at the VXM's position, from any ALU's result register or from a constant
register; in cycle t + 1 it computes; its result is in the ALU's result register and at the
neighbouring stream position in cycle t + :data:`~isa.timing.VXM_LATENCY`. Arithmetic:
:mod:`golden.vector` (RTL form: :mod:`hdl.lane`).

A folded ALU (``vxm_fold`` f > 1) has ``lanes / f`` lane datapaths and table ports. It
selects lanes ``k lanes / f ..`` (chunk k) of its operands, and reads its table for them, in
cycle t + 1 + k; the chunk then passes through the lane datapath in four more cycles (the
:data:`~isa.timing.FOLDED_VXM_STAGES` pipeline registers: the operands, the product, its
doubling high word, the rounding shift and the sum), and is shifted into a staging register in
cycle t + 5 + k. The last chunk and the staged ones form the result in cycle t + f + 4, so the
result register and the stream see it in cycle t + :func:`~isa.timing.vxm_latency` (f + 5).
Its operands still mean what they meant in cycle t, but are selected a chunk at a time, so
that the multiplexers are ``lanes / f`` lanes wide: at issue the ALU registers every stream
register at its position and every ALU's result register; the constant registers, which
only LDC writes, are read chunk k in cycle t + k (from LUT RAM, :mod:`hdl.constants`). An LDC
writes chunk k at the end of cycle t + 1 + k, so an operation issued in cycle u sees all of an
LDC issued in cycle t if t <= u - 2 and none of it otherwise: exactly the unfolded timing.
LUTW writes a chunk per cycle too (the table is the ALU's own, whose next LUT reads it from
cycle t + f + 1 on). The ALU accepts an operation every f cycles: one issued sooner raises
``BAD_OPERAND`` (as an MM does on a busy matrix unit).

Every ALU carries a 256-entry int32 lookup table (written by LUTW, read by LUT; a LUTW issued in
cycle t is seen by a LUT issued in cycle t + 1 or later), banked so that it maps to FPGA LUT RAM
(:mod:`hdl.table`). The constant registers are shared:
an LDC issued in cycle t is visible to operands read from cycle t + 2.

Two writes to one stream register, or to one constant register, in one cycle are a conflict:
the lower-numbered ALU's instruction takes effect, the other is dropped and raises
:attr:`~isa.host.ErrorFlag.STREAM_CONFLICT`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from isa.config import LUT_ENTRIES
from isa.formats import FORMATS, INSTRUCTIONS
from isa.host import ErrorFlag
from isa.opcodes import DType, Direction, IMMEDIATE_INDEX, OperandKind, VectorOp
from isa.timing import FOLDED_VXM_STAGES
from .cells import CellLibrary, place
from .constants import ConstantFile
from .interfaces import (ERROR_BITS, OFFSET_BITS, IssueSignature, StreamTapSignature,
                         stream_bundle)
from .lane import (lane_arithmetic, lane_high, lane_left_shift, lane_multiply, lane_result,
                   lane_scale, lane_select, lane_shift, read_as)
from .parameters import check_config
from .streams import aligned_stream, group_size
from .table import LookupTable

__all__ = ["VectorAlu", "VectorUnit"]

_VECTOR_SPECS = [s for s in INSTRUCTIONS if isinstance(s.op, VectorOp)]
_OPCODES = [s.op.value for s in _VECTOR_SPECS]
_NO_RESULT = [s.op.value for s in _VECTOR_SPECS if not s.result]


def _ops_reading(operand):
    return [s.op.value for s in _VECTOR_SPECS if operand in s.operands]


def _vector32(config):
    return data.ArrayLayout(signed(32), config.lanes)


def _const_chunks(config):
    """One chunk of every constant register of a folded VXM."""
    chunk = data.ArrayLayout(signed(32), config.lanes // config.vxm_fold)
    return data.ArrayLayout(chunk, config.vxm_consts)


class VectorAlu(wiring.Component):
    """One VXM ALU: decode, operand read, a two-stage lane array and a lookup table.

    Members
    -------
    issue : In(IssueSignature)
    east, west : In(vector_bits).array(streams)
        The stream registers at the VXM's position.
    results : In(vector32).array(vxm_alus)
        Every ALU's result register (this one's included).
    consts : In(vector32).array(vxm_consts)
        The constant registers (an unfolded ALU).
    const_chunks : In(ArrayLayout(ArrayLayout(signed(32), lanes / vxm_fold), vxm_consts))
        Chunk ``const_phase`` of every constant register (a folded ALU; :mod:`hdl.constants`).
    const_phase : Out(range(vxm_fold))
        The chunk of the constant registers a folded ALU reads this cycle.
    clear : In(1)
    cancel : In(1)
        Drop this cycle's instruction (a conflict with a lower-numbered ALU).
    check : Out(ERROR_BITS)
        The flag this cycle's instruction raises by itself (see :mod:`isa.legality`).
    writes, dst_dir, dst_mask : Out
        This cycle's instruction is legal and will write streams ``dst_mask`` in ``dst_dir``.
    ldc, ldc_index : Out
        This cycle's instruction is a legal LDC to constant register ``ldc_index``.
    result : Out(vector32)
        The result register.
    east_in, east_we_in, west_in, west_we_in : In
        Stream outputs of the higher-numbered ALUs (a daisy chain).
    east_out, east_we_out, west_out, west_we_out : Out
        The same with this ALU's stage-1 result written over them.
    x_ldc, x_ldc_index, x_ldc_value : Out
        Stage 1 writes ``x_ldc_value`` to constant register ``x_ldc_index``: to its chunk
        ``x_ldc_chunk`` (an Out of a folded ALU), lanes ``x_ldc_chunk * lanes / vxm_fold ..``.
    """

    def __init__(self, config):
        self.config = check_config("VectorAlu", config)
        vector32 = _vector32(config)
        fold = config.vxm_fold
        if fold == 1:
            constants = {"consts": In(vector32).array(config.vxm_consts)}
        else:
            constants = {"const_chunks": In(_const_chunks(config)),
                         "const_phase": Out(range(fold)),
                         "x_ldc_chunk": Out(range(fold))}
        super().__init__({
            "issue":       In(IssueSignature()),
            "east":        stream_bundle(config, In),
            "west":        stream_bundle(config, In),
            "results":     In(vector32).array(config.vxm_alus),
            **constants,
            "clear":       In(1),
            "cancel":      In(1),
            "check":       Out(ERROR_BITS),
            "writes":      Out(1),
            "dst_dir":     Out(Direction),
            "dst_mask":    Out(config.streams),
            "ldc":         Out(1),
            "ldc_index":   Out(4),
            "result":      Out(vector32),
            "east_in":     stream_bundle(config, In),
            "east_we_in":  In(config.streams),
            "west_in":     stream_bundle(config, In),
            "west_we_in":  In(config.streams),
            "east_out":    stream_bundle(config, Out),
            "east_we_out": Out(config.streams),
            "west_out":    stream_bundle(config, Out),
            "west_we_out": Out(config.streams),
            "x_ldc":       Out(1),
            "x_ldc_index": Out(4),
            "x_ldc_value": Out(data.ArrayLayout(signed(32), config.lanes // config.vxm_fold)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        lanes, streams = cfg.lanes, cfg.streams
        vector32 = _vector32(cfg)
        f = data.View(FORMATS["vector"].layout, self.issue.word)
        op = f.op

        # ---- Stage 0: decode and check. ----
        imm = Signal(signed(OFFSET_BITS))
        m.d.comb += imm.eq(f.imm + self.issue.offset)

        def group_ok(index, dtype):
            size = group_size(dtype)
            return ((index & (size - 1)) == 0) & (index + size <= streams)

        def operand_ok(operand):
            return Mux(operand.kind == OperandKind.ALU, operand.index < cfg.vxm_alus,
                   Mux(operand.kind == OperandKind.CONST,
                       (operand.index < cfg.vxm_consts) | (operand.index == IMMEDIATE_INDEX),
                       group_ok(operand.index, f.stype)))

        # Stage 1 state: the operation in the ALU and its phase (the chunk of lanes computed).
        fold = cfg.vxm_fold
        x_valid = Signal()
        # (An unfolded ALU has one phase: a constant, not a zero-width register.) Idle, the
        # phase rests at its last value (see `const_phase` below).
        x_phase = Signal(range(fold), init=fold - 1) if fold > 1 else Const(0, 1)
        busy = Signal()
        m.d.comb += busy.eq(x_valid & (x_phase != fold - 1))

        no_result = op.matches(*_NO_RESULT)
        is_ldc = op == VectorOp.LDC.value
        is_lutw = op == VectorOp.LUTW.value
        rules = [  # (violated, flag), highest priority first
            (~op.matches(*_OPCODES), ErrorFlag.ILLEGAL_OPCODE),
            ((f.stype.as_value() == 3) | (f.dtype.as_value() == 3), ErrorFlag.BAD_OPERAND),
            *((op.matches(*_ops_reading(name)) & ~operand_ok(f[name]), ErrorFlag.BAD_OPERAND)
              for name in "abc"),
            (f.dst_en & (no_result | ~group_ok(f.dst_stream, f.dtype)), ErrorFlag.BAD_OPERAND),
            (is_ldc & ((imm < 0) | (imm >= cfg.vxm_consts)), ErrorFlag.BAD_OPERAND),
            (is_lutw & ((imm < 0) | (imm >= LUT_ENTRIES)), ErrorFlag.BAD_OPERAND),
            (busy, ErrorFlag.BAD_OPERAND),
        ]
        flag = Const(0, ERROR_BITS)
        for violated, error in reversed(rules):
            flag = Mux(violated, error, flag)
        with m.If(self.issue.valid):
            m.d.comb += self.check.eq(flag)
        legal = Signal()
        m.d.comb += [
            legal.eq(self.issue.valid & (flag == 0)),
            self.writes.eq(legal & f.dst_en),
            self.dst_dir.eq(f.dst_dir),
            self.dst_mask.eq(((1 << group_size(f.dtype)) - 1) << f.dst_stream),
            self.ldc.eq(legal & is_ldc),
            self.ldc_index.eq(imm),
        ]

        # ---- Stage 0: read the operands. ----
        width = lanes // fold   # lane datapaths

        def stream_lanes(operand, east, west, name):
            """The operand's bytes in every lane of ``east``/``west`` (vectors of the same
            lane count), as four byte planes."""
            # Byte k matters only for types wider than k bytes, whose base is aligned to
            # their size (checked at issue); a byte the type does not use may read anything.
            planes = [Signal(len(east[0]), name=f"{name}_plane{k}") for k in range(4)]
            for k, plane in enumerate(planes):
                m.d.comb += plane.eq(aligned_stream(east, west, operand.kind == OperandKind.WEST,
                                                    operand.index, k))
            return planes

        def select(operand, planes, from_alu, from_const, immediate, stype, lane):
            """One lane of the operand, read as ``stype``: from the stream ``planes``, the
            result register ``from_alu``, the constant register ``from_const`` or the
            immediate, as the operand says."""
            from_stream = Cat(*(plane[8 * lane:8 * lane + 8] for plane in planes))
            raw = Mux(operand.kind == OperandKind.ALU, from_alu[lane],
                  Mux(operand.kind == OperandKind.CONST,
                      Mux(operand.index == IMMEDIATE_INDEX, immediate, from_const[lane]),
                      from_stream))
            return read_as(raw.as_signed(), stype)

        # ---- Stage 1: compute (over `fold` cycles) and commit. ----
        # Only the valid bit and the phase are reset; the data registers are qualified by them.
        x_op = Signal(6, reset_less=True)
        x_stype = Signal(DType, reset_less=True)
        x_dtype = Signal(DType, reset_less=True)
        x_dir = Signal(Direction, reset_less=True)
        x_dst_en = Signal(reset_less=True)
        x_mask = Signal(streams, reset_less=True)
        x_imm = Signal(signed(OFFSET_BITS), reset_less=True)
        accepted = legal & ~self.cancel
        captured = [x_op.eq(op), x_stype.eq(f.stype), x_dtype.eq(f.dtype), x_dst_en.eq(f.dst_en),
                    x_dir.eq(f.dst_dir), x_mask.eq(self.dst_mask), x_imm.eq(imm)]
        advanced = []   # folded: what moves on to the next chunk between phases

        if fold == 1:
            # The operands, selected whole at issue.
            results = Array(r.as_value() for r in self.results)
            consts = Array(k.as_value() for k in self.consts)
            operands = []
            for name in "abc":
                operand = f[name]
                planes = stream_lanes(operand, self.east, self.west, name)
                from_alu = Signal(vector32, name=f"{name}_alu")
                from_const = Signal(vector32, name=f"{name}_const")
                m.d.comb += [from_alu.eq(results[operand.index]),
                             from_const.eq(consts[operand.index])]
                value = Signal(vector32, name=name)
                for lane in range(lanes):
                    m.d.comb += value[lane].eq(select(operand, planes, from_alu, from_const, imm,
                                                      f.stype, lane))
                x_value = Signal(vector32, name=f"x_{name}", reset_less=True)
                captured.append(x_value.eq(value))
                operands.append(x_value)
        else:
            # What an operand may read, as it is in the issue cycle: the stream registers and
            # the result registers, registered at issue; the constant registers read chunk k
            # in cycle t + k (registered, used in cycle t + 1 + k), which sees every LDC
            # issued up to cycle t - 2 and none after (an LDC writes chunk k in t' + 1 + k).
            # Each cycle takes one chunk of every source, shared by the three operands: the
            # registered streams and results shift down by a chunk after every phase, so the
            # phase's chunk is always their lowest bits, with no multiplexer by phase between
            # the registers and the operands' selection.
            bits = 8 * width
            x_east, x_west = ([Signal(cfg.vector_bits, name=f"x_{d}_{s}", reset_less=True)
                               for s in range(streams)] for d in ("east", "west"))
            x_results = [Signal(32 * lanes, name=f"x_result_{j}", reset_less=True)
                         for j in range(cfg.vxm_alus)]
            captured += [r.eq(v) for r, v in zip(x_east + x_west,
                                                  [*self.east, *self.west])]
            captured += [r.eq(v.as_value()) for r, v in zip(x_results, self.results)]
            advanced += [r.eq(r[bits:]) for r in x_east + x_west]
            advanced += [r.eq(r[32 * width:]) for r in x_results]
            chunk_east = [v[:bits] for v in x_east]
            chunk_west = [v[:bits] for v in x_west]
            chunk_results = Array(v[:32 * width] for v in x_results)
            # The chunk of the constant registers read this cycle, for the next one: the phase
            # after this one, which is 0 both when an operation is accepted (the ALU is idle,
            # or in its last phase) and when none is, so the constant file's read address does
            # not wait for the issue's checks.
            m.d.comb += [self.const_phase.eq(Mux(x_phase == fold - 1, 0, x_phase + 1)),
                         self.x_ldc_chunk.eq(x_phase)]
            x_consts = [Signal(32 * width, name=f"x_const_{k}", reset_less=True)
                        for k in range(cfg.vxm_consts)]
            m.d.sync += [x_const.eq(self.const_chunks[k]) for k, x_const in enumerate(x_consts)]
            chunk_consts = Array(x_consts)
            vector_chunk = data.ArrayLayout(signed(32), width)
            operands = []
            for name in "abc":
                x_operand = Signal(f[name].shape(), name=f"x_{name}_operand", reset_less=True)
                captured.append(x_operand.eq(f[name]))
                planes = stream_lanes(x_operand, chunk_east, chunk_west, f"chunk_{name}")
                from_alu = Signal(vector_chunk, name=f"chunk_{name}_alu")
                from_const = Signal(vector_chunk, name=f"chunk_{name}_const")
                m.d.comb += [from_alu.eq(chunk_results[x_operand.index]),
                             from_const.eq(chunk_consts[x_operand.index])]
                value = Signal(vector_chunk, name=f"chunk_{name}")
                for p in range(width):
                    m.d.comb += value[p].eq(select(x_operand, planes, from_alu, from_const,
                                                   x_imm, x_stype, p))
                operands.append(value)

        last = Signal()         # the operation's last cycle in stage 1: the result is complete
        m.d.comb += last.eq(x_valid & (x_phase == fold - 1))
        if fold == 1:
            m.d.sync += [x_valid.eq(accepted), *captured]
        else:
            # The operands stay for the fold's cycles, a chunk further down each phase (no
            # operation is accepted then).
            with m.If(accepted):
                m.d.sync += [x_valid.eq(1), x_phase.eq(0), *captured]
            with m.Elif(x_valid & ~last):
                m.d.sync += [x_phase.eq(x_phase + 1), *advanced]
            with m.Else():
                m.d.sync += x_valid.eq(0)
        with m.If(self.clear):
            m.d.sync += x_valid.eq(0)
            if fold > 1:
                m.d.sync += x_phase.eq(fold - 1)

        c_a, c_b, c_c = operands   # this cycle's lanes
        # LUTW writes, and LDC loads, the chunk of operand a of each cycle.
        m.submodules.table = table = LookupTable(lanes, readers=width, writers=width)
        entry = Signal(range(LUT_ENTRIES + lanes))
        m.d.comb += [
            entry.eq(x_imm[:8] + x_phase * width),   # 0 <= imm < 256: checked at issue
            table.write.eq(x_valid & (x_op == VectorOp.LUTW.value) & (entry < LUT_ENTRIES)),
            table.base.eq(entry),
            table.data.eq(c_a),
        ]
        computed = Signal(data.ArrayLayout(signed(32), width))
        for p in range(width):
            m.d.comb += table.index[p].eq(c_a[p][:8])
        # What the result's commit needs of its operation: at the end of an unfolded ALU's
        # stage 1; a folded ALU's chunks pass through the lane pipeline, and so does this, so
        # that the next operation (accepted while the last chunk is in the pipeline) can
        # replace the x_ registers.
        done = {"last": last, "op": x_op, "dtype": x_dtype, "dir": x_dir, "dst_en": x_dst_en,
                "mask": x_mask}
        result = Signal(vector32)
        if fold == 1:
            for p in range(width):
                m.d.comb += computed[p].eq(lane_result(
                    m, x_op, x_dtype, c_a[p], c_b[p], c_c[p], table.value[p],
                    name=f"lane{p}"))
            m.d.comb += result.eq(computed)
        else:
            done = self._lane_pipeline(m, width, done, (c_a, c_b, c_c, table.value), computed)
            # Every cycle shifts the chunk just computed in at the top: in an operation's last
            # cycle the staging register holds its chunks 0 .. fold - 2, in order.
            staged = Signal(32 * width * (fold - 1), reset_less=True)
            m.d.sync += staged.eq(Cat(staged[32 * width:], computed))
            m.d.comb += result.eq(Cat(staged, computed))

        has_result = ~done["op"].matches(*_NO_RESULT)
        result_register = Signal(vector32, reset_less=True)   # zeroed by `clear` at start
        with m.If(done["last"] & has_result):
            m.d.sync += result_register.eq(result)
        with m.If(self.clear):
            m.d.sync += result_register.eq(0)
        m.d.comb += self.result.eq(result_register)
        # Stream s of an n-byte value aligned at its base carries byte s mod n.
        planes = [Cat(*(result[lane][8 * k:8 * k + 8] for lane in range(lanes)))
                  for k in range(4)]
        we = Signal(streams)
        m.d.comb += we.eq(Mux(done["last"] & done["dst_en"] & has_result, done["mask"], 0))
        dtype = done["dtype"]
        for direction in (Direction.EAST, Direction.WEST):
            name = direction.name.lower()
            mine = Signal(streams, name=f"{name}_we")
            m.d.comb += mine.eq(Mux(done["dir"] == direction, we, 0))
            chain_in = getattr(self, f"{name}_in")
            chain_out = getattr(self, f"{name}_out")
            for s in range(streams):
                plane = Mux(dtype == DType.I32, planes[s % 4],
                            Mux(dtype == DType.I16, planes[s % 2], planes[0]))
                m.d.comb += chain_out[s].eq(Mux(mine[s], plane, chain_in[s]))
            m.d.comb += getattr(self, f"{name}_we_out").eq(getattr(self, f"{name}_we_in") | mine)
        m.d.comb += [
            self.x_ldc.eq(x_valid & (x_op == VectorOp.LDC.value)),
            self.x_ldc_index.eq(x_imm),
            self.x_ldc_value.eq(c_a),
        ]
        return m

    def _lane_pipeline(self, m, width, control, inputs, computed):
        """A folded ALU's lane datapath in five cycles (:data:`~isa.timing.FOLDED_VXM_STAGES`
        registers): this cycle's chunk of operands and table values is registered with the
        left shifter's amount (:func:`~hdl.lane.lane_left_shift`, worked out beside the
        table read); the next cycle shifts and multiplies it (:func:`~hdl.lane.lane_scale`,
        :func:`~hdl.lane.lane_multiply`) and works out its rounding shift
        (:func:`~hdl.lane.lane_shift`) into the second register; the next takes the product's
        doubling high word (:func:`~hdl.lane.lane_high`) into the third; the next the rounding
        shifter, the adder and the comparisons (:func:`~hdl.lane.lane_arithmetic`) into the
        fourth; and the cycle after finishes the chunk (:func:`~hdl.lane.lane_select`) into
        ``computed``. ``control`` (the operation's fields and whether this is its last chunk)
        passes along; returns it as it leaves with the chunk."""
        assert FOLDED_VXM_STAGES == 4, "the pipeline below has four registers"
        chunk = data.ArrayLayout(signed(32), width)

        def register(values, stage):
            """``{name: value}`` registered in pipeline register ``stage`` (names must not
            repeat those of ``control``)."""
            registered = {}
            for name, value in values.items():
                reg = Signal(value.shape(), name=f"pipe{stage}_{name}",
                             reset_less=name != "last")
                m.d.sync += reg.eq(value)
                if name == "last":      # a program start drops the chunks in the pipeline
                    with m.If(self.clear):
                        m.d.sync += reg.eq(0)
                registered[name] = reg
            return registered

        a, b, c, t = inputs
        amounts = Signal(data.ArrayLayout(5, width), name="lane_left_shift")
        for p in range(width):
            m.d.comb += amounts[p].eq(lane_left_shift(m, control["op"], b[p], c[p],
                                                      name=f"lane{p}"))
        first = register({**control, "a": a, "b": b, "c": c, "t": t, "left": amounts}, 1)
        scaled = Signal(chunk, name="lane_scaled")
        product = Signal(data.ArrayLayout(signed(64), width), name="lane_product")
        exponent = Signal(data.ArrayLayout(5, width), name="lane_exponent")
        mask = Signal(data.ArrayLayout(32, width), name="lane_mask")
        for p in range(width):
            amount, ones = lane_shift(m, first["op"], first["b"][p], first["c"][p],
                                      name=f"lane{p}")
            m.d.comb += [
                scaled[p].eq(lane_scale(m, first["a"][p], first["left"][p], name=f"lane{p}")),
                exponent[p].eq(amount), mask[p].eq(ones)]
            m.d.comb += product[p].eq(lane_multiply(m, scaled[p], first["b"][p],
                                                    name=f"lane{p}"))
        second = register({**first, "scaled": scaled, "product": product,
                           "round_shift": exponent, "round_mask": mask}, 2)
        high = Signal(chunk, name="lane_high")
        for p in range(width):
            m.d.comb += high[p].eq(lane_high(m, second["b"][p], second["scaled"][p],
                                             second["product"][p], name=f"lane{p}"))
        third = register({**second, "high": high}, 3)
        lanes = [lane_arithmetic(m, third["op"], third["a"][p], third["b"][p],
                                 third["high"][p], third["round_shift"][p],
                                 third["round_mask"][p], name=f"lane{p}")
                 for p in range(width)]
        arithmetic = {}
        for key, value in lanes[0].items():
            arithmetic[key] = Signal(data.ArrayLayout(value.shape(), width), name=f"lane_{key}")
            m.d.comb += [arithmetic[key][p].eq(lane[key]) for p, lane in enumerate(lanes)]
        fourth = register({**third, **arithmetic}, 4)
        for p in range(width):
            m.d.comb += computed[p].eq(lane_select(
                m, fourth["op"], fourth["dtype"], fourth["a"][p], fourth["b"][p], fourth["c"][p],
                fourth["t"][p], fourth["scaled"][p], fourth["product"][p], fourth["high"][p],
                {key: fourth[key][p] for key in arithmetic}, name=f"lane{p}"))
        return {name: fourth[name] for name in control}


class VectorUnit(wiring.Component):
    """The VXM: ``vxm_alus`` :class:`VectorAlu` s, the constant registers, conflict checks and
    the stream output.

    Parameters
    ----------
    config : ChipConfig
    library : CellLibrary or None
        Where to place the ALUs (see :mod:`hdl.cells`).

    Members
    -------
    issue : In(IssueSignature).array(vxm_alus)
        Instructions from each ALU's queue.
    error : Out(ERROR_BITS).array(vxm_alus)
        Error flags raised by each ALU's instruction this cycle.
    tap : Out(StreamTapSignature)
    clear : In(1)
        Program start: zero the result and constant registers, drop work in flight.
    """

    def __init__(self, config, *, library=None):
        self.config = check_config("VectorUnit", config)
        if library is not None and not isinstance(library, CellLibrary):
            raise TypeError(f"VectorUnit library must be a CellLibrary or None, not {library!r}")
        self.library = library
        super().__init__({
            "issue": In(IssueSignature()).array(config.vxm_alus),
            "error": Out(ERROR_BITS).array(config.vxm_alus),
            "tap":   Out(StreamTapSignature(config)),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        vector32 = _vector32(cfg)
        alus = cfg.vxm_alus
        streams = range(cfg.streams)
        fold = cfg.vxm_fold
        if fold == 1:
            # Zeroed by `clear` at program start, so no reset.
            consts = [Signal(vector32, name=f"const_{k}", reset_less=True)
                      for k in range(cfg.vxm_consts)]
        else:
            m.submodules.consts = constant_file = ConstantFile(
                cfg.vxm_consts, fold, cfg.lanes // fold, alus)
            m.d.comb += constant_file.clear.eq(self.clear)
        results = [Signal(vector32, name=f"result_{j}") for j in range(alus)]
        # Stream outputs pass from the highest-numbered ALU down to ALU 0, each writing its
        # result over them: lower-numbered ALUs take priority (conflicts are dropped at issue
        # anyway).
        chain = []
        for j in range(alus):
            link = {}
            for direction in ("east", "west"):
                for s in streams:
                    link[f"{direction}__{s}"] = Signal(cfg.vector_bits, name=f"{direction}_{j}_{s}")
                link[f"{direction}_we"] = Signal(cfg.streams, name=f"{direction}_we_{j}")
            chain.append(link)
        chain.append({key: Const(0, len(value)) for key, value in chain[0].items()})

        def chain_ports(link, suffix):
            ports = {}
            for key, value in link.items():
                direction, _, rest = key.partition("__")
                if rest:
                    ports[f"{direction}_{suffix}__{rest}"] = value
                else:
                    ports[f"{key}_{suffix}"] = value
            return ports

        units = []
        for j in range(alus):
            bind = {
                "issue__valid": self.issue[j].valid,
                "issue__word": self.issue[j].word,
                "issue__offset": self.issue[j].offset,
                "clear": self.clear,
                "result": results[j],
                **{f"east__{s}": self.tap.east[s] for s in streams},
                **{f"west__{s}": self.tap.west[s] for s in streams},
                **{f"results__{k}": result for k, result in enumerate(results)},
                **({f"consts__{k}": const for k, const in enumerate(consts)} if fold == 1
                   else {"const_chunks": constant_file.value[j]}),
                **chain_ports(chain[j + 1], "in"),
                **chain_ports(chain[j], "out"),
            }
            units.append(place(m, f"alu{j}", self.library, "lpu_vxm_alu",
                               lambda: VectorAlu(cfg), bind))

        # Conflicts, in ALU order: an instruction clashes with the claims of the lower-numbered
        # ALUs whose instructions go ahead; a dropped instruction claims nothing.
        claimed = {Direction.EAST: Const(0, cfg.streams), Direction.WEST: Const(0, cfg.streams)}
        claimed_ldc = Const(0, cfg.vxm_consts)
        for j, alu in enumerate(units):
            mine = Signal(cfg.streams, name=f"claims_{j}")
            m.d.comb += mine.eq(Mux(alu.writes, alu.dst_mask, 0))
            east = Mux(alu.dst_dir == Direction.EAST, mine, 0)
            west = Mux(alu.dst_dir == Direction.WEST, mine, 0)
            ldc_bit = Mux(alu.ldc, Const(1, cfg.vxm_consts) << alu.ldc_index, 0)
            clash = Signal(name=f"clash_{j}")
            m.d.comb += clash.eq(((claimed[Direction.EAST] & east) != 0) |
                                 ((claimed[Direction.WEST] & west) != 0) |
                                 ((claimed_ldc & ldc_bit) != 0))
            m.d.comb += [
                alu.cancel.eq(clash),
                self.error[j].eq(Mux(alu.check != 0, alu.check,
                                     Mux(clash, ErrorFlag.STREAM_CONFLICT, 0))),
            ]
            claimed = {Direction.EAST: claimed[Direction.EAST] | Mux(clash, 0, east),
                       Direction.WEST: claimed[Direction.WEST] | Mux(clash, 0, west)}
            claimed_ldc = claimed_ldc | Mux(clash, 0, ldc_bit)

        for s in streams:
            m.d.comb += [self.tap.east_out[s].eq(chain[0][f"east__{s}"]),
                         self.tap.west_out[s].eq(chain[0][f"west__{s}"])]
        m.d.comb += [self.tap.east_we.eq(chain[0]["east_we"]),
                     self.tap.west_we.eq(chain[0]["west_we"])]

        # Constant registers: each may be written by any ALU's LDC (conflicts were dropped, so
        # at most one per register and cycle; lower-numbered ALUs are applied last anyway).
        if fold == 1:
            for k, const in enumerate(consts):
                for alu in reversed(units):
                    with m.If(alu.x_ldc & (alu.x_ldc_index == k)):
                        m.d.sync += const.eq(alu.x_ldc_value)
            with m.If(self.clear):
                m.d.sync += [const.eq(0) for const in consts]
        else:
            for j, alu in enumerate(units):
                write = constant_file.write[j]
                m.d.comb += [write.en.eq(alu.x_ldc), write.index.eq(alu.x_ldc_index),
                             write.chunk.eq(alu.x_ldc_chunk), write.data.eq(alu.x_ldc_value),
                             constant_file.read_chunk[j].eq(alu.const_phase)]
        return m
