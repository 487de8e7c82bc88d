"""Great Expectations Data Docs as Daybook writes them: offline, and warnings shown as warnings.

Two things GX 1.24's Data Docs get wrong for Daybook (issue 12):

- **Offline.** GX's page templates load Bootstrap, jQuery, bootstrap-table,
  Font Awesome, the date picker and Vega from public CDNs, and the logo from
  GX's S3 bucket. Without internet the index is blank (bootstrap-table draws
  it) and unstyled. ``data_docs_vendor/`` holds those exact files, taken from
  the npm registry (see its ``SOURCE.txt``); :func:`make_offline` copies them
  into the site on every run and points each page at them by relative path,
  so ``index.html`` opened from disk needs no network.
- **Severity.** GX knows only passed and failed, so a batch whose only
  failures are warning-severity expectations (invalid raw rows that dbt
  quarantines) read "Status: Failed", while ``daybook check`` calls them
  warnings and passes. The renderer and index builder below (wired in through
  GX's own site-builder configuration) show such a batch as "Passed with
  warnings" with a warning icon, on its page and in the index, and mark each
  failed warning expectation with a warning icon instead of a red cross.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from great_expectations.render.renderer import (
    SiteIndexPageRenderer,
    ValidationResultsPageRenderer,
)
from great_expectations.render.renderer.site_builder import DefaultSiteIndexBuilder

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


# --------------------------------------------------------------------------------- severity

PASSED, WARNINGS, FAILED = "passed", "warnings", "failed"
WARNINGS_STATUS = "Passed with warnings"
_WARNING_ICON_CLASSES = ["fas", "fa-exclamation-triangle", "text-warning"]
_WARNING_ICON = '<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i>'


def _severity(result: Any) -> str:
    """The Daybook severity of one expectation result (error when unknown)."""
    meta = getattr(result.expectation_config, "meta", None) or {}
    return str(meta.get("daybook_severity", "error"))


def verdict(validation_result: Any) -> str:
    """passed, warnings (only warning-severity expectations failed) or failed."""
    failed = [r for r in validation_result.results if not r.success]
    if not failed:
        return PASSED if validation_result.success else FAILED
    return WARNINGS if all(_severity(r) == "warning" for r in failed) else FAILED


class DaybookValidationResultsPageRenderer(ValidationResultsPageRenderer):
    """GX's validation page, with "Passed with warnings" where only warnings failed."""

    @classmethod
    def _render_validation_header(cls, validation_results: Any) -> Any:
        header = super()._render_validation_header(validation_results)
        if verdict(validation_results) == WARNINGS:
            params = header.subheader.string_template["params"]
            params["success"] = WARNINGS_STATUS
            params["html_success_icon"] = _WARNING_ICON
        return header

    def render(self, validation_results: Any, suite_parameters: Any = None) -> Any:
        """Render, then give each failed warning expectation a warning icon."""
        document = super().render(validation_results, suite_parameters)
        descriptions = _warning_descriptions(validation_results)
        if descriptions:
            _warning_icons(document, descriptions)
        return document


def _words(text: str) -> str:
    return " ".join(text.split())


def _warning_descriptions(validation_results: Any) -> set[str]:
    return {
        _words(r.expectation_config.description)
        for r in validation_results.results
        if not r.success and _severity(r) == "warning" and r.expectation_config.description
    }


def _warning_icons(document: Any, descriptions: set[str]) -> None:
    """In every results table, turn the red cross of a failed warning row into a warning icon.

    A row is [status icon, expectation, observed value]; the expectation cell
    renders the description Daybook gave it (it starts with ``[warning]``).
    """
    for section in getattr(document, "sections", None) or []:
        for block in getattr(section, "content_blocks", None) or []:
            for row in getattr(block, "table", None) or []:
                if not row or not _row_mentions(row[1:], descriptions):
                    continue
                icon = row[0]
                template = getattr(icon, "string_template", None)
                if not isinstance(template, dict):
                    continue
                styled = template.get("styling", {}).get("params", {}).get("icon")
                if styled and "fa-times" in styled.get("classes", []):
                    styled["classes"] = list(_WARNING_ICON_CLASSES)
                    template.get("params", {})["markdown_status_icon"] = "⚠️"


def _row_mentions(cells: list[Any], descriptions: set[str]) -> bool:
    """Whether one of ``descriptions`` is among the texts of ``cells`` (whitespace-normalised)."""
    texts: list[str] = []

    def collect(value: Any) -> None:
        if hasattr(value, "to_json_dict"):
            value = value.to_json_dict()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    collect(cells)
    text = _words(" ".join(texts))
    return any(description in text for description in descriptions)


class DaybookSiteIndexBuilder(DefaultSiteIndexBuilder):
    """GX's index builder that tells the index renderer which runs only warned."""

    def add_resource_info_to_index_links_dict(
        self,
        index_links_dict: Any,
        expectation_suite_name: str,
        section_name: str,
        batch_identifier: Any = None,
        run_id: Any = None,
        validation_success: Any = None,
        **kwargs: Any,
    ) -> Any:
        if section_name == "validations" and validation_success is False and run_id:
            result = self.data_context.get_validation_result(
                batch_identifier=batch_identifier,
                expectation_suite_name=expectation_suite_name,
                run_id=run_id,
                validation_results_store_name=self.source_stores.get("validations"),
            )
            if getattr(result, "results", None) is not None and verdict(result) == WARNINGS:
                validation_success = WARNINGS
        return super().add_resource_info_to_index_links_dict(
            index_links_dict,
            expectation_suite_name,
            section_name,
            batch_identifier=batch_identifier,
            run_id=run_id,
            validation_success=validation_success,
            **kwargs,
        )


class DaybookSiteIndexPageRenderer(SiteIndexPageRenderer):
    """GX's index page with a warning icon and "Passed with warnings" for warning-only runs."""

    @classmethod
    def _render_validation_success_cell(cls, validation_success: Any) -> Any:
        cell = super()._render_validation_success_cell(validation_success is True)
        if validation_success == WARNINGS:
            styled = cell.string_template["styling"]["params"]["validation_success"]
            styled["classes"] = [*_WARNING_ICON_CLASSES, "ge-warning-icon"]
            styled.setdefault("attributes", {})["title"] = WARNINGS_STATUS
        return cell

    @classmethod
    def _generate_validation_results_link_table(cls, index_links_dict: Any) -> Any:
        table = super()._generate_validation_results_link_table(index_links_dict)
        links = index_links_dict.get("validations_links", [])
        for row, link in zip(table.table_data, links, strict=False):
            if link.get("validation_success") == WARNINGS:
                row["_validation_success_text"] = WARNINGS_STATUS
        return table


def site_config(docs_dir: Path) -> dict[str, Any]:
    """The GX ``data_docs_sites`` entry: our renderers, files under ``docs_dir``."""
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {
            "module_name": __name__,
            "class_name": DaybookSiteIndexBuilder.__name__,
            "renderer": {"module_name": __name__, "class_name": "DaybookSiteIndexPageRenderer"},
        },
        "site_section_builders": {
            "validations": {
                "renderer": {
                    "module_name": __name__,
                    "class_name": DaybookValidationResultsPageRenderer.__name__,
                }
            }
        },
    }
