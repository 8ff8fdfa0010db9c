"""Build small Slack exports at test time, as a folder or a zip, from Python values."""

from __future__ import annotations

import json
import zipfile
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
