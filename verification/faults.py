"""Fault injection into the chip's SRAMs from cocotb: invert chosen bits of a stored word,
data or check bits, without a host write (as a particle strike would), in the simulated RTL;
:meth:`golden.archsim.ArchSim.flip_sram_bit` does the same in the golden simulator.

A MEM slice's SRAM word is its ``lanes * 8`` data bits followed by its check bits
(:mod:`hdl.mem`); bit ``b`` here is bit ``b`` of that word in both engines. The RTL word is
reached through the simulator's access to the ``lpu_sram`` array (cocotb's VPI handle of
``<slice>.unit.sram.ram.mem``).
"""

from isa.ecc import stored_bits
from isa.geometry import floorplan

__all__ = ["code_bits", "flip_rtl", "flip_golden"]


def code_bits(config):
    """Bits of a stored MEM word: the data bits, then the check bits."""
    return stored_bits(config.vector_bits)


def _check(config, index, address, bits):
    slices = len(floorplan(config).mem_units)
    if not 0 <= index < slices:
        raise ValueError(f"SRAM index {index} out of range (0..{slices - 1})")
    if not 0 <= address < config.words:
        raise ValueError(f"SRAM address {address} out of range (0..{config.words - 1})")
    for bit in bits:
        if not 0 <= bit < code_bits(config):
            raise ValueError(f"SRAM bit {bit} out of range (0..{code_bits(config) - 1})")


def flip_rtl(dut, config, index, address, bits):
    """Invert ``bits`` of word ``address`` of SRAM ``index`` in the simulated chip ``dut``.

    Call it while the SRAM is idle (no write to the word in flight), and at most once per word
    in one simulation time step: cocotb applies the write at the end of the step, so a second
    flip in the same step would read the word before the first one."""
    _check(config, index, address, bits)
    unit = floorplan(config).mem_units[index]
    word = getattr(dut, unit.name).unit.sram.ram.mem[address]
    value = int(word.value)
    for bit in bits:
        value ^= 1 << bit
    word.value = value


def flip_golden(sim, index, address, bits):
    """The same flips in the golden simulator ``sim`` (an :class:`~golden.archsim.ArchSim`)."""
    for bit in bits:
        sim.flip_sram_bit(index, address, bit)
