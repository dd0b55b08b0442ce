"""`echo-conformance compare`: the measurements say what the servers do, and the outputs hold."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from conformance.cli import main
from conformance.compare import command as compare
from conformance.compare import workloads
from conformance.compare.crowd import Pattern
from conformance.compare.max_clients import measure_max_clients
from conformance.compare.report import CHART_NAMES
from conformance.compare.results import Comparison
from conformance.compare.workloads import MESSAGE, Budget, IdleCpu, Latency, MaxClients, Throughput
from conformance.driver.launcher import Server
from conformance.impls import Implementation, find_impl
from conformance.model import Transform
from conformance.outcome import UsageError
from conformance.spec import Spec
from tests.helpers import server

QUICK = Budget.quick(max_clients=40)
M = TypeVar("M", bound=workloads.Measurement)


@pytest.fixture(scope="module")
def measuring(spec: Spec) -> Spec:
    return compare.measuring_spec(spec, QUICK.max_clients)


@pytest.fixture(scope="module")
def small(spec: Spec) -> Pattern:
    return Pattern(MESSAGE, Transform.of(spec))


def measure(
    impl: Implementation | str, spec: Spec, workload: Callable[[Server], M], failed: M
) -> M:
    """One workload on a fresh server of `impl` (a registered name, or an Implementation)."""
    impl = find_impl(impl) if isinstance(impl, str) else impl
    return compare.run_workload(impl, spec, workload, failed)


def latency(impl: Implementation | str, spec: Spec, clients: int, pattern: Pattern) -> Latency:
    return measure(
        impl,
        spec,
        lambda s: workloads.measure_latency(s, clients, QUICK, pattern),
        Latency(clients),
    )


def idle_cpu(impl: str, spec: Spec, pattern: Pattern) -> IdleCpu:
    return measure(
        impl,
        spec,
        lambda s: workloads.measure_idle_cpu(s, QUICK, pattern),
        IdleCpu(QUICK.idle_clients),
    )


def max_clients(impl: str, spec: Spec, pattern: Pattern, budget: Budget = QUICK) -> MaxClients:
    return measure(
        impl,
        spec,
        lambda s: measure_max_clients(s, budget, pattern),
        MaxClients(budget.max_clients),
    )


def test_select_serves_every_latency_client(measuring: Spec, small: Pattern) -> None:
    lat = latency("select", measuring, 16, small)
    assert not lat.error, lat
    assert (lat.connected, lat.served) == (16, 16), lat
    assert lat.p50_ms is not None and lat.p99_ms is not None and lat.per_second
    assert 0 < lat.p50_ms <= lat.p99_ms < 1000 * QUICK.latency_seconds
    assert lat.round_trips <= QUICK.latency_round_trips + 16


def test_select_idles_and_the_busy_poller_burns_a_core(measuring: Spec, small: Pattern) -> None:
    quiet = idle_cpu("select", measuring, small)
    busy = idle_cpu("nonblocking", measuring, small)
    for idle in (quiet, busy):
        assert not idle.error and idle.served == QUICK.idle_clients, idle
    assert quiet.no_client_pct is not None and quiet.pct is not None, quiet
    assert busy.no_client_pct is not None and busy.pct is not None, busy
    # Thresholds with room: other tests may share the CPUs (pytest -n auto on 2 cores).
    assert quiet.no_client_pct < 15 and quiet.pct < 15, quiet
    assert busy.no_client_pct > 40 and busy.pct > 40, busy


def test_blocking_serves_one_client_at_a_time(measuring: Spec, small: Pattern) -> None:
    most = max_clients("blocking", measuring, small)
    assert most.served == 1, most
    assert "stopped accepting after 1 client: it serves one client at a time" in most.reason
    lat = latency("blocking", measuring, 16, small)
    assert not lat.error and lat.served == 1, lat
    assert "1 of 16 clients served" in lat.notes


def test_tutorial_blocking_serves_one_client_and_exits(measuring: Spec, small: Pattern) -> None:
    """Its one connection goes to the workload (readiness is not a connect), then it exits."""
    most = max_clients("tutorial-blocking", measuring, small)
    assert most.served == 1, most
    assert "the server exited with status 0" in most.reason
    lat = latency("tutorial-blocking", measuring, 1, small)
    assert lat.served == 1 and lat.p50_ms is None, lat  # one first round trip: no figure
    assert any("exited with status 0" in n for n in lat.notes), lat


def test_max_clients_says_what_stopped_it(measuring: Spec, small: Pattern) -> None:
    """With 64 descriptors: select pauses accepting (out of descriptors), the tutorial's select
    dies of EMFILE; the reason names either."""
    few = dataclasses.replace(measuring, limits=dataclasses.replace(measuring.limits, nofile=64))
    budget = dataclasses.replace(QUICK, max_clients=100)
    paused = max_clients("select", few, small, budget)
    assert 40 < paused.served < 64, paused
    assert "stopped accepting" in paused.reason and "out of descriptors" in paused.reason
    died = max_clients("tutorial-select", few, small, budget)
    assert 40 < died.served < 64, died
    assert "the server exited with status 1" in died.reason and "Errno 24" in died.reason


def test_tutorial_nonblocking_spins_only_without_clients(measuring: Spec, small: Pattern) -> None:
    """The tutorial's poller spins on accept(), then blocks in recv() on its first client."""
    idle = idle_cpu("tutorial-nonblocking", measuring, small)
    assert idle.no_client_pct is not None and idle.no_client_pct > 40, idle
    assert idle.pct is not None and idle.pct < 15, idle
    assert idle.served < QUICK.idle_clients, idle


def test_a_wrong_reply_is_an_error_not_a_figure(measuring: Spec, small: Pattern) -> None:
    wrong = server("lowercases.py")
    lat = latency(wrong, measuring, 1, small)
    assert "wrong byte" in lat.error and lat.p50_ms is None and lat.per_second is None, lat
    large = Pattern(random.Random(0).randbytes(QUICK.write_size), Transform.of(measuring))
    tp = measure(
        wrong, measuring, lambda s: workloads.measure_throughput(s, 1, QUICK, large), Throughput(1)
    )
    assert "wrong byte" in tp.error and tp.mib_per_s is None, tp


def test_a_server_that_does_not_start_is_an_error(measuring: Spec, small: Pattern) -> None:
    slow = dataclasses.replace(measuring.timeouts, startup=1)
    lat = latency(
        server("never_listens.py"), dataclasses.replace(measuring, timeouts=slow), 1, small
    )
    assert lat.error.startswith("could not start"), lat


def test_pattern_finds_wrong_and_extra_bytes(spec: Spec) -> None:
    p = Pattern(b"ab", Transform.of(spec))
    assert p.wrong(0, b"ABA", 3) == ""
    assert p.wrong(1, b"BA", 3) == ""
    assert "offset 1 is 0x62 'b', expected 0x42 'B'" in p.wrong(0, b"Ab", 2)
    assert "1 reply byte(s) more than were sent" in p.wrong(0, b"ABA", 2)


# -- one quick run through the command, shared by the output tests ---------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="echo-conformance")
    compare.add_parser(parser.add_subparsers(dest="subcommand"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`echo-conformance compare select --quick` with every output asked for: its folder."""
    out = tmp_path_factory.mktemp("compare")
    argv = ["compare", "select", "--quick", "--max-clients", "30", "--json", str(out / "c.json")]
    argv += ["--html", str(out / "c.html"), "--charts", str(out / "charts")]
    assert main(argv) == 0  # as a user runs it: the command line reaches the page
    return out


def test_run_measures_and_json_round_trips(run: Path) -> None:
    data = json.loads((run / "c.json").read_text())
    comp = Comparison.from_json(data)
    assert comp.to_json() == data
    (result,) = comp.results
    assert result.name == "select"
    assert [x.clients for x in result.latency] == list(Budget.quick().latency_clients)
    assert result.max_clients.served == 30 and result.max_clients.reason == "bound reached"
    assert comp.machine.cpus >= 1 and comp.machine.date


def test_html_is_one_page_with_tables_and_charts(run: Path) -> None:
    page = (run / "c.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "compare select" in page and "--quick" in page
    assert page.count("<table>") == 4
    if (run / "charts").exists():  # matplotlib installed
        assert page.count("<svg") == 4 and "<?xml" not in page


@pytest.mark.charts
def test_charts_are_svg(run: Path) -> None:
    pytest.importorskip("matplotlib", reason="charts need matplotlib (the charts extra)")
    from conformance.compare.charts import render_charts

    comp = Comparison.from_json(json.loads((run / "c.json").read_text()))
    charts = render_charts(comp)
    assert sorted(charts) == sorted(CHART_NAMES)
    for name, svg in charts.items():
        assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>"), name
        assert (run / "charts" / f"{name}.svg").read_text() == svg
    assert "select" in charts["latency"]


def test_without_matplotlib_tables_and_json_still_come(
    run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    canned = Comparison.from_json(json.loads((run / "c.json").read_text()))
    monkeypatch.setattr(compare, "compare", lambda *a, **kw: canned)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    argv = ["compare", "select", "--json", str(tmp_path / "c.json"), "--charts", str(tmp_path)]
    assert compare.run(parse(argv)) == 0
    out, err = capsys.readouterr()
    assert "Latency:" in out and "Max clients:" in out
    assert "pip install 'echo-conformance[charts]'" in err
    assert json.loads((tmp_path / "c.json").read_text()) == canned.to_json()
    assert not list(tmp_path.glob("*.svg"))


def test_unknown_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no implementation 'nope'"):
        compare.run(parse(["compare", "nope"]))
