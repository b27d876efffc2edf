"""The matrix unit's weights: a shadow copy that LW loads and an active copy that the array
multiplies by, which an MM with ``install`` replaces by the shadow at the end of its issue cycle.

Architecturally both are ``lanes`` rows of ``lanes`` int8 weights, zeroed at program start.
An LW fills up to ``streams`` consecutive rows of the shadow per cycle; the array reads
``lanes / mxm_fold`` consecutive rows of the active copy per cycle (rows ``phase * block ..``).

- An unfolded unit (``mxm_fold = 1``) reads every row in every cycle: two banks of flip-flops,
  the install a copy of one into the other.
- A folded unit reads ``block = lanes / mxm_fold`` rows per cycle, so its rows can live in
  memories with one write and one read port each, which FPGAs build from LUT RAM (an ECP5
  ``TRELLIS_DPR16X4`` holds 16 entries of 4 bits) instead of ``2 x lanes x lanes x 8``
  flip-flops and a ``mxm_fold``-way multiplexer per weight bit. Each row has two slots; a row's
  shadow and active values each live in one of them (both in the same one after an install, until
  the next LW of the row), so an install copies nothing: it points every row's active value at
  its shadow's slot, and an LW writes the slot that will not be active at the end of its cycle.
  Rows are spread over ``rams`` memories by row number modulo ``rams`` (a power of two covering
  both the rows an LW writes and those a cycle reads), so every memory takes at most one write
  and serves at most one read per cycle. A slot that no LW has written since the last program
  start reads as zero.
"""

from amaranth import *
from amaranth.lib import memory

__all__ = ["weight_store", "weight_rams"]


def weight_rams(config):
    """Memories of a folded unit's weight store: the smallest power of two at or above both
    the rows an LW writes per cycle (``streams``) and the rows the array reads per cycle."""
    rows = max(config.streams, config.lanes // config.mxm_fold)
    return 1 << (rows - 1).bit_length()


def weight_store(m, config, *, arriving, load, first, end, install, clear, phase):
    """Build the weight store in ``m``; returns the ``lanes / mxm_fold`` rows the array
    multiplies by this cycle (rows ``phase * block + i``, as they are in this cycle).

    ``arriving[k]`` is what an LW delivers to row ``k`` (:func:`hdl.mxm._load_rotator`: the
    same vector for rows equal modulo the rotator's power of two); ``load`` (with ``first``
    and ``end``) writes rows ``first .. end - 1`` at the end of this cycle. ``install`` makes
    the shadow active at the end of this cycle (an LW in the same cycle goes to the new
    shadow); ``clear`` zeroes both copies and overrides both."""
    if config.mxm_fold == 1:
        return _registers(m, config, arriving, load, first, end, install, clear)
    return _memories(m, config, arriving, load, first, end, install, clear, phase)


def _row_hit(load, first, end, k, lanes):
    from_first = 1 if k == lanes - 1 else first <= k     # (every row is <= the last)
    return load & from_first & (k < end)


def _registers(m, config, arriving, load, first, end, install, clear):
    lanes, vb = config.lanes, config.vector_bits
    shadow = [Signal(vb, name=f"shadow_{k}", reset_less=True) for k in range(lanes)]
    weights = [Signal(vb, name=f"weight_{k}", reset_less=True) for k in range(lanes)]
    for k in range(lanes):
        with m.If(_row_hit(load, first, end, k, lanes)):
            m.d.sync += shadow[k].eq(arriving[k])
    with m.If(install):
        m.d.sync += [w.eq(s) for w, s in zip(weights, shadow)]
    with m.If(clear):
        m.d.sync += [w.eq(0) for w in weights + shadow]
    return weights


def _memories(m, config, arriving, load, first, end, install, clear, phase):
    lanes, vb = config.lanes, config.vector_bits
    block = lanes // config.mxm_fold
    rams = weight_rams(config)
    ram_bits = (rams - 1).bit_length()
    rows_per_ram = -(-lanes // rams)
    # Per row: the slot of its active value, of its shadow value, and per slot whether an LW
    # wrote it since the last clear.
    active = Signal(lanes, name="active_slot")
    shadow = Signal(lanes, name="shadow_slot")
    written = [Signal(lanes, name=f"written_slot{s}") for s in range(2)]
    # The slot an LW of each row writes: the one not active at the end of this cycle.
    target = Signal(lanes, name="load_slot")
    m.d.comb += target.eq(~Mux(install, shadow, active))
    for k in range(lanes):
        with m.If(_row_hit(load, first, end, k, lanes)):
            m.d.sync += shadow[k].eq(target[k])
            with m.If(target[k]):
                m.d.sync += written[1][k].eq(1)
            with m.Else():
                m.d.sync += written[0][k].eq(1)
    with m.If(install):
        m.d.sync += active.eq(shadow)
    with m.If(clear):
        m.d.sync += [active.eq(0), shadow.eq(0), written[0].eq(0), written[1].eq(0)]

    base = Signal(range(lanes), name="phase_row")       # the first row read this cycle
    m.d.comb += base.eq(phase * block)
    data = []
    for j in range(min(rams, lanes)):
        ram = memory.Memory(shape=vb, depth=2 * rows_per_ram, init=[],
                            attrs={"ram_style": "distributed"})
        m.submodules[f"weights_{j}"] = ram
        # Write: the one row of the LW that falls in this memory, if any (an LW writes at
        # most `streams` <= `rams` consecutive rows). `rams` is a multiple of the rotator's
        # power of two, so `arriving[j]` is the vector of every row of memory `j`. The write
        # is registered and lands at the end of the cycle after the LW's, which no read can
        # tell: it goes to a slot that is not active in that cycle, and an install in that
        # cycle makes it active from the next one on (LOAD_TO_INSTALL holds as declared).
        # This takes the load's decode and the rotator off the memories' write ports.
        write = ram.write_port()
        offset = Signal(ram_bits, name=f"load_offset_{j}")
        row = Signal(range(lanes + rams), name=f"load_row_{j}")
        m.d.comb += [offset.eq(j - first), row.eq(first + offset)]
        m.d.sync += [write.en.eq(load & (row < end)),
                     write.addr.eq(Cat((target >> row)[0], row >> ram_bits)),
                     write.data.eq(arriving[j])]
        # Read: the one row of this cycle's block that falls in this memory (if none, the
        # data is not used).
        read = ram.read_port(domain="comb")
        offset = Signal(ram_bits, name=f"read_offset_{j}")
        row = Signal(range(lanes + rams), name=f"read_row_{j}")
        m.d.comb += [offset.eq(j - base), row.eq(base + offset)]
        m.d.comb += read.addr.eq(Cat((active >> row)[0], row >> ram_bits))
        data.append(read.data)
    data = Array(data)
    rows = []
    for i in range(block):
        row = Signal(range(lanes), name=f"row_{i}")
        m.d.comb += row.eq(base + i)
        slot = (active >> row)[0]
        live = Mux(slot, (written[1] >> row)[0], (written[0] >> row)[0])
        vector = Signal(vb, name=f"w_{i}")
        m.d.comb += vector.eq(Mux(live, data[row[:ram_bits]], 0))
        rows.append(vector)
    return rows
