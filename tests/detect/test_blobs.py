"""Tests for proxy.detect.blobs: which texts are base64 attachments the detectors skip."""

from __future__ import annotations

import base64

from proxy.detect.blobs import MIN_BLOB, is_blob


def test_base64_content_is_a_blob_wrapped_or_not() -> None:
    """Plain or MIME-wrapped base64 (CR LF every 76 characters), with its padding."""
    blob = base64.b64encode(bytes(range(256)) + b"x").decode()
    assert blob.endswith("=")
    assert is_blob(blob)
    assert is_blob("\r\n".join(blob[i : i + 76] for i in range(0, len(blob), 76)))


def test_short_text_prose_and_non_ascii_are_not_blobs() -> None:
    """Under the minimum length, with spaces, or outside the alphabet: text to scan."""
    assert not is_blob("QUJD" * ((MIN_BLOB - 1) // 4))
    assert is_blob("QUJD" * (MIN_BLOB // 4))
    assert not is_blob("guasto cliente " * 20)
    assert not is_blob("QUJD" * 40 + "è")
    assert not is_blob("QUJD" * 40 + "===")
