"""Data Docs that show warnings as warnings: "Passed with warnings" where only warnings failed.

GX knows only passed and failed, so a batch whose only failures are
warning-severity expectations (invalid raw rows that dbt quarantines) read
"Status: Failed", while ``daybook check`` calls them warnings and passes. The
renderer and index builder below (wired in through GX's own site-builder
configuration, ``daybook.quality.docs.site_config``) show such a batch as
"Passed with warnings" with a warning icon, on its page and in the index, and
mark each failed warning expectation with a warning icon instead of a red cross.
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.renderer import (
    SiteIndexPageRenderer,
    ValidationResultsPageRenderer,
)
from great_expectations.render.renderer.site_builder import DefaultSiteIndexBuilder

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
