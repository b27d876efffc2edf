"""A whole sentence encoder on the chip: :class:`golden.transformer.layers.IntegerEncoder`
compiled into one program.

Every layer's weights and per-channel constants, the position embeddings and the lookup tables
are resident in SRAM (:class:`~compiler.residency.Residency`); the word-embedding table
(``vocab x H`` int16: 23 MB for all-MiniLM-L6-v2) stays on the host, which feeds the rows of a
sentence's tokens as the program's input ``words``. The program computes::

    x = layer_norm(words + positions[:tokens])           the embedding LayerNorm
    x = encoder_layer_i(x)              for every layer  (compiler.layer)
    embedding = l2_normalize(sum over the rows of x)      int16 Q15, 1 x H

and its output ``embedding`` equals :meth:`IntegerEncoder.sentence_embedding` bit for bit.

A queue holds at most 65,536 instructions (its program counter has 16 bits), and a MiniLM
layer's busiest queues take about 600 per token. When the whole model's instructions do not
fit, it is compiled as a sequence of programs, one per layer: each leaves its output rows in
a resident buffer (two, used in turn) that the next one reads, so between programs only the
instruction queues are loaded; the weights and the residual stream stay on the chip.
"""

from dataclasses import dataclass, field

from isa.opcodes import DType, VectorOp
from . import lowering
from .elementwise import place_graph
from .graph import Graph
from .layer import (LayerKernel, check_layer, host_stream, layer_macs, place_encoder_layer,
                    within_sram)
from .layer_weights import place_layer_weights, place_tables
from .queues import QueueOverflow, ScheduleError
from .residency import Residency
from .schedule import Schedule

__all__ = ["EncoderKernel", "place_encoder_resident", "place_embedding", "place_pooling",
           "sum_rows", "compile_encoder", "check_sentence"]

I16, I32 = DType.I16, DType.I32


@dataclass
class EncoderKernel(LayerKernel):
    """A compiled program of a sentence encoder, running ``layers`` (indexes). The first
    program takes input ``words`` (int16 ``tokens x H``, the tokens' word-embedding rows);
    the last gives output ``embedding`` (int16 ``1 x H``); a program before the last gives
    ``hidden`` (int16 ``tokens x H``, the output of its last layer)."""
    layers: list = field(default_factory=list)


def place_encoder_resident(residency, encoder, layers=None, *, positions=True):
    """Place ``encoder``'s tables, its position embeddings (with ``positions``) and the weights
    of ``layers`` (indexes; every layer by default) in ``residency``, in that order; returns
    ``(positions tensor or None, {layer index: LayerWeights})``."""
    place_tables(residency, encoder.tables)
    placed = residency.matrix("positions", encoder.position_embeddings[:encoder.context_length],
                              I16) if positions else None
    layers = range(len(encoder.layers)) if layers is None else layers
    return placed, {i: place_layer_weights(residency, encoder.layers[i], prefix=f"layer{i}.")
                    for i in layers}


def _add_rows(schedule, terms):
    """The int32 elementwise sum of ``terms`` (tensors of one shape), as the golden ``ADD``
    computes it (wrapping int32)."""
    graph = Graph(shape=terms[0].shape)
    values = [graph.input(f"x{index}", term.dtype) for index, term in enumerate(terms)]
    total = graph.op(VectorOp.MOV, values[0], stype=I32, dtype=I32) if len(values) == 1 \
        else values[0]
    for value in values[1:]:
        total = graph.op(VectorOp.ADD, total, value, stype=I32, dtype=I32)
    graph.output("y", total)
    return place_graph(schedule, graph, {f"x{i}": t for i, t in enumerate(terms)})[0]["y"]


def sum_rows(schedule, x, *, name="pool"):
    """``reduce_sum(x, axis=0)`` of an int16 or int32 ``x``: int32 ``1 x cols``, by halving
    (row ``r`` plus row ``r + half``) while rows remain; an odd level's last row is kept for
    the last sum. Wrapping int32 addition does not depend on the order."""
    leftovers = []
    made = []
    level = 0
    while x.rows > 1:
        half = x.rows // 2
        if x.rows % 2:
            leftovers.append(x.view(f"{name}.{level}.last", rows=[x.rows - 1]))
        x = _add_rows(schedule, [x.view(f"{name}.{level}.a", rows=range(half)),
                                 x.view(f"{name}.{level}.b", rows=range(half, 2 * half))])
        made.append(x)
        level += 1
    # A new tensor in every case (the caller releases ``x``).
    total = _add_rows(schedule, [x, *leftovers]) if leftovers or not made else x
    for tensor in made:
        if tensor is not total:
            schedule.release(tensor)
    return total


def compile_encoder(config, encoder, tokens, *, layers_per_program=None):
    """The :class:`EncoderKernel` s that run ``encoder`` on a sentence of ``tokens`` tokens on
    a chip of ``config``, in order: one program for the whole model when its instructions fit
    the queues, else one per ``layers_per_program`` layers (one by default), which run back to
    back on one chip (see the module's docstring). The first program loads every resident
    tensor.

    Raises
    ------
    ScheduleError
        If ``tokens`` exceeds the model's context length, a layer does not suit the chip, or
        the model does not fit the SRAM.
    """
    check_sentence(config, encoder, tokens)
    count = len(encoder.layers)
    if layers_per_program is None:
        try:
            return compile_encoder(config, encoder, tokens, layers_per_program=count)
        except QueueOverflow:
            layers_per_program = 1
    groups = [range(first, min(first + layers_per_program, count))
              for first in range(0, count, layers_per_program)] or [range(0)]
    return within_sram(config, f"the encoder on {tokens} tokens",
                       lambda config: _stages(config, encoder, tokens, groups),
                       bytes_of=lambda kernels: max(k.sram_bytes for k in kernels))


def check_sentence(config, encoder, tokens):
    """Raise :class:`ScheduleError` if a sentence of ``tokens`` tokens exceeds ``encoder``'s
    context length or a layer does not suit a chip of ``config``."""
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
        raise ScheduleError(f"token count must be a positive integer, not {tokens!r}")
    if tokens > encoder.context_length:
        raise ScheduleError(f"{tokens} tokens exceed the context length of "
                            f"{encoder.context_length}")
    for params in encoder.layers:
        check_layer(config, params, tokens)


def _stages(config, encoder, tokens, groups):
    """The programs of ``groups`` of layers (the first also embeds, the last also pools);
    each but the last leaves its output rows in a resident buffer the next one reads."""
    width = encoder.embedding_norm.width
    residency = Residency(config)
    positions, layers = place_encoder_resident(residency, encoder)
    buffers = [residency.buffer(f"hidden{k}", encoder.context_length, width, I16)
               for k in range(min(2, len(groups) - 1))]
    kernels = []
    for index, group in enumerate(groups):
        schedule = Schedule(config, residency)
        if index == 0:
            x = place_embedding(schedule, encoder, tokens, positions)
        else:
            x = buffers[(index - 1) % 2].view("hidden.in", rows=range(tokens))
        for layer in group:
            y = place_encoder_layer(schedule, x, encoder.layers[layer], encoder.tables,
                                    layers[layer], prefix=f"layer{layer}.")
            schedule.release(x)
            x = y
        if index == len(groups) - 1:
            schedule.output("embedding", place_pooling(schedule, encoder, x))
        else:
            schedule.output("hidden", _store(schedule, x, buffers[index % 2].view(
                "hidden.out", rows=range(tokens))))
            schedule.release(x)
        macs = sum(layer_macs(encoder.layers[layer], tokens) for layer in group)
        kernels.append(schedule.compile(EncoderKernel, resident=index == 0, tokens=tokens,
                                        macs=macs, layers=list(group)))
    return kernels


def place_embedding(schedule, encoder, tokens, positions):
    """The embedding LayerNorm of a sentence of ``tokens`` tokens: the host input ``words``
    (the tokens' word-embedding rows) plus the resident ``positions``; returns the int16
    ``tokens x H`` tensor."""
    words = host_stream(schedule, "words", tokens, encoder.embedding_norm.width)
    total = _add_rows(schedule, [words, positions.view("positions.used", rows=range(tokens))])
    x = lowering.layer_norm(schedule, total, encoder.embedding_norm, encoder.tables, I16,
                            name="embedding.norm")
    schedule.release(total)
    return x


def place_pooling(schedule, encoder, x):
    """The sentence embedding of the last layer's output ``x`` (released): the sum of its rows,
    L2-normalised; returns the int16 ``1 x H`` tensor."""
    pooled = sum_rows(schedule, x)
    schedule.release(x)
    embedding = lowering.l2_normalize(schedule, pooled, encoder.tables)
    schedule.release(pooled)
    return embedding


def _store(schedule, x, into):
    """``x`` copied into the placed tensor ``into``; returns ``into``'s view of the copy."""
    graph = Graph(shape=x.shape)
    graph.output("y", graph.op(VectorOp.MOV, graph.input("x", x.dtype), stype=x.dtype,
                               dtype=x.dtype))
    return place_graph(schedule, graph, {"x": x}, into={"y": into})[0]["y"]
