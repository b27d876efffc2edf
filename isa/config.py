"""Chip configuration: the geometry every other part of the project reads.

A :class:`ChipConfig` is frozen and validated on construction; every preset is derived from
:data:`DEFAULT` with :func:`dataclasses.replace`, so a preset states only what differs.
"""

from dataclasses import dataclass, fields, replace

from .ecc import WORD_BYTES

__all__ = ["ConfigError", "ChipConfig", "DEFAULT", "PRESETS", "preset"]


class ConfigError(ValueError):
    """An invalid configuration parameter. The message names the parameter and its value."""


#: Architectural ceilings fixed by the instruction encoding (see :mod:`isa.formats`): an operand
#: names a stream, an ALU's result register or a constant register by a 5-bit index; an SRAM
#: address is 16 bits, a queue program counter 16 bits.
OPERAND_INDEX_BITS = 5
MAX_STREAMS = 1 << OPERAND_INDEX_BITS
MAX_VXM_ALUS = 1 << OPERAND_INDEX_BITS
MAX_WORDS = 1 << 16
MAX_QUEUE_DEPTH = 1 << 16
#: A weight row and an accumulator row are 12-bit fields of the matrix unit's instructions.
MAX_LANES = 1 << 12
MAX_ACC_DEPTH = 1 << 12
#: Link ports per edge: their register blocks fill the host map from ``LINK_BASE``
#: (:mod:`isa.host`).
MAX_LINKS = 8
#: Every VXM ALU carries a lookup table of this many entries, indexed by an int8 lane value.
LUT_ENTRIES = 256
#: The SXM transposes 16 x 16 blocks, one superlane wide and 16 streams deep.
SUPERLANE = 16


@dataclass(frozen=True)
class ChipConfig:
    """The geometry of one chip.

    Parameters
    ----------
    name : str
        Preset name, recorded in generated files.
    lanes : int
        Bytes in a vector (one byte per lane per stream); a multiple of 8 (an SRAM word's
        SECDED code word, :mod:`isa.ecc`). TRANS needs whole superlanes of 16 (:attr:`transposes`).
    streams : int
        Stream registers per direction at every slice position; a multiple of 4 (an int32
        value occupies 4 adjacent streams), at most 32.
    mem_slices : int
        MEM slices per hemisphere.
    words : int
        Vector words of SRAM in each MEM slice, at most 65536.
    vxm_alus : int
        ALUs in the central VXM; each has its own instruction queue and lookup table.
    vxm_consts : int
        Vector constant registers shared by the VXM ALUs, at most 16.
    vxm_fold : int
        Cycles a VXM ALU computes an operation over: 1 is a full ``lanes``-lane ALU; ``f`` > 1
        gives each ALU ``lanes / f`` physical lanes that compute the vector ``lanes / f``
        lanes per cycle (for FPGAs; latency and issue interval in :mod:`isa.timing`). Must
        divide ``lanes``.
    sxm_fold : int
        Cycles a switch unit computes an operation over: 1 moves every lane in one cycle;
        ``f`` > 1 moves ``lanes / f`` lanes per cycle (for FPGAs; latency and issue interval
        in :mod:`isa.timing`). Must divide ``lanes``.
    mxms : int
        Matrix units per hemisphere, at the hemisphere's edge (0 for a vector-only core).
    mxm_acc_depth : int
        Accumulator rows (int32 vectors) in each matrix unit.
    mxm_fold : int
        Cycles a matrix unit takes per activation vector: 1 is a full ``lanes x lanes``
        multiplier array; ``f`` > 1 time-multiplexes ``lanes / f`` input rows per cycle (for
        FPGAs with few multipliers). Must divide ``lanes``.
    queue_depth : int
        Instructions each queue's instruction memory holds.
    links : int
        Chip-to-chip link ports at each edge of the row, outermost (0: a chip of its own). Each
        is one :class:`~isa.link.LinkConfig` link (``LinkConfig.for_chip``) with its own
        instruction queue (SEND and RECEIVE, :mod:`isa.timing`).
    """

    name: str = "default"
    lanes: int = 32
    streams: int = 16
    mem_slices: int = 8
    words: int = 4096
    vxm_alus: int = 8
    vxm_consts: int = 8
    vxm_fold: int = 1
    sxm_fold: int = 1
    mxms: int = 1
    mxm_acc_depth: int = 128
    mxm_fold: int = 1
    queue_depth: int = 4096
    links: int = 0

    def __post_init__(self):
        def need(ok, message):
            if not ok:
                raise ConfigError(message)

        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                need(isinstance(value, str) and value.isidentifier(),
                     f"Configuration name must be an identifier, not {value!r}")
                continue
            need(isinstance(value, int) and not isinstance(value, bool),
                 f"Parameter {f.name} must be an integer, not {value!r}")

        need(WORD_BYTES <= self.lanes <= MAX_LANES and self.lanes % WORD_BYTES == 0,
             f"Lane count must be a positive multiple of {WORD_BYTES} up to {MAX_LANES}, "
             f"not {self.lanes}")
        need(4 <= self.streams <= MAX_STREAMS and self.streams % 4 == 0,
             f"Stream count must be a multiple of 4 between 4 and {MAX_STREAMS}, "
             f"not {self.streams}")
        need(self.mem_slices >= 1,
             f"MEM slices per hemisphere must be at least 1, not {self.mem_slices}")
        need(2 <= self.words <= MAX_WORDS,
             f"SRAM words per slice must be between 2 and {MAX_WORDS}, not {self.words}")
        need(1 <= self.vxm_alus <= MAX_VXM_ALUS,
             f"VXM ALU count must be between 1 and {MAX_VXM_ALUS} (an operand's "
             f"{OPERAND_INDEX_BITS}-bit index names an ALU's result), not {self.vxm_alus}")
        need(1 <= self.vxm_consts <= 16,
             f"VXM constant register count must be between 1 and 16, not {self.vxm_consts}")
        need(self.mxms >= 0,
             f"Matrix units per hemisphere must be at least 0, not {self.mxms}")
        need(2 <= self.mxm_acc_depth <= MAX_ACC_DEPTH,
             f"Matrix unit accumulator depth must be between 2 and {MAX_ACC_DEPTH}, "
             f"not {self.mxm_acc_depth}")
        need(self.vxm_fold >= 1 and self.lanes % self.vxm_fold == 0,
             f"VXM fold must be a positive divisor of the lane count {self.lanes}, "
             f"not {self.vxm_fold}")
        need(self.sxm_fold >= 1 and self.lanes % self.sxm_fold == 0,
             f"SXM fold must be a positive divisor of the lane count {self.lanes}, "
             f"not {self.sxm_fold}")
        need(self.mxm_fold >= 1 and self.lanes % self.mxm_fold == 0,
             f"Matrix unit fold must be a positive divisor of the lane count {self.lanes}, "
             f"not {self.mxm_fold}")
        need(2 <= self.queue_depth <= MAX_QUEUE_DEPTH,
             f"Queue depth must be between 2 and {MAX_QUEUE_DEPTH}, not {self.queue_depth}")
        need(0 <= self.links <= MAX_LINKS,
             f"Link ports per edge must be between 0 and {MAX_LINKS}, not {self.links}")

    @property
    def transposes(self):
        """Whether TRANS exists: it moves 16 x 16 blocks, so it needs a whole number of
        superlanes and at least one superlane of streams."""
        return self.lanes % SUPERLANE == 0 and self.streams >= SUPERLANE

    @property
    def vector_bits(self):
        """Bits in one vector (one stream register, one SRAM word)."""
        return 8 * self.lanes

    @property
    def sram_bytes(self):
        """SRAM bytes on the whole chip."""
        return 2 * self.mem_slices * self.words * self.lanes

    def derive(self, **changes):
        """A copy of this configuration with ``changes`` applied and validated."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"Unknown configuration parameter {sorted(unknown)[0]!r}")
        return replace(self, **changes)

    def summary(self):
        """One line naming every parameter, for logs and generated-file headers."""
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


#: The default simulation preset: small enough to simulate fast on Verilator, large enough for
#: the transformer-sized GEMMs in the regression.
DEFAULT = ChipConfig()

PRESETS = {
    "tiny": DEFAULT.derive(name="tiny", lanes=16, mem_slices=4, words=8192, vxm_alus=6,
                           mxm_acc_depth=64, queue_depth=8192),
    "default": DEFAULT,
    # all-MiniLM-L6-v2 resident: the default chip with 32768 words per slice (16 MiB of SRAM:
    # the six layers' 10.6 MB of int8 weights, their per-channel constants, the position
    # embeddings and the activations) and the deepest queues the encoding allows (a whole
    # sentence's program).
    "minilm": DEFAULT.derive(name="minilm", words=32768, queue_depth=MAX_QUEUE_DEPTH),
    # Groq's first-generation TSP: 320 lanes (20 superlanes), 32 streams per direction,
    # 44 MEM slices per hemisphere of 8192 words, two 320 x 320 MXMs per hemisphere, a VXM
    # with 16 ALUs.
    "groq": DEFAULT.derive(name="groq", lanes=320, streams=32, mem_slices=44, words=8192,
                           vxm_alus=16, vxm_consts=16, mxms=2, mxm_acc_depth=512,
                           queue_depth=4096),
    # The FPGA target (LFE5U-85F: 83,640 LUT4, 208 DP16KD, 156 MULT18X18D): the smallest
    # geometry the compilers schedule. Half a superlane (8 lanes: one SECDED code word per
    # vector; TRANS, which needs 16 lanes and 16 streams, does not exist on it); 4 streams per
    # direction (one int32 value, the fewest the hardware takes: every stream is a 64-bit
    # register at each of the 13 positions, and every unit multiplexes them); one VXM ALU (an
    # elementwise pass is then one operation, and the two matrix units requantise on it in
    # turn); 8 constant registers (per-channel GEMM needs 4 per matrix unit); 4 MEM slices of
    # 2048 words per hemisphere (an int32 tensor's 4 byte planes; SRAM in 64 block RAMs);
    # matrix units folded 8 times (8 multipliers each, one activation every 8 cycles), and the
    # ALU and switch units folded to the same rate (one lane per cycle, one operation every 8
    # cycles: a GEMM's requantisation keeps pace); 1024-instruction queues (92 block RAMs).
    # See docs/fpga.md for what it takes.
    "fpga": DEFAULT.derive(name="fpga", lanes=8, streams=4, mem_slices=4, words=2048,
                           vxm_alus=1, vxm_consts=8, vxm_fold=8, sxm_fold=8, mxms=1,
                           mxm_acc_depth=64, mxm_fold=8,
                           queue_depth=1024),
}


def preset(name):
    """The preset called ``name``; raises :class:`ConfigError` naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"Unknown preset {name!r}; known presets: "
                          f"{', '.join(sorted(PRESETS))}") from None
