"""A GEMM tile's loads: the bias planes and weight rows a matrix unit loads into its shadow
buffer in the cycles between the MM that installed the previous tile and the MM that installs
this one (:mod:`compiler.gemm`).

- The bias (first K-tile of an N-tile) goes first: its four byte planes in one LB when four
  slices and weight streams are free in a cycle, else over several.
- Weight rows of a matrix a kernel wrote, or a resident one, come from the slices they lie in;
  an LW loads consecutive rows on consecutive weight streams, so a slice busy in a cycle (an
  MM's activation read) cuts a run short. When the loads are short of cycles, the run that
  leaves the fewest cycles of loads is taken, not the one from the first row left.
- Weight rows the host loads go to whichever slices are free, the emptiest first (the unit's
  own hemisphere before the other), so SRAM fills evenly.

Every function takes the GEMM's scheduler (``gemm``) and reserves on its calendar; the caller
rolls back when a tile does not fit.
"""

from isa.formats import encode
from isa.geometry import QueueKind
from isa.opcodes import MatrixLoadOp
from .access import Read

__all__ = ["place_tile_loads"]


def place_tile_loads(gemm, unit, i, j, window_start, t, planned):
    """Reserve the loads of tile (``i``, ``j``) on matrix unit ``unit`` in cycles
    ``window_start .. t - 1`` (``t``: the MM that installs it), appending their READs to
    ``planned``; returns whether they all fit."""
    calendar = gemm.calendar
    loads = list(range(4)) if i == unit.k_order[0] and gemm.has_bias else []
    rows_left = list(range(gemm.lanes))
    cycle = window_start
    while (loads or rows_left) and cycle < t:
        if calendar.queue_free(unit.load, cycle):
            if loads:
                count = _bias_planes(gemm, unit, j, loads, cycle, planned)
                op, row = MatrixLoadOp.LB, loads[0]
                loads = loads[count:]
            else:
                external = gemm.b_external is not None
                first = _best_run(gemm, unit, i, j, rows_left, cycle, t - cycle) \
                    if external else 0
                count = (_tensor_rows if external else _host_rows)(
                    gemm, unit, i, j, rows_left[first:], cycle, planned)
                op, row = MatrixLoadOp.LW, rows_left[first]
                rows_left = rows_left[:first] + rows_left[first + count:]
            if count:
                calendar.issue(unit.load, cycle, encode(
                    QueueKind.MXM_LOAD, op, row=row, stream=unit.weight_streams[0],
                    count=count, dir=unit.inward))
        cycle += 1
    return not (loads or rows_left)


def _host_rows(gemm, unit, i, j, rows_left, cycle, planned):
    """Reserve the READs of the next weight rows of tile (``i``, ``j``) of a matrix the host
    loads: as many rows as free slices, on consecutive weight streams, the emptiest slices
    first (the unit's own hemisphere before the other), so SRAM fills evenly; returns how
    many."""
    count = 0
    for slice_index in gemm.by_fill(unit):
        if count == min(len(rows_left), len(unit.weight_streams)):
            break
        stream = unit.weight_streams[count]
        read = gemm.read_into(slice_index, cycle, unit.position, unit.inward, stream)
        if read is not None:
            gemm.claimed[slice_index] = gemm.claimed.get(slice_index, 0) + 1
            row = i * gemm.lanes + rows_left[count]
            planned.append(Read(gemm.b, row * gemm.nt + j, 0, read, slice_index, stream,
                                unit.inward))
            count += 1
    return count


def _bias_planes(gemm, unit, j, planes, cycle, planned):
    """Reserve the READs of N-tile ``j``'s next bias byte planes (``planes``, in order),
    one per weight stream and each from a slice of its own, as many as are free in
    ``cycle`` (one LB loads them all); returns how many."""
    bias = gemm.columns["bias"]
    count, used = 0, set()
    while count < min(len(planes), len(unit.weight_streams)):
        plane, stream = planes[count], unit.weight_streams[count]
        slices = ([bias.location(j, plane)[0]] if id(bias) in gemm.placed
                  else unit.slices)
        read = None
        for slice_index in slices:
            if slice_index not in used:
                read = gemm.read_into(slice_index, cycle, unit.position, unit.inward,
                                      stream)
                if read is not None:
                    break
        if read is None:
            break
        used.add(slice_index)
        planned.append(Read(bias, j, plane, read, slice_index, stream, unit.inward))
        count += 1
    return count


def _best_run(gemm, unit, i, j, rows_left, cycle, cycles_left):
    """The index in ``rows_left`` of the first row of the weight rows of tile (``i``,
    ``j``) to load in ``cycle``, ``cycles_left`` cycles before the tile's first MM: the
    rows an LW loads are consecutive, each from the slice it lies in, so a slice busy in
    this cycle (an activation read) cuts a run short. From the first row left, unless
    the loads are short of cycles and a run from elsewhere leaves fewer cycles of loads
    (each run of rows left takes at least ``ceil(length / rows per cycle)`` cycles), then
    the longest. Reserves nothing."""
    lanes, b = gemm.lanes, gemm.b_external
    width = min(len(unit.weight_streams), len(unit.own))
    if (i + 1) * lanes > b.rows:
        return 0                    # zero rows pad this K-tile: from the first, as ever
    free = {}

    def run_from(index):
        """How many rows from ``rows_left[index]`` on could load together."""
        count = 0
        while (count < width and index + count < len(rows_left) and
               rows_left[index + count] == rows_left[index] + count):
            slice_index = b.location((i * lanes + rows_left[index + count]) * gemm.nt + j,
                                     0)[0]
            key = (slice_index, count)
            if key not in free:
                free[key] = gemm.calendar.plan_read(
                    slice_index, unit.position, cycle, unit.inward,
                    unit.weight_streams[count]) is not None
            if not free[key]:
                break
            count += 1
        return count

    def pieces(rows):
        """Cycles the runs of ``rows`` take at least."""
        total, length = 0, 0
        for k, row in enumerate(rows):
            if k and row != rows[k - 1] + 1:
                total += -(-length // width)
                length = 0
            length += 1
        return total + -(-length // width)

    if cycles_left > pieces(rows_left) + 1:
        return 0                    # time to spare: the search would not change much
    fragment = next((k for k in range(1, len(rows_left))
                     if rows_left[k] != rows_left[k - 1] + 1), len(rows_left))
    if run_from(0) == min(width, fragment):
        return 0
    best, best_key = 0, None
    for index in range(len(rows_left)):
        count = run_from(index)
        if not count:
            continue
        key = (pieces(rows_left[:index] + rows_left[index + count:]), -count, index)
        if best_key is None or key < best_key:
            best, best_key = index, key
    return best


def _tensor_rows(gemm, unit, i, j, rows_left, cycle, planned):
    """Reserve the READs of the next weight rows of tile (``i``, ``j``) from B, a tensor
    an earlier kernel wrote: consecutive rows from ``rows_left[0]``, each from the slice
    it lies in (the zero rows padding the last K-tile from the emptiest free ones), as
    many as are free in ``cycle``; returns how many."""
    lanes, b = gemm.lanes, gemm.b_external
    count, used = 0, set()
    while (count < min(len(rows_left), len(unit.weight_streams)) and
           rows_left[count] == rows_left[0] + count):
        row = i * lanes + rows_left[count]
        stream = unit.weight_streams[count]
        if row < b.rows:
            tensor, vector = b, row * gemm.nt + j
            slices = [b.location(vector, 0)[0]]
        else:
            tensor, vector = gemm.b, (row - b.rows) * gemm.nt + j
            slices = gemm.by_fill(unit)
        read = None
        for slice_index in slices:
            if slice_index in used:
                continue
            read = gemm.read_into(slice_index, cycle, unit.position, unit.inward, stream,
                                  tensor.written.get((vector, 0)))
            if read is not None:
                break
        if read is None:
            break
        used.add(slice_index)
        planned.append(Read(tensor, vector, 0, read, slice_index, stream, unit.inward))
        count += 1
    return count
