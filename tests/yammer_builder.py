"""Build Yammer / Viva Engage network data exports at test time, as Microsoft writes them.

No public export exists, so these are made from the documented columns
(../shared/reference/formats-esn.md §1.2 to 1.5): UTF-8 with a byte-order mark, CRLF line
breaks, a field quoted only when it holds a comma, a quote or a line break (quotes
doubled inside), a header row naming the columns. ``Messages.csv`` has the 26 columns of
the AvePoint parser in their order; ``Users.csv`` those Discourse's importer and Microsoft's
user-export notes name; ``Groups.csv`` and ``Files.csv`` likewise. The headers of
``MessageVersions.csv``, ``Topics.csv``, ``Admins.csv``, ``Networks.csv`` and ``Pages.csv``
are not documented: the ones here are plausible, and what the reader reads.

``feature_export`` holds every awkward case the reader must account for;
``write_generated`` a larger, regular export for the conformance suite.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

BOM = b"\xef\xbb\xbf"


def column_list(names: str) -> list[str]:
    return names.split()


MESSAGE_COLUMNS = column_list(
    "id replied_to_id parent_id thread_id conversation_id group_id group_name participants"
    " in_private_group in_private_conversation sender_id sender_type sender_name sender_email body"
    " delegate_id api_url attachments deleted_by_id deleted_by_type created_at deleted_at title"
    " html_body message_type gdpr_delete_url"
)
USER_COLUMNS = column_list(
    "id name email job_title location department api_url deleted_by_id deleted_by_type joined_at"
    " deleted_at suspended_by_id suspended_by_type suspended_at guid state user_cover_image_url"
)
GROUP_COLUMNS = column_list(
    "id name description private moderated api_url created_by_id created_by_type created_at"
    " updated_at deleted external office_group_id"
)
FILE_COLUMNS = column_list(
    "id file_id type name description path group_id uploader_id uploader_type storage_path"
    " download_url created_at"
)
VERSION_COLUMNS = column_list("id message_id sender_id body html_body created_at")
TOPIC_COLUMNS = column_list("id name created_at url")
ADMIN_COLUMNS = column_list("id name email admin_type")
NETWORK_COLUMNS = column_list("id name permalink created_at")
PAGE_COLUMNS = column_list("id title owner_id created_at updated_at")

PDF = b"%PDF-1.4 a tiny report\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n a tiny picture"
TXT = b"notes nobody attached\r\n"
LOG = b"Export started 2021-03-01 00:00:00 UTC\r\nMessages: 21\r\nUsers: 7\r\n"
REQUEST = b"since=2021-03-01T00:00:00+00:00\r\nuntil=2021-04-01T00:00:00+00:00\r\ninclude=all\r\n"


def csv_bytes(
    columns: Sequence[str], rows: Sequence[Mapping[str, str] | Sequence[str] | bytes], *, bom: bool = True
) -> bytes:
    """A CSV file as the export writes it. A row is a mapping (missing columns empty), a list
    of values written as they are (any number), or bytes written verbatim (with no line break:
    CRLF is added)."""
    out = io.BytesIO()
    if bom:
        out.write(BOM)
    for row in [list(columns), *rows]:
        if isinstance(row, bytes):
            out.write(row + b"\r\n")
            continue
        values = [row.get(c, "") for c in columns] if isinstance(row, Mapping) else list(row)
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerow(values)
        out.write(text.getvalue().encode("utf-8"))
    return out.getvalue()


def build_export(dest: Path, entries: Mapping[str, bytes], *, layout: str = "zip", folder: str = "") -> Path:
    """Write the entries as a zip (``layout="zip"``) or a folder, under ``folder`` if given."""
    prefix = f"{folder}/" if folder else ""
    if layout == "zip":
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(zipfile.ZipInfo(prefix + name, (2021, 4, 1, 0, 0, 0)), data)
        return dest
    for name, data in entries.items():
        path = dest / (prefix + name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return dest


def at(day: int, hour: int = 9, minute: int = 0) -> str:
    """A time as the export writes it (Ruby's Time#to_s in UTC)."""
    return f"2021-03-{day:02d} {hour:02d}:{minute:02d}:00 UTC"


def user(ident: str, name: str, email: str, **values: str) -> dict[str, str]:
    row = {
        "id": ident,
        "name": name,
        "email": email,
        "api_url": f"https://www.yammer.com/api/v1/users/{ident}",
        "joined_at": at(1),
        "state": "active",
        "guid": f"guid-{ident}",
    }
    row.update(values)
    return row


def message(
    ident: str, sender: str, body: str, *, thread: str | None = None, **values: str
) -> dict[str, str]:
    row = {
        "id": ident,
        "thread_id": thread or ident,
        "conversation_id": thread or ident,
        "in_private_group": "false",
        "in_private_conversation": "false",
        "sender_id": sender,
        "sender_type": "user",
        "sender_name": NAMES.get(sender, ""),
        "sender_email": EMAILS.get(sender, ""),
        "body": body,
        "api_url": f"https://www.yammer.com/api/v1/messages/{ident}",
        "created_at": at(2),
        "html_body": f"<p>{body}</p>",
        "message_type": "update",
        "gdpr_delete_url": f"https://www.yammer.com/api/v1/messages/{ident}/gdpr_delete",
    }
    row.update(values)
    return row


NAMES = {"1001": "Alice Martin", "1002": "Bob Builder", "1006": "Gina Guest", "1998": "Zed Outsider"}
EMAILS = {
    "1001": "alice@contoso.com",
    "1002": "bob@contoso.com",
    "1006": "gina@partner.example",
    "1998": "zed@contoso.com",
}
OPENGRAPH = (
    'opengraphobject:[777 : https://example.com/a?b=1,2 : title="Example, with a comma" :'
    ' description="A "quoted" description"]'
)
MULTILINE = 'Thanks [[user:1001]]!\r\nSecond line, with a comma and "quotes".\r\n\r\nLast line.'


def feature_entries() -> dict[str, bytes]:
    """An export holding every case the reader must account for (see the test module)."""
    networks = [
        {"id": "1", "name": "Contoso", "permalink": "contoso.com", "created_at": at(1)},
        {"id": "2", "name": "Partner Network", "permalink": "partner.example", "created_at": at(1)},
    ]
    users: list[Mapping[str, str] | Sequence[str] | bytes] = [
        user("1001", "Alice Martin", "alice@contoso.com", job_title="CEO"),
        user("1002", "Bob Builder", "bob@contoso.com", job_title="Engineer, Platform", location="Lyon"),
        user("1003", "Carol Gone", "carol@contoso.com", deleted_at=at(20), state="soft_delete"),
        user("1004", "Dan Paused", "dan@contoso.com", suspended_at=at(21), state="soft_delete"),
        user("1005", "Erin Pending", "erin@contoso.com", joined_at="", state="soft_delete"),
        user("1006", "Gina Guest", "gina@partner.example"),
        user("1002", "Bob Again", "bob2@contoso.com"),  # a duplicate id
        ["1007", "Too Few"],  # a wrong column count
    ]
    groups = [
        {
            "id": "2001",
            "name": "Engineering",
            "description": "All things, built",
            "private": "false",
            "moderated": "false",
            "created_by_id": "1001",
            "created_by_type": "user",
            "created_at": at(1),
            "updated_at": at(3),
            "deleted": "false",
            "external": "false",
        },
        {
            "id": "2002",
            "name": "Secret Project",
            "description": 'Line one\r\nLine "two"',
            "private": "true",
            "moderated": "true",
            "created_by_id": "1999",  # a user Users.csv does not list
            "created_by_type": "user",
            "created_at": at(1),
            "deleted": "false",
            "external": "false",
        },
        {
            "id": "2003",
            "name": "Old Group",
            "private": "false",
            "created_by_id": "1002",
            "created_by_type": "user",
            "created_at": at(1),
            "deleted": "true",
            "external": "false",
        },
    ]
    topics = [
        {"id": "3001", "name": "launch", "created_at": at(1), "url": "https://www.yammer.com/topics/3001"}
    ]
    files = [
        {
            "id": "1",
            "file_id": "4001",
            "type": "application/pdf",
            "name": "report.pdf",
            "description": "Q1 report",
            "path": "Files/4001.pdf",
            "group_id": "2001",
            "uploader_id": "1001",
            "uploader_type": "user",
            "storage_path": "Yammer",
            "download_url": "https://www.yammer.com/api/v1/uploaded_files/4001/download",
            "created_at": at(2),
        },
        {  # exported without its bytes
            "id": "2",
            "file_id": "4002",
            "type": "pptx",
            "name": "slides.pptx",
            "path": "Files/4002.pptx",
            "uploader_id": "1002",
            "uploader_type": "user",
            "storage_path": "Yammer",
            "created_at": at(2),
        },
        {  # in SharePoint: a link only
            "id": "3",
            "file_id": "4003",
            "name": "plan.docx",
            "uploader_id": "1002",
            "uploader_type": "user",
            "storage_path": "SharePoint",
            "download_url": "https://contoso.sharepoint.com/plan.docx",
            "created_at": at(2),
        },
        {  # a path that climbs out: not followed
            "id": "4",
            "file_id": "4006",
            "name": "passwd",
            "path": "../../etc/passwd",
            "uploader_id": "1002",
            "uploader_type": "user",
            "created_at": at(2),
        },
    ]
    engineering = {"group_id": "2001", "group_name": "Engineering", "draft_state": "published"}
    # An unknown extra column at the end, as a later export might add.
    message_columns = [*MESSAGE_COLUMNS, "draft_state"]

    def line(row: Mapping[str, str]) -> bytes:
        return csv_bytes(message_columns, [row], bom=False).split(b"\r\n", 1)[1].removesuffix(b"\r\n")

    messages: list[Mapping[str, str] | Sequence[str] | bytes] = [
        message(
            "5001",
            "1001",
            "Hello [[user:1002]], see #[[tag:3001]] and [[group:2002]]",
            attachments=f"uploadedfile:4001,{OPENGRAPH}",
            title="Launch day",
            **engineering,
        ),
        message(
            "5002",
            "1002",
            MULTILINE,
            thread="5001",
            replied_to_id="5001",
            created_at=at(2, 10),
            **engineering,
        ),
        message(
            "5003",
            "1998",
            "A nested reply",
            thread="5001",
            replied_to_id="5002",
            created_at=at(2, 11),
            **engineering,
        ),
        message(
            "5004", "1001", "To everyone", title="Welcome", message_type="announcement", created_at=at(3)
        ),
        message(
            "5005",
            "1001",
            "Just us two",
            participants="user:1001,user:1002",
            in_private_conversation="true",
            created_at=at(4),
        ),
        message(
            "5006",
            "1002",
            "Adding Gina",
            thread="5005",
            replied_to_id="5005",
            participants="user:1001,user:1002,user:1006",
            in_private_conversation="true",
            created_at=at(4, 10),
        ),
        message(
            "5007",
            "1002",
            "Classified",
            group_id="2002",
            group_name="Secret Project",
            in_private_group="true",
        ),
        message("5008", "1001", "In a group not listed", group_id="2099", group_name="Ghost Group"),
        message(
            "5009",
            "1002",
            "Oops, deleted",
            deleted_at=at(5),
            deleted_by_id="1002",
            deleted_by_type="user",
            **engineering,
        ),
        message("5010", "1001", "Reply to the past", thread="3999", replied_to_id="4000", **engineering),
        message("5011", "1001", "Ping [[user:1997]]", **engineering),
        message(
            "5012",
            "1002",
            "Four files",
            attachments="uploadedfile:4002, uploadedfile:4003,uploadedfile:4004,uploadedfile:4005",
            **engineering,
        ),
        message("5004", "1001", "To everyone, again", created_at=at(6)),  # a duplicate id
        ["5014", "", "", "5014", "too", "few"],  # a wrong column count
        # broken quoting: a quote closes the field before more text
        line(message("5015", "1001", "BROKEN", created_at=at(6), **engineering)).replace(
            b"BROKEN", b'"bad"x'
        ),
        message("", "1001", "No id at all"),
        message("5017", "1001", "Alice joined Engineering", message_type="system", **engineering),
        message("5018", "1002", "Edited twice (final)", **engineering),
        message("5019", "1001", "When?", created_at="yesterday", **engineering),
        # not UTF-8: "café" written in cp1252
        line(message("5020", "1001", "café au lait", created_at=at(7), **engineering)).replace(
            "café".encode(), "café".encode("cp1252")
        ),
        message("5021", "1001", "A module", attachments="ymodule:77", **engineering),
        message("5022", "1002", "Starts and replies", replied_to_id="5001", **engineering),
    ]
    versions = [
        {
            "id": "9001",
            "message_id": "5018",
            "sender_id": "1002",
            "body": "Edited (first)",
            "created_at": at(8),
        },
        {
            "id": "9002",
            "message_id": "5018",
            "sender_id": "1002",
            "body": "Edited [[user:1001]]",
            "created_at": at(8, 10),
        },
        {
            "id": "9003",
            "message_id": "6000",
            "sender_id": "1002",
            "body": "Of a message not here",
            "created_at": at(8),
        },
    ]
    admins = [
        {"id": "1001", "name": "Alice Martin", "email": "alice@contoso.com", "admin_type": "Verified Admin"},
        {"id": "", "name": "Bob Builder", "email": "bob@contoso.com", "admin_type": "Network Admin"},
        {"id": "", "name": "Nobody", "email": "nobody@elsewhere.example", "admin_type": "Network Admin"},
    ]
    pages = [
        {"id": "8001", "title": "Handbook", "owner_id": "1001", "created_at": at(1), "updated_at": at(2)}
    ]
    return {
        "Networks.csv": csv_bytes(NETWORK_COLUMNS, networks),
        "Users.csv": csv_bytes(USER_COLUMNS, users),
        "Groups.csv": csv_bytes(GROUP_COLUMNS, groups),
        "Topics.csv": csv_bytes(TOPIC_COLUMNS, topics),
        "Files.csv": csv_bytes(FILE_COLUMNS, files),
        "Messages.csv": csv_bytes(message_columns, messages),
        "MessageVersions.csv": csv_bytes(VERSION_COLUMNS, versions),
        "Admins.csv": csv_bytes(ADMIN_COLUMNS, admins),
        "Pages.csv": csv_bytes(PAGE_COLUMNS, pages),
        "Campaigns.csv": csv_bytes(["id", "name"], [["1", "Spring"]]),
        "Files/4001.pdf": PDF,
        "Files/4004.png": PNG,
        "Files/4999.txt": TXT,
        "log.txt": LOG,
        "request.txt": REQUEST,
    }


def feature_export(dest: Path, *, layout: str = "zip", folder: str = "") -> Path:
    return build_export(dest, feature_entries(), layout=layout, folder=folder)


# -- a larger, regular export ---------------------------------------------------------------------
def generated_entries(*, messages: int = 1_200, users: int = 30, seed: int = 5) -> dict[str, bytes]:
    """Users, groups (some private), threads with replies, private conversations, mentions,
    files (most with bytes), versions, soft-deleted messages: deterministic for a seed."""
    rng = random.Random(seed)
    people = [str(1000 + n) for n in range(users)]
    user_rows = [
        user(p, f"Person {n}", f"person{n}@{'contoso.com' if n % 10 else 'guest.example'}")
        for n, p in enumerate(people)
    ]
    group_rows = [
        {
            "id": str(2000 + g),
            "name": f"Group {g}",
            "description": f"About group {g}, and more",
            "private": "true" if g % 3 == 0 else "false",
            "created_by_id": rng.choice(people),
            "created_by_type": "user",
            "created_at": at(1),
            "deleted": "false",
            "external": "false",
        }
        for g in range(6)
    ]
    file_rows: list[dict[str, str]] = []
    entries: dict[str, bytes] = {}
    message_rows: list[Mapping[str, str] | Sequence[str] | bytes] = []
    version_rows: list[dict[str, str]] = []
    threads: list[tuple[str, dict[str, str]]] = []
    for n in range(messages):
        ident = str(100_000 + n)
        sender = rng.choice(people)
        minute = n % 60
        body = f"Message {n} by [[user:{sender}]]"
        if rng.random() < 0.2:
            body += f", cc [[user:{rng.choice(people)}]]"
        if rng.random() < 0.1:
            body += '\r\nwith a second line, "quoted"'
        values: dict[str, str] = {"created_at": at(2 + n // 600, (n // 60) % 10 + 8, minute)}
        if threads and rng.random() < 0.6:
            thread, where = rng.choice(threads[-20:])
            if where.get("participants"):  # only the conversation's people reply in it
                sender = rng.choice(sorted(where["participants"].replace("user:", "").split(",")))
                body = f"Message {n} by [[user:{sender}]]"
            values.update(where)
            values["replied_to_id"] = thread
            row = message(ident, sender, body, thread=thread, **values)
        else:
            kind = rng.random()
            if kind < 0.15:
                other = rng.sample(people, rng.choice((1, 2)))
                members = sorted({sender, *other})
                where = {
                    "participants": ",".join(f"user:{m}" for m in members),
                    "in_private_conversation": "true",
                }
            elif kind < 0.25:
                where = {}
            else:
                g = rng.randrange(6)
                where = {
                    "group_id": str(2000 + g),
                    "group_name": f"Group {g}",
                    "in_private_group": "true" if g % 3 == 0 else "false",
                }
            values.update(where)
            row = message(ident, sender, body, **values)
            threads.append((ident, where))
        if rng.random() < 0.05:
            file_ident = str(40_000 + n)
            data = f"file {n}\n".encode() * (n % 7 + 1)
            file_rows.append(
                {
                    "id": str(len(file_rows) + 1),
                    "file_id": file_ident,
                    "type": "text/plain",
                    "name": f"notes-{n}.txt",
                    "path": f"Files/{file_ident}.txt",
                    "uploader_id": sender,
                    "uploader_type": "user",
                    "storage_path": "Yammer",
                    "created_at": values["created_at"],
                }
            )
            if n % 4:
                entries[f"Files/{file_ident}.txt"] = data
            row["attachments"] = f"uploadedfile:{file_ident}"
        if rng.random() < 0.03:
            row["deleted_at"] = at(20)
        if rng.random() < 0.04:
            version_rows.append(
                {
                    "id": str(900_000 + n),
                    "message_id": ident,
                    "sender_id": sender,
                    "body": f"An earlier version of message {n}",
                    "created_at": at(25),
                }
            )
        message_rows.append(row)
    entries.update(
        {
            "Networks.csv": csv_bytes(
                NETWORK_COLUMNS, [{"id": "1", "name": "Contoso", "permalink": "contoso.com"}]
            ),
            "Users.csv": csv_bytes(USER_COLUMNS, user_rows),
            "Groups.csv": csv_bytes(GROUP_COLUMNS, group_rows),
            "Files.csv": csv_bytes(FILE_COLUMNS, file_rows),
            "Messages.csv": csv_bytes(MESSAGE_COLUMNS, message_rows),
            "MessageVersions.csv": csv_bytes(VERSION_COLUMNS, version_rows),
            "Admins.csv": csv_bytes(
                ADMIN_COLUMNS, [{"id": people[0], "name": "Person 0", "admin_type": "Verified Admin"}]
            ),
            "log.txt": LOG,
            "request.txt": REQUEST,
        }
    )
    return entries


def write_generated(dest: Path, *, layout: str, messages: int = 1_200) -> Path:
    return build_export(dest, generated_entries(messages=messages), layout=layout)
