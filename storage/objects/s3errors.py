"""What an S3 failure means to phonesys: a missing object, a refusal, or a hiccup worth retrying.

botocore already retries throttling, 5xx and connection errors (``AWS_RETRY_MODE`` /
``AWS_MAX_ATTEMPTS`` tune it); what still fails after that becomes ``TransientError`` so the flow's
own retry policy decides. Missing objects become ``NotFound``; a missing bucket, denied access or
missing credentials become ``Refused`` with a code saying what to fix, because retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import RetriesExceededError
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    SSLError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from s3transfer.exceptions import RetriesExceededError as TransferRetriesExceededError

from phonesys.rules import object_refusals as refusals
from phonesys.rules.errors import PhonesysError, Refused, TransientError

from .base import not_found

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
_TRANSIENT = {"SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "RequestTimeout",
              "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable", "InternalError",
              "OperationAborted"}
_UNREACHABLE = (BotoConnectionError, HTTPClientError, IncompleteReadError, RetriesExceededError,
                TransferRetriesExceededError)
_NO_CREDENTIALS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)


@contextmanager
def s3_errors(bucket: str, location: str, key: str) -> Iterator[None]:
    """Translate botocore/s3transfer exceptions raised while working on ``key``."""
    try:
        yield
    except SSLError:
        raise  # a certificate problem is configuration, not a hiccup
    except ClientError as exc:
        answer = client_error(exc, bucket, location, key)
        if answer is exc:
            raise
        raise answer from exc
    except _UNREACHABLE as exc:
        raise TransientError(f"S3 did not answer for {location}: {exc}") from exc
    except _NO_CREDENTIALS as exc:
        raise Refused(refusals.storage_credentials_missing(exc)) from exc


def client_error(exc: ClientError, bucket: str, location: str, key: str) -> PhonesysError | ClientError:
    """The phonesys answer for an S3 error response, or ``exc`` itself when it means nothing to us."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code == "NoSuchBucket":
        return Refused(refusals.storage_bucket_not_found(bucket))
    if code in _NOT_FOUND:
        return not_found(location, key)
    if code in _DENIED:
        return Refused(refusals.storage_access_denied(location, code, key))
    if code in _TRANSIENT or status == 429 or status >= 500:
        return TransientError(f"S3 is busy or failing for {location} ({code or status}); retry later")
    return exc
