"""What a JSON file is, read from its structure instead of its first 64 KiB of text.

Tools write their identifying keys where they like: cyclonedx-py puts `bomFormat` after
the components (a 3 MB SBOM names its format in its last line), SharpHound puts `meta`
after `data`. A text search of the head misses both, so the JSON connectors sniff the
top-level keys instead: `scan` walks the document with a small incremental reader that
records each top-level key and steps over its value without building it (a regex jumps
from one string or bracket to the next, so skipping megabytes costs milliseconds), and
stops at the end of the first top-level value or after `limit` bytes.

The result says what the top level is (`object`, `array` of records, JSON `lines`) and
holds the keys of the object - of the first record for arrays and JSON lines - with
their values: scalars as parsed, small objects and arrays parsed whole, large ones as
`Large` (their kind and, for an array, its first element's keys).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

SCAN_LIMIT = 32 << 20  # bytes a sniff may read: more than any SBOM or report we have met
SMALL_VALUE = 16 << 10  # composite values up to this size are parsed, larger ones stepped over

_WS = re.compile(rb"[ \t\r\n]*")
# Everything up to the next bracket, whole strings included (a bracket inside a string is
# not one): stepping over a value is one regex match per bracket, not per character.
_RUN = re.compile(rb'(?:[^"\[\]{}]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.DOTALL)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null|-?Infinity|NaN")  # as Python's json reads them


@dataclass(frozen=True)
class Large:
    """A composite value too large to parse while sniffing."""

    kind: str  # "object" | "array"
    first_keys: tuple[str, ...] = ()  # an array's first element's keys, when an object
    complete: bool = True  # False: the scan limit came before the value's end


@dataclass
class JsonHead:
    kind: str  # "object" | "array" | "lines"
    keys: dict[str, object] = field(default_factory=dict)
    complete: bool = True  # False when the scan stopped at the limit before the value's end

    def get(self, key: str, default: object = None) -> object:
        return self.keys.get(key, default)

    def has(self, *keys: str) -> bool:
        return all(k in self.keys for k in keys)


class _Stop(Exception):
    """The scan ran past its limit or met something that is not JSON."""


class _Reader:
    def __init__(self, data: bytes | memoryview, limit: int) -> None:
        self.data = data
        self.end = min(len(data), limit)

    def ws(self, pos: int) -> int:
        return _WS.match(self.data, pos, self.end).end()

    def char(self, pos: int) -> bytes:
        if pos >= self.end:
            raise _Stop
        return bytes(self.data[pos:pos + 1])

    def string(self, pos: int) -> tuple[str, int]:
        m = _STRING.match(self.data, pos, self.end)
        if m is None:
            raise _Stop
        try:
            return json.loads(m.group()), m.end()
        except ValueError:
            raise _Stop from None

    def skip(self, pos: int) -> int:
        """The end of the composite value opening at `pos`."""
        data, end, run = self.data, self.end, _RUN.match
        depth = 0
        while True:
            pos = run(data, pos, end).end()
            if pos >= end:
                raise _Stop
            c = data[pos]
            if c == 0x7B or c == 0x5B:  # { [
                depth += 1
            elif c == 0x7D or c == 0x5D:  # } ]
                depth -= 1
                if depth == 0:
                    return pos + 1
            else:  # an unterminated string
                raise _Stop
            pos += 1

    def value(self, pos: int) -> tuple[object, int]:
        c = self.char(pos)
        if c == b'"':
            return self.string(pos)
        if c in (b"{", b"["):
            end = self.skip(pos)
            if end - pos <= SMALL_VALUE:
                try:
                    return json.loads(bytes(self.data[pos:end])), end
                except ValueError:
                    raise _Stop from None
            if c == b"[":
                first = self.ws(pos + 1)
                keys = tuple(self.keys(first)[0]) if self.char(first) == b"{" else ()
                return Large("array", keys), end
            return Large("object"), end
        m = _SCALAR.match(self.data, pos, self.end)
        if m is None:
            raise _Stop
        try:
            return json.loads(m.group()), m.end()
        except ValueError:
            raise _Stop from None

    def partial_array(self, pos: int) -> Large | None:
        """An array cut by the limit, known by its first element (a 2 GB `data` or
        `components` array still says what its records are)."""
        try:
            if self.char(pos) != b"[":
                return None
            first = self.ws(pos + 1)
            if self.char(first) != b"{":
                return None
            keys, _, _ = self.keys(first)
        except _Stop:
            return None
        return Large("array", tuple(keys), complete=False)

    def keys(self, pos: int) -> tuple[dict[str, object], int, bool]:
        """The keys of the object opening at `pos` with their values; the position after
        it; and whether the whole object was read (False: the limit came first)."""
        out: dict[str, object] = {}
        pos = self.ws(pos + 1)
        try:
            if self.char(pos) == b"}":
                return out, pos + 1, True
            while True:
                key, pos = self.string(self.ws(pos))
                pos = self.ws(pos)
                if self.char(pos) != b":":
                    raise _Stop
                start = self.ws(pos + 1)
                try:
                    value, pos = self.value(start)
                except _Stop:
                    partial = self.partial_array(start)
                    if partial is not None:
                        out.setdefault(key, partial)
                    raise
                out.setdefault(key, value)
                pos = self.ws(pos)
                c = self.char(pos)
                if c == b"}":
                    return out, pos + 1, True
                if c != b",":
                    raise _Stop
                pos += 1
        except _Stop:
            if not out:
                raise
            return out, pos, False


def scan(data: bytes | memoryview | str, limit: int = SCAN_LIMIT) -> JsonHead | None:
    """The top-level structure of a JSON document, JSON array or JSON lines file; None
    when it does not start like one."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    r = _Reader(data, limit)
    pos = r.ws(3 if bytes(data[:3]) == b"\xef\xbb\xbf" else 0)
    try:
        c = r.char(pos)
        if c == b"[":
            first = r.ws(pos + 1)
            if r.char(first) != b"{":
                return JsonHead("array", {}, True)
            keys, _, complete = r.keys(first)
            return JsonHead("array", keys, complete)
        if c != b"{":
            return None
        keys, end, complete = r.keys(pos)
    except _Stop:
        return None
    if not complete:
        return JsonHead("object", keys, False)
    nxt = r.ws(end)
    if nxt < r.end and bytes(data[nxt:nxt + 1]) == b"{" and b"\n" in bytes(data[end:nxt + 1]):
        return JsonHead("lines", keys, True)
    return JsonHead("object", keys, True)


class Head(str):
    """The sniffers' view of a file: the first 64 KiB as text (what every sniffer gets),
    plus its JSON structure, read once and only when a sniffer asks for it."""

    _json: JsonHead | None
    _scanned: bool

    def __new__(cls, text: str, data: bytes | memoryview | None = None) -> Head:
        obj = super().__new__(cls, text)
        obj._data = data
        obj._scanned = False
        obj._json = None
        return obj

    @property
    def json(self) -> JsonHead | None:
        if not self._scanned:
            self._scanned = True
            stripped = self.lstrip("\ufeff \t\r\n")
            if stripped[:1] in ("{", "["):
                data = self._data() if callable(self._data) else self._data  # read only when asked
                self._json = scan(data if data is not None else str(self))
        return self._json


def json_head(head: str) -> JsonHead | None:
    """The structure behind a sniffer's `head` (a plain string is scanned as it is)."""
    if isinstance(head, Head):
        return head.json
    stripped = head.lstrip("\ufeff \t\r\n")
    return scan(head) if stripped[:1] in ("{", "[") else None
