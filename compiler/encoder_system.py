"""A sentence encoder split over chips in a row: each chip holds its layers' weights in SRAM.

Chip 0 embeds the sentence (the host feeds the tokens' word-embedding rows, as for one chip:
:mod:`compiler.encoder`) and runs the first layers; each chip sends its last layer's output
(int16 ``tokens x H``) through its east link ports to the next chip, whose first layer starts
on the rows as they arrive; the last chip pools and normalises. Each chip's residency holds
the lookup tables and its own layers' weights and per-channel constants (chip 0 also the
position embeddings), so a model larger than one chip's SRAM runs with every weight resident.
The output ``embedding`` of the last chip equals
:meth:`golden.transformer.layers.IntegerEncoder.sentence_embedding` bit for bit.
"""

from .encoder import (EncoderKernel, check_sentence, place_embedding, place_encoder_resident,
                      place_pooling)
from .layer import layer_macs, place_encoder_layer, within_sram
from .link_transfer import place_link_transfer
from .multichip import SystemKernel, east_ports, west_ports
from .residency import Residency
from .schedule import Schedule

__all__ = ["EncoderSystem", "compile_encoder_system", "layer_groups"]


class EncoderSystem(SystemKernel):
    """The programs of :func:`compile_encoder_system`; ``kernels[i].layers`` are chip ``i``'s
    layers."""

    def program(self, words):
        """The chips' programs for the tokens' word-embedding rows ``words`` (int16 ``tokens x
        H``)."""
        return self.programs([{"words": words}] + [{}] * (self.chips - 1))

    def decode_outputs(self, outcomes):
        """The sentence embedding (int16 ``1 x H``), from the last chip."""
        return self.unbind(outcomes)[-1]["embedding"]


def layer_groups(layers, chips):
    """``layers`` layers dealt to ``chips`` chips in contiguous groups, the first chips taking
    one more where they do not divide evenly."""
    if not isinstance(chips, int) or isinstance(chips, bool) or not 2 <= chips <= layers:
        raise ValueError(f"an encoder of {layers} layers splits over 2 to {layers} chips, not "
                         f"{chips!r}")
    base, extra = divmod(layers, chips)
    groups, first = [], 0
    for chip in range(chips):
        count = base + (chip < extra)
        groups.append(list(range(first, first + count)))
        first += count
    return groups


def compile_encoder_system(config, encoder, tokens, chips):
    """The :class:`EncoderSystem` running ``encoder`` on a sentence of ``tokens`` tokens on
    ``chips`` chips of ``config`` (which needs link ports) joined in a row.

    Raises
    ------
    ScheduleError
        If ``tokens`` exceeds the context length, a layer does not suit the chip, or a chip's
        share of the model does not fit its SRAM (naming the bytes it needs and has).
    """
    if config.links < 1:
        raise ValueError(f"an encoder over several chips needs link ports: configuration "
                         f"{config.name!r} has links={config.links}")
    check_sentence(config, encoder, tokens)
    groups = layer_groups(len(encoder.layers), chips)
    kernels = within_sram(config, f"the encoder on {tokens} tokens over {chips} chips",
                          lambda config: _programs(config, encoder, tokens, groups),
                          bytes_of=lambda kernels: max(k.sram_bytes for k in kernels))
    macs = sum(layer_macs(params, tokens) for params in encoder.layers)
    return EncoderSystem(config, kernels, macs=macs, shape={"tokens": tokens, "groups": groups})


def _programs(config, encoder, tokens, groups):
    schedules = []
    x = None
    for chip, group in enumerate(groups):
        residency = Residency(config)
        positions, weights = place_encoder_resident(residency, encoder, group,
                                                    positions=chip == 0)
        schedule = Schedule(config, residency)
        if chip == 0:
            x = place_embedding(schedule, encoder, tokens, positions)
        else:
            sender = schedules[-1]
            x_sent = x
            x = place_link_transfer(sender, east_ports(config), schedule, west_ports(config),
                                    x_sent, name=f"hidden{chip}")
            sender.release(x_sent)
        for layer in group:
            y = place_encoder_layer(schedule, x, encoder.layers[layer], encoder.tables,
                                    weights[layer], prefix=f"layer{layer}.")
            schedule.release(x)
            x = y
        schedules.append(schedule)
    schedules[-1].output("embedding", place_pooling(schedules[-1], encoder, x))
    return [schedule.compile(EncoderKernel, tokens=tokens, layers=group,
                             macs=sum(layer_macs(encoder.layers[layer], tokens)
                                      for layer in group))
            for schedule, group in zip(schedules, groups)]
