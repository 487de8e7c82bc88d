"""Data Docs that open without a network: GX's CDN assets vendored and linked by relative path.

GX 1.24's page templates load Bootstrap, jQuery, bootstrap-table, Font
Awesome, the date picker and Vega from public CDNs, and the logo from GX's S3
bucket. Without internet the index is blank (bootstrap-table draws it) and
unstyled. ``data_docs_vendor/`` holds those exact files, taken from the npm
registry (see its ``SOURCE.txt``); :func:`make_offline` copies them into the
site on every run and points each page at them by relative path, so
``index.html`` opened from disk needs no network.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).with_name("data_docs_vendor")
# Where the vendored assets go inside the site (GX owns ``static/``; we add a folder to it).
SITE_VENDOR = ("static", "vendor")

# Every CDN address GX 1.24's templates use, to the vendored file that serves it.
CDN_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/bootstrap.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js/popper.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/vega-embed.min.js",
}
# GX's logos on its S3 bucket; GX ships logo-long.png in the site's static/images/ too.
_GX_IMAGE = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/"
    r"(?P<name>[A-Za-z0-9_.-]+)(?:\?[^\"'()\s]*)?"
)
_FALLBACK_LOGO = "logo-long.png"
# Subresource integrity and CORS mode make no sense for a file next to the page (and a CORS
# request for a file:// script fails): dropped from the tags that now load local files.
_SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')
# What a page may still load from elsewhere after the rewrite: nothing.
_EXTERNAL_LOAD = re.compile(
    r"""<(?:script|img|link)\b[^>]*?\s(?:src|href)=["']https?://[^"']+["']|url\(['"]?https?://"""
)


def make_offline(docs_dir: Path) -> list[str]:
    """Copy the vendored assets into the site and rewrite every page to use them.

    Returns the external loads left in any page (empty unless a GX upgrade
    added an address this module does not know; they are also logged).
    """
    static = docs_dir.joinpath(*SITE_VENDOR[:1])
    vendor = docs_dir.joinpath(*SITE_VENDOR)
    if vendor.exists():
        shutil.rmtree(vendor)
    shutil.copytree(VENDOR_DIR, vendor, ignore=shutil.ignore_patterns("SOURCE.txt"))
    images = static / "images"
    leftovers: list[str] = []
    pages = [*docs_dir.rglob("*.html"), *static.joinpath("styles").glob("*.css")]
    for page in sorted(pages):
        if vendor in page.parents:
            continue
        text = page.read_text(encoding="utf-8")
        rewritten = _rewrite(text, Path(os.path.relpath(static, page.parent)).as_posix(), images)
        if rewritten != text:
            page.write_text(rewritten, encoding="utf-8")
        leftovers.extend(
            f"{page.relative_to(docs_dir)}: {m.group(0)}"
            for m in _EXTERNAL_LOAD.finditer(rewritten)
        )
    for item in leftovers:
        logger.warning("Data Docs page still loads from the network: %s", item)
    return leftovers


def _rewrite(text: str, static_prefix: str, images: Path) -> str:
    """One page with CDN addresses replaced by paths relative to the page."""
    for url, local in CDN_ASSETS.items():
        text = text.replace(f'"{url}"', f'"{static_prefix}/vendor/{local}"')

    def logo(match: re.Match[str]) -> str:
        name = match.group("name")
        if not (images / name).is_file():
            name = _FALLBACK_LOGO
        return f"{static_prefix}/images/{name}"

    text = _GX_IMAGE.sub(logo, text)
    return re.sub(
        r"<script\b[^>]*>",
        lambda tag: _SRI.sub("", tag.group(0)) if "/vendor/" in tag.group(0) else tag.group(0),
        text,
    )
