"""What a comparison found, as data: each implementation's workload results, the budget they ran
under and the machine they ran on; to and from JSON.

Apart from the command (compare.py) so that the reports (compare_report.py, charts.py) read it
without importing the command that writes them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.compare.workloads import Budget, IdleCpu, Latency, MaxClients, Throughput
from conformance.driver import procfs
from conformance.driver.sandbox import isolation


@dataclass
class ImplResult:
    name: str
    description: str
    command: str
    latency: list[Latency]
    throughput: list[Throughput]
    idle_cpu: IdleCpu
    max_clients: MaxClients
    seconds: float


@dataclass(frozen=True)
class Host:
    """The machine a comparison ran on (its figures mean little without it)."""

    date: str
    cpus: int
    cpu_model: str
    memory_gib: float
    python: str
    kernel: str
    isolated: bool  # servers in namespaces of their own

    @classmethod
    def here(cls) -> Host:
        memory_kib = int((procfs.machine_field("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
        return cls(
            date=datetime.now().astimezone().isoformat(timespec="seconds"),
            cpus=os.cpu_count() or 0,
            cpu_model=procfs.machine_field("/proc/cpuinfo", "model name") or platform.processor(),
            memory_gib=round(memory_kib / (1 << 20), 1),
            python=platform.python_version(),
            kernel=f"{platform.system()} {platform.release()}",
            isolated=bool(isolation()[0]),
        )

    def describe(self) -> str:
        return (
            f"{self.cpus} CPUs ({self.cpu_model}), {self.memory_gib:g} GiB, Python {self.python}, "
            f"{self.kernel}, servers {'in namespaces' if self.isolated else 'not isolated'}"
        )


@dataclass
class Comparison:
    machine: Host
    budget: Budget
    command: str
    seconds: float
    results: list[ImplResult]

    def to_json(self) -> dict[str, Any]:
        """JSON types only (lists, not tuples): equal to what a JSON file of it reads back."""
        data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self)))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        budget: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data["budget"].items()
        }
        return cls(
            machine=Host(**data["machine"]),
            budget=Budget(**budget),
            command=data["command"],
            seconds=data["seconds"],
            results=[
                ImplResult(
                    **{
                        **r,
                        "latency": [Latency(**x) for x in r["latency"]],
                        "throughput": [Throughput(**x) for x in r["throughput"]],
                        "idle_cpu": IdleCpu(**r["idle_cpu"]),
                        "max_clients": MaxClients(**r["max_clients"]),
                    }
                )
                for r in data["results"]
            ],
        )
