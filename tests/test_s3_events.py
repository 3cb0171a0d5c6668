"""`phonesys notify-from-sqs`: S3 event notifications, through a real SQS queue, become `notify` events.

The moto server plays S3 and SQS over HTTP, with the bucket's notification configuration sending
"object created" events to the queue exactly as AWS does (URL-encoded keys, an s3:TestEvent first).
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from phonesys.ops.localserver import free_port
from phonesys.ops.s3_events import manifest_keys
from tests.opsfixtures import wait_until

BUCKET = "acme-phonesys"


def s3_record(key: str, bucket: str = BUCKET, event: str = "ObjectCreated:Put") -> dict:
    return {"eventSource": "aws:s3", "eventName": event,
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 2}}}


@pytest.mark.parametrize("body, expected", [
    (json.dumps({"Records": [s3_record("pre/incoming/o/june+hires%2B1/request.json")]}),
     ["incoming/o/june hires+1/request.json"]),
    (json.dumps({"Type": "Notification", "Message": json.dumps({"Records": [
        s3_record("pre/incoming/o/r/request.json")]})}), ["incoming/o/r/request.json"]),
    (json.dumps({"Records": [s3_record("pre/incoming/o/r/users.csv"), s3_record("other/incoming/o/r/request.json"),
                             s3_record("pre/incoming/o/r/request.json", bucket="someone-else"),
                             s3_record("pre/incoming/o/r/request.json", event="ObjectRemoved:Delete"),
                             s3_record("pre/processed/o/r/request.json")]}), []),
    (json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}), None),
    ("not json at all", None),
    (json.dumps({"Records": "nope"}), None),
])
def test_manifest_keys_of_a_notification(body, expected):
    assert manifest_keys(body, BUCKET, "pre") == expected


@pytest.fixture
def queue(s3_endpoint, s3_client, monkeypatch):
    """A fresh bucket whose manifests under ``phonesys/incoming/`` notify a fresh queue, like the README's set-up."""
    bucket = f"events-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    sqs = boto3.session.Session().client("sqs")
    url = sqs.create_queue(QueueName=bucket, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3_client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {
            "FilterRules": [{"Name": "prefix", "Value": "phonesys/incoming/"}]}}}]})
    monkeypatch.setenv("PHONESYS_STORAGE_URL", f"s3://{bucket}/phonesys")
    return bucket, url, sqs


def queued(sqs, url: str) -> int:
    time.sleep(1.2)  # past the visibility timeout of anything received and not deleted
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_an_upload_becomes_a_notify_event_and_the_queue_is_drained(queue, s3_client, prefect_server, cli,
                                                                   phonesys_env):
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventResourceFilter

    bucket, url, sqs = queue
    key = f"incoming/{uuid.uuid4()}/june hires/request.json"
    s3_client.put_object(Bucket=bucket, Key=f"phonesys/{key.replace('request.json', 'users.csv')}", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key=f"phonesys/{key}", Body=b"{}")
    sqs.send_message(QueueUrl=url, MessageBody="garbage from someone else")

    result = cli("notify-from-sqs", url, "--once", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["notified"] == [key] and document["ignored"] == 3, document  # test event, csv, garbage
    assert queued(sqs, url) == 0
    with get_client(sync_client=True) as client:
        events = wait_until(lambda: client.read_events(EventFilter(resource=EventResourceFilter(
            id=[f"phonesys.object.{key}"])), limit=5).events, timeout=60, what="the notify event")
    assert events[0].event == "phonesys.jobs.dropfolder.object-created"


def test_text_output_says_what_happened_to_each_message(queue, s3_client, prefect_server, cli, phonesys_env):
    bucket, url, _ = queue
    key = f"incoming/{uuid.uuid4()}/r1/request.json"
    s3_client.put_object(Bucket=bucket, Key=f"phonesys/{key}", Body=b"{}")
    result = cli("notify-from-sqs", url, "--once")
    assert result.exit_code == 0, result.output
    assert f"Notified {key}" in result.stdout and "not an S3 notification" in result.stdout  # the test event
    assert result.stdout.rstrip().endswith("2 message(s): 1 request(s) notified, 1 ignored")


def test_with_the_prefect_api_down_the_message_stays_queued(queue, s3_client, cli, phonesys_env):
    bucket, url, sqs = queue
    s3_client.put_object(Bucket=bucket, Key=f"phonesys/incoming/{uuid.uuid4()}/r/request.json", Body=b"{}")
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        result = cli("notify-from-sqs", url, "--once")
    assert result.exit_code == 69 and "error prefect-api-unreachable" in result.stderr, result.output
    assert queued(sqs, url) >= 1


def test_storage_that_is_not_s3_is_refused(cli, phonesys_env, prefect_server):
    result = cli("notify-from-sqs", "https://sqs.eu-west-1.amazonaws.com/1/q", "--once")
    assert result.exit_code == 1 and "error storage-url-invalid: notify-from-sqs reads S3" in result.stderr
