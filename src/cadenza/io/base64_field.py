"""A base64 field of a JSON body (a recording sent from the phone), decoded within a size limit.

The length is checked on the text before decoding, so an oversize field costs nothing; the error names the
field and what it must hold.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cadenza.errors import ParameterError

__all__ = ["decode_base64_field"]


def decode_base64_field(text: Any, *, field: str, max_bytes: int, holds: str) -> bytes:
    """The bytes of ``text``, a base64 field named ``field`` that holds ``holds`` (for the error) of at most
    ``max_bytes`` bytes once decoded.

    >>> decode_base64_field("AAE=", field="pcm_b64", max_bytes=4, holds="16-bit PCM")
    b'\\x00\\x01'
    >>> decode_base64_field("AAE=", field="pcm_b64", max_bytes=1, holds="16-bit PCM")
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: pcm_b64 must be base64 16-bit PCM of at most 1 bytes
    """
    if not isinstance(text, str) or len(text) > max_bytes * 4 // 3 + 4:
        raise ParameterError(f"{field} must be base64 {holds} of at most {max_bytes} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ParameterError(f"{field} must be base64") from None
    if len(data) > max_bytes:
        raise ParameterError(f"{field} must be base64 {holds} of at most {max_bytes} bytes")
    return data
