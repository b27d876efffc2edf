"""A decoder layer on the chip: its prompt, then one token at a time, with its weights and
KV cache resident in SRAM (:func:`golden.transformer.layers.decoder_step`).

A :class:`DecoderLayer` places the layer's weights, lookup tables and an empty KV cache once
(:class:`~compiler.residency.Residency`), then compiles

- :meth:`DecoderLayer.prefill`: the prompt's program (causal attention over its tokens),
  which also loads the resident tensors and fills the cache's first rows; its length is the
  time to first token;
- :meth:`DecoderLayer.step`: the program of the token at one position, which appends the
  token's key and value to the cache and attends to every cached token. It loads no weights
  and no cache: it runs on the chip the earlier programs left.

Each program has one fixed length, whatever the tokens (no data-dependent control), and the
programs of a sequence run back to back on one chip.
"""

from golden.transformer import kernels as K
from .kv_cache import place_kv_cache
from .layer import (LayerKernel, check_layer, host_stream, layer_macs, place_encoder_layer,
                    within_sram)
from .layer_weights import place_layer_weights, place_tables
from .queues import ScheduleError
from .residency import Residency
from .schedule import Schedule

__all__ = ["DecoderLayer"]


class DecoderLayer:
    """A decoder layer of ``params`` resident on a chip of ``config``, with a KV cache of
    ``capacity`` tokens.

    Raises
    ------
    ScheduleError
        If the layer's geometry does not suit the chip, the capacity exceeds the keys a
        softmax row may have, or the resident tensors do not fit the SRAM.
    """

    def __init__(self, config, params, tables, capacity):
        check_layer(config, params, 1)
        if isinstance(capacity, int) and capacity > K.MAX_KEYS:
            raise ScheduleError(f"a KV cache of {capacity} tokens exceeds the {K.MAX_KEYS} "
                                f"keys a softmax row may have")
        self.config = config
        self.params = params
        self.tables = tables

        def resident(config):
            residency = Residency(config)
            place_tables(residency, tables)
            weights = place_layer_weights(residency, params)
            return residency, weights, place_kv_cache(residency, params.width, capacity)
        self.residency, self.weights, self.cache = within_sram(
            config, f"the decoder layer with a cache of {capacity} tokens", resident,
            bytes_of=lambda built: built[0].sram_bytes)

    @property
    def capacity(self):
        return self.cache.capacity

    def _compile(self, tokens, position, *, resident):
        self.cache.check(position, tokens)

        def build(config):
            layer = self if config is self.config else \
                DecoderLayer(config, self.params, self.tables, self.capacity)
            schedule = Schedule(config, layer.residency)
            x = host_stream(schedule, "x", tokens, self.params.width)
            schedule.output("y", place_encoder_layer(
                schedule, x, self.params, self.tables, layer.weights, causal=position == 0,
                cache=layer.cache, position=position))
            return schedule.compile(LayerKernel, resident=resident, tokens=tokens,
                                    macs=layer_macs(self.params, tokens, position + tokens))
        return within_sram(self.config, f"the decoder layer on {tokens} tokens at position "
                                        f"{position}", build)

    def prefill(self, tokens):
        """The program of a prompt of ``tokens`` tokens (input ``x``, int16 ``tokens x H``;
        output ``y``), loading the resident tensors."""
        check_layer(self.config, self.params, tokens)
        return self._compile(tokens, 0, resident=True)

    def step(self, position):
        """The program of the token at ``position`` (after a prompt and the tokens before it:
        input ``x``, int16 ``1 x H``; output ``y``), on the chip the earlier programs left."""
        if not isinstance(position, int) or isinstance(position, bool) or position < 1:
            raise ScheduleError(f"a step's position must be a positive integer (the prompt "
                                f"is at position 0), not {position!r}")
        return self._compile(1, position, resident=False)
