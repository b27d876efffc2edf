"""The chip top: every unit of the floorplan on one stream fabric, their instruction queues,
run control, error collection and the host interface.

Run control: a START (when idle) clears the fabric and the units' state and starts every
queue; the program's cycle 0 is the next cycle. The run ends in the cycle in which the last
queue halts; the cycle counter then holds that cycle's number, the program length defined in
:mod:`isa.timing`.

Errors: each cycle, every queue may raise :class:`~isa.host.ErrorFlag` bits (from its control
instruction or its unit instruction). They accumulate in the sticky ERRORS register; the first
one also records its queue number (the lowest, when several queues err in one cycle) and cycle.
A host transfer refused (while running, or in the cycle a program starts: a START_AT start can
race one) or out of range records queue :data:`~isa.host.HOST_QUEUE`. The error and ECC
registers are kept one cycle behind the events (each cycle's flags, ECC events, cycle number,
START and CLEAR are registered first, so that no path runs from a queue's instruction memory
across the chip into them); DONE rises one cycle after RUNNING falls, when they hold the run's
last cycle.

Links: each link port (:mod:`hdl.link_port`) drives a :class:`~hdl.link.link.SerialLink`
whose line words are the chip's ``links[k]`` ports. Every link and the chip's epoch counter
restart from the ``epoch`` input (registered at the boundary).
START_AT arms the chip to start in the cycle after the epoch counter equals START_COUNT, so
chips sharing an epoch start together. START and CLEAR zero the links' counters and sticky
errors.

ECC: every word read from a MEM slice, by a program or by the host, is decoded
(:mod:`hdl.mem`). The chip counts the words with a corrected error and those with an
uncorrectable one (saturating :data:`~isa.host.ECC_COUNTER_BITS`-bit counters), records the
SRAM index, address and cycle of the first uncorrectable word, and raises
:attr:`~isa.host.ErrorFlag.ECC_UNCORRECTABLE` on the slice's read queue (or the host's). A
program's word counts in the cycle it leaves the slice, unless the run ends in that cycle (as in
the golden simulator, whose last cycle does nothing but halt). START and CLEAR clear them.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out, connect

from isa.formats import WORD_BITS
from isa.geometry import HostSpace, QueueKind, UnitKind, floorplan
from isa.host import (ECC_COUNTER_BITS, HOST_QUEUE, LINK_LOCKED_SHIFT, ErrorFlag, LinkReg,
                      LinkStatus)
from isa.link import LINK_COUNTERS, STAMP_BITS
from isa.timing import link_config
from .cells import CellLibrary, place
from .fabric import stream_row
from .host import HostInterface
from .icu import InstructionControl
from .interfaces import ERROR_BITS, AxiLiteSignature, LinkLinesSignature, XferSignature
from .link.link import SerialLink
from .link_port import LinkPort
from .mem import MemorySlice
from .mxm import MatrixUnit
from .parameters import check_config
from .sxm import SwitchUnit
from .vxm import VectorUnit

__all__ = ["Chip", "CHIP_MODULE", "RESET_STAGES", "chip_signature"]

#: Module name of the chip top in exported Verilog (``make verilog``).
CHIP_MODULE = "lpu_chip"

#: The core leaves reset this many cycles after ``rst`` falls (reset synchroniser depth).
RESET_STAGES = 2


def chip_signature(config):
    """The ports of a chip of ``config`` (:class:`Chip`'s members)."""
    return wiring.Signature({
        "axi":     Out(AxiLiteSignature()),
        "xfer":    Out(XferSignature(config)),
        "clk":     In(1),
        "rst":     In(1),
        "running": Out(1),
        "done":    Out(1),
        "epoch":   In(1),
        **({"links": Out(LinkLinesSignature(link_config(config))).array(
            len(floorplan(config).link_units))} if config.links else {}),
    })


class Chip(wiring.Component):
    """One chip of configuration ``config``.

    Parameters
    ----------
    config : ChipConfig
    library : CellLibrary or None
        For Verilog export: place repeated units as shared cells and build memories from the
        ``lpu_sram`` module (see :mod:`hdl.cells`, :mod:`hdl.sram`). ``None`` (the default)
        builds one Amaranth design for Amaranth's own simulator.

    Members
    -------
    axi : Out(AxiLiteSignature)
        Register access (map: :mod:`isa.host`).
    xfer : Out(XferSignature)
        Fast load/unload port.
    clk : In(1)
        The clock.
    rst : In(1)
        Reset, synchronised inside the chip: the core leaves reset :data:`RESET_STAGES` cycles
        after it falls.
    running : Out(1)
        A program runs.
    done : Out(1)
        The last program ran to its end (cleared by START and CLEAR).
    epoch : In(1)
        A pulse shared by chips that run together: the epoch counter and every link count
        from it (:mod:`hdl.link.link`).
    links : Out(LinkLinesSignature).array(2 x links)
        With link ports only: the line words of each link, in
        :attr:`~isa.geometry.Floorplan.link_units` order.
    """

    def __init__(self, config, *, library=None):
        self.config = check_config("Chip", config)
        if library is not None and not isinstance(library, CellLibrary):
            raise TypeError(f"Chip library must be a CellLibrary or None, not {library!r}")
        self.library = library
        super().__init__(chip_signature(config))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        plan = floorplan(cfg)
        library = self.library
        # A synchronised reset: no logic of the core depends combinationally on a chip input
        # (which is also what keeps Verilator from re-evaluating it at every input change).
        m.domains.sync = sync = ClockDomain("sync")
        m.d.comb += sync.clk.eq(self.clk)
        m.submodules.reset_sync = ResetSynchronizer(self.rst, domain="sync", stages=RESET_STAGES)
        blackbox = library is not None
        m.submodules.host = host = HostInterface(cfg)
        request = host.request

        # Host transfers reach every memory through shared address and data buses; the queues
        # store each instruction with its predecoded bits, worked out by the host interface.
        host_bus = {"host__addr": request.addr, "host__wdata": request.wdata}
        queue_bus = {"host__addr": request.addr,
                     "host__wdata": Cat(request.wdata[:WORD_BITS], request.predecoded)}

        # Per unit kind: the shared-cell module and the component.
        cells = {
            UnitKind.MEM: ("lpu_mem_slice", lambda: MemorySlice(cfg, blackbox=blackbox)),
            UnitKind.VXM: ("lpu_vxm", lambda: VectorUnit(cfg, library=library)),
            UnitKind.MXM: ("lpu_mxm", lambda: MatrixUnit(cfg, blackbox=blackbox)),
            UnitKind.SXM: ("lpu_sxm", lambda: SwitchUnit(cfg)),
        }

        def cell(unit):
            if unit.kind is UnitKind.LINK:
                return (f"lpu_link_port_{unit.hemisphere.value}",
                        lambda: LinkPort(cfg, unit.hemisphere))
            return cells[unit.kind]

        positions, _, _ = stream_row(m, cfg, library, [(u.name, *cell(u)) for u in plan.units],
                                     bind={u.name: host_bus for u in plan.mem_units})
        vxm = positions[plan.vxm_unit.position]
        mems = [positions[unit.position] for unit in plan.mem_units]
        mxms = {unit: positions[unit.position] for unit in plan.mxm_units}
        sxms = {unit: positions[unit.position] for unit in plan.sxm_units}
        ports = {unit: positions[unit.position] for unit in plan.link_units}
        # The run's last cycle (every queue halting) does nothing, not even drop a delivery.
        all_halting = Signal()

        # ECC events of each slice this cycle: a program's word leaving, or the host's word
        # returning (see "Host transfers" below).
        program_read = [Signal(name=f"ecc_program_read_{i}") for i in range(len(mems))]
        host_read = [Signal(name=f"ecc_host_read_{i}") for i in range(len(mems))]
        ecc_corrected = [Signal(name=f"ecc_corrected_{i}") for i in range(len(mems))]
        ecc_uncorrectable = [Signal(name=f"ecc_uncorrectable_{i}") for i in range(len(mems))]
        for i, mem in enumerate(mems):
            read = program_read[i] | host_read[i]
            m.d.comb += [ecc_corrected[i].eq(read & mem.corrected),
                         ecc_uncorrectable[i].eq(read & mem.uncorrectable)]

        queues = []
        unit_errors = []
        for queue in plan.queues:
            icu = place(m, f"q{queue.number}_{queue.name.replace('.', '_')}", library, "lpu_icu",
                        lambda: InstructionControl(cfg.queue_depth, blackbox=blackbox),
                        bind=queue_bus)
            queues.append(icu)
            if queue.kind in (QueueKind.MEM_READ, QueueKind.MEM_WRITE):
                mem = mems[plan.sram_index(queue.unit)]
                port = "read" if queue.kind is QueueKind.MEM_READ else "write"
                connect(m, icu.issue, getattr(mem, port))
                error = getattr(mem, f"{port}_error")
                if queue.kind is QueueKind.MEM_READ:
                    uncorrectable = program_read[plan.sram_index(queue.unit)] & \
                        ecc_uncorrectable[plan.sram_index(queue.unit)]
                    error = error | Mux(uncorrectable, ErrorFlag.ECC_UNCORRECTABLE, 0)
                unit_errors.append(error)
            elif queue.kind is QueueKind.VXM_ALU:
                connect(m, icu.issue, vxm.issue[queue.index])
                unit_errors.append(vxm.error[queue.index])
            elif queue.kind in (QueueKind.MXM_LOAD, QueueKind.MXM_COMPUTE):
                port = "load" if queue.kind is QueueKind.MXM_LOAD else "compute"
                connect(m, icu.issue, getattr(mxms[queue.unit], port))
                unit_errors.append(getattr(mxms[queue.unit], f"{port}_error"))
            elif queue.kind is QueueKind.LINK:
                connect(m, icu.issue, ports[queue.unit].issue)
                unit_errors.append(Mux(all_halting, 0, ports[queue.unit].error))
            else:
                connect(m, icu.issue, sxms[queue.unit].issue)
                unit_errors.append(sxms[queue.unit].error)

        # --- Run control. ---
        running = Signal()
        done = Signal()
        cycle = Signal(64)
        start = Signal()
        notify = Signal()
        # The epoch counter, and START_AT: armed until the count equals START_COUNT.
        epoch = Signal()
        epoch_count = Signal(STAMP_BITS)
        armed = Signal()
        m.d.sync += epoch.eq(self.epoch)
        # `start` (the start cycle) is decided one cycle ahead and registered: it reaches every
        # queue, every stream position's clear and the transfers' write enables from a
        # register. A START_AT start is still the cycle in which the epoch counter equals
        # START_COUNT (compared with the counter's and the arming's next values, and with
        # START_COUNT as it is a cycle before); a START pulse starts the program in the next
        # cycle (not while it runs, nor in a start cycle, where it merges with that start).
        count_next = Signal(STAMP_BITS)
        armed_next = Signal()
        start_next = Signal()
        m.d.comb += [
            count_next.eq(Mux(epoch, 0, epoch_count + 1)),
            armed_next.eq(~(start | host.clear) & (armed | (host.start_at & ~running))),
            start_next.eq((host.start & ~running & ~start) |
                          (armed_next & (count_next == host.start_count))),
        ]
        m.d.sync += [epoch_count.eq(count_next), armed.eq(armed_next), start.eq(start_next)]
        m.d.comb += [
            self.running.eq(running),
            self.done.eq(done),
        ]
        m.d.comb += all_halting.eq(Cat(q.halting for q in queues).all())
        # The queues register their NOTIFYs, and each decides the next cycle's SYNC with them.
        m.d.comb += notify.eq(Cat(q.notify_out for q in queues).any())
        for icu in queues:
            m.d.comb += [icu.start.eq(start), icu.notify_in.eq(notify)]
        m.d.comb += [position.clear.eq(start) for position in positions]
        for i, mem in enumerate(mems):
            m.d.comb += [mem.running.eq(running),
                         program_read[i].eq(mem.leaving & running & ~all_halting)]

        # `ending`: the previous cycle was the run's last. DONE waits for it, so that the error
        # and ECC registers (one cycle behind the events, below) hold the last cycle's.
        ending = Signal()
        m.d.sync += ending.eq(running & all_halting)
        with m.If(running):
            with m.If(all_halting):
                m.d.sync += running.eq(0)
            with m.Else():
                m.d.sync += cycle.eq(cycle + 1)
        with m.If(ending):
            m.d.sync += done.eq(1)

        # --- This cycle's events, registered: the error and ECC registers below see them one
        # cycle later, as they would have seen them in this cycle (each comes with its cycle
        # number, and START and CLEAR with them), and no path leads from the queues' decode and
        # the units' checks across the chip into those registers in one cycle.
        def registered(signal, name):
            delayed = Signal.like(signal, name=f"{name}_registered")
            m.d.sync += delayed.eq(signal)
            return delayed

        event_cycle = registered(cycle[:32], "cycle")
        restart = registered(start, "start")
        cleared = registered(host.clear & ~running, "clear")

        # --- Errors. ---
        errors = Signal(ERROR_BITS)
        error_queue = Signal(16)
        error_cycle = Signal(32)
        raised = []
        for number, (icu, unit_error) in enumerate(zip(queues, unit_errors)):
            flags = Signal(ERROR_BITS, name=f"q{number}_errors")
            m.d.comb += flags.eq(Mux(running, icu.error | unit_error, 0))
            raised.append(registered(flags, flags.name))

        host_error = Signal(ERROR_BITS)
        new_errors = Signal(ERROR_BITS)
        any_new = Signal()
        accumulated = registered(host_error, "host_error")
        for flags in raised:
            accumulated = accumulated | flags
        m.d.comb += [new_errors.eq(accumulated), any_new.eq(new_errors != 0)]
        m.d.sync += errors.eq(errors | new_errors)
        with m.If(any_new & (errors == 0)):
            m.d.sync += error_cycle.eq(event_cycle)
            first = Const(HOST_QUEUE, 16)
            for number in reversed(range(len(raised))):
                first = Mux(raised[number] != 0, number, first)
            m.d.sync += error_queue.eq(first)

        # --- ECC counters and the first uncorrectable word. ---
        saturated = (1 << ECC_COUNTER_BITS) - 1
        corrected_count = Signal(ECC_COUNTER_BITS)
        uncorrectable_count = Signal(ECC_COUNTER_BITS)
        first_slice = Signal(16)
        first_address = Signal(len(mems[0].address))
        first_cycle = Signal(32)
        corrected_now = Signal(range(len(mems) + 1))
        uncorrectable_now = Signal(range(len(mems) + 1))
        corrected = [registered(flag, flag.name) for flag in ecc_corrected]
        uncorrectable = [registered(flag, flag.name) for flag in ecc_uncorrectable]
        addresses = [registered(mem.address, f"mem{i}_address") for i, mem in enumerate(mems)]
        m.d.comb += [corrected_now.eq(sum(corrected)),
                     uncorrectable_now.eq(sum(uncorrectable))]

        def add_saturating(counter, count):
            total = Signal(ECC_COUNTER_BITS + 1, name=f"{counter.name}_next")
            m.d.comb += total.eq(counter + count)
            m.d.sync += counter.eq(Mux(total > saturated, saturated, total))

        add_saturating(corrected_count, corrected_now)
        add_saturating(uncorrectable_count, uncorrectable_now)
        with m.If((uncorrectable_count == 0) & (uncorrectable_now != 0)):
            # The lowest slice of the cycle (the golden simulator counts in slice order).
            for i in reversed(range(len(mems))):
                with m.If(uncorrectable[i]):
                    m.d.sync += [first_slice.eq(i), first_address.eq(addresses[i])]
            m.d.sync += first_cycle.eq(event_cycle)

        with m.If(restart | cleared):
            m.d.sync += [corrected_count.eq(0), uncorrectable_count.eq(0), first_slice.eq(0),
                         first_address.eq(0), first_cycle.eq(0)]
        with m.If(restart):
            # The previous run's errors go; a transfer refused in the start's cycle is flagged.
            m.d.sync += [errors.eq(new_errors), error_queue.eq(Mux(any_new, HOST_QUEUE, 0)),
                         error_cycle.eq(0)]
        with m.Elif(cleared):
            m.d.sync += [errors.eq(0), error_queue.eq(0), error_cycle.eq(0)]
        with m.If(start):
            m.d.sync += [running.eq(1), done.eq(0), cycle.eq(0)]
        with m.Elif(host.clear & ~running):
            m.d.sync += done.eq(0)

        # --- Host transfers. ---
        # The host interface decodes each request's memory before registering it.
        in_range = Signal()
        m.d.comb += in_range.eq(request.target.any())
        accepted = Signal()
        m.d.comb += accepted.eq(request.valid & ~running & ~start & in_range)
        host_ecc = Signal()
        m.d.comb += host_ecc.eq(Cat(ecc_uncorrectable[i] & host_read[i]
                                    for i in range(len(mems))).any())
        transfer_error = Signal(ERROR_BITS)
        with m.If(((request.valid | host.start | host.start_at | host.clear) & running) |
                  (request.valid & start)):
            m.d.comb += transfer_error.eq(ErrorFlag.HOST_BUSY)
        with m.Elif(request.valid & ~in_range):
            m.d.comb += transfer_error.eq(ErrorFlag.ADDRESS_RANGE)
        m.d.comb += host_error.eq(transfer_error |
                                  Mux(host_ecc, ErrorFlag.ECC_UNCORRECTABLE, 0))

        # A write enable needs no range check beside `accepted`'s: its target bit is set only
        # in range, and leaving out the OR of every target bit keeps it off the enables' path.
        writing = Signal()
        m.d.comb += writing.eq(request.valid & request.write & ~running & ~start)
        for index, memory in enumerate([*mems, *queues]):
            m.d.comb += memory.host.we.eq(writing & request.target[index])

        # Read data: the memories answer one cycle after the request. Each MEM slice's
        # corrected word is registered beside the slice, and the instruction word chosen
        # among the queues is registered, so that neither the SECDED decoder nor the block
        # RAMs' outputs reach across the chip in one cycle; the next cycle selects and
        # registers the answer (isa.timing.HOST_READ_LATENCY).
        read_space = Signal.like(request.space)
        read_index = Signal.like(request.index)
        read_ok = Signal()
        m.d.sync += [read_space.eq(request.space), read_index.eq(request.index),
                     read_ok.eq(accepted & ~request.write)]
        for i in range(len(mems)):
            m.d.comb += host_read[i].eq(read_ok & (read_space == HostSpace.SRAM) &
                                        (read_index == i))
        sram_words = [Signal(len(mem.host.rdata), name=f"host_sram_word_{i}", reset_less=True)
                      for i, mem in enumerate(mems)]
        imem_word = Signal(WORD_BITS, reset_less=True)
        m.d.sync += [word.eq(mem.host.rdata) for word, mem in zip(sram_words, mems)]
        m.d.sync += imem_word.eq(Array(icu.host.rdata[:WORD_BITS] for icu in queues)[read_index])
        answer_space = Signal.like(request.space)
        answer_index = Signal.like(request.index)
        answer_ok = Signal()
        m.d.sync += [answer_space.eq(read_space), answer_index.eq(read_index),
                     answer_ok.eq(read_ok)]
        with m.If(answer_ok):
            m.d.sync += request.rdata.eq(Mux(answer_space == HostSpace.SRAM,
                                             Array(sram_words)[answer_index], imem_word))
        with m.Else():
            m.d.sync += request.rdata.eq(0)

        # --- Links. ---
        clear_links = start | (host.clear & ~running)
        for k, unit in enumerate(plan.link_units):
            port = ports[unit]
            m.submodules[f"{unit.name}_serial"] = serial = SerialLink(link_config(cfg))
            lines = self.links[k]
            m.d.comb += [
                serial.epoch.eq(epoch),
                serial.clear.eq(clear_links),
                serial.send.eq(port.send),
                serial.send_data.eq(port.send_data),
                port.arrival.eq(serial.arrival),
                port.arrival_data.eq(serial.arrival_data),
            ]
            # The line words go straight to and from the link's gearboxes (which register
            # them): a boundary register would take a cycle of the channel's delay budget.
            for lane, (tx, rx) in enumerate(zip(lines.tx, lines.rx)):
                m.d.comb += [tx.eq(serial.tx[lane]), serial.rx[lane].eq(rx)]
            assert [LinkStatus.SYNCED, LinkStatus.ALIGNED, LinkStatus.ERROR] == [1, 2, 4]
            status = (Cat(serial.synced, serial.aligned, serial.error) |
                      (serial.locked << LINK_LOCKED_SHIFT))
            words = [status, serial.error_count_at,
                     *(getattr(serial, name) for name in LINK_COUNTERS)]
            assert len(words) == len(LinkReg)
            m.d.comb += [host.links[k * len(LinkReg) + i].eq(word)
                         for i, word in enumerate(words)]

        connect(m, wiring.flipped(self.axi), host.axi)
        connect(m, wiring.flipped(self.xfer), host.xfer)
        m.d.comb += [
            host.running.eq(running),
            host.done.eq(done),
            host.cycles.eq(cycle),
            host.errors.eq(errors),
            host.error_queue.eq(error_queue),
            host.error_cycle.eq(error_cycle),
            host.ecc_corrected.eq(corrected_count),
            host.ecc_uncorrectable.eq(uncorrectable_count),
            host.ecc_slice.eq(first_slice),
            host.ecc_address.eq(first_address),
            host.ecc_cycle.eq(first_cycle),
            host.epoch_count.eq(epoch_count),
        ]
        return m
