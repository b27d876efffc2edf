"""The router watch (sim/fpga_router.py) and the whole-chip flow's retries with the next seed
(sim/fpga.py: route_chip), on router2 logs measured on this project's chips; and the tool
runner stopping a tool the watch gives up on (sim/fpga_tools.py: run_tool)."""

import sys

import pytest

from sim import fpga
from sim.fpga_router import RouterWatch
from sim.fpga_tools import FpgaError, RouterStalled, run_tool

# router2's over-used wires per iteration in runs of this project's chips, from their logs.
#: The 8-lane ``fpga`` chip, one row in four reserved, seed 1: diverged (stopped by hand).
DIVERGED_FPGA = [68802, 38472, 23784, 15129, 10291, 7102, 5021, 3550, 2697, 2069, 1707, 1348,
                 1089, 1035, 859, 762, 699, 635, 540, 514, 498, 465, 435, 403, 352, 378, 407,
                 362, 369, 427, 464, 501, 508, 551, 616, 639, 701, 776, 939, 983, 1166, 1281,
                 1478]
#: The chip with the queue fetching ahead: diverged (stopped by hand).
DIVERGED_FETCH_AHEAD = [75887, 44423, 28186, 18358, 12770, 9167, 7170, 5351, 4037, 3285, 2285,
                        1875, 1645, 1383, 1281, 1114, 985, 902, 835, 840, 806, 772, 797, 825,
                        856, 828, 946, 1100, 1196, 1337, 1752, 2351, 3123]
#: The folded ALU placed alone: routed at iteration 94 after 29 iterations at 1 wire.
ROUTED_ALU = [6678, 3875, 2189, 1241, 709, 497, 360, 271, 215, 165, 144, 109, 104, 94, 82, 74,
              76, 68, 61, 62, 57, 53, 53, 45, 44, 45, 44, 41, 42, 36, 34, 32, 28, 27, 26, 23,
              24, 21, 24, 21, 20, 18, 16, 16, 15, 18, 16, 16, 15, 10, 10, 9, 9, 5, 5, 6, 5, 4,
              4, 3, 3, 4, 3, 3, *[1] * 13, 2, *[1] * 15, 0]
#: The ``tiny`` chip: routed at iteration 20.
ROUTED_SMALL = [50840, 28394, 16477, 9241, 4867, 2675, 1317, 574, 283, 152, 72, 32, 12, 7, 5, 3,
                4, 1, 1, 0]


def log_lines(counts):
    return [f"Info:     iter={i} wires={900000 + i} overused={n} overuse={n} archfail=NA\n"
            for i, n in enumerate(counts, 1)]


def watch_run(counts, watch=None):
    """(iteration at which the watch stops the run or None, its reason)."""
    watch = watch or RouterWatch()
    for iteration, line in enumerate(log_lines(counts), 1):
        reason = watch(line)
        if reason:
            return iteration, reason
    return None, None


def test_runs_that_routed_are_not_stopped():
    assert watch_run(ROUTED_ALU) == (None, None)
    assert watch_run(ROUTED_SMALL) == (None, None)


@pytest.mark.parametrize("counts, best, stop", [(DIVERGED_FPGA, 25, 38),
                                                (DIVERGED_FETCH_AHEAD, 22, 31)])
def test_diverging_runs_stop_once_twice_their_best(counts, best, stop):
    iteration, reason = watch_run(counts)
    # The first iteration with more than twice (and 100 more than) the fewest wires.
    fewest = counts[best - 1]
    assert min(counts[:stop]) == fewest
    assert all(n <= 2 * fewest for n in counts[best:stop - 1]) and counts[stop - 1] > 2 * fewest
    assert iteration == stop
    assert reason == (f"router2 diverged: {counts[stop - 1]} wires over-used at iteration "
                      f"{stop}, up from {fewest} at iteration {best}")


def test_a_run_that_stops_improving_is_stopped_after_its_patience():
    counts = [5000, 2000, 900, 400, *[401, 402] * 30]
    iteration, reason = watch_run(counts, RouterWatch(patience=40))
    assert iteration == 4 + 40
    assert reason == ("router2 stalled: no fewer than 400 wires over-used (iteration 4) in the "
                      "40 iterations since")
    # A small absolute rise near zero is the router hovering, not diverging.
    assert watch_run([300, 50, 3, 90, 60, 2, 0]) == (None, None)


def test_other_lines_are_ignored_and_iterations_are_numbered_from_the_log():
    watch = RouterWatch()
    assert watch("Info:     at iteration #3, type ALL: wirelen solved = 1\n") is None
    assert watch("Info:     iter=7 wires=10 overused=300 overuse=300 archfail=NA\n") is None
    reason = watch("Info:     iter=9 wires=10 overused=700 overuse=700 archfail=NA\n")
    assert reason == "router2 diverged: 700 wires over-used at iteration 9, up from 300 at " \
                     "iteration 7"


@pytest.mark.parametrize("name, value", [("growth", 0.5), ("margin", -1), ("patience", 0),
                                         ("patience", True), ("growth", "2")])
def test_bad_watch_parameters_are_refused(name, value):
    with pytest.raises(ValueError, match=f"RouterWatch {name} must be"):
        RouterWatch(**{name: value})


def test_the_runner_stops_a_tool_the_watch_gives_up_on(tmp_path):
    # A stand-in for nextpnr that prints a diverging router's lines, then would run forever.
    script = ("import sys, time\n"
              f"sys.stdout.writelines({log_lines(DIVERGED_FPGA)!r})\n"
              "sys.stdout.flush()\ntime.sleep(600)\n")
    with pytest.raises(RouterStalled) as stopped:
        run_tool([sys.executable, "-c", script], log=tmp_path / "pnr.log", cwd=tmp_path,
                 progress=None, show=lambda line: None, stop=RouterWatch())
    assert stopped.value.reason.startswith("router2 diverged: 776 wires over-used at iteration 38")
    log = (tmp_path / "pnr.log").read_text()
    assert "iter=38 " in log and "iter=39 " not in log
    assert log.endswith(f"[stopped: {stopped.value.reason}]\n")


def fake_place_and_route(outcomes, calls):
    """A place_and_route that stops the seeds ``outcomes`` maps to a reason, and routes the
    others in 10 s; it records the seeds and keywords it was called with."""
    def place_and_route(directory, device, *, seed, watch, progress, **options):
        assert isinstance(watch, RouterWatch) and not watch.history
        calls.append((seed, options))
        (directory / "pnr.log").write_text(f"log of seed {seed}\n")
        if seed in outcomes:
            raise RouterStalled("stopped", outcomes[seed])
        return 10.0
    return place_and_route


def test_a_stopped_seed_is_placed_again_with_the_next(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(fpga, "place_and_route",
                        fake_place_and_route({3: "diverged", 4: "stalled"}, calls))
    seconds, routed, stopped = fpga.route_chip(tmp_path, fpga.LFE5U_85F, seed=3, attempts=3,
                                               netlist="reserved.json")
    assert routed == 5 and stopped == ["seed 3: diverged", "seed 4: stalled"]
    assert [seed for seed, _ in calls] == [3, 4, 5]
    assert all(options == {"netlist": "reserved.json"} for _, options in calls)
    assert seconds >= 10.0
    assert (tmp_path / "pnr-seed3.log").read_text() == "log of seed 3\n"
    assert (tmp_path / "pnr-seed4.log").read_text() == "log of seed 4\n"
    assert (tmp_path / "pnr.log").read_text() == "log of seed 5\n"


def test_when_no_seed_routes_the_error_says_why_each_stopped(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(fpga, "place_and_route",
                        fake_place_and_route({1: "diverged at 38", 2: "stalled at 80"}, calls))
    with pytest.raises(FpgaError, match=r"no placement routed with seeds 1 to 2 \(seed 1: "
                                        r"diverged at 38; seed 2: stalled at 80\)"):
        fpga.route_chip(tmp_path, fpga.LFE5U_85F, attempts=2)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="attempts must be a whole number >= 1, not 0"):
        fpga.route_chip(tmp_path, fpga.LFE5U_85F, attempts=0)


def test_the_report_names_the_seed_and_the_seeds_stopped():
    report = fpga.FpgaReport("fpga", "name=fpga", "LFE5U-85F-8CABGA381", 100, 35.0, {}, [], 28.6,
                             1, 2, seed=2, stopped=["seed 1: router2 diverged"])
    assert ("nextpnr seed 2; stopped before it (placed again with the next seed): seed 1: "
            "router2 diverged.") in report.markdown()
    assert "nextpnr seed 1.\n" in fpga.FpgaReport("fpga", "", "", 100, 35.0, {}, [], 28.6, 1,
                                                  2).markdown()


def test_routing_for_timing_needs_placing_for_timing(tmp_path):
    with pytest.raises(ValueError, match="routing for timing needs placing for timing"):
        fpga.place_and_route(tmp_path, fpga.LFE5U_85F, frequency_mhz=100,
                             place_for_timing=False, route_for_timing=True)
