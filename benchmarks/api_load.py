"""Benchmark: reads of the HTTP API under load, against a real ``phonesys web`` on loopback.

An organization of ``--extensions`` extensions (default 90,000: every 5-digit key; no users on them),
and ``--templates`` templates; ``--clients`` concurrent clients (asyncio + httpx) share a bounded
count of requests (``--requests``) and a time cap (``--seconds``), cycling through the licenses, a
page of 100 extensions at a random offset, and the template list. Prints req/s and p50/p95/p99 per
kind of request, for SQLite and (with PHONESYS_BENCH_POSTGRES_URL set) PostgreSQL.

The clients share the machine with the server (loopback, 2 cores here), so the figures are what one
server process answers while the load is generated next to it.

Usage: python benchmarks/api_load.py [--extensions N] [--clients N] [--requests N] [--seconds S]
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
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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


def build_org(url: str, extensions: int, templates: int) -> tuple[str, str]:
    """The organization (its UUID) and a viewer token of it."""
    engine = open_engine(url)
    org = str(uuid.uuid4())
    users = [UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {i:05d}") for i in range(extensions // 10)]
    load_org(engine, OrgDocument(org_uuid=org, name="API load", base_licenses=extensions,
                                 addons={"Call Recording": extensions}, users=users))
    for first in range(0, extensions, BATCH):
        provision(engine, org, count=min(BATCH, extensions - first), start=str(10_000 + first))
    for i in range(templates):
        create_template(engine, org, f"Template {i:03d}", ["Call Recording"])
    secret = create_token(engine, org, "api-load", "viewer")["token"]
    dispose_engines()
    return org, secret


@contextmanager
def web_server(url: str, home: Path) -> Iterator[str]:
    """``phonesys web`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PHONESYS_HOME": str(home), "PHONESYS_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with (home / "web.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", "web", "--port",
                                    str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
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


async def load(base: str, secret: str, kinds: dict[str, object], clients: int, requests: int,
               seconds: float) -> tuple[dict[str, list[float]], dict[str, Counter[int]], float]:
    """Latencies (s) and failed statuses per kind (0: the connection dropped), and the wall time; stops at
    ``requests`` or ``seconds``."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, Counter[int]] = defaultdict(Counter)
    issued, names = iter(range(requests)), list(kinds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {secret}"}, limits=limits,
                                 timeout=60) as client:
        started = time.perf_counter()

        async def one_client() -> None:
            for n in issued:
                if time.perf_counter() - started > seconds:
                    return
                kind = names[n % len(names)]
                target = kinds[kind]
                path = target() if callable(target) else str(target)
                sent = time.perf_counter()
                try:
                    status = (await client.get(path)).status_code
                except httpx.TransportError:  # a dropped connection counts as a failed request
                    status = 0
                latencies[kind].append(time.perf_counter() - sent)
                if status != 200:
                    failures[kind][status] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        return latencies, failures, time.perf_counter() - started


def report(label: str, latencies: dict[str, list[float]], failures: dict[str, Counter[int]], wall: float) -> None:
    total = sum(len(v) for v in latencies.values())
    print(f"{label}: {total:,} requests in {wall:.1f} s = {total / wall:,.0f} req/s overall")
    for kind, values in latencies.items():
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        failed = failures[kind]
        print(f"  {kind:<15} n={len(values):>6,}  {len(values) / wall:7,.0f} req/s  p50 {cuts[49] * 1000:7.1f} ms"
              f"  p95 {cuts[94] * 1000:7.1f} ms  p99 {cuts[98] * 1000:7.1f} ms  failed {failed.total()}"
              + (f" (status: count {dict(failed)})" if failed else ""))


def run(label: str, url: str, args: argparse.Namespace, home: Path) -> None:
    built = time.perf_counter()
    org, secret = build_org(url, args.extensions, args.templates)
    print(f"{label}: built an organization of {args.extensions:,} extensions and {args.templates} templates "
          f"in {time.perf_counter() - built:.0f} s")
    with web_server(url, home) as base:
        kinds = targets(org, args.extensions)
        asyncio.run(load(base, secret, kinds, args.clients, 3 * args.clients, 60))  # warm up
        report(label, *asyncio.run(load(base, secret, kinds, args.clients, args.requests, args.seconds)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extensions", type=int, default=90_000, help="at most 90,000 (every 5-digit key)")
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=6_000, help="stop after this many requests in all")
    parser.add_argument("--seconds", type=float, default=120, help="or after this long")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args, Path(tmp))
        postgres = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
        with postgres_schema(postgres) if postgres else nullcontext() as url:
            if url:
                run("postgresql", url, args, Path(tmp))


if __name__ == "__main__":
    main()
