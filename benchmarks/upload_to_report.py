"""Benchmark: a drop-folder request, from its request.json to its report, through the served deployments.

The embedded default as an operator runs it: a fresh PHONESYS_HOME (SQLite inventory, local object
folder), its lasting local Prefect server (``phonesys server start``), and ``phonesys serve`` serving
prefect.yaml's deployments against it. Each repeat writes a request of ``--rows`` rows to the drop
folder and at once runs ``phonesys notify KEY`` (what an S3 notification or ``notify-from-sqs`` does;
``--no-notify`` leaves the pickup to the minute scan). The clock runs from the request.json write to
status.json saying ``completed``. Per repeat it prints when, after the write, the notify command
returned, the scan run was created and started, the bulk run was created (handed off) and started
(Prefect's own timestamps), and when status.json said completed; then the median total.

Usage: python benchmarks/upload_to_report.py [--rows 1000] [--repeats 5] [--warmup 1] [--no-notify] [--tasks] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ORG = "0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e02"
PHONESYS = [sys.executable, "-c", "from phonesys.cli import main; main()"]
STAGES = ("notify", "scan created", "scan started", "bulk created", "bulk started", "completed")


def home_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHONESYS_", "PREFECT_API_URL"))}
    env.update(PHONESYS_HOME=str(home), PREFECT_HOME=str(home / "prefect-home"))
    return env


def phonesys(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*PHONESYS, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"phonesys {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def set_up(env: dict[str, str], home: Path, users: int) -> str:
    """The organization, the home's server and its API URL."""
    document = {"org_uuid": ORG, "name": "Upload to report", "base_licenses": users, "addons": {}, "numbers": [],
                "users": [{"identity_uuid": str(uuid.UUID(int=i + 1)), "name": f"User {i:05d}"} for i in range(users)]}
    (home / "org.json").write_text(json.dumps(document))
    phonesys(env, "org", "load", str(home / "org.json"))
    return str(json.loads(phonesys(env, "server", "start", "--json"))["api_url"])


def start_serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen([*PHONESYS, "serve"], env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_served(api_url: str, serve: subprocess.Popen[bytes], log: Path) -> None:
    """Until both deployments the path uses are served (registered and not paused)."""
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise SystemExit(f"phonesys serve exited:\n{log.read_text()[-3000:]}")
        found = httpx.post(f"{api_url}/deployments/filter", json={}).json()
        served = {d["name"] for d in found if not d.get("paused")}
        if {"drop-folder-scan", "bulk-assignment"} <= served:
            return
        time.sleep(0.5)
    raise SystemExit(f"the deployments were not served within 180 s:\n{log.read_text()[-3000:]}")


def drop(home: Path, name: str, first_user: int, rows: int) -> Path:
    """The request's CSV, then its request.json (written last: it marks the request complete)."""
    folder = home / "objects" / "incoming" / ORG / name
    folder.mkdir(parents=True)
    lines = ["Ext Key,User's Name", *[f"{10000 + first_user + i},User {first_user + i:05d}" for i in range(rows)]]
    (folder / "users.csv").write_text("\r\n".join(lines) + "\r\n")
    (folder / "request.json").write_text(json.dumps({"template": name, "start": True}))
    return folder / "request.json"


def completed(home: Path, name: str) -> dict[str, Any] | None:
    path = home / "objects" / "processed" / ORG / name / "status.json"
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if document.get("status") == "completed" else None


def one_request(env: dict[str, str], home: Path, name: str, first_user: int, rows: int,
                notify: bool) -> tuple[dict[str, Any], dict[str, float]]:
    key = drop(home, name, first_user, rows).relative_to(home / "objects").as_posix()
    written, marks = time.time(), {}
    if notify:
        phonesys(env, "notify", key)
        marks["notify"] = time.time() - written
    while (status := completed(home, name)) is None:
        time.sleep(0.05)
    marks["completed"] = time.time() - written
    return status, {**marks, **run_marks(env, status["flow_run_id"], written)}


def run_marks(env: dict[str, str], bulk_run_id: str, written: float) -> dict[str, float]:
    """When the scan and the bulk run were created and started, seconds after the request was written
    (status.json says completed a moment before the bulk run itself ends)."""
    import httpx

    api = httpx.Client(base_url=env["PREFECT_API_URL"])
    bulk = api.get(f"/flow_runs/{bulk_run_id}").json()
    scans = api.post("/flow_runs/filter", json={
        "flows": {"name": {"any_": ["drop-folder-scan"]}},
        "flow_runs": {"start_time": {"after_": datetime.fromtimestamp(written).astimezone().isoformat()}},
        "sort": "START_TIME_ASC", "limit": 1}).json()

    def at(stamp: str | None) -> float:
        return datetime.fromisoformat(stamp).timestamp() - written if stamp else float("nan")

    marks = {"bulk created": at(bulk["created"]), "bulk started": at(bulk["start_time"])}
    if scans:  # a scan created before the write is the minute schedule's: its created mark says nothing
        created = at(scans[0]["created"])
        marks.update({"scan created": created if created >= 0 else float("nan"),
                      "scan started": at(scans[0]["start_time"])})
    return marks


def task_lines(env: dict[str, str], flow_run_id: str) -> list[str]:
    """The run's task runs in order (when each started after the run did, and how long it took), then
    its log lines (at the served runs' level, WARNING: a job that waited for its bulk-job slots says so)."""
    import httpx

    api = httpx.Client(base_url=env["PREFECT_API_URL"])
    run = api.get(f"/flow_runs/{flow_run_id}").json()
    tasks = api.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}},
                                                 "sort": "EXPECTED_START_TIME_ASC", "limit": 200}).json()
    began = datetime.fromisoformat(run["start_time"]).timestamp()
    lines = []
    for task in tasks:
        if task["start_time"] and task["end_time"]:
            start, end = (datetime.fromisoformat(task[k]).timestamp() - began for k in ("start_time", "end_time"))
            lines.append(f"    +{start:5.2f} s {end - start:5.2f} s  {task['name']}")
    logs = api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 50}).json()
    for log in logs:
        at = datetime.fromisoformat(log["timestamp"]).timestamp() - began
        lines.append(f"    +{at:5.2f} s  log: {log['message'][:150]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-notify", dest="notify", action="store_false", help="leave it to the minute scan")
    parser.add_argument("--tasks", action="store_true", help="also list each bulk run's task runs and their times")
    parser.add_argument("--keep", action="store_true", help="keep the temporary PHONESYS_HOME (serve.log, server log)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="phonesys-upload-"))
    env = home_env(home)
    serve = None
    try:
        env["PREFECT_API_URL"] = set_up(env, home, args.rows * (args.warmup + args.repeats))
        serve = start_serve(env, home / "serve.log")
        wait_served(env["PREFECT_API_URL"], serve, home / "serve.log")
        measure(env, home, args)
        server_complaints(home / "prefect" / "server.log")
    finally:
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=120)
        env.pop("PREFECT_API_URL", None)
        subprocess.run([*PHONESYS, "server", "stop"], env=env, capture_output=True)
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def server_complaints(log: Path) -> None:
    """Lines of the home server's log that mean a client waited: a busy SQLite database answers 503,
    and Prefect's clients retry after 2, 4, 8 ... s."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    complaints = [line for line in lines if "locked" in line or " 503" in line or "ERROR" in line]
    print(f"home server log: {len(complaints)} lines of errors/locks/503s; last: {complaints[-3:]}")


def measure(env: dict[str, str], home: Path, args: argparse.Namespace) -> None:
    print(f"{args.rows} rows, {'notify' if args.notify else 'minute scan'}; seconds after request.json:")
    print("| repeat | " + " | ".join(STAGES) + " |\n|---|" + "---|" * len(STAGES))
    totals = []
    for attempt in range(args.warmup + args.repeats):
        status, marks = one_request(env, home, f"request-{attempt}", attempt * args.rows, args.rows, args.notify)
        label = "warm-up" if attempt < args.warmup else str(attempt - args.warmup + 1)
        print(f"| {label} | " + " | ".join(f"{marks.get(stage, float('nan')):.2f}" for stage in STAGES) + " |",
              flush=True)
        if args.tasks:
            time.sleep(2)  # status.json says completed just before the run's last tasks end
            print("\n".join(task_lines(env, status["flow_run_id"])), flush=True)
        if attempt >= args.warmup:
            totals.append(marks["completed"])
    print(f"median upload-to-report: {statistics.median(totals):.2f} s (of {len(totals)})")


if __name__ == "__main__":
    main()
