"""CRC-32 of IEEE 802.3 over one 64-bit word per cycle, as a XOR network.

The frame's CRC (:mod:`isa.link`) covers whole 64-bit words, so the RTL absorbs one block
payload per cycle. The network comes from a matrix computed in plain Python from
:data:`~isa.link.CRC32_POLY`: the CRC register is linear over GF(2) in its previous value and
the data, so each output bit is the XOR of the register and data bits whose unit vectors reach
it.
"""

from functools import cache

from amaranth import Cat, Const, Value

from isa.link import CRC32_POLY, PAYLOAD_BITS

__all__ = ["CRC_BITS", "crc32_matrix", "crc32_step"]

#: Bits of the CRC register.
CRC_BITS = 32


def _reflected(value, bits):
    return int(f"{value:0{bits}b}"[::-1], 2)


def _absorb(register, data):
    """The running register after the :data:`~isa.link.PAYLOAD_BITS` bits of ``data``, bit 0
    first (the reflected, right-shifting form of the Ethernet CRC)."""
    poly = _reflected(CRC32_POLY, CRC_BITS)
    for n in range(PAYLOAD_BITS):
        feedback = (register ^ (data >> n)) & 1
        register = (register >> 1) ^ (poly if feedback else 0)
    return register


@cache
def crc32_matrix():
    """``(from_crc, from_data)``: for each output bit ``j``, the mask of register bits and the
    mask of data bits whose XOR is bit ``j`` of the register after absorbing a word."""
    columns = ([_absorb(1 << i, 0) for i in range(CRC_BITS)],
               [_absorb(0, 1 << k) for k in range(PAYLOAD_BITS)])
    return tuple(tuple(sum(1 << i for i, column in enumerate(source) if column >> j & 1)
                       for j in range(CRC_BITS))
                 for source in columns)


def crc32_step(crc, data):
    """The running CRC-32 register (before the final XOR with
    :data:`~isa.link.CRC32_XOROUT`) after absorbing ``data``.

    Parameters
    ----------
    crc : Value
        The running register (32 bits; :data:`~isa.link.CRC32_INIT` before the first word).
    data : Value
        A 64-bit word: byte ``k`` is ``data[8k:8k + 8]``, and bit 0 of each byte goes first, as
        on the line.

    Returns
    -------
    Value
        32 bits, combinational.
    """
    crc, data = Value.cast(crc), Value.cast(data)
    from_crc, from_data = crc32_matrix()
    bits = []
    for j in range(CRC_BITS):
        terms = ([crc[i] for i in range(CRC_BITS) if from_crc[j] >> i & 1] +
                 [data[k] for k in range(PAYLOAD_BITS) if from_data[j] >> k & 1])
        bits.append(Cat(*terms).xor() if terms else Const(0, 1))
    return Cat(*bits)
