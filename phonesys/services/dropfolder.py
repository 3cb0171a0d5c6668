"""The S3 drop-folder contract: find complete requests, claim each once, turn it into a template.

    incoming/<orgUuid>/<request-name>/*.csv           one or more upload files
    incoming/<orgUuid>/<request-name>/request.json    written LAST: marks the request complete
        {"template": "Sales onboarding", "addons": ["Call Recording"], "start": true, "policy": "continue"}

A folder without ``request.json`` is an upload still in progress and is left alone. Afterwards the
request's objects move to ``processed/...`` or ``rejected/...`` (same relative names, the manifest
last), with ``<file>.errors.csv`` beside rejected files and a ``status.json`` scripts can poll.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.limits import TEMPLATE_NAME_MAX
from phonesys.rules.values import check_uuid
from phonesys.rules.vocabulary import DEFAULT_POLICY, Policy
from phonesys.storage.objects import ObjectStore

MANIFEST = "request.json"
STATUS = "status.json"
MANIFEST_MAX_BYTES = 64 * 1024
logger = logging.getLogger("phonesys.services.dropfolder")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(min_length=1, max_length=TEMPLATE_NAME_MAX)
    addons: list[str] = Field(default_factory=list)
    start: bool = True
    policy: Policy = DEFAULT_POLICY


@dataclass(frozen=True)
class RequestRef:
    org_uuid: str
    name: str
    manifest_key: str
    version: str

    @property
    def prefix(self) -> str:
        return f"incoming/{self.org_uuid}/{self.name}/"


@dataclass(frozen=True)
class Outcome:
    """How far a request got. The scan passes it from task to flow as is (Prefect keeps dataclass
    results); ``as_dict`` is for the edges that want JSON: events, the scan's state, status.json."""

    request: str
    org_uuid: str
    status: str                      # skipped | rejected | draft | started (status.json: also the run's)
    template_uuid: str | None = None
    status_key: str | None = None
    problems: tuple[Problem, ...] = ()
    template_name: str | None = None  # the manifest's, once read (events name it, even when rejected)

    def as_dict(self) -> dict[str, Any]:
        return {"request": self.request, "org_uuid": self.org_uuid, "status": self.status,
                "template_uuid": self.template_uuid, "status_key": self.status_key,
                "problems": [p.as_dict() for p in self.problems], "template_name": self.template_name}


def find_requests(store: ObjectStore) -> list[RequestRef]:
    """Complete requests: ``incoming/<orgUuid>/<name>/request.json``; anything else is ignored."""
    found: list[RequestRef] = []
    for info in store.list("incoming/"):
        parts = info.key.split("/")
        if len(parts) != 4 or parts[3] != MANIFEST:
            continue
        if isinstance(check_uuid(parts[1], "org"), Problem) or parts[1] != parts[1].lower():
            logger.warning("drop folder: ignoring %s: %r is not an organization UUID", info.key, parts[1])
            continue
        found.append(RequestRef(parts[1], parts[2], info.key, f"{info.etag}@{info.modified.isoformat()}"))
    return found


def read_manifest(store: ObjectStore, ref: RequestRef) -> Manifest:
    data = store.read_bytes(ref.manifest_key, max_bytes=MANIFEST_MAX_BYTES)
    try:
        return Manifest.model_validate(json.loads(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(Problem("manifest-unreadable", f"{MANIFEST} is not UTF-8 JSON: {exc}", MANIFEST,
                              file=ref.manifest_key)) from None
    except ValidationError as exc:
        raise Refused([Problem("manifest-invalid", f"{'.'.join(map(str, e['loc'])) or MANIFEST}: {e['msg']}",
                               MANIFEST, file=ref.manifest_key) for e in exc.errors()]) from None


def upload_keys(store: ObjectStore, ref: RequestRef) -> list[str]:
    """The request's CSV files (not the manifest, not errors files from an earlier attempt)."""
    keys = [info.key for info in store.list(ref.prefix)
            if info.key.lower().endswith(".csv") and not info.key.endswith(".errors.csv")
            and info.key.count("/") == 3]
    if not keys:
        raise Refused(Problem("request-no-files", f"{ref.prefix} holds no .csv file next to {MANIFEST}.",
                              "files", file=ref.manifest_key))
    return sorted(keys)


def settle(store: ObjectStore, ref: RequestRef, outcome: Outcome) -> str:
    """Move the request's objects to processed/ or rejected/, manifest last; write status.json first.

    Returns the status.json's key (the outcome's ``status_key`` from then on)."""
    destination = f"{'rejected' if outcome.status == 'rejected' else 'processed'}/{ref.org_uuid}/{ref.name}/"
    status_key = destination + STATUS
    write_status(store, status_key, status_document(outcome))
    keys = [info.key for info in store.list(ref.prefix) if info.key != ref.manifest_key]
    for key in keys + [ref.manifest_key]:
        store.move(key, destination + key[len(ref.prefix):])
    return status_key


def status_document(outcome: Outcome, **extra: Any) -> dict[str, Any]:
    """status.json: what a script polling the request reads (``extra``: the run's counts and files)."""
    return {"request": outcome.request, "org_uuid": outcome.org_uuid, "status": outcome.status,
            "template_uuid": outcome.template_uuid, "problems": [p.as_dict() for p in outcome.problems], **extra}


def write_status(store: ObjectStore, key: str, document: dict[str, Any]) -> None:
    store.write_bytes(key, (json.dumps(document, indent=2, default=str) + "\n").encode(), "application/json")


def scan_summary(outcomes: list[Outcome]) -> dict[str, int]:
    """A scan's counts: its artifact's first line, the keys of its final state's data, and what
    ``dropfolder scan`` prints (an empty scan recorded without the flow has all of them 0)."""

    def count(*states: str) -> int:
        return sum(o.status in states for o in outcomes)

    return {"found": len(outcomes), "claimed": count("rejected", "draft", "started"),
            "skipped": count("skipped"), "rejected": count("rejected"), "started": count("started")}
