"""Independent reconciliation of an archive with a source or a written output."""

from __future__ import annotations

from pathlib import Path

from passerelle.archive import Archive
from passerelle.progress import Display, NullDisplay
from passerelle.verify.csv import holds_mapping, is_csv_source, verify_csv
from passerelle.verify.dokuwiki import is_dokuwiki_source, verify_dokuwiki
from passerelle.verify.fidelity import FidelityReport, is_passerelle_export, verify_export
from passerelle.verify.html import is_html_site, verify_html, was_read_from
from passerelle.verify.links import check_links, has_wiki_pages
from passerelle.verify.mastodon import is_mastodon_source, verify_mastodon
from passerelle.verify.mattermost import is_mattermost_source, verify_mattermost
from passerelle.verify.mediawiki import is_mediawiki_source, verify_mediawiki
from passerelle.verify.package import PackageReport, is_package, verify_package
from passerelle.verify.report import VerifyReport
from passerelle.verify.slack import verify_slack
from passerelle.verify.slackdump import is_slackdump_source, verify_slackdump
from passerelle.verify.xwiki import is_xwiki_source, verify_xwiki
from passerelle.verify.yammer import is_yammer_source, verify_yammer


def verify(
    archive: Archive, against: Path, *, display: Display | None = None
) -> VerifyReport | FidelityReport | PackageReport:
    """Reconcile with a source export (did the archive take everything?), with an export
    passerelle wrote from the archive (did the target keep everything? the fidelity table),
    or with a package packed from it (does it give back every row?)."""
    if is_package(against):
        return verify_package(archive, against, display)
    # A static site read back into this archive is its source; else it is an export of it.
    if is_html_site(against) and was_read_from(archive, against):
        return verify_html(archive, against)
    if is_passerelle_export(against):
        return verify_export(archive, against, display)
    return with_links(archive, verify_source(archive, against, display=display))


def with_links(archive: Archive, report: VerifyReport) -> VerifyReport:
    """The report with the link check of the archive's wiki pages (informative: the
    source's own broken links and missing files are listed, they fail nothing)."""
    if has_wiki_pages(archive):
        report.links = check_links(archive)
    return report


def verify_source(archive: Archive, against: Path, *, display: Display | None = None) -> VerifyReport:
    """Reconcile with the source export the archive was made from."""
    if holds_mapping(against):
        return verify_csv(archive, against)
    if is_html_site(against):
        return verify_html(archive, against)
    if is_mastodon_source(against):
        return verify_mastodon(archive, against)
    if is_mattermost_source(against):
        return verify_mattermost(archive, against)
    if is_yammer_source(against):
        return verify_yammer(archive, against)
    if is_mediawiki_source(against):
        return verify_mediawiki(archive, against)
    if is_dokuwiki_source(against):
        return verify_dokuwiki(archive, against)
    if is_xwiki_source(against):
        return verify_xwiki(archive, against)
    if is_csv_source(against, archive):
        return verify_csv(archive, against)
    if is_slackdump_source(against):
        return verify_slackdump(archive, against)
    return verify_slack(archive, against, display or NullDisplay())
