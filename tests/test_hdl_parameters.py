# amaranth: UnusedElaboratable=no
"""Every component of hdl/ refuses a bad constructor parameter with a message that names the
parameter and echoes the value."""

import pytest
from amaranth.lib import wiring

from hdl.board import BoardTop, ChipShell
from hdl.chip import Chip
from hdl.fabric import SlicePosition, StreamHop
from hdl.host import HostInterface, TransferRequestSignature
from hdl.icu import InstructionControl
from hdl.interfaces import AxiLiteSignature, HostMemorySignature, StreamTapSignature, XferSignature
from hdl.mem import MemorySlice
from hdl.mxm import MatrixUnit
from hdl.sram import Sram
from hdl.sxm import SwitchUnit
from hdl.table import LookupTable
from hdl.uart import UartBridge, UartRx, UartTx
from hdl.vxm import VectorAlu, VectorUnit
from isa import preset

CONFIG = preset("tiny")

CASES = [
    (lambda: Chip("tiny"), TypeError, "Chip needs a ChipConfig, not 'tiny'"),
    (lambda: Chip(CONFIG, library=3), TypeError,
     "Chip library must be a CellLibrary or None, not 3"),
    (lambda: StreamHop(None), TypeError, "StreamHop needs a ChipConfig, not None"),
    (lambda: SlicePosition(CONFIG, Sram(8, 4, blackbox=False)), TypeError,
     "SlicePosition needs a unit component with `tap` and `clear` members"),
    (lambda: HostInterface({}), TypeError, "HostInterface needs a ChipConfig, not {}"),
    (lambda: TransferRequestSignature(1), TypeError,
     "TransferRequestSignature needs a ChipConfig, not 1"),
    (lambda: InstructionControl(1, blackbox=False), ValueError,
     "Queue depth must be between 2 and 65536, not 1"),
    (lambda: InstructionControl(16, blackbox="yes"), TypeError,
     "InstructionControl blackbox must be True or False, not 'yes'"),
    (lambda: MemorySlice(CONFIG, blackbox=1), TypeError,
     "MemorySlice blackbox must be True or False, not 1"),
    (lambda: MatrixUnit([], blackbox=False), TypeError, "MatrixUnit needs a ChipConfig, not []"),
    (lambda: SwitchUnit(0), TypeError, "SwitchUnit needs a ChipConfig, not 0"),
    (lambda: VectorAlu(None), TypeError, "VectorAlu needs a ChipConfig, not None"),
    (lambda: VectorUnit(CONFIG, library="cells"), TypeError,
     "VectorUnit library must be a CellLibrary or None, not 'cells'"),
    (lambda: Sram(0, 4, blackbox=False), ValueError, "SRAM width must be at least 1, not 0"),
    (lambda: Sram(8, 1, blackbox=False), ValueError, "SRAM depth must be at least 2, not 1"),
    (lambda: Sram(8, 2.5, blackbox=False), TypeError, "SRAM depth must be an integer, not 2.5"),
    (lambda: Sram(8, 2, blackbox=False, transparent=1), TypeError,
     "SRAM transparent must be True or False, not 1"),
    (lambda: Sram(8, 2, blackbox=False, transparent=True, undefined_collision=True), ValueError,
     "An SRAM is transparent or has an undefined collision, not both"),
    (lambda: LookupTable(0), ValueError, "Lookup table lane count must be at least 1, not 0"),
    (lambda: LookupTable(16, banked="no"), TypeError,
     "Lookup table banked must be True or False, not 'no'"),
    (lambda: UartRx(3), ValueError, "UART divisor must be at least 4, not 3"),
    (lambda: UartTx(True), TypeError, "UART divisor must be an integer, not True"),
    (lambda: UartBridge(8, timeout=100), ValueError,
     "Bridge timeout must be at least two byte times (160 cycles), not 100"),
    (lambda: BoardTop(CONFIG, baud=10_000_000), ValueError,
     "Baud rate must be at most 1250000 for a 5 MHz clock, not 10000000"),
    (lambda: BoardTop(CONFIG, baud=0), ValueError, "Baud rate must be at least 1, not 0"),
    (lambda: ChipShell("fpga"), TypeError, "ChipShell needs a ChipConfig, not 'fpga'"),
    (lambda: StreamTapSignature(None), TypeError,
     "StreamTapSignature needs a ChipConfig, not None"),
    (lambda: HostMemorySignature(0, 64), ValueError,
     "Host memory address width must be at least 1, not 0"),
    (lambda: XferSignature("x"), TypeError, "XferSignature needs a ChipConfig, not 'x'"),
    (lambda: AxiLiteSignature(40), ValueError,
     "AXI4-Lite address width must be between 2 and 32, not 40"),
]


@pytest.mark.parametrize("build, error, message", CASES,
                         ids=[message.split(" ")[0] + str(i) for i, (_, _, message) in
                              enumerate(CASES)])
def test_bad_parameters_are_named(build, error, message):
    with pytest.raises(error) as raised:
        build()
    assert str(raised.value).startswith(message), str(raised.value)


def test_good_parameters_build():
    for component in (Chip(CONFIG), InstructionControl(16, blackbox=True), Sram(8, 2,
                      blackbox=False), UartBridge(8), BoardTop(CONFIG)):
        assert component is not None
    assert isinstance(SlicePosition(CONFIG, SwitchUnit(CONFIG)), wiring.Component)
