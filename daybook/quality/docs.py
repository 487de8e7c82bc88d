"""Great Expectations Data Docs as Daybook writes them: offline, and warnings shown as warnings.

Two things GX 1.24's Data Docs get wrong for Daybook (issue 12), one module
each: pages that load from public CDNs and go blank without internet
(``docs_offline.make_offline`` vendors the assets), and a batch with only
warning-severity failures shown as "Failed" (``docs_severity``'s renderers
show "Passed with warnings"). This module gives GX the site configuration
that wires the renderers in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daybook.quality import docs_severity
from daybook.quality.docs_offline import VENDOR_DIR, make_offline
from daybook.quality.docs_severity import (
    DaybookSiteIndexBuilder,
    DaybookValidationResultsPageRenderer,
)

__all__ = ["VENDOR_DIR", "make_offline", "site_config"]


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
            "module_name": docs_severity.__name__,
            "class_name": DaybookSiteIndexBuilder.__name__,
            "renderer": {
                "module_name": docs_severity.__name__,
                "class_name": "DaybookSiteIndexPageRenderer",
            },
        },
        "site_section_builders": {
            "validations": {
                "renderer": {
                    "module_name": docs_severity.__name__,
                    "class_name": DaybookValidationResultsPageRenderer.__name__,
                }
            }
        },
    }
