"""Every front-end package vendored for the Data Docs pages ships with its licence file.

The vendored files are redistributed inside every Data Docs site ``daybook
check`` writes, so each package's folder must hold the licence that lets us do
that, and ``SOURCE.txt`` must name every package with its licence.
"""

from __future__ import annotations

from daybook.quality.docs import VENDOR_DIR


def test_every_vendored_package_has_a_licence_file_and_a_source_line():
    source = (VENDOR_DIR / "SOURCE.txt").read_text()
    folders = sorted(path for path in VENDOR_DIR.iterdir() if path.is_dir())
    assert folders, "nothing vendored?"
    for folder in folders:
        licences = [path for path in folder.iterdir() if path.name.upper().startswith("LICENSE")]
        assert licences, f"{folder.name}/ has no licence file"
        assert all(path.read_text().strip() for path in licences), folder.name
        assert folder.name in source, f"SOURCE.txt does not name {folder.name}"
