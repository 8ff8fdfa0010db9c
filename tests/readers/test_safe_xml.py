"""safe_xml: DTDs and entities refused before parsing, streaming with breaks located."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from passerelle.errors import BadInputError
from passerelle.readers.safe_xml import (
    UnsafeXmlError,
    XmlBreak,
    check_prolog,
    detach,
    iterparse,
    localname,
    parse_bytes,
    release,
    sniff_encoding,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<mediawiki><page><title>&lol9;</title></page></mediawiki>
"""


def xxe(target: Path) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file://{target}"> ]>\n'
        f"<mediawiki><page><title>&xxe;</title></page></mediawiki>\n"
    ).encode()


def consume(data: bytes) -> list[str]:
    return [localname(e) for _, e in iterparse(io.BytesIO(data), "doc.xml")]


def test_billion_laughs_refused_before_parsing() -> None:
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        consume(BILLION_LAUGHS)
    with pytest.raises(UnsafeXmlError):
        parse_bytes(BILLION_LAUGHS, "doc.xml")
    assert issubclass(UnsafeXmlError, BadInputError)


def test_xxe_refused_and_the_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    with pytest.raises(UnsafeXmlError, match="refused"):
        consume(xxe(secret))


class _Recording(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.given = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.given += len(data)
        return data


def test_refusal_happens_in_the_prolog_before_the_rest_is_read() -> None:
    payload = BILLION_LAUGHS + b"<!-- padding -->" * 100_000
    stream = _Recording(payload)
    with pytest.raises(UnsafeXmlError):
        for _ in iterparse(stream, "doc.xml"):
            pass
    assert stream.given <= 8192


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_doctype_refused_in_any_encoding(encoding: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<!-- c -->\n<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(UnsafeXmlError):
        consume(text.encode(encoding))


def test_doctype_after_long_comments_and_pis_is_still_found() -> None:
    prolog = "<?xml version='1.0'?>" + "<!-- " + "x" * 20_000 + " -->" + "<?pi " + "y" * 9000 + "?>\n"
    with pytest.raises(UnsafeXmlError):
        consume((prolog + "<!doctype x><x/>").encode())
    assert consume((prolog + "<x><y/></x>").encode()) == ["y", "x"]


def test_a_bare_entity_declaration_is_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="ENTITY"):
        consume(b'<!ENTITY a "b"><x/>')


def test_doctype_inside_text_is_just_text() -> None:
    data = b"<x><t>&lt;!DOCTYPE html&gt;</t><c><![CDATA[<!DOCTYPE html>]]></c></x>"
    root = parse_bytes(data, "doc.xml")
    assert [e.text for e in root] == ["<!DOCTYPE html>", "<!DOCTYPE html>"]


def test_an_undeclared_entity_is_a_break_not_an_expansion() -> None:
    with pytest.raises(XmlBreak):
        consume(b"<x>&xxe;</x>")


def test_utf16_document_streams() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><x><t>é ✓ 𝄞</t></x>'
    seen = [(localname(e), e.text) for _, e in iterparse(io.BytesIO(text.encode("utf-16")), "d")]
    assert seen == [("t", "é ✓ 𝄞"), ("x", None)]
    assert sniff_encoding(text.encode("utf-16-le")) == ("utf-16-le", 0)


def test_truncation_is_a_located_break_after_the_complete_elements() -> None:
    data = b"<root>\n<a>1</a>\n<a>2</a>\n<a>3"
    seen: list[str | None] = []
    with pytest.raises(XmlBreak) as info:
        for _, elem in iterparse(io.BytesIO(data), "dump.xml", tag="a"):
            seen.append(elem.text)
    assert seen == ["1", "2"]
    assert info.value.line == 4
    assert info.value.offset == len(data)
    assert "dump.xml" in str(info.value)


def test_release_and_detach_free_memory() -> None:
    body = b"<root><head/>" + b"<r><v>x</v></r>" * 1000 + b"</root>"
    count = 0
    root = None
    for _, elem in iterparse(io.BytesIO(body), "d", tag="r"):
        count += 1
        root = elem.getparent()
        detach(elem)
    assert count == 1000
    assert root is not None and [c.tag for c in root] == ["head"]  # <head/> kept, every <r> gone
    for _, elem in iterparse(io.BytesIO(body), "d", tag="r"):
        release(elem)
        parent = elem.getparent()
        assert parent is not None and parent[0] is elem  # everything before it is gone


def test_check_prolog_asks_for_more_when_cut() -> None:
    assert check_prolog(b"<?xml version='1.0'?><!-- unfinished", "d", complete=False) is False
    assert check_prolog(b"<?xml version='1.0'?><!DOC", "d", complete=False) is False
    assert check_prolog(b"<?xml version='1.0'?><mediawiki>", "d", complete=False) is True
    assert check_prolog(b"", "d", complete=True) is True
