"""A real S3 endpoint for tests: a moto server over HTTP on loopback, reached the way AWS would be.

The session fixture ``s3_endpoint`` starts ``ThreadedMotoServer`` on a free port of 127.0.0.1 and
points the standard AWS configuration at it (``AWS_ENDPOINT_URL``, dummy credentials, a region, no
config files, no instance metadata), so code under test builds its boto3 client exactly as in
production. ``s3_bucket`` gives each test a fresh, empty bucket; ``s3_storage_url`` a
``PHONESYS_STORAGE_URL`` inside it; ``s3_client`` is a plain boto3 client for arranging and
inspecting. tests/conftest.py registers this module as a plugin, so every test can ask for them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/phonesys-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/phonesys-test-aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Settings that would send requests elsewhere or change who we are; cleared for the session.
AWS_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_REGION")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server; the AWS environment points at it meanwhile."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request drowns failures
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_UNSET:
            patch.delenv(name, raising=False)
        for name, value in {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": url}.items():
            patch.setenv(name, value)
        try:
            yield url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    """A boto3 S3 client for the test server, for arranging and inspecting buckets directly."""
    return boto3.session.Session().client("s3")


@pytest.fixture
def s3_bucket(s3_client) -> Iterator[str]:
    """A new empty bucket for one test, removed afterwards with everything in it."""
    name = f"test-{uuid.uuid4().hex[:20]}"
    client = s3_client
    client.create_bucket(Bucket=name)
    yield name
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys})
    client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_storage_url(s3_bucket) -> str:
    """``s3://<fresh bucket>/phonesys``: a value for PHONESYS_STORAGE_URL."""
    return f"s3://{s3_bucket}/phonesys"
