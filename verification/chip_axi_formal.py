"""The formal check of the chip's AXI4-Lite port: the rules of
:class:`~verification.axi_properties.AxiLiteRules` on the pins of a whole
:class:`~hdl.chip.Chip`, from reset on, by SymbiYosys (:mod:`sim.formal`).

What is checked is the chip's top level as ``make verilog`` exports it: the reset synchroniser,
the host interface, run control, error collection and the host transfers' address decoding and
read-data return, all of it real RTL. The units (MEM slices, VXM, MXM, SXM, stream positions,
instruction queues) are the export's shared cells; here each is a black box whose outputs are
free inputs of the check (a cut point), so the port is proved correct for *any* behaviour of
the core, a sound over-approximation that keeps the check to seconds. (Elaborating the units
for the solver would take minutes per step and prove nothing more about the port.)

Two property sets:

- the AXI4-Lite rules (:mod:`verification.axi_properties`), checked on their own by BMC;
- with ``contract=True``, also the port's own contract (it answers every request in the next
  cycle and takes a write's address and data in one cycle), which makes the rules inductive, so
  that ``prove`` closes by k-induction: a proof for runs of any length.

:data:`PLANTED_BUGS` are edits of the checked netlist that break the port; each must make the
check fail, so that a pass means something.
"""

from amaranth import ClockDomain, ClockSignal, Fragment, Module, Value
from amaranth.back import rtlil
from amaranth.hdl import Assert
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect

from hdl.cells import CellLibrary
from hdl.chip import Chip
from hdl.interfaces import AxiLiteSignature, XferSignature
from sim.env import BUILD
from sim.formal import run_sby
from sim.verilog import config_directory
from .axi_properties import AxiLiteRules

__all__ = ["BlackboxLibrary", "ChipAxiFormal", "PLANTED_BUGS", "RESPONSE_BOUND",
           "check_chip_axi"]

#: The host interface answers a request in the cycle after its handshake.
RESPONSE_BOUND = 1
#: Name of the formal top module.
TOP = "formal_top"

#: Netlist edits (Yosys commands on the flattened top) that plant a protocol bug.
PLANTED_BUGS = {
    # The port's ready signals no longer wait for the core to leave reset: a request in the
    # reset synchroniser's window is handshaked and never answered.
    "ready_in_reset": ["connect -set chip.host.awake 1'b1"],
}


class BlackboxLibrary(CellLibrary):
    """A cell library that declares each shared cell as a Verilog black box (its ports only),
    instead of converting it."""

    def convert(self, module, component):
        # Elaborated only so that it (and the units inside it) count as used: the check needs
        # its signature, not its netlist.
        Fragment.get(component, None)
        ports = ["input clk", "input rst"]
        signature = component.signature
        for path, member, value in signature.flatten(signature.create()):
            name = "__".join(str(part) for part in path)
            direction = "input" if member.flow is In else "output"
            ports.append(f"{direction} [{len(Value.cast(value)) - 1}:0] {name}")
        text = (f"(* blackbox *)\nmodule {module}(\n    " + ",\n    ".join(ports) +
                "\n);\nendmodule\n")
        return text, True, True


class ChipAxiFormal(wiring.Component):
    """A :class:`~hdl.chip.Chip` of ``config`` with the AXI4-Lite rules on its port.

    Every chip input is a free input of the check (the manager constrained by the rules'
    assumptions). ``contract`` adds the port's own contract (module docstring)."""

    def __init__(self, config, library, *, contract):
        self.config = config
        self.library = library
        self.contract = contract
        super().__init__({
            "axi":  Out(AxiLiteSignature()),
            "xfer": Out(XferSignature(config)),
            "clk":  In(1),
            "rst":  In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.chip = chip = Chip(self.config, library=self.library)
        connect(m, wiring.flipped(self.axi), chip.axi)
        connect(m, wiring.flipped(self.xfer), chip.xfer)
        m.d.comb += [chip.clk.eq(self.clk), chip.rst.eq(self.rst)]
        # The rules' bookkeeping is never reset: the chip's reset must not hide a violation.
        m.domains.check = ClockDomain("check", reset_less=True)
        m.d.comb += ClockSignal("check").eq(self.clk)
        m.submodules.rules = rules = AxiLiteRules(chip.axi, self.rst, domain="check",
                                                  response_bound=RESPONSE_BOUND)
        if self.contract:
            m.d.comb += [
                Assert(rules.reads == chip.axi.rvalid),
                Assert(rules.write_addresses == rules.write_data),
                Assert(rules.write_addresses == chip.axi.bvalid),
            ]
        return m


def check_chip_axi(config, *, mode, depth, contract, bug=None, directory=None):
    """Run the check on the chip of ``config``: SymbiYosys ``mode`` (``bmc``, ``prove`` or
    ``cover``) to ``depth`` steps, with the port's contract or not, with planted ``bug`` (a
    key of :data:`PLANTED_BUGS`) or none. Returns a :class:`~sim.formal.FormalResult`; the
    job is kept in ``directory`` (default ``build/formal/<preset>/...``)."""
    if bug is not None and bug not in PLANTED_BUGS:
        raise ValueError(f"bug must be one of {', '.join(PLANTED_BUGS)} or None, not {bug!r}")
    library = BlackboxLibrary()
    design = rtlil.convert(ChipAxiFormal(config, library, contract=contract), name=TOP)
    script = ["read_verilog -sv cells.v", "read_rtlil design.il", f"prep -top {TOP}",
              "cutpoint -blackbox"]
    if bug is not None:
        script += ["flatten", f"cd {TOP}", *PLANTED_BUGS[bug], "cd"]
    if directory is None:
        name = "-".join([mode, "contract" if contract else "rules", bug or "clean"])
        directory = BUILD / "formal" / config_directory(config).name / name
    return run_sby(directory, files={"cells.v": "\n".join(library.verilog()),
                                     "design.il": design},
                   script=script, mode=mode, depth=depth)
