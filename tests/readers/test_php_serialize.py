"""The PHP unserialize decoder reads data (arrays, strings by byte length, numbers, booleans,
null) and refuses everything else (objects, references), never evaluating anything."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.readers.php_serialize import PhpUnserializeError, as_json, unserialize, unserialize_lossy
from tests.dokuwiki_builder import php_serialize

# data/meta/test.meta of xwiki-contrib/dokuwiki @ ecdb57eb (dokuwiki-text/src/test/resources/
# dokuwikitext/dokuwiki-support-folder), a file DokuWiki itself wrote (LGPL-2.1 repository).
REAL_META = (
    b'a:2:{s:7:"current";a:9:{s:4:"date";a:2:{s:7:"created";i:1699526283;s:8:"modified";i:1699526291;}'
    b's:7:"creator";s:14:"Michael Hamann";s:4:"user";s:7:"michael";s:11:"last_change";a:8:{s:4:"date";'
    b'i:1699526291;s:2:"ip";s:3:"::1";s:4:"type";s:1:"E";s:2:"id";s:4:"test";s:4:"user";s:7:"michael";'
    b's:3:"sum";s:0:"";s:5:"extra";s:0:"";s:10:"sizechange";i:24;}s:11:"contributor";a:1:{s:7:"michael";'
    b's:14:"Michael Hamann";}s:5:"title";s:4:"Test";s:11:"description";a:2:{s:15:"tableofcontents";a:1:'
    b'{i:0;a:4:{s:3:"hid";s:4:"test";s:5:"title";s:4:"Test";s:4:"type";s:2:"ul";s:5:"level";i:1;}}'
    b's:8:"abstract";s:29:"Test\n\nSecond version content.";}s:8:"internal";a:2:{s:5:"cache";b:1;'
    b's:3:"toc";b:1;}s:8:"relation";a:1:{s:10:"firstimage";s:0:"";}}s:10:"persistent";a:5:{s:4:"date";'
    b'a:2:{s:7:"created";i:1699526283;s:8:"modified";i:1699526291;}s:7:"creator";s:14:"Michael Hamann";'
    b's:4:"user";s:7:"michael";s:11:"last_change";a:8:{s:4:"date";i:1699526291;s:2:"ip";s:3:"::1";'
    b's:4:"type";s:1:"E";s:2:"id";s:4:"test";s:4:"user";s:7:"michael";s:3:"sum";s:0:"";s:5:"extra";'
    b's:0:"";s:10:"sizechange";i:24;}s:11:"contributor";a:1:{s:7:"michael";s:14:"Michael Hamann";}}}'
)


def test_a_real_meta_file() -> None:
    meta = unserialize(REAL_META)
    assert meta["current"]["title"] == "Test"
    assert meta["current"]["date"] == {"created": 1699526283, "modified": 1699526291}
    assert meta["persistent"]["contributor"] == {"michael": "Michael Hamann"}
    assert meta["current"]["description"]["abstract"] == "Test\n\nSecond version content."
    assert meta["current"]["internal"] == {"cache": True, "toc": True}
    toc = as_json(meta)["current"]["description"]["tableofcontents"]
    assert toc == [{"hid": "test", "title": "Test", "type": "ul", "level": 1}]


def test_scalars() -> None:
    assert unserialize(b"N;") is None
    assert unserialize(b"b:0;") is False
    assert unserialize(b"b:1;") is True
    assert unserialize(b"i:-42;") == -42
    assert unserialize(b"d:0.5;") == 0.5
    assert unserialize(b"d:-1.5E+25;") == -1.5e25
    assert unserialize(b"d:INF;") == float("inf")
    assert as_json(unserialize(b"d:NAN;")) is None


def test_strings_are_counted_in_bytes() -> None:
    assert unserialize('s:5:"Tést";'.encode()) == "Tést"
    assert unserialize(b's:4:"a";b";') == 'a";b'  # quotes inside: the length decides
    assert unserialize_lossy(b's:2:"\xe9t";') == ("\ufffdt", True)
    with pytest.raises(PhpUnserializeError):
        unserialize('s:4:"Tést";'.encode())


def test_arrays_keep_int_and_string_keys_in_order() -> None:
    value = unserialize(b'a:3:{i:2;s:1:"b";s:1:"k";i:1;i:0;N;}')
    assert list(value.items()) == [(2, "b"), ("k", 1), (0, None)]
    assert as_json(value) == {"2": "b", "k": 1, "0": None}
    assert as_json(unserialize(b'a:2:{i:0;s:1:"a";i:1;s:1:"b";}')) == ["a", "b"]


@pytest.mark.parametrize(
    "data",
    [
        b'O:8:"stdClass":1:{s:1:"a";i:1;}',  # an object: never instantiated
        b'a:1:{i:0;O:9:"Exception":0:{}}',
        b'C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}',
        b"a:2:{i:0;i:1;i:1;r:2;}",  # references
        b"a:2:{i:0;i:1;i:1;R:2;}",
        b'E:7:"Foo:Bar";',
        b"a:1:{i:0;i:1;",  # truncated
        b's:10:"short";',
        b"a:99999999:{}",  # a count larger than the data
        b"a:-1:{}",
        b"i:1;garbage",
        b"x:1;",
        b"",
        b"a:1:{a:0:{}i:1;}",  # an array as a key
        b"b:2;",
    ],
)
def test_anything_but_data_is_refused(data: bytes) -> None:
    with pytest.raises(PhpUnserializeError):
        unserialize(data)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    data = b"a:1:{i:0;" * 10_000 + b"N;" + b"}" * 10_000
    with pytest.raises(PhpUnserializeError, match="nested deeper"):
        unserialize(data)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.dictionaries(st.integers() | st.text(), children, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
def test_what_the_builder_serialises_reads_back(value: object) -> None:
    assert unserialize(php_serialize(value)) == value


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    with contextlib.suppress(PhpUnserializeError):
        unserialize(data)
