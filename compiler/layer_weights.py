"""A transformer layer's constants resident in SRAM: the SRAM map of the layer compiler.

:func:`place_layer_weights` puts every weight matrix, bias and per-channel requantisation of
:class:`~golden.transformer.layers.LayerParams` into a :class:`~compiler.residency.Residency`,
laid out for the GEMMs that read them (:mod:`compiler.layer` decides which matrix units run
which GEMM). The feed-forward output's GEMM multiplies the high and the low halves of the
GELU output stacked as the rows of one activation, so its matrix is read once; the two
halves' requantisations (and the bias, which only the low half gets) are applied after it.
"""

from dataclasses import dataclass, field, fields

import numpy as np

from golden.transformer import kernels as K

__all__ = ["Projection", "LayerWeights", "head_columns", "place_layer_weights",
           "place_tables"]


@dataclass
class Projection:
    """A GEMM's resident operands: its weight tensor, its per-column tensors (``bias``,
    ``multiplier``, ``shift``) and the matrix units it runs on (``None``: all)."""
    weight: object
    columns: dict = field(default_factory=dict)
    units: list = None


@dataclass
class LayerWeights:
    """Every resident tensor of one layer, by the GEMM that reads it; ``context`` holds each
    head's ``P V`` requantisation columns; ``output_high`` and ``output_low`` the columns that
    requantise the feed-forward output's two halves (and the bias of the low one), applied
    after the GEMM that multiplies both."""
    qkv: Projection
    attention_output: Projection
    intermediate: Projection
    output: Projection
    output_high: dict
    output_low: dict
    context: list


def head_columns(params, lanes):
    """The order of the Q/K/V projection's output columns: head by head, each head's query,
    key and value side by side, so the GEMM finishes head 0's first and its attention can start
    while the later heads' columns are multiplied. Returns the column permutation and the head
    width in tiles."""
    width = params.width
    head = width // params.heads
    order = []
    for h in range(params.heads):
        for part in range(3):
            order.extend(range(part * width + h * head, part * width + (h + 1) * head))
    return np.array(order), head // lanes


def _per_channel(requant, width):
    return (np.broadcast_to(requant.multiplier, (width,)),
            np.broadcast_to(requant.shift, (width,)))


def _columns(residency, name, bias=None, requant=None, *, gemm_bias=False):
    """The per-column tensors of ``name``; ``gemm_bias``: the bias is loaded by the GEMM's
    matrix units (laid out by the unit that reads each column tile), else read by a graph."""
    columns = {}
    if bias is not None:
        place = residency.bias if gemm_bias else residency.vector
        columns["bias"] = place(f"{name}.bias", bias)
    if requant is not None:
        multiplier, shift = requant
        columns["multiplier"] = residency.vector(f"{name}.multiplier", multiplier)
        columns["shift"] = residency.vector(f"{name}.shift", shift)
    return columns


def place_layer_weights(residency, params, *, prefix=""):
    """Place ``params``' weights and per-column constants in ``residency`` (named under
    ``prefix``); returns the :class:`LayerWeights`."""
    config = residency.config
    width = params.width
    ffn = params.intermediate.shape[1]
    order, per_head = head_columns(params, config.lanes)

    def projection(name, weight, bias, requant, n):
        return Projection(residency.weights(f"{prefix}{name}.weight", weight),
                          _columns(residency, f"{prefix}{name}", bias,
                                   _per_channel(requant, n), gemm_bias=True))

    stacked = [_per_channel(r, width) for r in (params.query_out, params.key_out,
                                                params.value_out)]
    qkv = projection(
        "qkv", np.concatenate([params.query.weight, params.key.weight,
                               params.value.weight], axis=1)[:, order],
        np.concatenate([params.query.bias, params.key.bias, params.value.bias])[order],
        K.Requant(np.concatenate([m for m, _ in stacked])[order],
                  np.concatenate([s for _, s in stacked])[order]), 3 * width)
    attention_output = projection("attention_output", params.attention_output.weight,
                                  params.attention_output.bias,
                                  params.attention_output_scale, width)
    intermediate = projection("intermediate", params.intermediate.weight,
                              params.intermediate.bias, params.gelu.input, ffn)
    output = Projection(residency.weights(f"{prefix}output.weight", params.output.weight))
    output_high = _columns(residency, f"{prefix}output_high", None,
                           _per_channel(params.output_high_scale, width))
    output_low = _columns(residency, f"{prefix}output_low", params.output.bias,
                          _per_channel(params.output_scale, width))
    multiplier, shift = _per_channel(params.context_out, width)
    lanes = config.lanes
    context = []
    for h in range(params.heads):
        columns = slice(h * per_head * lanes, (h + 1) * per_head * lanes)
        context.append(_columns(residency, f"{prefix}head{h}.context",
                                requant=(multiplier[columns], shift[columns])))
    return LayerWeights(qkv, attention_output, intermediate, output, output_high, output_low,
                        context)


def place_tables(residency, tables):
    """Place every lookup table of ``tables`` (:class:`~golden.transformer.kernels.Tables`)
    in ``residency``, once."""
    for f in fields(tables):
        if f"table.{f.name}" not in residency.tensors:
            residency.table(f.name, getattr(tables, f.name))
