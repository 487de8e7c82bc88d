"""Tests of ``daybook load`` (daybook/load/), by topic; helpers in ``rows`` and ``cli_rows``."""
