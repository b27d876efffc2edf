"""The ISA package: configuration validation, presets, floorplan, encodings, legality."""

import pytest

from commands.isa_docs import DOCUMENT
from isa import ChipConfig, ConfigError, DEFAULT, PRESETS, preset
from isa.config import MAX_STREAMS
from isa.docs import render
from isa.formats import FORMATS, INSTRUCTIONS, Instruction, Operand, EncodingError, decode, spec_for
from isa.geometry import Hemisphere, QueueKind, UnitKind, floorplan
from isa.host import ErrorFlag
from isa.legality import check
from isa.opcodes import (ControlOp, DType, Direction, MemReadOp, OperandKind, SwitchOp,
                         VectorOp)
from isa.timing import arrival, issue_for_arrival


@pytest.mark.parametrize("changes, message", [
    ({"lanes": 36}, "Lane count must be a positive multiple of 8 up to 4096, not 36"),
    ({"lanes": 0}, "Lane count must be a positive multiple of 8 up to 4096, not 0"),
    ({"streams": 6}, "Stream count must be a multiple of 4 between 4 and 32, not 6"),
    ({"streams": 36}, "Stream count must be a multiple of 4 between 4 and 32, not 36"),
    ({"mem_slices": 0}, "MEM slices per hemisphere must be at least 1, not 0"),
    ({"words": 1 << 17}, "SRAM words per slice must be between 2 and 65536, not 131072"),
    ({"vxm_alus": 0}, "VXM ALU count must be between 1 and 32 (an operand's 5-bit index names "
                      "an ALU's result), not 0"),
    ({"vxm_alus": 100}, "VXM ALU count must be between 1 and 32 (an operand's 5-bit index "
                        "names an ALU's result), not 100"),
    ({"vxm_consts": 17}, "VXM constant register count must be between 1 and 16, not 17"),
    ({"mxm_fold": 3}, "Matrix unit fold must be a positive divisor of the lane count 32, not 3"),
    ({"vxm_fold": 0}, "VXM fold must be a positive divisor of the lane count 32, not 0"),
    ({"vxm_fold": 6}, "VXM fold must be a positive divisor of the lane count 32, not 6"),
    ({"sxm_fold": 5}, "SXM fold must be a positive divisor of the lane count 32, not 5"),
    ({"queue_depth": 1}, "Queue depth must be between 2 and 65536, not 1"),
    ({"lanes": "32"}, "Parameter lanes must be an integer, not '32'"),
    ({"lanes": True}, "Parameter lanes must be an integer, not True"),
    ({"name": "my preset"}, "Configuration name must be an identifier, not 'my preset'"),
])
def test_invalid_configuration_names_parameter_and_value(changes, message):
    with pytest.raises(ConfigError) as error:
        DEFAULT.derive(**changes)
    assert str(error.value) == message


def test_unknown_parameter_and_preset():
    with pytest.raises(ConfigError, match="Unknown configuration parameter 'lane'"):
        DEFAULT.derive(lane=16)
    with pytest.raises(ConfigError, match="Unknown preset 'huge'; known presets: default, "):
        preset("huge")


def test_presets_derive_from_default():
    assert preset("default") is DEFAULT
    tiny, groq = preset("tiny"), preset("groq")
    assert tiny.lanes == 16
    assert (groq.lanes, groq.mem_slices, groq.streams, groq.mxms) == (320, 44, 32, 2)
    assert groq.streams == MAX_STREAMS
    for config in PRESETS.values():
        assert isinstance(config, ChipConfig)


def test_floorplan_is_mirrored_around_the_vxm():
    config = preset("tiny")
    plan = floorplan(config)
    kinds = [u.kind for u in plan.units]
    # MXM | SXM | MEM x n | VXM | MEM x n | SXM | MXM
    n = config.mem_slices
    assert kinds == ([UnitKind.MXM] * config.mxms + [UnitKind.SXM] + [UnitKind.MEM] * n +
                     [UnitKind.VXM] + [UnitKind.MEM] * n + [UnitKind.SXM] +
                     [UnitKind.MXM] * config.mxms)
    assert plan.positions == len(plan.units) == 2 * plan.centre + 1
    assert plan.vxm_unit.position == plan.centre
    for unit in plan.units:
        if unit.hemisphere is not Hemisphere.CENTRE:
            mirror = plan.unit(unit.name.replace("_w", "_x").replace("_e", "_w")
                               .replace("_x", "_e"))
            assert unit.position + mirror.position == 2 * plan.centre
    assert plan.unit("mem_w0").position == plan.centre - 1
    assert plan.unit("mem_e0").position == plan.centre + 1


def test_queues_one_per_port_and_alu():
    config = preset("tiny")
    plan = floorplan(config)
    kinds = [q.kind for q in plan.queues]
    assert kinds.count(QueueKind.MEM_READ) == kinds.count(QueueKind.MEM_WRITE) == \
        2 * config.mem_slices
    assert kinds.count(QueueKind.VXM_ALU) == config.vxm_alus
    assert [q.number for q in plan.queues] == list(range(len(plan.queues)))
    assert plan.queue("vxm.alu2").index == 2
    with pytest.raises(KeyError, match="No queue named 'vxm.alu99'"):
        plan.queue("vxm.alu99")


def test_every_format_fits_one_word():
    for fmt in FORMATS.values():
        assert fmt.layout.size == 64


def test_encode_decode_round_trip():
    spec = spec_for(QueueKind.VXM_ALU, VectorOp.REQ.value)
    fields = {"stype": DType.I32, "dtype": DType.I8, "a": Operand(OperandKind.EAST, 4),
              "b": Operand(OperandKind.CONST, 2), "c": Operand.immediate(), "dst_en": 1,
              "dst_dir": Direction.WEST, "dst_stream": 8, "imm": -7}
    word = Instruction(spec, fields).encode()
    assert word & 0x3F == VectorOp.REQ.value
    decoded = decode(QueueKind.VXM_ALU, word)
    assert decoded.op is VectorOp.REQ and decoded.fields == fields


def test_field_encoding_errors():
    spec = spec_for(QueueKind.MEM_READ, MemReadOp.READ.value)
    with pytest.raises(EncodingError, match="does not fit the 16-bit unsigned field addr"):
        Instruction(spec, {"addr": 1 << 16, "stream": 0, "dir": Direction.EAST}).encode()
    with pytest.raises(EncodingError, match="field dir needs a Direction"):
        Instruction(spec, {"addr": 0, "stream": 0, "dir": 1}).encode()


def test_instruction_table_has_unique_mnemonics_per_queue_kind():
    for kind in QueueKind:
        names = [s.mnemonic for s in INSTRUCTIONS if kind in s.queues]
        assert len(names) == len(set(names))


def test_legality_rules():
    config = preset("tiny")
    read = spec_for(QueueKind.MEM_READ, MemReadOp.READ.value)

    def mem(addr, stream):
        return Instruction(read, {"addr": addr, "stream": stream, "dir": Direction.EAST})

    assert check(config, QueueKind.MEM_READ, mem(0, 0)) == ErrorFlag(0)
    assert check(config, QueueKind.MEM_READ, mem(config.words, 0)) == ErrorFlag.ADDRESS_RANGE
    assert check(config, QueueKind.MEM_READ, mem(10, 0), -11) == ErrorFlag.ADDRESS_RANGE
    assert check(config, QueueKind.MEM_READ, mem(0, config.streams)) == ErrorFlag.BAD_OPERAND
    assert check(config, QueueKind.MEM_READ, None) == ErrorFlag.ILLEGAL_OPCODE
    nop = spec_for(QueueKind.MEM_READ, ControlOp.NOP.value)
    assert check(config, QueueKind.MEM_READ, Instruction(nop, {"count": 0})) == \
        ErrorFlag.BAD_OPERAND
    add = spec_for(QueueKind.VXM_ALU, VectorOp.ADD.value)
    base = {"stype": DType.I32, "dtype": DType.I32, "a": Operand(OperandKind.EAST, 4),
            "b": Operand(OperandKind.WEST, 0), "c": Operand(OperandKind.EAST, 0),
            "dst_en": 1, "dst_dir": Direction.EAST, "dst_stream": 8, "imm": 0}
    assert check(config, QueueKind.VXM_ALU, Instruction(add, base)) == ErrorFlag(0)
    misaligned = dict(base, a=Operand(OperandKind.EAST, 2))
    assert check(config, QueueKind.VXM_ALU, Instruction(add, misaligned)) == ErrorFlag.BAD_OPERAND
    bad_alu = dict(base, b=Operand(OperandKind.ALU, config.vxm_alus))
    assert check(config, QueueKind.VXM_ALU, Instruction(add, bad_alu)) == ErrorFlag.BAD_OPERAND


@pytest.mark.parametrize("lanes, streams, transposes", [
    (16, 16, True), (32, 32, True), (16, 12, False), (8, 16, False), (24, 16, False)])
def test_trans_needs_whole_superlanes_and_a_superlane_of_streams(lanes, streams, transposes):
    # TRANS moves 16 x 16 blocks: 16 streams deep, 16 lanes wide.
    config = DEFAULT.derive(lanes=lanes, streams=streams, vxm_fold=1, sxm_fold=1, mxm_fold=1)
    assert config.transposes is transposes
    trans = spec_for(QueueKind.SXM, SwitchOp.TRANS.value)
    block = Instruction(trans, {"dtype": DType.I8, "src": 0, "dst": 0, "src_dir": Direction.EAST,
                                "dst_dir": Direction.WEST, "map": 0, "map_dir": Direction.EAST,
                                "amount": 0, "fill": 0})
    expected = ErrorFlag(0) if transposes else ErrorFlag.BAD_OPERAND
    assert check(config, QueueKind.SXM, block) == expected


def test_timing_rule_is_its_own_inverse():
    for source, consumer in [(3, 7), (7, 3), (0, 1)]:
        for latency in (1, 2, 5):
            cycle = arrival(10, latency, source, consumer)
            assert issue_for_arrival(cycle, latency, source, consumer) == 10
    # Next position: visible exactly `latency` cycles after issue.
    assert arrival(0, 2, 5, 6) == 2 and arrival(0, 2, 5, 4) == 2
    with pytest.raises(ValueError):
        arrival(0, 2, 5, 5)


def test_isa_reference_is_generated_from_isa():
    # docs/isa.md restates isa/'s tables; it must be exactly what the generator writes.
    assert DOCUMENT.read_text() == render(), \
        "docs/isa.md is stale: run `python -m commands.isa_docs`"
