"""A checkpoint's `ts` read from the bytes LangGraph's msgpack serializer wrote, without decoding the rest.

The listing's fast path (SQLite stores checkpoints as msgpack blobs) needs only when each head checkpoint
was written; decoding a whole checkpoint would revive every message in it.
"""

from __future__ import annotations


def checkpoint_ts(kind: str | None, blob: bytes | None) -> str | None:
    """The `ts` of a checkpoint saved by `SqliteSaver` (msgpack), read without decoding the rest.

    LangGraph writes the checkpoint dict with `v`, `ts`, `id` first; the header is walked by hand
    (a few bytes), and only an unexpected layout decodes the whole blob, with every extension type
    (messages, Sends...) left as raw bytes, so nothing is revived.
    """
    if kind != "msgpack" or not blob:
        return None
    data = bytes(blob)
    try:
        count, at = _map_header(data, 0)
        for _ in range(count):
            key, at = _str(data, at)
            if key == "ts":
                return _str(data, at)[0]
            at = _skip_scalar(data, at)
    except (ValueError, IndexError):
        pass
    import ormsgpack  # LangGraph's own msgpack codec

    try:
        decoded = ormsgpack.unpackb(data, ext_hook=lambda code, raw: None)
    except Exception:
        return None
    ts = decoded.get("ts") if isinstance(decoded, dict) else None
    return ts if isinstance(ts, str) else None


def _map_header(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    if 0x80 <= first <= 0x8F:
        return first & 0x0F, at + 1
    if first == 0xDE:
        return int.from_bytes(data[at + 1 : at + 3], "big"), at + 3
    if first == 0xDF:
        return int.from_bytes(data[at + 1 : at + 5], "big"), at + 5
    raise ValueError("not a map")


def _str(data: bytes, at: int) -> tuple[str, int]:
    first = data[at]
    if 0xA0 <= first <= 0xBF:
        size, at = first & 0x1F, at + 1
    elif first == 0xD9:
        size, at = data[at + 1], at + 2
    elif first == 0xDA:
        size, at = int.from_bytes(data[at + 1 : at + 3], "big"), at + 3
    elif first == 0xDB:
        size, at = int.from_bytes(data[at + 1 : at + 5], "big"), at + 5
    else:
        raise ValueError("not a string")
    if at + size > len(data):
        raise ValueError("truncated")
    return data[at : at + size].decode("utf-8"), at + size


def _skip_scalar(data: bytes, at: int) -> int:
    """Past one int, nil, bool or string value; anything else is not the header this reader knows."""
    first = data[at]
    if first <= 0x7F or first >= 0xE0 or first in (0xC0, 0xC2, 0xC3):
        return at + 1
    widths = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8, 0xCA: 4, 0xCB: 8}
    if first in widths:
        return at + 1 + widths[first]
    return _str(data, at)[1]
