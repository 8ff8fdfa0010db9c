"""Build small Slack exports at test time, as a folder or a zip, from Python values."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

USERS = [
    {"id": "U1", "team_id": "T1", "name": "ada", "real_name": "Ada L", "profile": {"display_name": "ada",
     "email": "ada@example.org"}},
    {"id": "U2", "team_id": "T1", "name": "bob", "deleted": True, "profile": {"real_name": "Bob"}},
    {"id": "U3", "team_id": "T1", "name": "robot", "is_bot": True, "profile": {"bot_id": "B3"}},
]  # fmt: skip
CHANNELS = [{"id": "C1", "name": "general", "created": 1600000000, "creator": "U1", "members": ["U1", "U2"]}]


def build_export(dest: Path, files: dict[str, Any], *, as_zip: bool = False) -> Path:
    """Write each entry (bytes as they are, anything else as JSON) into a folder or a zip at dest."""
    entries = {"users.json": USERS, "channels.json": CHANNELS, **files}

    def encode(value: Any) -> bytes:
        return value if isinstance(value, bytes) else json.dumps(value, indent=1).encode()

    if as_zip:
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, value in entries.items():
                zf.writestr(name, encode(value))
    else:
        for name, value in entries.items():
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(value))
    return dest


def message(ts: str, text: str = "hello", user: str | None = "U1", **extra: Any) -> dict[str, Any]:
    """A message record; ``user=None`` leaves the key out."""
    record: dict[str, Any] = {"type": "message", "ts": ts, "text": text, **extra}
    if user is not None:
        record["user"] = user
    return record


def write_folder(root: Path, entries: Mapping[str, bytes]) -> Path:
    """Each entry's bytes at its path under root."""
    for name, data in entries.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(
    path: Path,
    entries: Mapping[str, bytes] | Mapping[bytes, bytes] | Mapping[bytes | str, bytes],
    *,
    utf8_flag: bool = True,
) -> Path:
    """A deflated zip. A ``bytes`` name is written as those exact bytes without the UTF-8 flag;
    with ``utf8_flag=False``, a non-ASCII ``str`` name is written as UTF-8 without the flag, as
    Slack does (zipfile would flag it: an ASCII stand-in of the same length is written, then
    replaced by the real bytes, so no offset moves)."""
    stand_ins: dict[bytes, bytes] = {}
    with zipfile.ZipFile(path, "w") as zf:
        for index, (name, data) in enumerate(entries.items()):
            raw = name if isinstance(name, bytes) else None
            if isinstance(name, str) and not utf8_flag and not name.isascii():
                raw = name.encode()
            stored = name if isinstance(name, str) else ""
            if raw is not None:
                stored = f"~{index}~".ljust(len(raw), "~")
                assert len(stored) == len(raw), "name too short for a stand-in"
                stand_ins[stored.encode()] = raw
            zf.writestr(zipfile.ZipInfo(stored), data, compress_type=zipfile.ZIP_DEFLATED)
    if stand_ins:
        content = path.read_bytes()
        for stand_in, real in stand_ins.items():
            assert content.count(stand_in) == 2  # the local header and the central directory
            content = content.replace(stand_in, real)
        path.write_bytes(content)
    return path
