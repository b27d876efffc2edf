"""Transformer layers on the chip: :mod:`golden.transformer.layers` lowered onto one
:class:`~compiler.schedule.Schedule`.

A layer is a chain of kernels on one calendar; each starts as soon as the words it reads are
written and its units are free, so the VXM work of one kernel runs beside the MXM work of the
next (the row a GEMM emits first is requantised while its later rows multiply, a head's
softmax runs while the next head's scores multiply)::

    x8   = requantize(x)                                  elementwise
    qkv  = GEMM(x8, [Wq Wk Wv]) + bias, REQ per channel   one GEMM, N = 3 H
    per head h:
      kT = transpose(k_h)                                 SXM rotation, VXM select, SXM TRANS
      s  = GEMM(q_h, kT)                                  int32 scores
      p  = softmax(s)                                     elementwise + row reductions
      c_h = GEMM(p, v_h), REQ per channel                 int8 context
    acc  = GEMM(c, Wo) + bias                             int32
    a    = layer_norm(residual_add(x, acc))               int16
    g    = gelu(GEMM(requantize(a), W1) + bias)           int8 halves, by column groups
    acc  = GEMM([g_hi; g_lo], W2)                         the halves stacked as rows
    out  = layer_norm(residual_add(a, REQ(acc_hi), REQ(acc_lo + bias)))

The weights, biases and per-channel constants are resident
(:mod:`compiler.residency`, laid out by :mod:`compiler.layer_weights`): placed once, loaded by
the host once, read where they lie by every program compiled against them. Activations are
allocated as kernels write them and released after their last read, so later kernels reuse
the words. With a KV cache (:mod:`compiler.kv_cache`), the keys (transposed) and values are
also stored there, and a later token's attention reads the cached ones without transposing
(:mod:`compiler.decoder`).

Heads must be whole vectors (the head width a multiple of the lane count): a head is a view of
the Q/K/V tensor's column tiles.
"""

from dataclasses import dataclass


from golden.transformer import kernels as K
from isa.config import MAX_WORDS
from isa.opcodes import DType
from . import lowering
from .gemm import place_gemm
from .kv_cache import append_key, store_key_columns, store_rows
from .layer_weights import head_columns, place_layer_weights, place_tables
from .queues import ScheduleError
from .residency import Residency
from .schedule import Kernel, Schedule
from .sram import SramFull
from .tensors import Tensor, planar_tensor
from .transpose import place_transpose

__all__ = ["LayerKernel", "layer_macs", "within_sram", "place_linear", "place_attention",
           "place_encoder_layer", "compile_encoder_layer", "check_layer"]

I8, I16, I32 = DType.I8, DType.I16, DType.I32


def layer_macs(params, tokens, keys=None):
    """Multiply-accumulates of one layer on ``tokens`` queries attending to ``keys`` keys
    (default: the same tokens), as :mod:`golden.transformer.layers` computes them (the
    feed-forward output layer counts twice: its input is fed as two int8 halves)."""
    keys = tokens if keys is None else keys
    h = params.width
    f = params.intermediate.shape[1]
    return tokens * (4 * h * h + 3 * h * f) + 2 * tokens * keys * h


def check_layer(config, params, tokens):
    """Raise :class:`ScheduleError` unless the chip of ``config`` can run ``params`` on
    ``tokens`` tokens (heads of whole vectors, rows of whole vectors, a softmax row short
    enough)."""
    lanes = config.lanes
    width = params.width
    head = width // params.heads
    if head % lanes:
        raise ScheduleError(f"attention heads must be whole vectors: head width {head} "
                            f"({width} / {params.heads} heads) is not a multiple of "
                            f"{lanes} lanes")
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
        raise ScheduleError(f"token count must be a positive integer, not {tokens!r}")
    if tokens > K.MAX_KEYS:
        raise ScheduleError(f"{tokens} tokens exceed the {K.MAX_KEYS} keys a softmax row "
                            f"may have")


def within_sram(config, what, build, *, bytes_of=lambda built: built.sram_bytes):
    """``build(config)``; where it runs out of SRAM, a :class:`ScheduleError` saying how many
    bytes ``what`` needs (``bytes_of`` what it builds for a chip with more SRAM) and how many
    the configuration has."""
    try:
        return build(config)
    except SramFull as error:
        roomy = config.derive(words=MAX_WORDS) if config.words < MAX_WORDS else \
            config.derive(mem_slices=2 * config.mem_slices)
        try:
            need = f"{bytes_of(build(roomy)):,}"
        except SramFull:
            need = f"more than {roomy.sram_bytes:,}"
        raise ScheduleError(f"{what} does not fit the SRAM: it needs {need} bytes, preset "
                            f"{config.name!r} has {config.sram_bytes:,} ({error})") from None


def place_linear(schedule, x8, projection, *, out_dtype=I8, prefix):
    """``x8 @ weight (+ bias)`` of a resident :class:`~compiler.layer_weights.Projection`,
    requantised per output channel to ``out_dtype`` when it has multipliers (else the int32
    accumulators). ``x8`` is a tensor or a list of copies (one per matrix unit)."""
    weight = projection.weight
    rows = (x8[0] if isinstance(x8, list) else x8).rows
    requantise = "multiplier" in projection.columns
    out, _ = place_gemm(schedule, rows, weight.rows, weight.cols, a=x8, b=weight,
                        requantise=requantise, per_channel=requantise,
                        out_dtype=out_dtype if requantise else None, units=projection.units,
                        columns=projection.columns, prefix=prefix)
    return out


def _activation_gemm(schedule, a, b, *, columns=None, units=None, prefix):
    """``a @ b`` of two tensors earlier kernels wrote, requantised per column to int8 by the
    resident ``columns`` (multiplier and shift), or the int32 accumulators."""
    out, _ = place_gemm(schedule, a.rows, a.cols, b.cols, a=a, b=b,
                        requantise=bool(columns), per_channel=bool(columns), units=units,
                        columns=columns, prefix=prefix)
    return out


def place_attention(schedule, qkv, params, tables, weights, *, causal=False, prefix="",
                    key_columns=None, values=None, on_key_columns=None):
    """Multi-head attention of :func:`golden.transformer.layers._attend` over ``qkv``
    (``tokens x 3 H`` int8, each head's query, key and value tiles side by side:
    :func:`~compiler.layer_weights.head_columns`); returns the int8 context
    (``tokens x H``). ``key_columns(h)`` and ``values(h)`` give head ``h``'s int8 transposed
    keys (``head width x keys``) and values (``keys x head width``) when they are not made
    from ``qkv`` (a decoder's cache); ``on_key_columns(h, kT)`` is called with each head's
    keys transposed from ``qkv`` (a prompt stores them in its cache).

    The heads are placed stage by stage (every head's ``K^T``, then every head's scores, ...),
    head ``h``'s GEMMs on matrix unit ``h mod units``: the placement is greedy, so a head's
    later stages do not hold up the earlier stages of the next heads."""
    units = len(schedule.calendar.plan.mxm_units)
    _, per_head = head_columns(params, qkv.lanes)
    heads = range(params.heads)

    def name(h):
        return f"{prefix}head{h}."

    def tiles(h, part):
        return range((3 * h + part) * per_head, (3 * h + part + 1) * per_head)

    if values is None:
        def values(h):
            return qkv.view(f"{name(h)}v", tiles=tiles(h, 2))
    if key_columns is None:
        transposed = [place_transpose(schedule, qkv.view(f"{name(h)}k", tiles=tiles(h, 1)),
                                      name=f"{name(h)}kT") for h in heads]
    else:
        transposed = [key_columns(h) for h in heads]
    scores = []
    for h in heads:
        q = qkv.view(f"{name(h)}q", tiles=tiles(h, 0))
        scores.append(_activation_gemm(schedule, q, transposed[h], units=[h % units],
                                       prefix=f"{name(h)}scores."))
        if key_columns is None:
            if on_key_columns is not None:
                on_key_columns(h, transposed[h])
            schedule.release(transposed[h])
    probabilities = []
    for h in heads:
        probabilities.append(lowering.softmax(schedule, scores[h], params.softmax, tables,
                                              causal=causal, name=f"{name(h)}softmax"))
        schedule.release(scores[h])
    context = []
    for h in heads:
        context.append(_activation_gemm(schedule, probabilities[h], values(h),
                                        units=[h % units],
                                        columns=weights.context[h],
                                        prefix=f"{name(h)}context."))
        schedule.release(probabilities[h])
    return Tensor.concatenate(f"{prefix}context", context)


def place_encoder_layer(schedule, x, params, tables, weights, *, causal=False, prefix="",
                        cache=None, position=0):
    """Place :func:`golden.transformer.layers.encoder_layer` (``causal``: the decoder
    layer's masked attention) of the int16 tensor ``x`` (``tokens x H``) on ``schedule``,
    whose residency holds the layer's ``weights`` (:func:`place_layer_weights`) and tables;
    returns the int16 output tensor. Releases every tensor it made but the output; ``x`` is
    the caller's.

    With a ``cache`` (:class:`~compiler.kv_cache.KVCacheTensors`), the tokens are those at
    ``position ..`` of a decoder: their keys and values are stored in the cache, and they
    attend to every cached token up to their own (a prompt at position 0 with ``causal``, or
    one token at a later position: :func:`golden.transformer.layers.decoder_step`)."""
    tokens = x.rows
    check_layer(schedule.config, params, tokens)
    if cache is not None:
        cache.check(position, tokens)
        if position and tokens != 1:
            raise ScheduleError(f"tokens after the prompt go one at a time, not {tokens} at "
                                f"position {position}")
    limit = K.layer_norm_input_limit(params.width)
    units = len(schedule.calendar.plan.mxm_units)
    # Activations a GEMM on every matrix unit reads come in one copy per unit.
    x8 = lowering.requantize(schedule, x, params.input_quant, I8, copies=units,
                             name=f"{prefix}input")
    qkv = place_linear(schedule, x8, weights.qkv, prefix=f"{prefix}qkv.")
    for copy in x8:
        schedule.release(copy)
    cached = {}
    if cache is not None:
        cached = _append_to_cache(schedule, qkv, params, cache, position, prefix)
    context = place_attention(schedule, qkv, params, tables, weights, causal=causal,
                              prefix=prefix, **cached)
    schedule.release(qkv)
    # The GEMMs below requantise their accumulators to int32 at the sum's scale on the way
    # out (the REQ of residual_add's or gelu's first step), where the VXM has an ALU free.
    attention = place_linear(schedule, context, weights.attention_output, out_dtype=I32,
                             prefix=f"{prefix}attention_output.")
    schedule.release(context)
    total = lowering.residual_add(schedule, [(x, params.attention_residual_scale),
                                             (attention, None)],
                                  limit, name=f"{prefix}attention_residual")
    schedule.release(attention)
    a = lowering.layer_norm(schedule, total, params.attention_norm, tables, I16,
                            name=f"{prefix}attention_norm")
    schedule.release(total)
    a8 = lowering.requantize(schedule, a, params.intermediate_quant, I8, copies=units,
                             name=f"{prefix}intermediate_input")
    hidden = place_linear(schedule, a8, weights.intermediate, out_dtype=I32,
                          prefix=f"{prefix}intermediate.")
    for copy in a8:
        schedule.release(copy)
    pairs = _gelu_by_columns(schedule, hidden, params, tables, units, prefix)
    schedule.release(hidden)
    # The two halves are the rows of one GEMM, which reads the matrix once (each matrix unit
    # its own copy of them); each half's accumulators are requantised by the residual add.
    tokens = a.rows
    accumulators = place_linear(schedule, [Tensor.stack(f"{prefix}gelu.halves{k}", pair)
                                           for k, pair in enumerate(pairs)],
                                weights.output, prefix=f"{prefix}output.")
    for pair in pairs:
        for half in pair:
            schedule.release(half)
    halves = [accumulators.view(f"{prefix}output.{half}", rows=rows) for half, rows in
              (("high", range(tokens)), ("low", range(tokens, 2 * tokens)))]
    total = lowering.residual_add(schedule, [(a, params.output_residual_scale),
                                             (halves[0], weights.output_high),
                                             (halves[1], weights.output_low)],
                                  limit, name=f"{prefix}output_residual")
    for tensor in (a, accumulators):
        schedule.release(tensor)
    out = lowering.layer_norm(schedule, total, params.output_norm, tables, I16,
                              name=f"{prefix}output_norm")
    schedule.release(total)
    return out


#: Column tiles per matrix unit of each GELU graph: GELU follows the feed-forward GEMM's
#: N-tiles (dealt round-robin to the units) as they are written. Two per unit measured best
#: on MiniLM (four: as good; one graph for all: 2% more cycles at 64 tokens).
GELU_TILES_PER_UNIT = 2


def _gelu_by_columns(schedule, hidden, params, tables, units, prefix):
    """The GELU of the int32 ``hidden`` in int8 halves, one ``(high, low)`` pair per matrix
    unit; placed as one graph per group of column tiles, in the order the GEMM writes them,
    so that each group runs while the GEMM multiplies the next ones."""
    group = GELU_TILES_PER_UNIT * units
    parts = []
    for first in range(0, hidden.tiles, group):
        tiles = range(first, min(first + group, hidden.tiles))
        part = lowering.gelu(schedule, hidden.view(f"{prefix}gelu{first}.in", tiles=tiles),
                             params.gelu, tables, requantised=True, split=True,
                             copies=units, name=f"{prefix}gelu{first}")
        parts.append(part if units > 1 else [part])
    return [tuple(Tensor.concatenate(f"{prefix}gelu.{half}{k}", [part[k][i] for part in parts])
                  for i, half in enumerate(("high", "low")))
            for k in range(units)]


def _append_to_cache(schedule, qkv, params, cache, position, prefix):
    """Store the tokens' keys and values (from ``qkv``) in ``cache`` at ``position``;
    returns :func:`place_attention`'s arguments for them: for a prompt, a hook storing the
    keys its attention transposes (which reads its own keys and values from ``qkv``, not
    waiting for the copies); for a later token, each head's cached transposed keys and values
    up to the token."""
    _, per_head = head_columns(params, qkv.lanes)
    heads = range(params.heads)
    width = per_head * qkv.lanes

    def new(h, part, name):
        """Head ``h``'s new keys (``part`` 1) or values (2) in ``qkv``."""
        return qkv.view(f"{prefix}head{h}.new_{name}",
                        tiles=range((3 * h + part) * per_head, (3 * h + part + 1) * per_head))

    rows = Tensor.concatenate(f"{prefix}new_values", [new(h, 2, "values") for h in heads])
    values = store_rows(schedule, rows, cache.values, position, name=f"{prefix}cache.values")
    if position == 0:
        def store(h, kT):
            store_key_columns(schedule, kT, cache, h * width, name=f"{prefix}cache.keys{h}")
        return {"on_key_columns": store}
    key_columns = [append_key(schedule, new(h, 1, "keys"), cache, h * width, position,
                              name=f"{prefix}cache.keys{h}") for h in heads]
    return {"key_columns": lambda h: key_columns[h],
            "values": lambda h: values.view(f"{prefix}head{h}.cached_values",
                                            tiles=range(h * per_head, (h + 1) * per_head))}


@dataclass
class LayerKernel(Kernel):
    """A compiled layer: its program template (input ``x``, output ``y``), the tokens it
    runs on and its multiply-accumulates."""
    tokens: int = 0
    macs: int = 0

    def utilisation(self, cycles=None):
        """MACs / (cycles x matrix units x multipliers per unit)."""
        cycles = self.predicted_cycles if cycles is None else cycles
        units = 2 * self.config.mxms
        per_unit = self.config.lanes ** 2 // self.config.mxm_fold
        return self.macs / (cycles * units * per_unit)


def host_stream(schedule, name, rows, width):
    """An int16 ``rows x width`` host input ``name``, in the two emptiest slices of a
    hemisphere."""
    sram = schedule.calendar.sram
    return schedule.input(name, planar_tensor(sram, name, I16, (rows, width),
                                              schedule.config.lanes,
                                              sram.emptiest_slices(I16.bytes)))


def compile_encoder_layer(config, params, tables, tokens, *, causal=False):
    """One encoder layer (``causal``: decoder layer) on ``tokens`` tokens, alone in a program
    for ``config`` that also loads its weights: input ``x`` (int16 ``tokens x H``), output
    ``y``."""
    check_layer(config, params, tokens)

    def build(config):
        residency = Residency(config)
        place_tables(residency, tables)
        weights = place_layer_weights(residency, params)
        schedule = Schedule(config, residency)
        x = host_stream(schedule, "x", tokens, params.width)
        schedule.output("y", place_encoder_layer(schedule, x, params, tables, weights,
                                                 causal=causal))
        return schedule.compile(LayerKernel, tokens=tokens, macs=layer_macs(params, tokens))
    return within_sram(config, f"the layer on {tokens} tokens", build)
