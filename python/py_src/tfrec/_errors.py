"""The exception hierarchy. Every error the package raises is a `tfrec.Error`.

Errors about a record carry ``path`` (the file), ``offset`` (the byte offset of
the record's frame) and ``index`` (the record's index in its file), each
``None`` where unknown, and ``kind``, the library's short name for what went
wrong (``"corrupt_data"``, ``"truncated_record"``, ``"invalid_tensor"``, ...).
Exceptions pickle with their attributes, so they cross process boundaries
(DataLoader workers, Ray and Spark tasks) intact.

The classes know nothing of the library's error kinds: the compiled
module picks the class for each and fills in the attributes.
"""

from __future__ import annotations

__all__ = [
    "Error",
    "DataLossError",
    "TooManySkippedError",
    "InvalidTensorError",
    "UnsupportedDTypeError",
    "InvalidExampleError",
    "InvalidInputError",
    "TFRecordIOError",
    "TFRecordNotFoundError",
    "TFRecordPermissionError",
    "TFRecordTimeoutError",
]


class Error(Exception):
    """Base class of every error tfrec raises."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        offset: int | None = None,
        index: int | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.offset = offset
        self.index = index
        self.kind = kind

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (str(self), self.path, self.offset, self.index, self.kind))


class DataLossError(Error):
    """Damaged framing, a CRC mismatch, a truncated record or an oversized length."""


class TooManySkippedError(DataLossError):
    """More damaged records were skipped than ``max_skipped`` allows."""


class InvalidTensorError(Error, ValueError):
    """A payload is not a valid serialized tensor, or a tensor is impossible."""


class UnsupportedDTypeError(InvalidTensorError):
    """A dtype tfrec does not handle (quantized, resource, variant, ...)."""


class InvalidExampleError(Error, ValueError):
    """A payload is not a valid ``tf.train.Example``, or a feature does not fit its spec."""


class InvalidInputError(Error, ValueError):
    """An argument or an input in another format (``.npy``, JSON) is not valid."""


class TFRecordIOError(Error, OSError):
    """An operating-system error while reading or writing."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        offset: int | None = None,
        index: int | None = None,
        kind: str | None = None,
        errno: int | None = None,
    ) -> None:
        Error.__init__(self, message, path, offset, index, kind)
        self.errno = errno
        self.filename = path
        self.strerror = message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # type: ignore[override]
        return (
            type(self),
            (str(self), self.path, self.offset, self.index, self.kind, self.errno),
        )


class TFRecordNotFoundError(TFRecordIOError, FileNotFoundError):
    """A file or object does not exist."""


class TFRecordPermissionError(TFRecordIOError, PermissionError):
    """Access to a file or object was denied."""


class TFRecordTimeoutError(TFRecordIOError, TimeoutError):
    """A request to an object store did not finish within the timeout
    (``TFREC_STORE_TIMEOUT_SECS``), retries included."""


# The classes are public as `tfrec.X`: tracebacks and pickles name them so.
for _name in __all__:
    globals()[_name].__module__ = "tfrec"
del _name
