"""The reader registry: built-in readers plus those other packages declare as entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from passerelle.readers.base import Reader

ENTRY_POINT_GROUP = "passerelle.readers.v1"


def available_readers() -> dict[str, type[Reader]]:
    from passerelle.readers.csv import CsvReader
    from passerelle.readers.dokuwiki import DokuWikiReader
    from passerelle.readers.html import HtmlReader
    from passerelle.readers.mastodon import MastodonReader
    from passerelle.readers.mattermost import MattermostReader
    from passerelle.readers.mediawiki import MediaWikiReader
    from passerelle.readers.package import PackageReader
    from passerelle.readers.slack import SlackReader
    from passerelle.readers.slackdump import SlackdumpReader
    from passerelle.readers.xwiki import XWikiReader
    from passerelle.readers.yammer import YammerReader

    readers: dict[str, type[Reader]] = {
        CsvReader.info.name: CsvReader,
        DokuWikiReader.info.name: DokuWikiReader,
        HtmlReader.info.name: HtmlReader,
        MastodonReader.info.name: MastodonReader,
        MattermostReader.info.name: MattermostReader,
        MediaWikiReader.info.name: MediaWikiReader,
        PackageReader.info.name: PackageReader,
        SlackReader.info.name: SlackReader,
        SlackdumpReader.info.name: SlackdumpReader,
        XWikiReader.info.name: XWikiReader,
        YammerReader.info.name: YammerReader,
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in readers:
            readers[ep.name] = ep.load()
    return dict(sorted(readers.items()))
