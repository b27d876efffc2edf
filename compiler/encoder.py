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
"""

from isa.opcodes import DType, VectorOp
from . import lowering
from .elementwise import place_graph
from .graph import Graph
from .layer import (LayerKernel, check_layer, host_stream, layer_macs, place_encoder_layer,
                    within_sram)
from .layer_weights import place_layer_weights, place_tables
from .queues import ScheduleError
from .residency import Residency
from .schedule import Schedule

__all__ = ["EncoderKernel", "place_encoder_resident", "sum_rows", "compile_encoder"]

I16, I32 = DType.I16, DType.I32


class EncoderKernel(LayerKernel):
    """A compiled sentence encoder: input ``words`` (int16 ``tokens x H``, the tokens'
    word-embedding rows), output ``embedding`` (int16 ``1 x H``)."""


def place_encoder_resident(residency, encoder):
    """Place ``encoder``'s tables, position embeddings and every layer's weights in
    ``residency``; returns ``(positions tensor, [LayerWeights])``."""
    place_tables(residency, encoder.tables)
    positions = residency.matrix("positions",
                                 encoder.position_embeddings[:encoder.context_length], I16)
    layers = [place_layer_weights(residency, params, prefix=f"layer{i}.")
              for i, params in enumerate(encoder.layers)]
    return positions, layers


def _add_rows(schedule, terms):
    """The int32 elementwise sum of ``terms`` (tensors of one shape), as the golden ``ADD``
    computes it (wrapping int32)."""
    graph = Graph(shape=terms[0].shape)
    total = None
    for index, term in enumerate(terms):
        value = graph.input(f"x{index}", term.dtype)
        total = value if total is None else graph.op(VectorOp.ADD, total, value, stype=I32,
                                                     dtype=I32)
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
    total = _add_rows(schedule, [x, *leftovers]) \
        if leftovers or x.dtype is not I32 else x
    for tensor in made:
        if tensor is not total:
            schedule.release(tensor)
    return total


def compile_encoder(config, encoder, tokens):
    """:class:`EncoderKernel` of ``encoder`` on a sentence of ``tokens`` tokens, on a chip of
    ``config``; the program loads every resident tensor.

    Raises
    ------
    ScheduleError
        If ``tokens`` exceeds the model's context length, a layer does not suit the chip, or
        the model does not fit the SRAM.
    """
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
        raise ScheduleError(f"token count must be a positive integer, not {tokens!r}")
    if tokens > encoder.context_length:
        raise ScheduleError(f"{tokens} tokens exceed the context length of "
                            f"{encoder.context_length}")
    width = encoder.embedding_norm.width
    for params in encoder.layers:
        check_layer(config, params, tokens)

    def build(config):
        residency = Residency(config)
        positions, layers = place_encoder_resident(residency, encoder)
        schedule = Schedule(config, residency)
        words = host_stream(schedule, "words", tokens, width)
        total = _add_rows(schedule, [words, positions.view("positions.used",
                                                           rows=range(tokens))])
        x = lowering.layer_norm(schedule, total, encoder.embedding_norm, encoder.tables, I16,
                                name="embedding.norm")
        schedule.release(total)
        for index, (params, weights) in enumerate(zip(encoder.layers, layers)):
            y = place_encoder_layer(schedule, x, params, encoder.tables, weights,
                                    prefix=f"layer{index}.")
            schedule.release(x)
            x = y
        pooled = sum_rows(schedule, x)
        schedule.release(x)
        schedule.output("embedding", lowering.l2_normalize(schedule, pooled, encoder.tables))
        schedule.release(pooled)
        macs = sum(layer_macs(params, tokens) for params in encoder.layers)
        return schedule.compile(EncoderKernel, tokens=tokens, macs=macs)
    return within_sram(config, f"the encoder on {tokens} tokens", build)

