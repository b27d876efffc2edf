"""The commands' configuration arguments: ``--preset``/``--set`` give clear errors, and commands
that run one chip refuse ``--preset all``; ``python -m commands.fpga --place`` asks for a whole
probed module."""

import argparse

import pytest

from isa import preset
from isa.config import PRESETS
from commands.arguments import add_config_arguments, config_from_arguments, configs_from_arguments
from commands.fpga import main as fpga_main


def parse(argv, *, allow_all):
    parser = argparse.ArgumentParser(prog="cmd")
    add_config_arguments(parser, allow_all=allow_all)
    return parser, parser.parse_args(argv)


def test_one_preset_with_overrides():
    parser, args = parse(["--preset", "tiny", "--set", "words=1024"], allow_all=False)
    assert config_from_arguments(parser, args) == preset("tiny").derive(words=1024)


def test_all_presets_where_allowed():
    parser, args = parse(["--preset", "all"], allow_all=True)
    assert [c.name for c in configs_from_arguments(parser, args)] == sorted(PRESETS)


@pytest.mark.parametrize("argv, message", [
    (["--preset", "all"], "--preset all is not available here"),
    (["--preset", "nope"], "Unknown preset 'nope'"),
    (["--set", "lanes=7"], "Lane count must be a positive multiple of 16"),
    (["--set", "lanes"], "Override must be written field=value, not 'lanes'"),
    (["--set", "bogus=1"], "Unknown configuration parameter 'bogus'"),
])
def test_bad_arguments_are_named(argv, message, capsys):
    parser, args = parse(argv, allow_all=False)
    with pytest.raises(SystemExit) as exit:
        config_from_arguments(parser, args)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--place"],
    ["--place", "--probe", "lpu_icu", "--memories", "drop"],
    ["--place", "--probe", "lpu_chip", "--blackbox", "lpu_vxm_alu"],
])
def test_fpga_place_needs_a_whole_probed_module(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        fpga_main(["--preset", "tiny", *argv])
    assert exit.value.code == 2
    assert "--place needs --probe MODULE, without --memories or --blackbox" in \
        capsys.readouterr().err
