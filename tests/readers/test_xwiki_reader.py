"""The XWiki XAR reader: the real FactHarbor export with exact counts, every xwikidoc format
version, translations, nested and dotted spaces, JRCS history (whole and delta versions),
attachments with history, comments with replies, rights, XML 1.1, hostile XML."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from passerelle.archive import Archive
from passerelle.ingest import ingest
from passerelle.model import ids
from passerelle.readers.xwiki import comment_time, split_reference
from passerelle.readers.xwiki_jrcs import JrcsError, NewVersion, versions, write_archive
from passerelle.verify import verify
from tests.helpers import diagnostics, ingest_verified, item_by_native, rows, sample
from tests.xwiki_builder import (
    DELTA_HISTORY,
    FEATURE_COUNTS,
    PDF_V1,
    PDF_V2,
    Doc,
    Version,
    Xar,
    feature_xar,
    write_feature,
)

FACTHARBOR = "xwiki/factharbor-organisation/FactHarbor_Organisation_20.Jan.26.xar"


def _count(archive: Path, sql: str, *params: object) -> int:
    [(n,)] = rows(archive, sql, tuple(params))
    return int(n)


# -- the real sample --------------------------------------------------------------------------
def test_factharbor_export_ingests_with_exact_counts(tmp_path: Path) -> None:
    source = sample(FACTHARBOR)
    # Counted independently with zipfile and regular expressions: 83 documents (all XML 1.1,
    # xwikidoc 1.6, no translation, no history), 35 spaces, 21 users, 60 objects, 1 attachment.
    with zipfile.ZipFile(source) as zf:
        docs = [n for n in zf.namelist() if n != "package.xml"]
        texts = [zf.read(n).decode() for n in docs]
    assert len(docs) == 83
    assert all(t.startswith("<?xml version='1.1'") for t in texts)
    archive = ingest_verified(tmp_path, source)
    assert _count(archive, "SELECT count(*) FROM items WHERE kind = 'page'") == 83
    assert _count(archive, "SELECT count(*) FROM items WHERE kind = 'comment'") == 0
    assert _count(archive, "SELECT count(*) FROM revisions") == 83
    assert _count(archive, "SELECT count(*) FROM spaces WHERE kind = 'wiki_space'") == 35
    assert _count(archive, "SELECT count(*) FROM spaces WHERE kind = 'workspace'") == 1
    assert _count(archive, "SELECT count(*) FROM spaces WHERE visibility = 'private'") == 0
    # 21 user documents, and two users named but not exported: superadmin and XWikiGuest
    assert _count(archive, "SELECT count(*) FROM persons WHERE is_placeholder = 0") == 21
    assert sorted(rows(archive, "SELECT native_id FROM persons WHERE is_placeholder = 1")) == [
        ("XWiki.XWikiGuest",),
        ("XWiki.superadmin",),
    ]
    # the one attachment is empty (filesize 0, empty content): its bytes are the empty blob
    assert rows(archive, "SELECT native_id, size, sha256 FROM files") == [
        (
            "XWiki.MessageStreamConfig@messagestream.png",
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
    ]
    by_class = {
        where.removeprefix("objects:"): int(message.split()[0])
        for where, message in rows(
            archive, "SELECT \"where\", message FROM diagnostics WHERE code = 'xwiki.objects'"
        )
    }
    assert by_class == {
        "XWiki.XWikiRights": 21,
        "XWiki.XWikiUsers": 21,
        "XWiki.Notifications.Code.EmailJobClass": 3,
        "XWiki.PinnedChildPagesClass": 2,
        "WikiManager.WikiTemplateClass": 2,
        "XWiki.XWikiServerClass": 2,
        "Panels.PanelClass": 2,
        "CKEditor.ConfigClass": 1,
        "XWiki.ConfigurableClass": 1,
        "XWiki.MessageStreamConfig": 1,
        "XWiki.SearchConfigClass": 1,
        "Dashboard.UserDashboardPreferencesClass": 1,
        "XWiki.ResetPasswordRequestClass": 1,
        "XWiki.SchedulerJobClass": 1,
    }
    assert sum(by_class.values()) == 60
    syntaxes = dict(rows(archive, "SELECT body_format, count(*) FROM items GROUP BY 1"))
    assert syntaxes == {"xwiki/2.1": 81, "xwiki/2.0": 2}
    cla = item_by_native(archive, "FactHarbor.Organisation.CLA")
    assert cla["title"] == "FactHarbor.Organisation.CLA"
    assert cla["created_at"] == 1766059406000 * 1000 and cla["edited_at"] is None
    assert cla["body_source"].startswith("= Contributor License Agreement (CLA) =")
    assert b"<title>Contributor License Agreement</title>" in cla["raw"]
    assert cla["space_id"] == ids.space_id("xwiki", "FactHarbor.Organisation")
    robert = item_by_native(archive, "XWiki.Robert")  # version 4.1: edited by superadmin
    assert robert["edited_by_id"] == ids.person_id("xwiki", "XWiki.superadmin")
    assert rows(archive, "SELECT display_name, email FROM persons WHERE native_id = 'XWiki.Robert'") == [
        ("Robert Schaub", "robert.schaub@glattnet,ch")
    ]
    # password hashes are never kept
    for (raw,) in rows(archive, "SELECT raw FROM persons UNION ALL SELECT raw FROM items"):
        assert raw is None or b"hash:SHA-512" not in raw
    nested = rows(
        archive,
        "SELECT s.name, p.native_id FROM spaces s JOIN spaces p ON p.id = s.parent_id"
        " WHERE s.native_id = 'FactHarbor.Organisation.How-We-Work-Together'",
    )
    assert nested == [("How-We-Work-Together", "FactHarbor.Organisation")]
    assert ("xwiki.package", "package.xml", None) in diagnostics(archive)


# -- the feature package -------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["zip", "folder"])
def test_feature_package_every_case_counted(tmp_path: Path, layout: str) -> None:
    source = write_feature(tmp_path / ("feature.xar" if layout == "zip" else "feature"), layout=layout)
    archive = ingest_verified(tmp_path, source)
    counts = FEATURE_COUNTS
    assert _count(archive, "SELECT count(*) FROM items WHERE kind = 'page'") == counts["pages"]
    assert _count(archive, "SELECT count(*) FROM items WHERE kind = 'comment'") == counts["comments"]
    assert _count(archive, "SELECT count(*) FROM spaces") == counts["spaces"]
    assert _count(archive, "SELECT count(*) FROM revisions") == counts["revisions"]
    assert _count(archive, "SELECT count(*) FROM files") == counts["files"]
    assert _count(archive, "SELECT count(*) FROM persons") == counts["persons"]
    assert _count(archive, "SELECT count(*) FROM memberships") == counts["memberships"]
    found = {code for code, _, _ in diagnostics(archive)}
    assert {
        "xwiki.unlisted_document",
        "xwiki.missing_document",
        "xwiki.attachment_size_mismatch",
        "xwiki.comment_parent_missing",
        "xwiki.page_rights",
        "xwiki.unknown_user",
        "xwiki.class_definition",
    } <= found


def test_translations_history_and_nested_spaces(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, write_feature(tmp_path / "f.xar"))
    french = item_by_native(archive, "Projects.WebHome;fr")
    assert french["title"] == "Projects.WebHome" and french["body_source"] == "= Plan =\nseconde"
    page = item_by_native(archive, "Projects.WebHome")
    history = rows(
        archive,
        "SELECT r.native_id, p.native_id, r.created_at, r.comment, r.body_source FROM revisions r"
        " JOIN persons p ON p.id = r.author_id WHERE r.item_id = ? ORDER BY r.created_at",
        (page["id"],),
    )
    assert history == [
        ("1.1", "XWiki.Alice", 1_600_000_000_000_000, "created", "= Plan =\nfirst"),
        ("1.2", "XWiki.Bob", 1_600_000_100_000_000, "added a line", "= Plan =\nfirst\nsecond"),
        ("2.1", "XWiki.Alice", 1_600_000_200_000_000, "rewrote", "= Plan =\nsecond @ line"),
    ]
    assert page["edited_at"] == 1_600_000_200_000_000
    # reverse deltas, as XWiki stores older versions
    old = item_by_native(archive, "Old.Page")
    assert old["body_format"] == "xwiki/1.0"  # no syntaxId: XWiki 1.0 syntax
    delta = rows(
        archive,
        "SELECT native_id, body_source, comment FROM revisions WHERE item_id = ? ORDER BY native_id",
        (old["id"],),
    )
    assert delta == [
        ("1.1", "line one", "first"),
        ("1.2", "line one\nline two\nline three", "second"),
        ("1.3", "line one\nline two, again\nline three", "third @ last"),
    ]
    dotted = rows(archive, "SELECT name FROM spaces WHERE native_id = ?", ("Projects.Alpha\\.Beta",))
    assert dotted == [("Alpha.Beta",)]
    assert split_reference("Projects.Alpha\\.Beta.Page") == ["Projects", "Alpha.Beta", "Page"]


def test_attachments_comments_and_rights(tmp_path: Path) -> None:
    archive = ingest_verified(tmp_path, write_feature(tmp_path / "f.xar"))
    alpha = item_by_native(archive, "Projects.Alpha.WebHome")
    attached = rows(
        archive,
        "SELECT f.native_id FROM item_files x JOIN files f ON f.id = x.file_id WHERE x.item_id = ? ORDER BY x.position",
        (alpha["id"],),
    )
    assert attached == [
        ("Projects.Alpha.WebHome@diagram.png",),
        ("Projects.Alpha.WebHome@report.pdf",),
        ("Projects.Alpha.WebHome@wrong.bin",),
    ]
    import hashlib

    older = dict(rows(archive, "SELECT native_id, sha256 FROM files WHERE native_id LIKE '%report.pdf@%'"))
    assert older == {
        "Projects.Alpha.WebHome@report.pdf@1.1": hashlib.sha256(PDF_V1).hexdigest(),
        "Projects.Alpha.WebHome@report.pdf@1.2": hashlib.sha256(PDF_V2).hexdigest(),
    }
    comments = rows(
        archive,
        "SELECT c.native_id, c.parent_id, c.thread_root_id, c.body_source, c.created_native FROM items c"
        " WHERE c.kind = 'comment' ORDER BY c.native_id",
    )
    first = ids.item_id("xwiki", "xwiki", "Projects.Alpha.WebHome^XWiki.XWikiComments[0]")
    assert [(c[1], c[2], c[3]) for c in comments] == [
        (alpha["id"], alpha["id"], "Nice"),
        (first, alpha["id"], "Thanks"),
        (alpha["id"], alpha["id"], "Lost?"),  # replies to comment 7, which is absent: on the page
    ]
    assert comment_time("2020-09-13 12:00:00.0") == 1_599_998_400_000_000
    private = rows(archive, "SELECT native_id FROM spaces WHERE visibility = 'private' ORDER BY 1")
    assert private == [("Secret",), ("Secret.Inner",)]
    members = rows(
        archive,
        "SELECT s.native_id, p.native_id FROM memberships m JOIN spaces s ON s.id = m.space_id"
        " JOIN persons p ON p.id = m.person_id ORDER BY 1, 2",
    )
    assert members == [
        ("Secret", "XWiki.Alice"),
        ("Secret", "XWiki.Bob"),
        ("Secret.Inner", "XWiki.Alice"),
        ("Secret.Inner", "XWiki.Bob"),
    ]
    assert rows(archive, "SELECT is_placeholder FROM persons WHERE native_id = 'XWiki.Carol'") == [(1,)]
    for (raw,) in rows(archive, "SELECT raw FROM persons UNION ALL SELECT raw FROM items"):
        assert raw is None or b"secret" not in raw


@pytest.mark.parametrize("fmt", ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"])
def test_every_xwikidoc_version(tmp_path: Path, fmt: str) -> None:
    doc = Doc("Space.Sub.Page", content=f"format {fmt}", format=fmt, objects=())
    source = Xar([doc]).write(tmp_path / "one.xar")
    archive = ingest_verified(tmp_path, source)
    page = item_by_native(archive, "Space.Sub.Page")
    assert page["body_source"] == f"format {fmt}" and page["title"] == "Space.Sub.Page"
    assert page["space_id"] == ids.space_id("xwiki", "Space.Sub")


def test_xml_11_control_characters_are_read(tmp_path: Path) -> None:
    text = (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<xwikidoc version="1.6" reference="Main.Ctl" locale="">\n'
        "  <web>Main</web>\n  <name>Ctl</name>\n  <creator>XWiki.Alice</creator>\n"
        "  <version>1.1</version>\n  <syntaxId>xwiki/2.1</syntaxId>\n"
        "  <content>bell&#7;here &#x1B;[0m</content>\n</xwikidoc>\n"
    )
    xar = Xar([], entries={"Main/Ctl.xml": text.encode()}, package=False)
    archive = ingest_verified(tmp_path, xar.write(tmp_path / "ctl.xar"))
    page = item_by_native(archive, "Main.Ctl")
    assert page["body_source"] == "bell\x07here \x1b[0m"
    assert page["raw"].startswith(b'<?xml version="1.1"') and b"&#7;" in page["raw"]


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xwikidoc [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xwikidoc version="1.6" reference="Main.Evil" locale=""><content>&x;</content></xwikidoc>
"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xwikidoc version="1.6" reference="Main.Laughs" locale=""><content>&lol2;</content></xwikidoc>
"""


def test_hostile_and_broken_documents_are_refused_and_said(tmp_path: Path) -> None:
    good = Doc("Main.Good", content="fine")
    truncated = b"<?xml version='1.1' encoding='UTF-8'?>\n<xwikidoc version=\"1.6\" reference=\"Main.Cut\">\n  <content>half"
    xar = Xar(
        [good],
        entries={
            "Main/Evil.xml": XXE,
            "Main/Laughs.xml": LAUGHS,
            "Main/Cut.xml": truncated,
            "notes.txt": b"hello",
        },
    )
    source = xar.write(tmp_path / "hostile.xar")
    archive = ingest_verified(tmp_path, source)
    found = diagnostics(archive)
    assert ("xwiki.unsafe_xml", "Main/Evil.xml", "document") in found
    assert ("xwiki.unsafe_xml", "Main/Laughs.xml", "document") in found
    assert any(
        c == "xwiki.invalid_xml" and w.startswith("Main/Cut.xml#") and d == "document" for c, w, d in found
    )
    assert ("source.unrecognised_entry", "notes.txt", None) in found
    assert item_by_native(archive, "Main.Good")["body_source"] == "fine"
    assert _count(archive, "SELECT count(*) FROM items") == 1
    raws = rows(archive, "SELECT raw FROM diagnostics WHERE code = 'xwiki.unsafe_xml'")
    assert all(b"/etc/passwd" in raw or b"lol" in raw for (raw,) in raws)


def test_hostile_package_xml_is_refused(tmp_path: Path) -> None:
    xar = Xar(
        [Doc("Main.Good")], package=False, entries={"package.xml": XXE.replace(b"xwikidoc", b"package")}
    )
    archive = ingest_verified(tmp_path, xar.write(tmp_path / "p.xar"))
    assert ("xwiki.unsafe_xml", "package.xml", "entry") in diagnostics(archive)
    assert item_by_native(archive, "Main.Good")["title"] == "Main.Good"


def test_duplicate_documents_keep_the_first(tmp_path: Path) -> None:
    first = Doc("Main.Twice", content="first")
    xar = Xar(
        [first],
        entries={"copy/Twice.xml": Xar([Doc("Main.Twice", content="second")]).files()["Main/Twice.xml"]},
    )
    archive = ingest_verified(tmp_path, xar.write(tmp_path / "d.xar"))
    assert ("xwiki.duplicate_document", "copy/Twice.xml", "document") in diagnostics(archive)
    assert item_by_native(archive, "Main.Twice")["body_source"] == "first"


def test_unreadable_history_keeps_the_versions_before_and_says_so(tmp_path: Path) -> None:
    broken = DELTA_HISTORY.replace("d8 3\na10 1\n", "d80 3\na10 1\n")  # version 1.1's delta is out of range
    doc = Doc("Old.Page", content="x", version="1.3", raw_history=broken)
    archive = ingest_verified(tmp_path, Xar([doc]).write(tmp_path / "h.xar"))
    assert ("xwiki.history_unreadable", "Old/Page.xml#versions", "history") in diagnostics(archive)
    assert sorted(rows(archive, "SELECT native_id FROM revisions")) == [("1.2",), ("1.3",)]
    [(raw,)] = rows(archive, "SELECT raw FROM diagnostics WHERE code = 'xwiki.history_unreadable'")
    assert raw.decode() == broken


def test_head_mismatch_adds_the_current_version(tmp_path: Path) -> None:
    history = [Version("1.1", "XWiki.Alice", 1_600_000_000_000, "v1")]
    doc = Doc("Main.Ahead", content="v2", version="1.2", history=history)
    archive = ingest_verified(tmp_path, Xar([doc]).write(tmp_path / "m.xar"))
    assert ("xwiki.head_mismatch", "Main/Ahead.xml#versions", None) in diagnostics(archive)
    assert sorted(rows(archive, "SELECT native_id, body_source FROM revisions")) == [
        ("1.1", "v1"),
        ("1.2", "v2"),
    ]


# -- the JRCS archive ---------------------------------------------------------------------------
def test_jrcs_written_archives_read_back(tmp_path: Path) -> None:
    import random

    rng = random.Random(3)
    for _ in range(100):
        lines = [f"line {i}\n" for i in range(rng.randrange(8))]
        history = []
        for v in range(1, rng.randrange(2, 8)):
            for _ in range(rng.randrange(4)):
                at = rng.randrange(len(lines) + 1)
                op = rng.choice("adr")
                if op == "a":
                    lines.insert(at, f"@new {rng.random()}\n")
                elif at < len(lines):
                    if op == "d":
                        del lines[at]
                    else:
                        lines[at] = f"changed {v}\n"
            history.append(NewVersion(f"1.{v}", v * 1_000_000, "XWiki.A b_c", f"log {v} @", "".join(lines)))
        archive = write_archive(history)
        got = list(versions(archive))
        assert [(g.version, g.text, g.author, g.log) for g in got] == [
            (h.version, h.text, h.author, h.log) for h in reversed(history)
        ]


def test_jrcs_errors_are_typed() -> None:
    with pytest.raises(JrcsError):
        list(versions("not an archive"))
    with pytest.raises(JrcsError):
        list(versions(DELTA_HISTORY[: len(DELTA_HISTORY) // 2]))


def test_feature_package_lists_what_it_holds() -> None:
    files = feature_xar().files()
    listed = re.findall(r"<file [^>]*>([^<]*)</file>", files["package.xml"].decode())
    assert "Main.Private" not in listed and "Gone.Page" in listed
    assert len([n for n in files if n != "package.xml"]) == FEATURE_COUNTS["pages"]


def test_verify_catches_a_lost_page(tmp_path: Path) -> None:
    source = write_feature(tmp_path / "f.xar")
    ingest([source], tmp_path / "a")
    with Archive.open(tmp_path / "a") as archive:
        item = ids.item_id("xwiki", "xwiki", "Main.WebHome")
        archive.store.conn.execute("DELETE FROM revisions WHERE item_id = ?", (item,))
        archive.store.conn.execute("DELETE FROM items WHERE id = ?", (item,))
        report = verify(archive, source)
    assert not report.ok
    assert any("Main/WebHome.xml" in p for p in report.problems)


def test_attachment_history_in_an_older_jrcs_archive(tmp_path: Path) -> None:
    """Before 1.4 an attachment's history is a JRCS archive whose versions are <attachment>s."""
    import base64 as b64

    from tests.xwiki_builder import jrcs

    def version(v: str, data: bytes) -> str:
        return (
            f"<attachment>\n<filename>notes.txt</filename>\n<author>XWiki.Alice</author>\n"
            f"<date>1600000000000</date>\n<version>{v}</version>\n<filesize>{len(data)}</filesize>\n"
            f"<content>{b64.b64encode(data).decode()}</content>\n</attachment>\n"
        )

    history = jrcs(
        [
            ("1.1", "XWiki.Alice", 1_600_000_000_000, "", version("1.1", b"first")),
            ("1.2", "XWiki.Alice", 1_600_000_100_000, "", version("1.2", b"second")),
        ]
    )
    from xml.sax.saxutils import escape

    current = b64.b64encode(b"second").decode()
    text = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<xwikidoc>\n  <web>Main</web>\n  <name>Old</name>\n"
        "  <version>1.1</version>\n  <content>x</content>\n  <attachment>\n"
        "    <filename>notes.txt</filename>\n    <filesize>6</filesize>\n    <author>XWiki.Alice</author>\n"
        "    <date>1600000100000</date>\n    <version>1.2</version>\n"
        f"    <content>{current}</content>\n    <versions>{escape(history)}</versions>\n"
        "  </attachment>\n</xwikidoc>\n"
    )
    source = Xar([], entries={"Main/Old.xml": text.encode()}, package=False).write(tmp_path / "old.xar")
    archive = ingest_verified(tmp_path, source)
    import hashlib

    assert sorted(rows(archive, "SELECT native_id, size, sha256 FROM files")) == [
        ("Main.Old@notes.txt", 6, hashlib.sha256(b"second").hexdigest()),
        ("Main.Old@notes.txt@1.1", 5, hashlib.sha256(b"first").hexdigest()),
    ]


def test_a_document_not_in_its_declared_utf8_is_read_and_said(tmp_path: Path) -> None:
    text = (
        '<?xml version=\'1.0\' encoding=\'UTF-8\'?>\n<xwikidoc version="1.6" reference="Main.Latin" locale="">\n'
        "  <web>Main</web>\n  <name>Latin</name>\n  <content>caf\xe9 cr\xe8me</content>\n</xwikidoc>\n"
    ).encode("latin-1")
    source = Xar([], entries={"Main/Latin.xml": text}, package=False).write(tmp_path / "l.xar")
    archive = ingest_verified(tmp_path, source)
    assert item_by_native(archive, "Main.Latin")["body_source"] == "café crème"
    assert ("source.not_utf8", "Main/Latin.xml", None) in diagnostics(archive)


def test_zip_entries_climbing_out_are_refused_and_said(tmp_path: Path) -> None:
    dest = tmp_path / "evil.xar"
    good = Xar([Doc("Main.Good")], package=False).files()
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in good.items():
            zf.writestr(name, data)
        zf.writestr("../../etc/evil.xml", Xar([Doc("Main.Evil")], package=False).files()["Main/Evil.xml"])
    archive = ingest_verified(tmp_path, dest)
    assert ("source.unsafe_path", "../../etc/evil.xml", "entry") in diagnostics(archive)
    assert rows(archive, "SELECT native_id FROM items") == [("Main.Good",)]


def test_a_redirect_object_makes_a_redirect_page(tmp_path: Path) -> None:
    from tests.xwiki_builder import Obj

    moved = Doc("Main.Old", content="", objects=[Obj("XWiki.RedirectClass", 0, {"location": "Main.New"})])
    archive = ingest_verified(tmp_path, Xar([moved, Doc("Main.New")]).write(tmp_path / "r.xar"))
    assert item_by_native(archive, "Main.Old")["subtype"] == "redirect"
    assert item_by_native(archive, "Main.New")["subtype"] is None
