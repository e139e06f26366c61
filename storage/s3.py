"""S3Storage: keys are objects in one S3 bucket (AWS, SeaweedFS, MinIO), streamed with boto3.

Uploads go through boto3's managed transfer with a bounded number of in-memory parts, so a
multi-gigabyte scan is sent as a multipart upload in constant memory; downloads stream the
GetObject body. Every botocore error is turned into a StorageError naming the operation,
the bucket and the key.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import StorageError, StorageNotFound, as_stream, check_key

# Multipart parts: S3's minimum part size and at most 10,000 parts, so objects up to 52 GB.
# An upload holds about PART_SIZE * (PARTS_IN_MEMORY + 2) bytes (~23 MiB) whatever its size.
PART_SIZE = 5 * 1024 * 1024
PARTS_IN_MEMORY = 2  # parts read ahead and uploaded concurrently

_TRANSFER = TransferConfig(
    multipart_threshold=PART_SIZE,
    multipart_chunksize=PART_SIZE,
    max_concurrency=PARTS_IN_MEMORY,
    preferred_transfer_client="classic",  # the CRT client (if installed) ignores these limits
)
_TRANSFER.max_in_memory_upload_chunks = PARTS_IN_MEMORY  # s3transfer setting boto3 does not expose
_MISSING_KEY = {"NoSuchKey", "NotFound", "404"}  # HEAD answers 404 without an error body
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_DENIED = {"AccessDenied", "Forbidden", "403"}


class S3Storage:
    """Storage in an S3 bucket, optionally below a key prefix ("fangzhi/" → "fangzhi/a/b.tif").

    Credentials, region and endpoint default to boto3's usual lookup (environment, config
    files); ``endpoint_url`` points at an S3-compatible server. Addressing is path-style.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        create_bucket: bool = False,
    ):
        self.bucket = bucket
        self.prefix = check_key(prefix.strip("/")) + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )
        if create_bucket:
            self._create_bucket(region)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, prefix={self.prefix!r}, endpoint={self.client.meta.endpoint_url!r})"

    def _create_bucket(self, region: str | None) -> None:
        args = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 rejects an explicit location
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**args)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise self._error(exc, "creating the bucket") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "creating the bucket") from exc

    def _error(self, exc: Exception, action: str, key: str | None = None) -> StorageError:
        """Translate a botocore error into a StorageError an archivist can read."""
        doing = f"{action} {key}" if key else action
        if not isinstance(exc, ClientError):
            return StorageError(f"S3 request for bucket {self.bucket} failed while {doing}: {exc}")
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code in _MISSING_KEY and key:
            return StorageNotFound(f"no such file in storage: {key} (S3 bucket {self.bucket})")
        if code == "NoSuchBucket":
            return StorageError(f"S3 bucket {self.bucket} does not exist (while {doing})")
        if code in _BAD_CREDENTIALS:
            return StorageError(f"S3 refused the credentials for bucket {self.bucket} while {doing}: {code}")
        if code in _DENIED:
            return StorageError(f"S3 denied access to bucket {self.bucket} while {doing}: {code}")
        message = error.get("Message") or ""
        return StorageError(f"S3 error for bucket {self.bucket} while {doing}: {code} {message}".rstrip())

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        name = self.prefix + check_key(key)
        source = _FillingReader(as_stream(data))
        try:
            self.client.upload_fileobj(source, self.bucket, name, Config=_TRANSFER)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "writing", key) from exc
        except OSError as exc:  # reading the source failed, as LocalStorage reports it
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
        return source.count

    def open(self, key: str) -> BinaryIO:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + check_key(key))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "reading", key) from exc
        return _ObjectReader(body, lambda exc: self._error(exc, "reading", key))

    def read_range(self, key: str, start: int, length: int) -> bytes:
        name = self.prefix + check_key(key)
        if start < 0 or length < 0:
            raise StorageError(f"invalid range {start}+{length} for {key}")
        if length == 0:
            return b""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name, Range=f"bytes={start}-{start + length - 1}")
            return response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # start is past the end
                return b""
            raise self._error(exc, "reading", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "reading", key) from exc

    def _head(self, key: str, action: str) -> dict | None:
        """HeadObject for ``key``, or None if the key does not exist."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.prefix + check_key(key))
        except (BotoCoreError, ClientError) as exc:
            error = self._error(exc, action, key)
            if isinstance(error, StorageNotFound):
                return None
            raise error from exc

    def exists(self, key: str) -> bool:
        return self._head(key, "checking") is not None

    def size(self, key: str) -> int:
        head = self._head(key, "measuring")
        if head is None:
            raise StorageNotFound(f"no such file in storage: {key} (S3 bucket {self.bucket})")
        return head["ContentLength"]

    def list(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix):]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "listing", repr(prefix)) from exc

    def delete(self, key: str) -> None:
        """Delete ``key``; in a bucket that keeps versions, every stored version of it and its delete
        markers too, so that a purge really destroys the bytes (Fangzhi deletes only to purge, or
        to drop its own unfinished writes: OCFL never overwrites content)."""
        full = self.prefix + check_key(key)
        try:
            versioned = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") in ("Enabled", "Suspended")
            if not versioned:
                self.client.delete_object(Bucket=self.bucket, Key=full)
                return
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=full):
                for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if version["Key"] == full:  # not keys that merely start with it
                        self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=version["VersionId"])
        except (BotoCoreError, ClientError) as exc:
            error = self._error(exc, "deleting", key)
            if not isinstance(error, StorageNotFound):
                raise error from exc

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def hold(self, key: str) -> None:
        check_key(key)
        return None


class _FillingReader:
    """The upload source as s3transfer needs it: every ``read(n)`` returns n bytes until the end
    (s3transfer takes a short read for the end of the stream), and the bytes are counted."""

    def __init__(self, source: BinaryIO):
        self.source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self.source.read()
        else:
            parts = []
            while size > 0 and (chunk := self.source.read(size)):
                parts.append(chunk)
                size -= len(chunk)
            data = b"".join(parts)
        self.count += len(data)
        return data


class _ObjectReader(io.RawIOBase):
    """A readable stream over a GetObject body that reports read failures as StorageError."""

    def __init__(self, body, error):
        super().__init__()
        self._body = body
        self._error = error

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._body.read(None if size is None or size < 0 else size)
        except BotoCoreError as exc:
            raise self._error(exc) from exc

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()
