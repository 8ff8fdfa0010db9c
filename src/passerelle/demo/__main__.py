"""``python -m passerelle.demo OUT.zip``: write a realistic synthetic Slack export for the demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from passerelle.demo.slack_export import ExportSpec, write_export


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m passerelle.demo", description=__doc__)
    parser.add_argument("dest", type=Path, help="where to write the export (.zip for a zip, else a folder)")
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    stats = write_export(
        ExportSpec(messages=args.messages, seed=args.seed), args.dest, as_zip=args.dest.suffix == ".zip"
    )
    print(
        f"wrote {args.dest}: {stats.messages} messages in {stats.channels} conversations, "
        f"{stats.replies} thread replies in {stats.thread_roots} threads, {stats.reactions} reactions, "
        f"{stats.files} files ({stats.files_with_bytes} with bytes), {stats.users} users"
    )


if __name__ == "__main__":
    main()
