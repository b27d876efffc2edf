"""The link's parameters and derived figures (:mod:`isa.link`): validation names the parameter
and echoes the value; the frame layout and SEND interval follow from the line code."""

import pytest

from isa import preset
from isa.link import (BLOCK_BITS, BlockType, CRC32_CHECK, LinkConfig, LinkConfigError,
                      SYNC_CONTROL, SYNC_DATA)


def test_sync_headers_are_the_two_valid_patterns():
    # 01 and 10 in transmission order (bit 0 first); 00 and 11 are invalid.
    assert {SYNC_DATA, SYNC_CONTROL} == {0b10, 0b01}
    assert (SYNC_DATA & 1, SYNC_DATA >> 1) == (0, 1)


def test_block_types_are_clause_49s():
    assert [int(t) for t in BlockType] == [0x1E, 0x78, 0xCC, 0x4B]
    assert CRC32_CHECK == 0xCBF43926


@pytest.mark.parametrize("vector_bytes, width, blocks, superblocks, interval", [
    # 16 bytes: start + 2 data + terminate = 4 blocks, one superblock on 4 lanes; two block
    # times of 66 bits at 32 bits per cycle take ceil(132 / 32) = 5 cycles.
    (16, 32, 4, 1, 5),
    (16, 64, 4, 1, 3),
    # 320 bytes (Groq's vector): 42 blocks, 11 superblocks, 12 block times: 25 cycles at 32 bits.
    (320, 32, 42, 11, 25),
    (320, 64, 42, 11, 13),
])
def test_frame_layout(vector_bytes, width, blocks, superblocks, interval):
    link = LinkConfig(vector_bytes=vector_bytes, serdes_width=width)
    assert (link.frame_blocks, link.frame_superblocks, link.send_interval) == \
        (blocks, superblocks, interval)
    assert interval * width >= (superblocks + 1) * BLOCK_BITS
    assert link.payload_bytes_per_cycle == vector_bytes / interval


def test_for_chip_takes_the_vector_width():
    assert LinkConfig.for_chip(preset("tiny")).vector_bytes == 16
    assert LinkConfig.for_chip(preset("groq"), serdes_width=64).serdes_width == 64


@pytest.mark.parametrize("changes, message", [
    ({"vector_bytes": 12}, "Link vector_bytes must be a positive multiple of 8, not 12"),
    ({"vector_bytes": 0}, "Link vector_bytes must be a positive multiple of 8, not 0"),
    ({"serial_lanes": 0}, "Link serial_lanes must be between 1 and 16, not 0"),
    ({"serdes_width": 40}, "Link serdes_width must be one of (32, 64), not 40"),
    ({"delay_budget": -1}, "Link delay_budget must be between 0 and 16384 cycles, not -1"),
    ({"skew_budget": 3}, "Link skew_budget must be at least 4 blocks, not 3"),
    ({"vector_bytes": 320, "marker_period": 11},
     "Link marker_period must exceed a frame's 11 superblocks, not 11"),
    ({"serial_lanes": 2.0}, "Link parameter serial_lanes must be an integer, not 2.0"),
    ({"skew_budget": True}, "Link parameter skew_budget must be an integer, not True"),
])
def test_bad_parameters_are_named(changes, message):
    with pytest.raises(LinkConfigError) as error:
        LinkConfig(**changes)
    assert str(error.value) == message
