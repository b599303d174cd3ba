"""Beam's own TFRecord writing with a tfrec coder, shared by test_beam.py and
interop_job.py.

Imports Beam, so only the Beam venv imports it (interop_job.py only from its
``main``). Knows nothing of what the values are or how they are checked.
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes

COMPRESSIONS = {"none": CompressionTypes.UNCOMPRESSED, "gzip": CompressionTypes.GZIP}


def write_tfrecords(values: Iterable[Any], prefix: str, coder: Any, compression: str) -> None:
    """Writes ``values`` with ``beam.io.WriteToTFRecord`` on the DirectRunner
    into two shards, ``PREFIX-0000N-of-00002.tfrecord`` (``.gz`` added when
    ``compression`` is ``"gzip"``)."""
    with beam.Pipeline("DirectRunner") as p:
        _ = (
            p
            | beam.Create(values, reshuffle=False)
            | beam.io.WriteToTFRecord(
                prefix,
                coder=coder,
                file_name_suffix=".tfrecord" + (".gz" if compression == "gzip" else ""),
                num_shards=2,
                compression_type=COMPRESSIONS[compression],
            )
        )
