"""A small, safe decoder of PHP ``serialize()`` output (DokuWiki's ``.meta`` files).

Only data is decoded: ``N;`` (null), ``b:0;``/``b:1;``, ``i:<int>;``, ``d:<float>;``,
``s:<byte length>:"<bytes>";`` and ``a:<count>:{<key><value>…}`` (keys are ints or
strings). Objects (``O:``), custom serialisation (``C:``), enums (``E:``) and references
(``r:``/``R:``) are refused: nothing is ever evaluated or instantiated, and the caller keeps
the record's bytes. Strings are byte strings in PHP; they are decoded as UTF-8 here (invalid
bytes replaced; ``unserialize_lossy`` says when that happened).

Nesting is limited (``MAX_DEPTH``) and every length is checked against the input, so a
hostile file costs at most its own size.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64
_NUMBER = re.compile(rb"-?[0-9]+")
_FLOAT = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|-?INF|NAN")


class PhpUnserializeError(ValueError):
    """The bytes are not PHP serialize() data passerelle decodes; ``at`` is the byte offset."""

    def __init__(self, message: str, at: int) -> None:
        super().__init__(f"{message} at byte {at}")
        self.at = at


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.lossy = False  # a string was not UTF-8

    def fail(self, message: str) -> PhpUnserializeError:
        return PhpUnserializeError(message, self.at)

    def expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.at):
            raise self.fail(f"expected {token.decode()!r}")
        self.at += len(token)

    def number(self, pattern: re.Pattern[bytes] = _NUMBER) -> bytes:
        match = pattern.match(self.data, self.at)
        if match is None:
            raise self.fail("expected a number")
        self.at = match.end()
        return match.group()

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        kind = self.data[self.at : self.at + 1]
        if kind == b"N":
            self.expect(b"N;")
            return None
        if kind == b"b":
            self.expect(b"b:")
            flag = self.data[self.at : self.at + 1]
            if flag not in (b"0", b"1"):
                raise self.fail("a boolean is neither 0 nor 1")
            self.at += 1
            self.expect(b";")
            return flag == b"1"
        if kind == b"i":
            self.expect(b"i:")
            number = int(self.number())
            self.expect(b";")
            return number
        if kind == b"d":
            self.expect(b"d:")
            text = self.number(_FLOAT).decode()
            self.expect(b";")
            return float(text)
        if kind == b"s":
            self.expect(b"s:")
            length = int(self.number())
            self.expect(b':"')
            end = self.at + length
            if length < 0 or end > len(self.data):
                raise self.fail("a string runs past the end")
            raw = self.data[self.at : end]
            self.at = end
            self.expect(b'";')
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                self.lossy = True
                return raw.decode("utf-8", "replace")
        if kind == b"a":
            self.expect(b"a:")
            count = int(self.number())
            self.expect(b":{")
            if count < 0 or count > len(self.data) - self.at:
                raise self.fail("an array's count is larger than the data")
            result: dict[int | str, Any] = {}
            for _ in range(count):
                key = self.value(depth + 1)
                if not isinstance(key, (int, str)) or isinstance(key, bool):
                    raise self.fail("an array key is neither an int nor a string")
                result[key] = self.value(depth + 1)
            self.expect(b"}")
            return result
        if kind in (b"O", b"C", b"E", b"r", b"R"):
            names = {b"O": "an object", b"C": "a custom object", b"E": "an enum", b"r": "a reference"}
            raise self.fail(f"{names.get(kind, 'a reference')} ({kind.decode()}:) is refused")
        raise self.fail(f"unknown type {kind!r}")


def unserialize(data: bytes) -> Any:
    """The value, with PHP arrays as dicts (int or str keys, in order); ``PhpUnserializeError``
    for anything else than one whole serialized value (trailing whitespace allowed)."""
    return unserialize_lossy(data)[0]


def unserialize_lossy(data: bytes) -> tuple[Any, bool]:
    """``unserialize``, and whether some string was not UTF-8 (read with replacement)."""
    decoder = _Decoder(data)
    value = decoder.value(0)
    if data[decoder.at :].strip():
        raise decoder.fail("data after the value")
    return value, decoder.lossy


def as_json(value: Any) -> Any:
    """A decoded value as JSON can hold it: an array whose keys are 0..n-1 is a list, any
    other a dict with string keys (PHP's int keys become their decimal text)."""
    if isinstance(value, dict):
        if all(isinstance(k, int) for k in value) and list(value) == list(range(len(value))):
            return [as_json(v) for v in value.values()]
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    return value
