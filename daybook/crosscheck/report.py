"""The tables ``make crosscheck`` prints: one line per metric and grain, then every
difference with its cause. Plain text for the terminal, Markdown for docs/CROSSCHECK.md."""

from __future__ import annotations

from collections.abc import Sequence

from daybook.crosscheck.compare import Comparison, Difference


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows
        ]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def summary(comparisons: Sequence[Comparison], *, markdown: bool = False) -> str:
    """One row per metric and grain: buckets, equal, explained and unexplained differences."""
    rows = []
    for c in comparisons:
        causes = sorted({d.cause.key for d in c.differences if d.cause is not None})
        open_ = sum(1 for d in c.differences if not d.explained)
        rows.append(
            (
                c.metric,
                c.grain,
                str(c.buckets),
                str(c.equal),
                str(len(c.differences) - open_),
                str(open_),
                ", ".join(causes) or "-",
            )
        )
    header = ("metric", "grain", "buckets", "equal", "explained", "unexplained", "causes")
    return _table(header, rows, markdown)


def differences(found: Sequence[Difference], *, markdown: bool = False, limit: int = 0) -> str:
    """Every difference (the first ``limit`` when non-zero), with its cause."""
    shown = found[:limit] if limit else found
    rows = [
        (
            d.metric,
            d.grain,
            d.bucket.isoformat() if d.bucket else "(query)",
            d.daybook,
            d.metricflow,
            d.cause.key if d.cause else "UNEXPLAINED",
        )
        for d in shown
    ]
    table = _table(("metric", "grain", "bucket", "daybook", "metricflow", "cause"), rows, markdown)
    if limit and len(found) > limit:
        table += f"\n... and {len(found) - limit} more"
    return table


def causes(found: Sequence[Difference], *, markdown: bool = False) -> str:
    """Each cause met, once, with its explanation."""
    seen = {d.cause.key: d.cause for d in found if d.cause is not None}
    rows = [(cause.key, cause.kind, cause.text) for cause in seen.values()]
    return _table(("cause", "kind", "explanation"), rows, markdown)


def grouped(found: Sequence[Difference], *, markdown: bool = False) -> str:
    """The differences per metric, grain and cause: how many, and the first as an example."""
    groups: dict[tuple[str, str, str], list[Difference]] = {}
    for d in found:
        groups.setdefault(
            (d.metric, d.grain, d.cause.key if d.cause else "UNEXPLAINED"), []
        ).append(d)
    rows = [
        (
            metric,
            grain,
            cause,
            str(len(items)),
            f"{items[0].bucket.isoformat() if items[0].bucket else '(query)'}: "
            f"daybook {items[0].daybook}, metricflow {items[0].metricflow}",
        )
        for (metric, grain, cause), items in groups.items()
    ]
    return _table(("metric", "grain", "cause", "differences", "first example"), rows, markdown)
