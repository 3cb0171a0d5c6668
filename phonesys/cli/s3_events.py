"""``phonesys notify-from-sqs``: the S3 event consumer, so an upload starts a scan within seconds.

Exit status: 0 done (``--once``) or stopped with Ctrl-C, 1 refused (storage is not S3, no
PREFECT_API_URL), 69 the Prefect API did not answer in ``--once`` mode (the message stays queued).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.text import Text

from phonesys.cli.common import EXIT_UNAVAILABLE, JsonOption, attempt, console, err_console, print_json
from phonesys.cli.ops import with_prefect

RETRY_AFTER_SECONDS = 10


def notify_from_sqs(
        queue_url: Annotated[str, typer.Argument(metavar="QUEUE_URL", help="The SQS queue the bucket's "
                                                 "event notifications go to.", show_default=False)],
        once: Annotated[bool, typer.Option("--once", help="Handle what is queued now, then exit "
                                           "(for cron or a test); default: poll until Ctrl-C.")] = False,
        wait_seconds: Annotated[int, typer.Option("--wait-seconds", min=0, max=20, help="Long-poll wait "
                                                  "per receive.")] = 20,
        as_json: JsonOption = False) -> None:
    """Read S3 "object created" notifications from an SQS queue and notify each new request.json.

    Keeps the manifests under PHONESYS_STORAGE_URL's bucket and prefix (incoming/ORG/REQUEST/
    request.json), sends `phonesys notify` for each, and deletes a message once all its manifests
    were announced. S3 test events and other objects are deleted with a line saying so. If the
    Prefect API does not answer, the message stays queued and returns after the queue's visibility
    timeout; the every-minute scan finds the request anyway. The queue comes from the standard AWS
    configuration (credentials, region, AWS_ENDPOINT_URL).

    Example: phonesys notify-from-sqs https://sqs.eu-west-1.amazonaws.com/123456789012/phonesys-incoming
    """
    import boto3

    from phonesys.ops.events import notify_object_created
    from phonesys.ops.prefect_api import PrefectUnavailable, require_api
    from phonesys.ops.s3_events import consume

    bucket, prefix = attempt(as_json, _s3_location)
    with_prefect(as_json, require_api)
    client = boto3.session.Session().client("sqs")
    echo = (lambda _line: None) if as_json else console.print
    while True:
        try:
            counts = consume(client, queue_url, bucket, prefix, notify_object_created, once=once,
                             wait_seconds=wait_seconds, echo=echo)
            break
        except PrefectUnavailable as exc:
            err_console.print(Text.assemble(("error", "red"), f" {exc.problem}"), soft_wrap=True)
            if once:
                raise typer.Exit(EXIT_UNAVAILABLE) from None
            time.sleep(RETRY_AFTER_SECONDS)
    if as_json:
        print_json({"ok": True, "messages": counts.messages, "notified": counts.notified, "ignored": counts.ignored})
    else:
        console.print(f"{counts.messages} message(s): {len(counts.notified)} request(s) notified, "
                      f"{counts.ignored} ignored")


def _s3_location() -> tuple[str, str]:
    """The bucket and prefix of PHONESYS_STORAGE_URL, which must be S3."""
    from phonesys.rules.errors import Problem, Refused
    from phonesys.settings import load_settings
    from phonesys.storage.objects import open_object_store
    from phonesys.storage.objects.s3 import S3ObjectStore

    url = load_settings().objects_url
    store = open_object_store(url)
    if not isinstance(store, S3ObjectStore):
        raise Refused(Problem("storage-url-invalid", "notify-from-sqs reads S3 event notifications: set "
                              "PHONESYS_STORAGE_URL=s3://bucket[/prefix] to the bucket they come from.",
                              field="PHONESYS_STORAGE_URL", value=url))
    return store.bucket, store.prefix
