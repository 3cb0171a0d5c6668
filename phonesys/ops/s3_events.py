"""From an S3 upload to a scan: read the bucket's event notifications from an SQS queue and notify.

S3 delivers "object created" notifications to a queue (directly, or through an SNS topic); this
consumer long-polls the queue, keeps the manifests (``incoming/<org>/<request>/request.json``) of
the bucket and prefix phonesys stores in, and sends ``phonesys notify`` for each. A message is
deleted only once every manifest in it was announced; if the Prefect API is down the message stays
and comes back after the queue's visibility timeout (the minute scan finds the request anyway).
Messages that are not S3 notifications for our objects (S3's ``s3:TestEvent``, another bucket) are
deleted with a line saying so, so they cannot come back forever.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from phonesys.ops.events import MANIFEST_NAME
from phonesys.rules.errors import Refused

Notify = Callable[[str], Any]
Echo = Callable[[str], None]


@dataclass
class ConsumeCounts:
    messages: int = 0
    notified: list[str] = field(default_factory=list)
    ignored: int = 0


def manifest_keys(body: str, bucket: str, prefix: str) -> list[str] | None:
    """The manifest keys (relative to ``prefix``) an S3 notification names; None if ``body`` is not one.

    S3 URL-encodes keys in notifications (``my+request%2Frequest.json``); SNS wraps the
    notification as a JSON string in ``Message``."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and document.get("Type") == "Notification":
            document = json.loads(document["Message"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
        return None
    relative = [_relative(key, prefix) for key in _created_keys(document["Records"], bucket)]
    return [key for key in relative if key and key.startswith("incoming/")
            and key.rsplit("/", 1)[-1] == MANIFEST_NAME]


def _created_keys(records: list[Any], bucket: str) -> Iterator[str]:
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict) or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        if (s3.get("bucket") or {}).get("name") == bucket and isinstance((s3.get("object") or {}).get("key"), str):
            yield unquote_plus(s3["object"]["key"])


def _relative(key: str, prefix: str) -> str | None:
    prefix = prefix.strip("/")
    if not prefix:
        return key
    return key[len(prefix) + 1:] if key.startswith(prefix + "/") else None


def consume(client: Any, queue_url: str, bucket: str, prefix: str, notify: Notify, *, once: bool,
            wait_seconds: int = 20, echo: Echo = print) -> ConsumeCounts:
    """Poll until stopped (``once``: until the queue has nothing more right now)."""
    counts = ConsumeCounts()
    while True:
        messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=0 if once else wait_seconds).get("Messages", [])
        if once and not messages:
            return counts
        for message in messages:
            _handle(client, queue_url, message, bucket, prefix, notify, echo, counts)


def _handle(client: Any, queue_url: str, message: dict[str, Any], bucket: str, prefix: str, notify: Notify,
            echo: Echo, counts: ConsumeCounts) -> None:
    """Announce the message's manifests, then delete it (a failure to announce raises first)."""
    counts.messages += 1
    keys = manifest_keys(message.get("Body", ""), bucket, prefix)
    if not keys:
        counts.ignored += 1
        echo(f"Ignored message {message.get('MessageId')}: " + (
            "not an S3 notification" if keys is None else f"no new request.json under s3://{bucket}/{prefix}"))
    for key in keys or []:
        try:
            notify(key)
        except Refused as refused:  # a key outside the allowlist is never announced, nor retried
            counts.ignored += 1
            echo(f"Ignored {key!r}: {refused.problems[0]}")
            continue
        counts.notified.append(key)
        echo(f"Notified {key}")
    client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
