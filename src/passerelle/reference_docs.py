"""Generate the reference documents under docs/ from the code (``make docs``).

A test regenerates them and fails when the committed copies are stale, so the CLI
reference, the diagnostics catalogue, the format matrix and the model's JSON Schema can
never drift from what the code does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from passerelle.diagnostics import catalogue_markdown
from passerelle.model.schema import json_schema_text
from passerelle.readers import available_readers
from passerelle.writers import available_writers


def cli_reference() -> str:
    from passerelle.cli import cli

    lines = ["# Command-line reference", "", "Generated from `passerelle --help` (`make docs`).", ""]
    context = click.Context(cli, info_name="passerelle", terminal_width=88, max_content_width=88)
    lines += ["## passerelle", "", "```", cli.get_help(context), "```", ""]
    for name in sorted(cli.list_commands(context)):
        command = cli.get_command(context, name)
        assert command is not None
        sub = click.Context(command, info_name=name, parent=context)
        lines += [f"## passerelle {name}", "", "```", command.get_help(sub), "```", ""]
        if isinstance(command, click.Group):  # its own commands (`csv guess`) too
            for inner_name in sorted(command.list_commands(sub)):
                inner = command.get_command(sub, inner_name)
                assert inner is not None
                inner_context = click.Context(inner, info_name=inner_name, parent=sub)
                lines += [
                    f"### passerelle {name} {inner_name}",
                    "",
                    "```",
                    inner.get_help(inner_context),
                    "```",
                    "",
                ]
    return "\n".join(lines)


def format_matrix() -> str:
    lines = [
        "# Format matrix",
        "",
        "Generated from each reader's and writer's declaration (`passerelle formats`, `make docs`).",
        "What a reader cannot carry is never dropped silently: each case is recorded as a",
        "diagnostic (see [diagnostics.md](diagnostics.md)) and the raw source record is kept.",
        "What a writer's target cannot carry is a typed note in the export's",
        "`passerelle-export.json`, counted by `export --dry-run` beforehand and explained by",
        "`verify ARCHIVE --against OUTPUT` afterwards.",
        "",
        "| format | direction | platform | description |",
        "|---|---|---|---|",
    ]
    readers = available_readers()
    lines += [f"| `{n}` | reader | {r.info.platform} | {r.info.description} |" for n, r in readers.items()]
    writers = available_writers()
    lines += [f"| `{n}` | writer | | {w.info.description} |" for n, w in writers.items()]
    for name, reader in readers.items():
        lines += ["", f"## `{name}` reader", "", "Keeps:", ""]
        lines += [f"- {kept}" for kept in reader.info.keeps]
        lines += ["", "Cannot carry (each case is a diagnostic):", ""]
        lines += [f"- {lost}" for lost in reader.info.cannot_carry]
    for name, writer in writers.items():
        lines += ["", f"## `{name}` writer", "", f"Read back by the `{writer.info.reader}` reader.", ""]
        lines += ["Keeps:", ""] + [f"- {kept}" for kept in writer.info.keeps]
        lines += ["", "Cannot carry (each case is a typed note in the export):", ""]
        lines += [f"- {lost}" for lost in writer.info.cannot_carry]
        if writer.info.options:
            lines += ["", "Options (`--set KEY=VALUE`):", ""]
            lines += [
                f"- `{o.name}`: {o.help}" + (f" Default: `{o.default}`." if o.default is not None else "")
                for o in writer.info.options
            ]
    return "\n".join(lines) + "\n"


def documents() -> dict[str, str]:
    return {
        "schema/model.schema.json": json_schema_text(),
        "diagnostics.md": catalogue_markdown(),
        "cli.md": cli_reference(),
        "formats.md": format_matrix(),
    }


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")
    for relative, text in documents().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
