"""A tensor sent from one chip to another over a link, placed on both chips' schedules.

Every word (one plane of one vector) crosses as one frame. On the sending chip a READ brings it
to the link port, on the stream flowing towards the port's edge, in the cycle the port issues
its SEND; on the receiving chip the port issues a RECEIVE exactly
:func:`~isa.timing.link_latency` cycles later and a MEM slice WRITEs the word where the stream
brings it. The two ends are one transaction: a word goes in the first cycle from ``start`` on in
which the sender's word is written, its read port, stream and link port are free, the port's
previous SEND is at least :func:`~isa.timing.link_send_interval` cycles back, and the
receiver's port, a stream and a write port are free at the matching cycles. So a transfer
overlaps whatever both chips run, and starts on each word as soon as the kernel producing it
has written it.
"""

from isa.formats import encode
from isa.geometry import QueueKind, UnitKind
from isa.opcodes import LinkOp
from isa.timing import LINK_RECEIVE_LATENCY, MEM_WRITE_TO_READ, link_latency, link_send_interval
from .access import Read, Write, place_read, place_write
from .calendar import Transfer
from .queues import ScheduleError
from .tensors import Tensor

__all__ = ["place_link_transfer", "LinkEnd"]

#: Cycles a word waits for free resources before the transfer gives up.
_ATTEMPTS = 100_000


class LinkEnd:
    """One end of a link on a :class:`~compiler.schedule.Schedule`: its port unit ``port``
    (``"link_e0"``), the port's queue and position, and its last SEND placed."""

    def __init__(self, schedule, port):
        plan = schedule.calendar.plan
        try:
            unit = plan.unit(port)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        if unit.kind is not UnitKind.LINK:
            raise ValueError(f"{port} is a {unit.kind.value} unit, not a link port "
                             f"(configuration {schedule.config.name!r} has "
                             f"{schedule.config.links} link ports per edge)")
        self.schedule = schedule
        self.calendar = schedule.calendar
        self.unit = unit
        self.queue = f"{port}.port"
        self.position = unit.position
        self.outward = unit.hemisphere.away_from_centre
        self.inward = unit.hemisphere.toward_centre


def place_link_transfer(sender, send_ports, receiver, receive_ports, tensor, *, name, start=0,
                        slices=None):
    """Send ``tensor`` (written on schedule ``sender``) through its ports ``send_ports`` to the
    ports ``receive_ports`` of schedule ``receiver`` (one port name each, or lists: port ``i``
    of one joined to port ``i`` of the other; each word takes the link on which it crosses
    first), which writes byte plane ``b`` of every vector into MEM slice ``slices[b]`` (SRAM
    indexes; by default the least-used slices of a hemisphere, one per plane, as a kernel's
    output lies: a reader takes a vector's planes from different slices at once). Returns the
    received :class:`~compiler.tensors.Tensor` ``name`` (of ``tensor``'s type and shape) on
    ``receiver``. The ports must be joined by links when the programs run."""
    send_ports = [send_ports] if isinstance(send_ports, str) else list(send_ports)
    receive_ports = [receive_ports] if isinstance(receive_ports, str) else list(receive_ports)
    if not send_ports or len(send_ports) != len(receive_ports):
        raise ValueError(f"a transfer needs as many receiving ports as sending ones (at least "
                         f"one), not {len(send_ports)} and {len(receive_ports)}")
    links = [(LinkEnd(sender, a), LinkEnd(receiver, b))
             for a, b in zip(send_ports, receive_ports)]
    config = sender.config
    if receiver.config.lanes != config.lanes:
        raise ValueError(f"a link joins chips of {config.lanes} and {receiver.config.lanes} "
                         f"lanes: its frames carry one vector of both")
    received = Tensor(name, tensor.dtype, tensor.shape, config.lanes,
                      stored_rows=tensor.stored_rows)
    slices = receiver.calendar.sram.emptiest_slices(tensor.planes) if slices is None \
        else list(slices)
    if len(set(slices)) != tensor.planes or not all(
            0 <= index < len(receiver.calendar.plan.mem_units) for index in slices):
        raise ValueError(f"a transfer of {tensor.planes}-plane {tensor.name!r} needs "
                         f"{tensor.planes} different MEM slices of the receiver, not {slices}")
    latency = link_latency(config)
    interval = link_send_interval(config)
    last_send = [_last_send(source) for source, _ in links]
    for vector in range(tensor.vectors):
        for plane in range(tensor.planes):
            if not tensor.has(vector, plane):
                continue        # rows past the shape that nothing stored
            # The first cycle each link could take the word.
            first = [max(start, last + interval, _ready(source, tensor, vector, plane))
                     for (source, _), last in zip(links, last_send)]
            earliest = min(first)
            for t in range(earliest, earliest + _ATTEMPTS):
                taken = next((k for k, (source, target) in enumerate(links)
                              if t >= first[k] and _place_word(
                                  source, target, tensor, received, vector, plane, t,
                                  t + latency, slices[plane])), None)
                if taken is not None:
                    last_send[taken] = t
                    break
            else:
                raise ScheduleError(f"no free cycle to send plane {plane} of vector {vector} "
                                    f"of {tensor.name!r} from {', '.join(send_ports)} in "
                                    f"cycles {earliest}..{earliest + _ATTEMPTS - 1}")
    return received


def _last_send(end):
    """The cycle of the last SEND placed on ``end``'s port so far (far in the past if none)."""
    taken = [cycle for cycle, *_ in end.calendar.builders[
        end.calendar.plan.queue(end.queue).number].runs]
    return max(taken, default=-(1 << 30))


def _ready(end, tensor, vector, plane):
    """The first cycle the word can be at ``end``'s port: after its WRITE (if a kernel wrote
    it), and a READ no earlier than cycle 0."""
    slice_index = tensor.location(vector, plane)[0]
    travel = end.calendar.read_travel(slice_index, end.position)
    written = tensor.written.get((vector, plane))
    return travel if written is None else max(travel, written + MEM_WRITE_TO_READ + travel)


def _place_word(source, target, tensor, received, vector, plane, send, receive, into):
    """Place one word's SEND in cycle ``send`` and RECEIVE in ``receive``, with the READ and the
    WRITE (into MEM slice ``into``) around them, if every resource is free; returns whether it
    did."""
    sending, receiving = source.calendar, target.calendar
    if not (sending.queue_free(source.queue, send) and
            receiving.queue_free(target.queue, receive)):
        return False
    slice_index = tensor.location(vector, plane)[0]
    read = None
    for stream in range(sending.config.streams):
        read = sending.plan_read(slice_index, source.position, send, source.outward, stream)
        if read is not None:
            break
    if read is None:
        return False
    unit = receiving.plan.mem_units[into]
    write = None
    for stream in range(receiving.config.streams):
        transfer = Transfer(target.inward, [stream], target.position, unit.position, receive,
                            LINK_RECEIVE_LATENCY)
        if receiving.queue_free(f"{unit.name}.wr", transfer.arrival) and \
                receiving.transfer_free(transfer) and \
                receiving.sram.fits(into, 1, after=transfer.arrival):
            write = (into, stream, transfer)
            break
    if write is None:
        return False

    read_cycle, read_transfer = read
    index, stream, write_transfer = write
    address = receiving.sram.allocate(index, after=write_transfer.arrival)
    sending.reserve(read_transfer)
    sending.hold(f"{sending.plan.mem_units[slice_index].name}.rd", read_cycle)
    place_read(sending, Read(tensor, vector, plane, read_cycle, slice_index,
                             read_transfer.streams[0], source.outward), reuse=True)
    sending.issue(source.queue, send, encode(QueueKind.LINK, LinkOp.SEND,
                                             stream=read_transfer.streams[0]))
    receiving.issue(target.queue, receive, encode(QueueKind.LINK, LinkOp.RECEIVE,
                                                  stream=stream))
    receiving.reserve(write_transfer)
    receiving.hold(f"{receiving.plan.mem_units[index].name}.wr", write_transfer.arrival)
    place_write(receiving, Write(received, vector, plane, write_transfer.arrival, index, stream,
                                 target.inward), address)
    return True
