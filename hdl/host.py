"""Host interface: the AXI4-Lite register file and the transfer (load/unload) port.

This is the chip's only handshaked boundary. It turns register accesses and fast-port requests
into one internal transfer request per cycle and returns read data; the chip top owns the state
it reports (run control, cycle counter, error flags). Register map: :mod:`isa.host`.

Everything it passes into the chip is registered: no combinational path leads from a chip input
into the core. (Besides timing closure on an FPGA, this keeps Verilator from re-evaluating the
whole core's logic on every input change: it doubled simulation speed.)
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from isa.geometry import HostSpace, floorplan
from isa.host import (CHIP_ID, ECC_COUNTER_BITS, AxiResponse, Control, LinkReg, Reg,
                      XFER_DATA_BASE, XferCommand, link_register, xfer_bits, xfer_words)
from isa.link import STAMP_BITS
from isa.timing import HOST_READ_LATENCY
from .predecode import PREDECODED, predecode
from .interfaces import (ERROR_BITS, HOST_INDEX_BITS, HOST_SPACE_BITS, AxiLiteSignature,
                         XferSignature)
from .parameters import check_config

__all__ = ["HostInterface", "TransferRequestSignature"]


class TransferRequestSignature(wiring.Signature):
    """One internal transfer request per cycle (host interface side).

    ``predecoded`` holds the :func:`~hdl.predecode.predecode` bits of ``wdata``'s low
    instruction word, worked out before the word was registered, for an instruction memory's
    write (the queues store them beside the word; other memories ignore them). ``target``
    is the memory addressed, one bit per MEM slice then per instruction queue (in
    :class:`~isa.geometry.Floorplan` order), none if ``space``, ``index`` or ``addr`` is out
    of range; it too was worked out before the request was registered, so that a transfer's
    write enables need no comparison.
    """

    def __init__(self, config):
        check_config("TransferRequestSignature", config)
        plan = floorplan(config)
        super().__init__({
            "target": Out(len(plan.mem_units) + len(plan.queues)),
            "valid": Out(1),
            "write": Out(1),
            "space": Out(HOST_SPACE_BITS),
            "index": Out(HOST_INDEX_BITS),
            "addr":  Out(16),
            "wdata": Out(xfer_bits(config)),
            "predecoded": Out(PREDECODED),
            "rdata": In(xfer_bits(config)),   #: read data, HOST_READ_LATENCY - 1 cycles later
        })


class HostInterface(wiring.Component):
    """AXI4-Lite subordinate and transfer port.

    Parameters
    ----------
    config : ChipConfig

    Members
    -------
    axi : Out(AxiLiteSignature)
    xfer : Out(XferSignature)
        The fast port; it has priority over register-initiated transfers.
    request : Out(TransferRequestSignature)
        Transfers towards the chip's memories.
    start, clear : Out(1)
        One-cycle pulses from the CONTROL register (registered).
    running, done : In(1)
    cycles : In(64)
    errors : In(ERROR_BITS)
    error_queue : In(16)
    error_cycle : In(32)
    ecc_corrected, ecc_uncorrectable : In(ECC_COUNTER_BITS)
    ecc_slice : In(16)
    ecc_address : In(32)
    ecc_cycle : In(32)
        The ECC registers (:class:`~isa.host.EccReport`).
    start_at : Out(1)
        A one-cycle pulse: CONTROL.START_AT was written (registered).
    start_count : Out(16)
        The START_COUNT register.
    epoch_count : In(16)
        The chip's epoch counter (EPOCH_COUNT).
    links : In(32).array(link ports x len(LinkReg))
        With link ports only: the words of each port's register block, in
        :class:`~isa.host.LinkReg` order.
    """

    def __init__(self, config):
        self.config = check_config("HostInterface", config)
        super().__init__({
            "axi":         Out(AxiLiteSignature()),
            "xfer":        Out(XferSignature(config)),
            "request":     Out(TransferRequestSignature(config)),
            "start":       Out(1),
            "clear":       Out(1),
            "running":     In(1),
            "done":        In(1),
            "cycles":      In(64),
            "errors":      In(ERROR_BITS),
            "error_queue": In(16),
            "error_cycle": In(32),
            "ecc_corrected":     In(ECC_COUNTER_BITS),
            "ecc_uncorrectable": In(ECC_COUNTER_BITS),
            "ecc_slice":         In(16),
            "ecc_address":       In(32),
            "ecc_cycle":         In(32),
            "start_at":          Out(1),
            "start_count":       Out(STAMP_BITS),
            "epoch_count":       In(STAMP_BITS),
            **({"links": In(32).array(len(floorplan(config).link_units) * len(LinkReg))}
               if config.links else {}),
        })

    def _target(self, space, index, addr):
        """The one-hot ``target`` of a transfer to ``space``, ``index``, ``addr`` (see
        :class:`TransferRequestSignature`)."""
        cfg = self.config
        plan = floorplan(cfg)
        srams = [(space == HostSpace.SRAM) & (index == i) & (addr < cfg.words)
                 for i in range(len(plan.mem_units))]
        queues = [(space == HostSpace.IMEM) & (index == i) & (addr < cfg.queue_depth)
                  for i in range(len(plan.queues))]
        return Cat(*srams, *queues)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        axi = self.axi
        words = xfer_words(cfg)

        xfer_space = Signal(HOST_SPACE_BITS)
        xfer_index = Signal(HOST_INDEX_BITS)
        xfer_addr = Signal(16)
        xfer_data = [Signal(32, name=f"xfer_data_{i}") for i in range(words)]
        command = Signal(2)           # a register transfer waiting for the request bus
        pending = Signal()            # a register transfer not yet complete

        # The port accepts a request only once it can answer it: while the core is held in
        # reset (the synchroniser's stages after `rst` falls) its registers cannot change, so
        # a handshake then would never get its response. `awake` leaves reset at 0 and rises
        # in the first cycle the core runs.
        awake = Signal()
        m.d.sync += awake.eq(1)

        # --- Read channel: one outstanding read; data registered from the address. ---
        registers = {
            Reg.ID: CHIP_ID,
            Reg.STATUS: Cat(self.running, self.done, self.errors != 0),
            Reg.CYCLES_LO: self.cycles[:32],
            Reg.CYCLES_HI: self.cycles[32:],
            Reg.ERRORS: self.errors,
            Reg.ERROR_QUEUE: self.error_queue,
            Reg.ERROR_CYCLE: self.error_cycle,
            Reg.LANES: cfg.lanes,
            Reg.STREAMS: cfg.streams,
            Reg.MEM_SLICES: cfg.mem_slices,
            Reg.WORDS: cfg.words,
            Reg.QUEUES: len(floorplan(cfg).queues),
            Reg.QUEUE_DEPTH: cfg.queue_depth,
            Reg.VXM_ALUS: cfg.vxm_alus,
            Reg.MXMS: cfg.mxms,
            Reg.XFER_SPACE: xfer_space,
            Reg.XFER_INDEX: xfer_index,
            Reg.XFER_ADDR: xfer_addr,
            Reg.XFER_CMD: pending,
            Reg.ECC_CORRECTED: self.ecc_corrected,
            Reg.ECC_UNCORRECTABLE: self.ecc_uncorrectable,
            Reg.ECC_SLICE: self.ecc_slice,
            Reg.ECC_ADDRESS: self.ecc_address,
            Reg.ECC_CYCLE: self.ecc_cycle,
            Reg.START_COUNT: self.start_count,
            Reg.EPOCH_COUNT: self.epoch_count,
            Reg.LINKS: cfg.links,
        }
        for port in range(len(floorplan(cfg).link_units)):
            for i, register in enumerate(LinkReg):
                registers[link_register(port, register)] = self.links[port * len(LinkReg) + i]
        for i, word in enumerate(xfer_data):
            registers[XFER_DATA_BASE + 4 * i] = word

        with m.If(axi.rvalid & axi.rready):
            m.d.sync += axi.rvalid.eq(0)
        m.d.comb += axi.arready.eq(awake & ~axi.rvalid)
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += [axi.rvalid.eq(1), axi.rresp.eq(AxiResponse.SLVERR), axi.rdata.eq(0)]
            with m.Switch(axi.araddr):
                for address, value in registers.items():
                    with m.Case(int(address)):
                        m.d.sync += [axi.rdata.eq(value), axi.rresp.eq(AxiResponse.OKAY)]

        # --- Write channel: address and data accepted together. ---
        take_write = Signal()
        m.d.comb += [
            take_write.eq(awake & axi.awvalid & axi.wvalid & ~axi.bvalid),
            axi.awready.eq(take_write),
            axi.wready.eq(take_write),
        ]
        with m.If(axi.bvalid & axi.bready):
            m.d.sync += axi.bvalid.eq(0)
        m.d.sync += [self.start.eq(0), self.clear.eq(0), self.start_at.eq(0)]
        # Byte strobes: a register keeps the bytes a write does not strobe.
        strobe = Cat(*(axi.wstrb[b].replicate(8) for b in range(4)))

        def write(register):
            m.d.sync += register.eq((register & ~strobe[:len(register)]) |
                                    (axi.wdata & strobe)[:len(register)])

        data = axi.wdata & strobe
        with m.If(take_write):
            m.d.sync += [axi.bvalid.eq(1), axi.bresp.eq(AxiResponse.OKAY)]
            with m.Switch(axi.awaddr):
                with m.Case(int(Reg.CONTROL)):
                    m.d.sync += [self.start.eq((data & Control.START) != 0),
                                 self.clear.eq((data & Control.CLEAR) != 0),
                                 self.start_at.eq((data & Control.START_AT) != 0)]
                with m.Case(int(Reg.START_COUNT)):
                    write(self.start_count)
                with m.Case(int(Reg.XFER_SPACE)):
                    write(xfer_space)
                with m.Case(int(Reg.XFER_INDEX)):
                    write(xfer_index)
                with m.Case(int(Reg.XFER_ADDR)):
                    write(xfer_addr)
                with m.Case(int(Reg.XFER_CMD)):
                    with m.If(~pending & ((data == int(XferCommand.WRITE)) |
                                          (data == int(XferCommand.READ)))):
                        m.d.sync += [command.eq(data), pending.eq(1)]
                for i, word in enumerate(xfer_data):
                    with m.Case(XFER_DATA_BASE + 4 * i):
                        write(word)
                with m.Default():
                    m.d.sync += axi.bresp.eq(AxiResponse.SLVERR)

        # --- Transfer requests: the fast port first, then a waiting register command. ---
        request = self.request
        fast = {name: Signal.like(getattr(self.xfer, name), name=f"fast_{name}")
                for name in ("valid", "write", "space", "index", "addr", "wdata")}
        m.d.sync += [register.eq(getattr(self.xfer, name)) for name, register in fast.items()]
        # The predecoded bits and the target of both requests are registered too: from the
        # fast port's input, and from the transfer registers every cycle (a register write
        # changes them at least two cycles before the XFER_CMD write whose command sends them
        # is accepted).
        fast_predecoded = Signal(PREDECODED)
        register_predecoded = Signal(PREDECODED)
        fast_target = Signal.like(self.request.target, name="fast_target")
        register_target = Signal.like(self.request.target, name="register_target")
        m.d.sync += [
            fast_predecoded.eq(predecode(m, self.xfer.wdata, name="fast_word_predecoded")),
            register_predecoded.eq(predecode(m, Cat(*xfer_data), name="register_word_predecoded")),
            fast_target.eq(self._target(self.xfer.space, self.xfer.index, self.xfer.addr)),
            register_target.eq(self._target(xfer_space, xfer_index, xfer_addr)),
        ]
        from_registers = Signal()
        with m.If(fast["valid"]):
            m.d.comb += [
                request.valid.eq(1),
                request.write.eq(fast["write"]),
                request.space.eq(fast["space"]),
                request.index.eq(fast["index"]),
                request.addr.eq(fast["addr"]),
                request.wdata.eq(fast["wdata"]),
                request.predecoded.eq(fast_predecoded),
                request.target.eq(fast_target),
            ]
        with m.Elif(command != 0):
            m.d.comb += [
                from_registers.eq(1),
                request.valid.eq(1),
                request.write.eq(command == int(XferCommand.WRITE)),
                request.space.eq(xfer_space),
                request.index.eq(xfer_index),
                request.addr.eq(xfer_addr),
                request.wdata.eq(Cat(*xfer_data)),
                request.predecoded.eq(register_predecoded),
                request.target.eq(register_target),
            ]
            m.d.sync += command.eq(0)

        # Read data returns HOST_READ_LATENCY - 1 cycles after the internal request (one more for a
        # fast-port request, which was registered first), to whoever asked.
        depth = HOST_READ_LATENCY - 1
        fast_reads = Signal(depth)
        register_reads = Signal(depth)
        register_writes = Signal(depth)
        is_read = request.valid & ~request.write
        m.d.sync += [
            fast_reads.eq(Cat(is_read & ~from_registers, fast_reads)),
            register_reads.eq(Cat(is_read & from_registers, register_reads)),
            register_writes.eq(Cat(request.valid & request.write & from_registers,
                                   register_writes)),
        ]
        last = depth - 1
        m.d.comb += [self.xfer.rvalid.eq(fast_reads[last]), self.xfer.rdata.eq(request.rdata)]
        with m.If(register_reads[last]):
            m.d.sync += [word.eq(request.rdata[32 * i:32 * i + 32])
                         for i, word in enumerate(xfer_data)]
            m.d.sync += pending.eq(0)
        with m.If(register_writes[last]):
            m.d.sync += pending.eq(0)
        return m
