"""The sources each reader must pass the conformance suite on.

A new reader adds its cases here: a name, the reader's format name, and a function that
returns the path of a source (building it in a temporary folder if it must).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from passerelle.demo.slack_export import ExportSpec, write_export
from tests.csv_builder import write_generated as write_csv
from tests.dokuwiki_builder import write_generated as write_dokuwiki
from tests.helpers import sample
from tests.html_site_builder import feature_site, generated_site
from tests.mastodon_builder import ZIP_NAME
from tests.mastodon_builder import write_generated as write_mastodon
from tests.mattermost_builder import write_generated
from tests.mediawiki_builder import write_generated as write_mediawiki
from tests.xwiki_builder import write_feature as write_xwiki
from tests.yammer_builder import write_generated as write_yammer


@dataclass(frozen=True)
class ReaderCase:
    id: str
    reader: str
    make: Callable[[Path], Path]


def _generated_slack(as_zip: bool) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        dest = tmp / ("generated.zip" if as_zip else "generated")
        write_export(ExportSpec(messages=1_500, users=25, seed=7), dest, as_zip=as_zip)
        return dest

    return make


def _generated_mattermost(layout: str) -> Callable[[Path], Path]:
    return lambda tmp: write_generated(tmp / {"zip": "generated.zip"}.get(layout, "generated"), layout=layout)


def _generated_mastodon(layout: str) -> Callable[[Path], Path]:
    return lambda tmp: write_mastodon(tmp / (ZIP_NAME if layout == "zip" else "archive"), layout=layout)


def _package(reader_case: str) -> Callable[[Path], Path]:
    """A package packed from the archive of another case (the package reader's source)."""

    def make(tmp: Path) -> Path:
        from passerelle.ingest import ingest
        from passerelle.package.pack import pack

        case = next(c for c in READER_CASES if c.id == reader_case)
        package = tmp / "package"
        if not package.exists():
            ingest([case.make(tmp)], tmp / "packed-archive", format=case.reader)
            pack(tmp / "packed-archive", package)
        return package

    return make


def _site(layout: str, *, generated: bool = False, top: str | None = None) -> Callable[[Path], Path]:
    """A static site built by hand from the data-file contract (tests/html_site_builder.py)."""

    def make(tmp: Path) -> Path:
        site = generated_site() if generated else feature_site()
        return site.write(tmp / ("site.zip" if layout == "zip" else "site"), layout=layout, top=top)

    return make


def _html_export(reader_case: str, name: str, *, as_member: bool = False) -> Callable[[Path], Path]:
    """The static site the html writer writes from the archive of another case: public, or as
    the first member of a private space (so the site holds private spaces too)."""

    def make(tmp: Path) -> Path:
        import sqlite3

        from passerelle.export import export
        from passerelle.ingest import ingest

        case = next(c for c in READER_CASES if c.id == reader_case)
        site = tmp / name
        if not site.exists():
            archive = tmp / "exported-archive"
            ingest([case.make(tmp)], archive, format=case.reader)
            options = {}
            if as_member:
                with sqlite3.connect(archive / "archive.sqlite") as db:
                    (member,) = db.execute(
                        "SELECT m.person_id FROM memberships m JOIN spaces s ON s.id = m.space_id"
                        " WHERE s.visibility = 'private' ORDER BY m.person_id LIMIT 1"
                    ).fetchone()
                options["as"] = member
            export(archive, "html", site, options=options)
        return site

    return make


def _sample(relative: str) -> Callable[[Path], Path]:
    return lambda _tmp: sample(relative)


def _sample_folder(*relatives: str) -> Callable[[Path], Path]:
    """A folder holding copies of the given samples, side by side."""

    def make(tmp: Path) -> Path:
        dest = tmp / "samples"
        dest.mkdir(exist_ok=True)
        for relative in relatives:
            (dest / Path(relative).name).write_bytes(sample(relative).read_bytes())
        return dest

    return make


_CONVERTER = "slack/slackdump-fixtures/converter_chan1.json"
_CONVERTER_THREAD = "slack/slackdump-fixtures/converter_chan1_thread_1736478630.905399.json"


READER_CASES = [
    ReaderCase(
        "slack-testarchive", "slack", _sample("slack/slack-export-viewer-testarchive/testarchive.zip")
    ),
    ReaderCase("slack-slackdump-zip", "slack", _sample("slack/slackdump-fixtures/source_export.zip")),
    ReaderCase("slack-slackdump-metadata", "slack", _sample("slack/slackdump-fixtures/export")),
    ReaderCase("slack-generated-folder", "slack", _generated_slack(as_zip=False)),
    ReaderCase("slack-generated-zip", "slack", _generated_slack(as_zip=True)),
    ReaderCase("slackdump-chunks", "slackdump", _sample("slack/slackdump-fixtures/chunks.jsonl.gz")),
    ReaderCase("slackdump-converter-channel", "slackdump", _sample(_CONVERTER)),
    ReaderCase("slackdump-converter-thread", "slackdump", _sample(_CONVERTER_THREAD)),
    ReaderCase("slackdump-converter-folder", "slackdump", _sample_folder(_CONVERTER, _CONVERTER_THREAD)),
    ReaderCase("mattermost-zulip-export", "mattermost", _sample("mattermost/zulip-fixtures/export.json")),
    ReaderCase("mattermost-generated-zip", "mattermost", _generated_mattermost("zip")),
    ReaderCase("mattermost-generated-folder", "mattermost", _generated_mattermost("folder")),
    ReaderCase("mastodon-generated-zip", "mastodon", _generated_mastodon("zip")),
    ReaderCase("mastodon-generated-folder", "mastodon", _generated_mastodon("folder")),
    ReaderCase("html-built-folder", "html", _site("folder")),
    ReaderCase("html-built-zip", "html", _site("zip")),
    ReaderCase("html-built-zip-in-folder", "html", _site("zip", top="site")),
    ReaderCase("html-generated-chunks", "html", _site("folder", generated=True)),
    ReaderCase("html-site-of-slack-sample", "html", _html_export("slack-testarchive", "site.zip")),
    ReaderCase(
        "html-site-of-mattermost-generated",
        "html",
        _html_export("mattermost-generated-zip", "site", as_member=True),
    ),
    ReaderCase("package-of-slack-sample", "package", _package("slack-testarchive")),
    ReaderCase("package-of-mattermost-generated", "package", _package("mattermost-generated-zip")),
    ReaderCase("csv-generated-folder", "csv", lambda tmp: write_csv(tmp / "export", layout="folder")),
    ReaderCase("csv-generated-zip", "csv", lambda tmp: write_csv(tmp / "export.zip", layout="zip")),
    ReaderCase("yammer-generated-zip", "yammer", lambda tmp: write_yammer(tmp / "export.zip", layout="zip")),
    ReaderCase(
        "yammer-generated-folder", "yammer", lambda tmp: write_yammer(tmp / "export", layout="folder")
    ),
    ReaderCase(
        "xwiki-factharbor",
        "xwiki",
        _sample("xwiki/factharbor-organisation/FactHarbor_Organisation_20.Jan.26.xar"),
    ),
    ReaderCase("xwiki-feature-zip", "xwiki", lambda tmp: write_xwiki(tmp / "feature.xar")),
    ReaderCase("xwiki-feature-folder", "xwiki", lambda tmp: write_xwiki(tmp / "feature", layout="folder")),
    ReaderCase("dokuwiki-generated-folder", "dokuwiki", lambda tmp: write_dokuwiki(tmp / "wiki")),
    ReaderCase("dokuwiki-generated-zip", "dokuwiki", lambda tmp: write_dokuwiki(tmp / "wiki.zip", "zip")),
    ReaderCase("mediawiki-enwiki", "mediawiki", _sample("mediawiki/camchenry/enwiki-articles-partial.xml")),
    ReaderCase("mediawiki-simplewiki-bz2", "mediawiki", _sample("mediawiki/camchenry/simplewiki.xml.bz2")),
    ReaderCase("mediawiki-macbre", "mediawiki", _sample("mediawiki/macbre/dump.xml")),
    ReaderCase("mediawiki-mwxml", "mediawiki", _sample("mediawiki/mwxml/dump.xml")),
    ReaderCase("mediawiki-generated-file", "mediawiki", lambda tmp: write_mediawiki(tmp / "wiki.xml")),
    ReaderCase("mediawiki-generated-gz", "mediawiki", lambda tmp: write_mediawiki(tmp / "wiki.xml.gz")),
    ReaderCase(
        "mediawiki-generated-zip", "mediawiki", lambda tmp: write_mediawiki(tmp / "wiki.zip", layout="zip")
    ),
    ReaderCase(
        "mediawiki-generated-folder", "mediawiki", lambda tmp: write_mediawiki(tmp / "wiki", layout="folder")
    ),
]
