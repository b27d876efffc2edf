"""AXI4-Lite rules as formal properties: what a manager may do (assumptions) and what a
subordinate must do (assertions), observed on the subordinate's pins.

:class:`AxiLiteRules` watches one AXI4-Lite port (an :class:`~hdl.interfaces.AxiLiteSignature`
interface, seen from outside) and the reset that governs it. It keeps its own bookkeeping in an
unresettable clock domain (``domain``), so that the subordinate's reset cannot hide a violation.

Assumed of the manager (AMBA AXI, "Reset" and "Basic read and write transactions"):

- the first cycle of checking is in reset;
- ARVALID, AWVALID and WVALID are low while reset is asserted, and may rise from the first cycle
  after it falls;
- once raised, a VALID stays high with its payload (ARADDR; AWADDR; WDATA and WSTRB) unchanged
  until its handshake.

Asserted of the subordinate:

- RVALID and BVALID are low in every cycle that follows a cycle of reset;
- a raised RVALID (BVALID) stays high with RDATA and RRESP (BRESP) unchanged until its
  handshake;
- a read response only for a read address handshaked in an earlier cycle, a write response only
  once both the write address and the write data were handshaked in earlier cycles, one
  response per request;
- every request is answered: a read handshaked in cycle ``t`` (a write whose address and data
  are both handshaked by cycle ``t``) sees RVALID (BVALID) by cycle ``t + response_bound``;
- at most ``max_outstanding`` reads and writes are outstanding (a bound of the design under
  check, which also keeps the bookkeeping finite).
"""

from amaranth import Elaboratable, Module, Signal
from amaranth.hdl import Assert, Assume, Cover

__all__ = ["AxiLiteRules"]


class AxiLiteRules(Elaboratable):
    """The rules above, as ``Assume``/``Assert`` statements over ``axi`` and ``rst``.

    Parameters
    ----------
    axi : interface of :class:`~hdl.interfaces.AxiLiteSignature`
        The subordinate's port (its ``*valid``, ``*ready`` and payload signals).
    rst : Signal(1)
        The port's reset input, as the manager sees it (active high).
    domain : str
        An unresettable clock domain clocked with the port.
    response_bound : int
        Cycles after its handshake by which a request must be answered (1: the next cycle).
    max_outstanding : int
        Requests of each kind the subordinate may hold unanswered.
    """

    def __init__(self, axi, rst, *, domain, response_bound, max_outstanding=1):
        if not (isinstance(response_bound, int) and response_bound >= 1):
            raise ValueError(f"response_bound must be a positive integer, not {response_bound!r}")
        if not (isinstance(max_outstanding, int) and max_outstanding >= 1):
            raise ValueError(
                f"max_outstanding must be a positive integer, not {max_outstanding!r}")
        self.axi = axi
        self.rst = rst
        self.domain = domain
        self.response_bound = response_bound
        self.max_outstanding = max_outstanding
        # Requests handshaked in earlier cycles and not yet answered (cleared by reset).
        width = (max_outstanding + 1).bit_length()
        self.reads = Signal(width, name="reads_outstanding")
        self.write_addresses = Signal(width, name="write_addresses_outstanding")
        self.write_data = Signal(width, name="write_data_outstanding")

    def elaborate(self, platform):
        m = Module()
        axi, rst = self.axi, self.rst
        domain = self.domain

        first = Signal(init=1)          # the first cycle of checking
        was_reset = Signal()            # reset was asserted in the previous cycle
        m.d[domain] += [first.eq(0), was_reset.eq(rst)]
        m.d.comb += Assume(~first | rst)
        m.d.comb += Assume(~rst | ~(axi.arvalid | axi.awvalid | axi.wvalid))

        # A VALID waiting for its READY, and the payload it must hold.
        def hold(valid, ready, payload, rule):
            waited = Signal(name=f"{valid.name}_waited")
            held = [Signal.like(p, name=f"{p.name}_held") for p in payload]
            m.d[domain] += [waited.eq(valid & ~ready & ~rst)]
            m.d[domain] += [h.eq(p) for h, p in zip(held, payload)]
            stable = valid
            for h, p in zip(held, payload):
                stable = stable & (p == h)
            with m.If(waited):
                m.d.comb += rule(stable)

        hold(axi.arvalid, axi.arready, [axi.araddr], Assume)
        hold(axi.awvalid, axi.awready, [axi.awaddr], Assume)
        hold(axi.wvalid, axi.wready, [axi.wdata, axi.wstrb], Assume)
        hold(axi.rvalid, axi.rready, [axi.rdata, axi.rresp], Assert)
        hold(axi.bvalid, axi.bready, [axi.bresp], Assert)

        with m.If(was_reset):
            m.d.comb += Assert(~axi.rvalid & ~axi.bvalid)

        limit = self.max_outstanding

        def outstanding(count, request, response):
            with m.If(rst):
                m.d[domain] += count.eq(0)
            with m.Else():
                m.d[domain] += count.eq(count + request - response)
            m.d.comb += Assert(count <= limit)

        ar = axi.arvalid & axi.arready
        r = axi.rvalid & axi.rready
        aw = axi.awvalid & axi.awready
        w = axi.wvalid & axi.wready
        b = axi.bvalid & axi.bready
        reads, write_addresses, write_data = self.reads, self.write_addresses, self.write_data
        outstanding(reads, ar, r)
        outstanding(write_addresses, aw, b)
        outstanding(write_data, w, b)
        m.d.comb += [
            Assert(~axi.rvalid | (reads != 0)),
            Assert(~axi.bvalid | ((write_addresses != 0) & (write_data != 0))),
        ]

        # Every request answered within response_bound cycles: `waited` counts the cycles
        # after the handshake without a response.
        def answered(waiting, name):
            waited = Signal(range(self.response_bound + 1), name=name)
            with m.If(waiting & ~rst & (waited < self.response_bound)):
                m.d[domain] += waited.eq(waited + 1)
            with m.Elif(~waiting | rst):
                m.d[domain] += waited.eq(0)
            m.d.comb += Assert(waited < self.response_bound)

        answered((reads != 0) & ~axi.rvalid, "read_unanswered_cycles")
        answered((write_addresses != 0) & (write_data != 0) & ~axi.bvalid,
                 "write_unanswered_cycles")

        # Reachability: a read and a write each complete (checked in cover mode).
        m.d.comb += [Cover(r & ~rst), Cover(b & ~rst)]
        return m
