"""MXM: the weight-stationary matrix unit, a ``lanes x lanes`` int8 array with int32
accumulators.

Two queues drive it. The load queue fills a shadow copy of the weights (``LW``: up to one row
per stream per cycle) and of the int32 bias (``LB``: byte planes from up to four streams, so a
single stream and MEM slice can deliver it plane by plane); an ``MM`` with ``install`` makes
them the array's in one cycle, so the next tile loads while the current one computes (how the
weights are stored: :mod:`hdl.weights`). Each
``MM`` takes one int8 activation vector ``a`` from a stream and computes, for every output lane
``n``,
``acc[row][n] = (acc[row][n] if accumulate else bias[n]) + sum_k a[k] * W[k][n]`` (int32,
wrapping); with ``emit`` the new row leaves on four adjacent streams.

With ``mxm_fold = f`` the array has ``lanes / f`` rows of multipliers and takes ``f`` cycles per
activation vector (for FPGAs with few multipliers). Timing: :mod:`isa.timing`; arithmetic:
:mod:`golden.matrix`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from isa.formats import FORMATS
from isa.host import ErrorFlag
from isa.opcodes import Direction, MatrixLoadOp, MatrixOp
from isa.timing import FOLDED_MXM_STAGES
from .fold import fold_phase
from .interfaces import ERROR_BITS, OFFSET_BITS, IssueSignature, StreamTapSignature
from .lane import sign_extend
from .parameters import check_config, check_flag
from .sram import Sram
from .streams import aligned_stream
from .weights import weight_store

__all__ = ["MatrixUnit"]


def _tree_sum(m, terms, name):
    """A balanced adder tree over signed ``terms``."""
    level = 0
    while len(terms) > 1:
        paired = []
        for i in range(0, len(terms) - 1, 2):
            total = Signal(signed(max(len(terms[i]), len(terms[i + 1])) + 1),
                           name=f"{name}_l{level}_{i // 2}")
            m.d.comb += total.eq(terms[i] + terms[i + 1])
            paired.append(total)
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
        level += 1
    return terms[0]


def _load_rotator(m, config, east, west, ld, row):
    """The vectors an LW or LB delivers, by destination: element ``k`` is stream
    ``ld.stream + k - row`` of direction ``ld.dir``, for every ``k`` the load legally fills
    (weight rows ``0 .. lanes - 1``, bias planes ``0 .. 3``); other elements are unspecified.

    Every destination takes the stream at the same offset ``d = ld.stream - row`` from itself,
    and a legal load's streams lie in ``0 .. streams - 1``. So with ``P`` the power of two at or
    above ``streams``, destination ``k`` reads element ``k mod P`` of the streams rotated by
    ``d mod P``: ``(k mod P + d) mod P = k + d``. One rotator of ``P`` vectors serves every
    destination: ``log2(P)`` two-way multiplexers per rotated bit, ``P`` vectors wide, instead
    of a ``2 x streams``-way multiplexer per destination bit (which was most of the unit's
    logic on FPGAs) or a shifter as wide as the destinations.
    """
    streams = config.streams
    size = 1 << (streams - 1).bit_length()
    # Streams above the last (a legal load never reads them) are don't-cares: reuse one.
    current = [Mux(ld.dir == Direction.WEST, west[s], east[s]) if s < streams else None
               for s in range(size)]
    distance = Signal(range(size), name="load_rotation")
    m.d.comb += distance.eq(ld.stream - row)            # modulo `size`: its low bits
    for bit in range(len(distance)):
        step = 1 << bit
        following = []
        for i in range(size):
            stay, move = current[i], current[(i + step) % size]
            if stay is None or move is None:
                following.append(move if stay is None else stay)
            else:
                vector = Signal(config.vector_bits, name=f"load_rotate{bit}_{i}")
                m.d.comb += vector.eq(Mux(distance[bit], move, stay))
                following.append(vector)
        current = following
    # More than half the slots are streams, so every don't-care has been replaced by now.
    assert all(vector is not None for vector in current)
    return [current[k % size] for k in range(max(config.lanes, 4))]


class MatrixUnit(wiring.Component):
    """One MXM.

    Parameters
    ----------
    config : ChipConfig
    blackbox : bool
        Build the accumulator SRAM from the ``lpu_sram`` Verilog module (see :mod:`hdl.sram`).

    Members
    -------
    load, compute : In(IssueSignature)
        Instructions from the load queue and the compute queue.
    load_error, compute_error : Out(ERROR_BITS)
    tap : Out(StreamTapSignature)
    clear : In(1)
        Program start: zero the weights and bias, drop work in flight.
    """

    def __init__(self, config, *, blackbox):
        self.config = check_config("MatrixUnit", config)
        self.blackbox = check_flag("MatrixUnit blackbox", blackbox)
        super().__init__({
            "load":          In(IssueSignature()),
            "compute":       In(IssueSignature()),
            "load_error":    Out(ERROR_BITS),
            "compute_error": Out(ERROR_BITS),
            "tap":           Out(StreamTapSignature(config)),
            "clear":         In(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        lanes, streams, vb, fold = cfg.lanes, cfg.streams, cfg.vector_bits, cfg.mxm_fold
        # ---- Bias: shadow (loaded) and active (installed), reset-free data; the weights are
        # in the weight store (hdl.weights). ----
        shadow_bias = Signal(32 * lanes, reset_less=True)
        bias = Signal(32 * lanes, reset_less=True)

        # ---- Load queue: LW and LB. ----
        ld = data.View(FORMATS["load"].layout, self.load.word)
        row = Signal(signed(OFFSET_BITS + 1))
        m.d.comb += row.eq(ld.row + self.load.offset)
        is_lw = ld.op == MatrixLoadOp.LW.value
        is_lb = ld.op == MatrixLoadOp.LB.value
        rows = Mux(is_lb, 4, lanes)
        counts_ok = ((ld.count >= 1) & (ld.stream + ld.count <= streams) & (row >= 0) &
                     (row + ld.count <= rows))
        load_flag = Mux(~(is_lw | is_lb), ErrorFlag.ILLEGAL_OPCODE,
                        Mux(counts_ok, 0, ErrorFlag.BAD_OPERAND))
        load_go = Signal()
        m.d.comb += load_go.eq(self.load.valid & (load_flag == 0))
        with m.If(self.load.valid):
            m.d.comb += self.load_error.eq(load_flag)
        arriving = _load_rotator(m, cfg, self.tap.east, self.tap.west, ld, row)
        # A legal load's rows lie in 0 .. lanes - 1 (checked above; an illegal one loads
        # nothing), so which rows it fills needs only their low bits: narrow comparators.
        first, end = Signal(range(lanes)), Signal(range(lanes + 1))
        m.d.comb += [first.eq(row), end.eq(first + ld.count)]
        for b in range(4):
            with m.If(load_go & is_lb & (first <= b) & (b < end)):
                bias_plane = arriving[b]
                for lane in range(lanes):
                    m.d.sync += shadow_bias[32 * lane + 8 * b:32 * lane + 8 * b + 8].eq(
                        bias_plane[8 * lane:8 * lane + 8])

        # ---- Compute queue: MM. ----
        mm = data.View(FORMATS["matmul"].layout, self.compute.word)
        acc_row = Signal(signed(OFFSET_BITS + 1))
        m.d.comb += acc_row.eq(mm.acc + self.compute.offset)
        busy = Signal()             # an MM occupies the array
        finishing = Signal()        # ... and leaves it at the end of this cycle
        is_mm = mm.op == MatrixOp.MM.value
        mm_ok = ((mm.act_stream < streams) &
                 (~mm.emit | (((mm.out_stream & 3) == 0) & (mm.out_stream + 4 <= streams))))
        in_range = (acc_row >= 0) & (acc_row < cfg.mxm_acc_depth)
        # The legality rules first, in isa.legality's order; an otherwise legal MM that issues
        # while the array is still busy is a BAD_OPERAND (as in golden.archsim).
        compute_flag = Mux(~is_mm, ErrorFlag.ILLEGAL_OPCODE,
                           Mux(~mm_ok, ErrorFlag.BAD_OPERAND,
                               Mux(~in_range, ErrorFlag.ADDRESS_RANGE,
                                   Mux(busy & ~finishing, ErrorFlag.BAD_OPERAND, 0))))
        go = Signal()
        m.d.comb += go.eq(self.compute.valid & (compute_flag == 0))
        with m.If(self.compute.valid):
            m.d.comb += self.compute_error.eq(compute_flag)

        # Install at the end of the issue cycle: this MM already multiplies by the new rows.
        with m.If(go & mm.install):
            m.d.sync += bias.eq(shadow_bias)

        # The MM in flight: activation, accumulator row, flags, fold phase.
        activation = Signal(vb, reset_less=True)
        x_row = Signal(range(cfg.mxm_acc_depth), reset_less=True)
        x_accumulate = Signal(reset_less=True)
        x_emit = Signal(reset_less=True)
        x_out = Signal(5, reset_less=True)
        x_dir = Signal(Direction, reset_less=True)
        with m.If(go):
            m.d.sync += [
                activation.eq(aligned_stream(self.tap.east, self.tap.west,
                                             mm.act_dir == Direction.WEST, mm.act_stream, 0)),
                x_row.eq(acc_row), x_accumulate.eq(mm.accumulate), x_emit.eq(mm.emit),
                x_out.eq(mm.out_stream), x_dir.eq(mm.out_dir),
            ]
        # Its occupancy and fold phase (hdl.fold): unfolded, the common case, an MM takes one
        # cycle and there is no phase counter.
        phase = fold_phase(m, fold, go=go, clear=self.clear, busy=busy, finishing=finishing)
        with m.If(self.clear):
            m.d.sync += [bias.eq(0), shadow_bias.eq(0)]

        # The multiplier array: rows phase * (lanes / fold) ... of the weights, this cycle.
        w_now = weight_store(m, cfg, arriving=arriving, load=load_go & is_lw, first=first,
                             end=end, install=go & mm.install, clear=self.clear, phase=phase)
        block = lanes // fold
        a_lanes = [activation[8 * k:8 * k + 8].as_signed() for k in range(lanes)]
        if fold == 1:
            a_now = a_lanes
        else:
            rows_a = [Array(a_lanes[p * block + i] for p in range(fold)) for i in range(block)]
            a_now = [Signal(signed(8), name=f"a_{i}") for i in range(block)]
            m.d.comb += [a.eq(rows_a[i][phase]) for i, a in enumerate(a_now)]
        column_sums = []
        for n in range(lanes):
            products = []
            for i in range(block):
                product = Signal(signed(16), name=f"p_{i}_{n}")
                m.d.comb += product.eq(a_now[i] * w_now[i][8 * n:8 * n + 8].as_signed())
                products.append(product)
            column_sums.append(_tree_sum(m, products, f"col{n}"))
        sum_bits = len(column_sums[0])

        # Folded, the column sums are registered before they are accumulated (the
        # isa.timing.FOLDED_MXM_STAGES register): the accumulation, the row's write and its
        # emit run one cycle behind the multipliers, on copies of the MM's fields and phase
        # one cycle late (the next MM replaces the x_ registers in this MM's last phase).
        if fold == 1:
            adding, add_phase, add_finishing = column_sums, phase, finishing
            y_row, y_accumulate, y_emit, y_out, y_dir = x_row, x_accumulate, x_emit, x_out, x_dir
        else:
            assert FOLDED_MXM_STAGES == 1, "the pipeline below has one register"

            def late(signal, name):
                delayed = Signal.like(signal, name=f"{name}_late", reset_less=True)
                m.d.sync += delayed.eq(signal)
                return delayed

            adding = [late(total, f"col{n}_sum") for n, total in enumerate(column_sums)]
            add_phase = late(phase, "phase")
            add_finishing = Signal()
            m.d.sync += add_finishing.eq(finishing & ~self.clear)
            y_row, y_accumulate, y_emit, y_out, y_dir = (
                late(signal, name) for signal, name in (
                    (x_row, "row"), (x_accumulate, "accumulate"), (x_emit, "emit"),
                    (x_out, "out"), (x_dir, "dir")))

        # Accumulator SRAM: read the row in the MM's issue cycle and go on reading it, for
        # the cycle its accumulation starts (the unfolded MM's only cycle; a folded MM's
        # phase 0, where the old row or the bias starts the partial sums, so one adder per
        # column serves every phase). The previous MM may write that row in the cycle it is
        # read: the SRAM is transparent.
        m.submodules.acc = acc = Sram(32 * lanes, cfg.mxm_acc_depth, blackbox=self.blackbox,
                                      transparent=True)
        m.d.comb += acc.raddr.eq(Mux(go, acc_row, x_row))
        old = acc.rdata

        # The new row: the old row (or the bias) plus the column sums, accumulated across the
        # fold phases from phase 0 on.
        new = Signal(32 * lanes)
        for n in range(lanes):
            column = sign_extend(adding[n].as_unsigned(), sum_bits)
            start = Mux(y_accumulate, old[32 * n:32 * n + 32], bias[32 * n:32 * n + 32])
            if fold == 1:
                m.d.comb += new[32 * n:32 * n + 32].eq((start + column)[:32])
            else:
                partial = Signal(32, name=f"partial_{n}", reset_less=True)
                running = Signal(32, name=f"running_{n}")
                m.d.comb += running.eq((Mux(add_phase == 0, start, partial) + column)[:32])
                m.d.sync += partial.eq(running)
                m.d.comb += new[32 * n:32 * n + 32].eq(running)
        m.d.comb += [acc.we.eq(add_finishing), acc.waddr.eq(y_row), acc.wdata.eq(new)]

        # Emit: the new row's four byte planes on four streams, one cycle after it is formed.
        emit = add_finishing & y_emit
        out = [Cat(new[32 * lane + 8 * b:32 * lane + 8 * b + 8] for lane in range(lanes))
               for b in range(4)]
        we = Signal(streams)
        m.d.comb += we.eq(Mux(emit, 0b1111 << y_out, 0))
        for s in range(streams):
            m.d.comb += [self.tap.east_out[s].eq(out[s % 4]), self.tap.west_out[s].eq(out[s % 4])]
        m.d.comb += [self.tap.east_we.eq(Mux(y_dir == Direction.EAST, we, 0)),
                     self.tap.west_we.eq(Mux(y_dir == Direction.WEST, we, 0))]
        return m
