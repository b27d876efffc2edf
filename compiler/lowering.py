"""The integer transformer kernels of :mod:`golden.transformer.kernels`, lowered onto the chip.

Each function places one kernel on a :class:`~compiler.schedule.Schedule`: it reads
:class:`~compiler.tensors.Tensor` s that earlier kernels wrote and returns the tensors it
writes. The golden kernels are the specification: every lowering computes the same integers,
operation for operation, as elementwise graphs (:mod:`compiler.elementwise`) joined by row
reductions (:mod:`compiler.reduce`). A kernel's model constants (per-channel multipliers,
LayerNorm gamma and beta, lookup tables) are part of the program, loaded by the host with it.

Layout: a ``tokens x width`` activation is one row per token; every reduction runs along a
row. A row's result (its maximum, its sum, a shift derived from them) is a ``tokens x lanes``
tensor with the value in every lane, which the next graph reads *broadcast* over the row's
vectors (``Graph.input(..., broadcast="rows")``); per-channel constants are ``1 x width``
tensors read broadcast over the rows.

Where the chip sees lanes the golden kernel does not (the padding of a row that is not a whole
number of vectors), the lowering makes them harmless: softmax masks them like masked keys, so
they get exactly zero probability and add nothing to the row's sum; LayerNorm needs rows of
whole vectors.
"""

import numpy as np

from golden.transformer import kernels as K
from isa.opcodes import DType, VectorOp
from .elementwise import place_graph
from .graph import Graph
from .queues import ScheduleError
from .reduce import place_row_reduction

__all__ = ["requantize", "residual_add", "gelu", "softmax", "layer_norm", "l2_normalize"]

I8, I16, I32 = DType.I8, DType.I16, DType.I32
V = VectorOp


class _Builder:
    """An elementwise graph and the model constants some of its inputs hold."""

    def __init__(self, shape, name):
        self.graph = Graph(shape=shape)
        self.name = name
        self.constants = {}

    def op(self, op, *operands, dtype=I32, **options):
        """``op`` read as int32 (the golden kernels compute in int32), to ``dtype``."""
        return self.graph.op(op, *operands, stype=I32, dtype=dtype, **options)

    def output(self, name, node, copies=1):
        """Declare ``node`` the output ``name`` and ``copies - 1`` MOV copies of it (``name1``,
        ...), which the scheduler writes to other slices; returns their names."""
        names = [name] + [f"{name}{k}" for k in range(1, copies)]
        self.graph.output(name, node)
        for copy in names[1:]:
            self.graph.output(copy, self.graph.op(V.MOV, node, stype=node.dtype,
                                                  dtype=node.dtype))
        return names

    def per_channel(self, name, values, dtype=I32):
        """A ``1 x cols`` model constant of ``dtype``, read broadcast over the rows."""
        values = np.asarray(values, dtype=np.int64)
        value = self.graph.input(f"{self.name}.{name}", dtype, broadcast="cols")
        self.constants[value.name] = values.reshape(1, -1)
        return value

    def requant(self, requant, key):
        """REQ's multiplier and shift operands: immediates or constant registers for one per
        tensor, per-channel inputs for one per channel."""
        if requant.multiplier.shape == ():
            return int(requant.multiplier), int(requant.shift)
        # A shift is -31..31: one byte per lane is one MEM slice to read instead of four.
        return (self.per_channel(f"{key}.multiplier", requant.multiplier),
                self.per_channel(f"{key}.shift", requant.shift, I8))

    def table(self, tables, name):
        return Graph.table(name, getattr(tables, name))

    def place(self, schedule, inputs, *, beside=()):
        """Place the graph; returns its output tensors (``{name: Tensor}``). Its outputs
        avoid the slices of the tensors ``beside``, which a later graph reads with them (so
        that its reads do not share a slice), where the other slices have room for them."""
        if beside:
            avoid = {slice_index for tensor in beside for _, _, slice_index, _ in tensor.words}
            mark = schedule.checkpoint()
            try:
                return place_graph(schedule, self.graph, inputs, constants=self.constants,
                                   avoid=avoid)[0]
            except ScheduleError:
                # The later graph copies one of its inputs instead.
                schedule.rollback(mark)
        return place_graph(schedule, self.graph, inputs, constants=self.constants)[0]


def _release(schedule, *tensors):
    """Free the words of a lowering's intermediate ``tensors`` after their last read."""
    for tensor in tensors:
        schedule.release(tensor)


def _row_graph(x, name):
    """A builder over the ``tokens x lanes`` per-row values of ``x``'s rows."""
    return _Builder((x.rows, x.lanes), name)


def requantize(schedule, x, requant, dtype, *, copies=1, name="requantize"):
    """:func:`golden.transformer.kernels.requantize`: ``REQ(x, multiplier, shift)`` to
    ``dtype``. With ``copies`` > 1, a list of that many copies in different slices (the
    activations of a GEMM on several matrix units, one copy each)."""
    b = _Builder(x.shape, name)
    value = b.graph.input("x", x.dtype)
    names = b.output("y", b.op(V.REQ, value, *b.requant(requant, "scale"), dtype=dtype),
                     copies)
    out = b.place(schedule, {"x": x})
    return out["y"] if copies == 1 else [out[name] for name in names]


def residual_add(schedule, terms, limit, *, name="residual"):
    """:func:`golden.transformer.kernels.residual_add`: ``clamp(sum REQ(value_i), -limit,
    limit)`` of ``terms`` = ``[(Tensor, Requant)]``, int32. A term whose requantisation is
    ``None`` is already at the sum's scale: its producer applied the ``REQ`` to int32 (a GEMM
    requantising its accumulators). A term's requantisation may also be a dict of resident
    ``1 x cols`` int32 tensors, ``multiplier`` and ``shift`` and optionally ``bias``, added to
    the value before the ``REQ`` (a GEMM's bias, where the GEMM could not add it)."""
    b = _Builder(terms[0][0].shape, name)
    inputs = {}
    total = None
    for index, (tensor, requant) in enumerate(terms):
        value = b.graph.input(f"x{index}", tensor.dtype)
        inputs[value.name] = tensor
        if requant is None:
            if tensor.dtype is not I32:
                raise ScheduleError(f"a residual term at the sum's scale is int32, not "
                                    f"{tensor.dtype.name} ({tensor.name!r})")
            term = value
        elif isinstance(requant, dict):
            resident = {}
            for key, column in requant.items():
                resident[key] = b.graph.input(f"x{index}.{key}", column.dtype,
                                              broadcast="cols")
                inputs[resident[key].name] = column
            if "bias" in resident:
                value = b.op(V.ADD, value, resident["bias"])
            term = b.op(V.REQ, value, resident["multiplier"], resident["shift"])
        else:
            term = b.op(V.REQ, value, *b.requant(requant, f"scale{index}"))
        total = term if total is None else b.op(V.ADDS, total, term)
    b.graph.output("y", b.op(V.MAX, b.op(V.MIN, total, limit), -limit))
    return b.place(schedule, inputs)["y"]


def gelu(schedule, accumulator, params, tables, *, requantised=False, split=False, copies=1,
         name="gelu"):
    """:func:`golden.transformer.kernels.gelu`: the 15-bit GELU activation of an int32
    accumulator (``requantised``: of ``u = REQ(accumulator, params.input)``, which the GEMM
    producing it computed); with ``split``, its int8 halves ``(high, low)`` instead
    (:func:`golden.transformer.kernels.split_wide`), which the next GEMM reads, and with
    ``copies`` > 1, a list of that many such pairs in different slices (one per matrix
    unit)."""
    low = -K.GELU_LIMIT << K.GELU_FRACTION_BITS
    high = K.GELU_LIMIT << K.GELU_FRACTION_BITS
    b = _Builder(accumulator.shape, name)
    u = b.graph.input("acc", I32)
    if not requantised:
        u = b.op(V.REQ, u, *b.requant(params.input, "input"))
    w = b.op(V.ADD, b.op(V.MAX, b.op(V.MIN, u, high - 1), low), high)
    knot = b.op(V.SHR, w, K.GELU_KNOT_SHIFT)
    step = b.op(V.MUL, b.op(V.LUT, knot, table=b.table(tables, "gelu_slope")),
                b.op(V.AND, w, (1 << K.GELU_KNOT_SHIFT) - 1))
    y = b.op(V.ADD, b.op(V.LUT, knot, table=b.table(tables, "gelu_value")),
             b.op(V.RSHR, step, K.GELU_KNOT_SHIFT))
    y = b.op(V.SEL, u, y, b.op(V.LE, high, u))
    y = b.op(V.SEL, 0, y, b.op(V.LT, u, low))
    wide = 1 << (K.WIDE_BITS - 1)
    out = b.op(V.REQ, y, *b.requant(params.output, "output"))
    y = b.op(V.MAX, b.op(V.MIN, out, wide - 1), -wide)
    if not split:
        b.graph.output("y", y)
        return b.place(schedule, {"acc": accumulator})["y"]
    halves = b.op(V.SHR, y, 7, dtype=I8), b.op(V.AND, y, (1 << 7) - 1, dtype=I8)
    high, low = (b.output(half, node, copies) for half, node in zip(("high", "low"), halves))
    out = b.place(schedule, {"acc": accumulator})
    pairs = [(out[h], out[lo]) for h, lo in zip(high, low)]
    return pairs[0] if copies == 1 else pairs


def _reciprocal(b, m, tables):
    """``1/u`` in Q30 for ``m = u 2**31`` (:func:`golden.transformer.kernels._reciprocal`)."""
    r = b.op(V.LUT, b.op(V.SHR, m, 23), table=b.table(tables, "reciprocal_seed"))
    for _ in range(K.NEWTON_STEPS):
        error = b.op(V.SUB, 1 << 30, b.op(V.MULQ, m, r))
        r = b.op(V.ADDS, r, b.op(V.MULQ, r, b.op(V.SHL, error, 1)))
    return r


def softmax(schedule, scores, params, tables, *, causal=False, name="softmax"):
    """:func:`golden.transformer.kernels.softmax` of int32 ``scores`` (``queries x keys``),
    int8 probabilities; ``causal`` masks key ``c`` from query ``r`` when ``c > r`` (the golden
    kernel's lower-triangular mask).

    Steps: masking (keys past the row's end as well, when a row is not whole vectors), the row
    maximum, the base-2 exponentials, their row sum, its reciprocal per row, the
    probabilities."""
    if scores.cols > K.MAX_KEYS:
        raise ScheduleError(f"softmax rows may have at most {K.MAX_KEYS} keys, not "
                            f"{scores.cols}")
    lanes = scores.lanes
    masked = scores
    if causal or scores.cols % lanes:
        # valid = 0 < key + 1 (<= query + 1): padding lanes read key + 1 = 0.
        b = _Builder(scores.shape, f"{name}.mask")
        # Key and query numbers are at most MAX_KEYS: int16 (two slices to read, not four).
        key = b.per_channel("key", np.arange(1, scores.cols + 1), I16)
        valid = b.op(V.LT, 0, key)
        inputs = {"s": scores}
        if causal:
            query = b.graph.input(f"{name}.mask.query", I16, broadcast="rows")
            b.constants[query.name] = np.repeat(np.arange(1, scores.rows + 1)[:, None], lanes,
                                                axis=1)
            valid = b.op(V.AND, valid, b.op(V.LE, key, query))
        b.graph.output("s", b.op(V.SEL, b.graph.input("s", I32), K.INT32_MIN, valid))
        masked = b.place(schedule, inputs)["s"]
    top = place_row_reduction(schedule, masked, "max", padded=True, name=f"{name}.max")

    b = _Builder(scores.shape, f"{name}.exp")
    d = b.op(V.SUBS, b.graph.input("s", I32), b.graph.input("max", I32, broadcast="rows"))
    t = b.op(V.REQ, b.op(V.MAX, d, int(params.floor)), *b.requant(params.scale, "scale"))
    whole = b.op(V.SHR, t, K.EXP_FRACTION_BITS)
    fraction = b.op(V.AND, t, (1 << K.EXP_FRACTION_BITS) - 1)
    e = b.op(V.MULQ, b.op(V.LUT, b.op(V.SHR, fraction, 8), table=b.table(tables, "exp2_coarse")),
             b.op(V.LUT, fraction, table=b.table(tables, "exp2_fine")))
    shift = b.op(V.MIN, b.op(V.SUB, 29 - K.EXP_BITS, whole), 31)
    b.graph.output("e", b.op(V.RSHR, e, shift))
    e = b.place(schedule, {"s": masked, "max": top})["e"]
    _release(schedule, top, *([masked] if masked is not scores else []))
    total = place_row_reduction(schedule, e, "sum", padded=True, name=f"{name}.sum")

    # Every Newton step of the reciprocal reads the normalised sum: made by a graph of its own,
    # it is an input each pass of the reciprocal reads from SRAM, instead of a value carried
    # down the levels by MOVs, which take ALUs and cut the graph into more passes (3,986
    # cycles for a 128-key softmax against 4,115).
    b = _row_graph(scores, f"{name}.normalised")
    total_value = b.graph.input("sum", I32)
    zeros = b.op(V.CLZ, total_value)
    b.graph.output("zeros", b.op(V.MOV, zeros, dtype=I8))          # 2..11
    # The shift takes the sum through a MOV node rather than as a second read of the input:
    # with the second read, MiniLM's 7-token layer found no slice for this graph's values.
    kept = b.op(V.MOV, total_value)
    b.graph.output("m", b.op(V.SHL, kept, b.op(V.SUB, zeros, 1)))
    normalised = b.place(schedule, {"sum": total}, beside=[e])
    _release(schedule, total)
    b = _row_graph(scores, f"{name}.reciprocal")
    b.graph.output("r", _reciprocal(b, b.graph.input("m", I32), tables))
    per_row = {"zeros": normalised["zeros"],
               **b.place(schedule, {"m": normalised["m"]}, beside=[e])}
    _release(schedule, normalised["m"])

    b = _Builder(scores.shape, f"{name}.p")
    w = b.op(V.MULQ, b.op(V.SHL, b.graph.input("e", I32), 10),
             b.graph.input("r", I32, broadcast="rows"))
    w = b.op(V.MULQ, w, K.P_MAX << 23)
    p = b.op(V.RSHR, w, b.op(V.SUB, 33, b.graph.input("zeros", I8, broadcast="rows")))
    b.graph.output("p", b.op(V.MOVS, p, dtype=I8))
    p = b.place(schedule, {"e": e, "r": per_row["r"], "zeros": per_row["zeros"]})["p"]
    _release(schedule, e, *per_row.values())
    return p


def _magnitude(b, d):
    """``|d|`` (wrapping, as the golden kernel's) of graph value ``d`` in builder ``b``."""
    return b.op(V.MAX, d, b.op(V.SUB, 0, d))


def _inverse_rms(schedule, d, tables, name, *, m=None, magnitude=None):
    """:func:`golden.transformer.kernels._inverse_rms` of int32 ``d``: ``q``, int32. ``m`` is
    ``|d|`` when the graph that made ``d`` computed it too (saving a pass over ``d``);
    ``magnitude`` is each row's largest ``|d|`` when the caller has it (a layer norm of a few
    rows makes it from its input's extremes, beside the row sums)."""
    if magnitude is None:
        if m is None:
            b = _Builder(d.shape, f"{name}.magnitude")
            b.graph.output("m", _magnitude(b, b.graph.input("d", I32)))
            m = b.place(schedule, {"d": d})["m"]
        magnitude = place_row_reduction(schedule, m, "max", name=f"{name}.max")
        _release(schedule, m)

    # Per-row shifts and bit counts are small (|.| <= 32): one byte each in SRAM.
    b = _row_graph(d, f"{name}.scale")
    length = b.op(V.SUB, 32, b.op(V.CLZ, b.graph.input("max", I32)))
    k = b.op(V.SUB, length, K.SQUARE_BITS)
    b.graph.output("length", b.op(V.MOV, length, dtype=I8))
    b.graph.output("k", b.op(V.MOV, k, dtype=I8))
    b.graph.output("left", b.op(V.MAX, b.op(V.SUB, 0, k), 0, dtype=I8))
    b.graph.output("right", b.op(V.MAX, k, 0, dtype=I8))
    scale = b.place(schedule, {"max": magnitude}, beside=[d])
    _release(schedule, magnitude)

    j = K.square_shift(d.cols)
    b = _Builder(d.shape, f"{name}.squares")
    reduced = b.op(V.RSHR, b.op(V.SHL, b.graph.input("d", I32),
                                b.graph.input("left", I8, broadcast="rows")),
                   b.graph.input("right", I8, broadcast="rows"))
    b.graph.output("squares", b.op(V.RSHR, b.op(V.MUL, reduced, reduced), j))
    squares = b.place(schedule, {"d": d, "left": scale["left"], "right": scale["right"]})
    v = place_row_reduction(schedule, squares["squares"], "sum", name=f"{name}.sum")
    _release(schedule, squares["squares"])

    b = _row_graph(d, f"{name}.rsqrt")
    v_value = b.graph.input("v", I32)
    s = b.op(V.AND, b.op(V.SUB, b.op(V.CLZ, v_value), 1), -2)
    m = b.op(V.SHL, v_value, s)
    r = b.op(V.LUT, b.op(V.SHR, m, 23), table=b.table(tables, "rsqrt_seed"))
    for _ in range(K.NEWTON_STEPS):
        square = b.op(V.MULQ, r, r)
        error = b.op(V.SUB, 1 << 27, b.op(V.MULQ, m, square))
        r = b.op(V.ADD, r, b.op(V.MULQ, r, b.op(V.SHL, error, 3)))
    up = b.op(V.MAX, b.op(V.SUB, 30, b.graph.input("length", I8)), 0)
    exponent = b.op(V.SUB, b.op(V.ADD, K.NORM_GAIN_BITS + 2 - (j >> 1), b.op(V.SHR, s, 1)),
                    b.op(V.ADD, up, b.graph.input("k", I8)))
    b.graph.output("r", r)
    b.graph.output("up", b.op(V.MOV, up, dtype=I8))
    b.graph.output("left", b.op(V.MAX, exponent, 0, dtype=I8))
    b.graph.output("right", b.op(V.MAX, b.op(V.SUB, 0, exponent), 0, dtype=I8))
    rsqrt = b.place(schedule, {"v": v, "length": scale["length"], "k": scale["k"]},
                    beside=[d])
    _release(schedule, v, *scale.values())
    return rsqrt


def _normalise(b, d, rsqrt):
    """``q`` of :func:`_inverse_rms` in builder ``b`` over ``d`` (a graph value), from the
    per-row values ``rsqrt`` returns; also the inputs to bind."""
    rows = {name: b.graph.input(name, rsqrt[name].dtype, broadcast="rows")
            for name in ("r", "up", "left", "right")}
    p = b.op(V.MULQ, b.op(V.SHL, d, rows["up"]), rows["r"])
    return b.op(V.RSHR, b.op(V.SHL, p, rows["left"]), rows["right"]), dict(rsqrt)


#: Rows up to which a layer norm finds its rows' largest deviation from their extremes
#: (:func:`layer_norm`): measured on MiniLM's rows alone, 597 cycles against 705 for one
#: row, 835 against 866 for four, 1,214 against 1,162 for eight.
EXTREMES_ROWS = 4


def layer_norm(schedule, x, params, tables, dtype=I16, *, name="layer_norm"):
    """:func:`golden.transformer.kernels.layer_norm` over the rows of int32 ``x`` (whole
    vectors), to ``dtype``."""
    width = params.width
    if x.cols != width:
        raise ScheduleError(f"LayerNorm of width {width} got rows of {x.cols}")
    if width % x.lanes:
        raise ScheduleError(f"LayerNorm rows must be whole vectors: width {width} is not a "
                            f"multiple of {x.lanes} lanes")
    total = place_row_reduction(schedule, x, "sum", name=f"{name}.sum")
    b = _Builder(x.shape, f"{name}.centre")
    d = b.op(V.SUB, b.op(V.MUL, b.graph.input("x", I32), width),
             b.graph.input("sum", I32, broadcast="rows"))
    b.graph.output("d", d)
    if x.rows > EXTREMES_ROWS:
        b.graph.output("m", _magnitude(b, d))
        centred = b.place(schedule, {"x": x, "sum": total})
        d, extent = centred["d"], {"m": centred["m"]}
    else:
        # The deviations are largest where x is: max |d| = max(H max(x) - sum(x),
        # sum(x) - H min(x)) (int32, |d| < 2**31). The three row reductions run side by side
        # instead of one of |d| waiting for the sums: a shorter chain for a few rows, more
        # reads of x for many.
        largest, smallest = (place_row_reduction(schedule, x, kind, name=f"{name}.{kind}")
                             for kind in ("max", "min"))
        d = b.place(schedule, {"x": x, "sum": total})["d"]
        b = _row_graph(x, f"{name}.magnitude")
        row_sum = b.graph.input("sum", I32)
        b.graph.output("m", b.op(V.MAX, b.op(V.SUB, b.op(V.MUL, b.graph.input("max", I32),
                                                         width), row_sum),
                                 b.op(V.SUB, row_sum, b.op(V.MUL, b.graph.input("min", I32),
                                                           width))))
        extent = {"magnitude": b.place(schedule, {"sum": total, "max": largest,
                                                  "min": smallest})["m"]}
        _release(schedule, largest, smallest)
    _release(schedule, total)
    rsqrt = _inverse_rms(schedule, d, tables, name, **extent)
    b = _Builder(x.shape, f"{name}.out")
    q, inputs = _normalise(b, b.graph.input("d", I32), rsqrt)
    y = b.op(V.ADD, b.op(V.REQ, q, *b.requant(params.gamma, "gamma")),
             b.per_channel("beta", params.beta))
    b.graph.output("y", b.op(V.MOVS, b.op(V.RSHR, y, K.LN_GUARD_BITS), dtype=dtype))
    y = b.place(schedule, {"d": d, **inputs})["y"]
    _release(schedule, d, *rsqrt.values())
    return y


def l2_normalize(schedule, x, tables, *, name="l2_normalize"):
    """:func:`golden.transformer.kernels.l2_normalize` of the rows of int32 ``x`` (whole
    vectors): int16 Q15."""
    if x.cols % x.lanes:
        raise ScheduleError(f"l2_normalize rows must be whole vectors: {x.cols} columns, "
                            f"{x.lanes} lanes")
    rsqrt = _inverse_rms(schedule, x, tables, name)
    b = _Builder(x.shape, f"{name}.out")
    q, inputs = _normalise(b, b.graph.input("d", I32), rsqrt)
    b.graph.output("y", b.op(V.REQ, q, K.HALF_SQRT_MULTIPLIER, K.HALF_SQRT_SHIFT, dtype=I16))
    y = b.place(schedule, {"d": x, **inputs})["y"]
    _release(schedule, *rsqrt.values())
    return y
