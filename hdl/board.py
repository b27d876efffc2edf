"""FPGA tops around the exported chip: a pin-level shell for the resource report and the ULX3S
board top.

Both instantiate the chip as the Verilog module ``lpu_chip`` that ``make verilog`` writes (see
:mod:`sim.verilog`), so what an FPGA user builds is the very file the regression simulates. The
fast transfer port is left idle (it is for simulation and wide host buses); the board reaches
every memory through the AXI4-Lite transfer registers (``XFER_*`` in :mod:`isa.host`).

Board top (:class:`BoardTop`, ULX3S 85F via ``amaranth-boards``):

- clock: :attr:`BoardTop.CLOCK_MHZ` (5 MHz) from the ECP5 PLL, fed by the 25 MHz
  oscillator: the board design's placement estimates 8 MHz at the ULX3S's speed grade (the
  slowest), and routing may lose some of it (docs/fpga.md);
- reset: held until the PLL locks, for 16 cycles after, and while button F1 (``button_fire
  0``) is pressed;
- host: the FTDI USB-serial port through :class:`~hdl.uart.UartBridge` (8N1, 115200 baud by
  default), driven from a PC by :mod:`sim.board_host`;
- LEDs: 0 running, 1 done, 2 bridge busy, 3 receive overflow, 7 heartbeat (toggles about
  every 0.8 s).
"""

from amaranth import *
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from isa.host import xfer_bits
from .chip import CHIP_MODULE
from .interfaces import AxiLiteSignature, HOST_INDEX_BITS, HOST_SPACE_BITS
from .parameters import check_config, check_integer
from .uart import UartBridge

__all__ = ["chip_instance", "ChipShell", "BoardTop", "board_plan"]


def chip_instance(config, *, clk, rst, axi, running, done):
    """An ``Instance`` of the exported chip with its AXI4-Lite port on ``axi`` (an interface
    with :class:`~hdl.interfaces.AxiLiteSignature`'s members) and the transfer port idle."""
    ports = {"i_clk": clk, "i_rst": rst, "o_running": running, "o_done": done}
    for name, member in AxiLiteSignature().members.items():
        ports[("i_" if member.flow is In else "o_") + f"axi__{name}"] = getattr(axi, name)
    idle = {"valid": 1, "write": 1, "space": HOST_SPACE_BITS, "index": HOST_INDEX_BITS,
            "addr": 16, "wdata": xfer_bits(config)}
    for name, width in idle.items():
        ports[f"i_xfer__{name}"] = Const(0, width)
    return Instance(CHIP_MODULE, **ports)


class ChipShell(wiring.Component):
    """The chip with its register port on pins: the design of the FPGA resource report.

    Parameters
    ----------
    config : ChipConfig

    Members
    -------
    axi : Out(AxiLiteSignature)
    clk, rst : In(1)
    running, done : Out(1)
    """

    #: Module name of the shell in generated Verilog.
    MODULE = "lpu_fpga_top"

    def __init__(self, config):
        self.config = check_config("ChipShell", config)
        super().__init__({
            "axi":     Out(AxiLiteSignature()),
            "clk":     In(1),
            "rst":     In(1),
            "running": Out(1),
            "done":    Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.chip = chip_instance(self.config, clk=self.clk, rst=self.rst,
                                          axi=self.axi, running=self.running, done=self.done)
        return m


class BoardTop(Elaboratable):
    """The ULX3S 85F top: the chip, the UART bridge, reset and LEDs (see the module docstring).

    Parameters
    ----------
    config : ChipConfig
    baud : int
        UART baud rate; the divisor (:attr:`CLOCK_MHZ` / baud) must be at least 4.
    """

    #: The board oscillator, which feeds the PLL.
    OSCILLATOR_MHZ = 25
    #: The PLL's output, which clocks the whole design.
    CLOCK_MHZ = 5
    #: ``EHXPLLL`` dividers for :attr:`CLOCK_MHZ` from :attr:`OSCILLATOR_MHZ`: 25 / CLKI_DIV
    #: x CLKFB_DIV = 5 MHz (the phase detector at 5 MHz, above its 3.125 minimum), the VCO at
    #: 5 x CLKOP_DIV = 600 MHz (within its 400 to 800).
    PLL_DIVIDERS = {"CLKI_DIV": 5, "CLKFB_DIV": 1, "CLKOP_DIV": 120, "CLKOP_CPHASE": 60}
    #: Cycles the chip is held in reset after the PLL locks.
    BOOT_CYCLES = 16

    def __init__(self, config, *, baud=115200):
        check_config("BoardTop", config)
        check_integer("Baud rate", baud, 1)
        divisor = round(self.CLOCK_MHZ * 1e6 / baud)
        if divisor < 4:
            raise ValueError(f"Baud rate must be at most {self.CLOCK_MHZ * 1e6 / 4:.0f} for a "
                             f"{self.CLOCK_MHZ} MHz clock, not {baud}")
        self.config = config
        self.baud = baud
        self.divisor = divisor

    def elaborate(self, platform):
        m = Module()
        m.submodules.oscillator = oscillator = io.Buffer("i", platform.request("clk25", dir="-"))
        m.domains.sync = ClockDomain("sync")
        locked = Signal()
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=str(self.OSCILLATOR_MHZ),
            a_FREQUENCY_PIN_CLKOP=str(self.CLOCK_MHZ),
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            **{f"p_{name}": value for name, value in self.PLL_DIVIDERS.items()},
            i_CLKI=oscillator.i, o_CLKOP=ClockSignal("sync"), i_CLKFB=ClockSignal("sync"),
            i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
            i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)
        m.d.comb += ResetSignal("sync").eq(~locked)

        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = uart_rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        m.submodules.button = button = io.Buffer("i", platform.request("button_fire", 0,
                                                                        dir="-"))
        leds = []
        for i in range(8):
            m.submodules[f"led_{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            leds.append(led)

        m.submodules.bridge = bridge = UartBridge(self.divisor)
        m.d.comb += [bridge.rx.eq(uart_rx.i), uart_tx.o.eq(bridge.tx)]

        boot = Signal(range(self.BOOT_CYCLES + 1), init=self.BOOT_CYCLES)
        with m.If(boot != 0):
            m.d.sync += boot.eq(boot - 1)
        reset = Signal()
        m.d.comb += reset.eq((boot != 0) | button.i)

        axi = AxiLiteSignature().create(path=("axi",))
        wiring.connect(m, bridge.axi, axi)
        running = Signal()
        done = Signal()
        m.submodules.chip = chip_instance(self.config, clk=ClockSignal(), rst=reset, axi=axi,
                                          running=running, done=done)

        heartbeat = Signal(ceil_log2(self.CLOCK_MHZ * 1_000_000))
        m.d.sync += heartbeat.eq(heartbeat + 1)
        m.d.comb += [
            leds[0].o.eq(running),
            leds[1].o.eq(done),
            leds[2].o.eq(bridge.busy),
            leds[3].o.eq(bridge.overflow),
            leds[7].o.eq(heartbeat[-1]),
        ]
        return m


def board_plan(top, *, name="lpu_board"):
    """The amaranth-boards build plan of ``top`` for the ULX3S 85F: the top as RTLIL and the
    pin constraints (LPF). The chip's Verilog is not included; :func:`sim.fpga.build_board`
    reads it from the export."""
    from amaranth_boards.ulx3s import ULX3S_85F_Platform    # the `fpga` extra
    return ULX3S_85F_Platform().prepare(top, name=name)
