"""Benchmark: reads of the HTTP API under load, against a real ``phonesys web`` on loopback.

An organization of ``--extensions`` extensions (default 90,000: every 5-digit key; no users on them),
and ``--templates`` templates; ``--clients`` concurrent clients (asyncio + httpx) share a bounded
count of requests (``--requests``) and a time cap (``--seconds``), cycling through the licenses, a
page of 100 extensions at a random offset, and the template list. ``--writers`` of the clients write
instead, with an admin token: assign-user (a free user on an extension without one) and set-number
(a free number on an extension without one), PATCHes each writer makes on its own share of the
extensions, users and numbers, so writers rarely collide; a 409/422 answer counts as "refused", not
as a failure. Prints req/s and p50/p95/p99 per kind of request, then runs the inventory invariants
(``tests/invariant_queries.py``) and prints the violations (must be 0), for SQLite and (with
PHONESYS_BENCH_POSTGRES_URL set) PostgreSQL.

The clients share the machine with the server (loopback, 2 cores here), so the figures are what one
server process answers while the load is generated next to it.

Usage: python benchmarks/api_load.py [--extensions N] [--clients N] [--writers N] [--requests N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_org import postgres_schema

from phonesys.ops.localserver import free_port
from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.storage.inventory.engine import dispose_engines, open_engine
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.templates import create_template
from phonesys.storage.inventory.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent
BATCH = 10_000  # extensions per provisioning transaction while building the organization
REFUSED = {409, 422}  # the inventory said no (a collision or a rule): not a failure of the server


@dataclass(frozen=True)
class BenchOrg:
    """The organization under load: its UUID, a viewer and an admin token, its free users and numbers."""

    org: str
    viewer: str
    admin: str
    users: list[str]
    numbers: list[str]


def build_org(url: str, extensions: int, templates: int) -> BenchOrg:
    """90,000 extensions (no user, no number), a user and a number for every tenth, the templates."""
    engine = open_engine(url)
    org = str(uuid.uuid4())
    users = [UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {i:05d}") for i in range(extensions // 10)]
    numbers = [f"+6561{i:06d}" for i in range(extensions // 10)]
    load_org(engine, OrgDocument(org_uuid=org, name="API load", base_licenses=extensions,
                                 addons={"Call Recording": extensions}, users=users, numbers=numbers))
    for first in range(0, extensions, BATCH):
        provision(engine, org, count=min(BATCH, extensions - first), start=str(10_000 + first))
    for i in range(templates):
        create_template(engine, org, f"Template {i:03d}", ["Call Recording"])
    viewer = create_token(engine, org, "api-load", "viewer")["token"]
    admin = create_token(engine, org, "api-load-admin", "admin")["token"]
    dispose_engines()
    return BenchOrg(org, viewer, admin, [u.identity_uuid for u in users], numbers)


@contextmanager
def web_server(url: str, home: Path, workers: int = 1) -> Iterator[str]:
    """``phonesys web --workers N`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PHONESYS_HOME": str(home), "PHONESYS_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with (home / "web.log").open("wb") as log:
        command = [sys.executable, "-c", "from phonesys.cli import main; main()", "web", "--port", str(port),
                   "--workers", str(workers)]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"phonesys web did not start: {(home / 'web.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        errors = [line for line in (home / "web.log").read_text(errors="replace").splitlines()
                  if "ERROR" in line or "WARNING" in line]
        print("\n".join(["  server log:", *errors[:10]]) if errors else "  server log: no errors or warnings")


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def targets(org: str, extensions: int) -> dict[str, object]:
    """Each kind of request: a path, or a function giving one (the extension page's offset varies)."""
    return {"licenses": f"/api/v1/orgs/{org}/licenses",
            "extension page": lambda: f"/api/v1/orgs/{org}/extensions?limit=100&offset="
                                      f"{random.randrange(0, max(1, extensions - 100))}",
            "template list": f"/api/v1/orgs/{org}/templates"}


def writer_plan(bench: BenchOrg, writer: int, writers: int) -> Iterator[tuple[str, str, dict[str, str]]]:
    """One writer's PATCHes: on its own share of the extensions (every ``writers``-th key), a free user
    then a free number each, from its own share of users and numbers, so writers do not collide."""
    shares = zip(bench.users[writer::writers], bench.numbers[writer::writers])
    for n, (user, number) in enumerate(shares):
        path = f"/api/v1/orgs/{bench.org}/extensions/{10_000 + writer + n * writers}"
        yield "assign-user", path, {"user": user}
        yield "set-number", path, {"number": number}


@dataclass
class Tally:
    """Latencies (s) per kind, failed statuses per kind (0: the connection dropped), refusals per kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    refused: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0

    async def timed(self, kind: str, sending: Awaitable[httpx.Response]) -> None:
        sent = time.perf_counter()
        try:
            status = (await sending).status_code
        except httpx.TransportError:  # a dropped connection counts as a failed request
            status = 0
        self.latencies[kind].append(time.perf_counter() - sent)
        if status in REFUSED and kind in WRITES:
            self.refused[kind] += 1
        elif status != 200:
            self.failures[kind][status] += 1


WRITES = ("assign-user", "set-number")


async def load(base: str, bench: BenchOrg, kinds: dict[str, object], clients: int, writers: int, requests: int,
               seconds: float) -> Tally:
    """``clients`` clients, ``writers`` of them writing; stops at ``requests`` in all or after ``seconds``."""
    tally, issued, names = Tally(), iter(range(requests)), list(kinds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with (httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {bench.viewer}"},
                                  limits=limits, timeout=60) as viewer,
                httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {bench.admin}"},
                                  limits=limits, timeout=60) as admin):
        started = time.perf_counter()

        def going() -> Iterator[int]:
            return (n for n in issued if time.perf_counter() - started <= seconds)

        async def reader() -> None:
            for n in going():
                target = kinds[names[n % len(names)]]
                path = target() if callable(target) else str(target)
                await tally.timed(names[n % len(names)], viewer.get(path))

        async def writer(plan: Iterator[tuple[str, str, dict[str, str]]]) -> None:
            for (kind, path, body), _ in zip(plan, going()):
                await tally.timed(kind, admin.patch(path, json=body))

        await asyncio.gather(*(reader() for _ in range(clients - writers)),
                             *(writer(writer_plan(bench, w, writers)) for w in range(writers)))
        tally.wall = time.perf_counter() - started
        return tally


def report(label: str, tally: Tally) -> None:
    total = sum(len(v) for v in tally.latencies.values())
    print(f"{label}: {total:,} requests in {tally.wall:.1f} s = {total / tally.wall:,.0f} req/s overall")
    for kind, values in tally.latencies.items():
        if len(values) < 2:
            continue
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        failed, refused = tally.failures[kind], tally.refused[kind]
        print(f"  {kind:<15} n={len(values):>6,}  {len(values) / tally.wall:7,.0f} req/s  p50 {cuts[49] * 1000:7.1f} ms"
              f"  p95 {cuts[94] * 1000:7.1f} ms  p99 {cuts[98] * 1000:7.1f} ms  failed {failed.total()}"
              + (f" (status: count {dict(failed)})" if failed else "") + (f"  refused {refused}" if refused else ""))


def invariants(url: str) -> list[str]:
    """The inventory invariants over the whole database after the load (tests/invariant_queries.py)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.invariant_queries import invariant_violations

    try:
        return invariant_violations(open_engine(url))
    finally:
        dispose_engines()


def run(label: str, url: str, args: argparse.Namespace, home: Path) -> None:
    built = time.perf_counter()
    bench = build_org(url, args.extensions, args.templates)
    print(f"{label}: built an organization of {args.extensions:,} extensions and {args.templates} templates "
          f"in {time.perf_counter() - built:.0f} s; load average {os.getloadavg()[0]:.1f}")
    with web_server(url, home, args.web_workers) as base:
        kinds = targets(bench.org, args.extensions)
        asyncio.run(load(base, bench, kinds, args.clients, 0, 3 * args.clients, 60))  # warm up, reads only
        report(label, asyncio.run(load(base, bench, kinds, args.clients, args.writers, args.requests, args.seconds)))
    violations = invariants(url)
    print(f"  invariants: {len(violations)} violations; load average {os.getloadavg()[0]:.1f}")
    for violation in violations[:10]:
        print(f"    {violation}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extensions", type=int, default=90_000, help="at most 90,000 (every 5-digit key)")
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--writers", type=int, default=10, help="of the clients, this many write (admin token)")
    parser.add_argument("--requests", type=int, default=6_000, help="stop after this many requests in all")
    parser.add_argument("--seconds", type=float, default=120, help="or after this long")
    parser.add_argument("--web-workers", type=int, default=1, help="`phonesys web --workers`: server processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args, Path(tmp))
        postgres = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
        with postgres_schema(postgres) if postgres else nullcontext() as url:
            if url:
                run("postgresql", url, args, Path(tmp))


if __name__ == "__main__":
    main()
