"""An independent, plain-Python reading of dbt's metric types over plain rows (issue 16).

It reads the semantic YAML exactly as a data team writes it for dbt (``semantic_models:``
and ``metrics:``, shorthand forms included) with ``yaml.safe_load`` and computes each
bucket's value by loops over the rows, one day at a time. It imports no Daybook code and
no dbt code; only ``reference.bucket_start`` (itself independent) is shared. The rules
it encodes are issue 16's, written down before the compiler:

- a bucket's days are the days of the bucket inside ``[start, end]``;
- simple: the measure over the rows of those days; an empty sum/count/count_distinct/
  sum_boolean is 0, an empty min/max/average is None, unless ``fill_nulls_with``;
- ratio: numerator / denominator, each over the bucket's rows with its own filters;
  None when the denominator is 0 or None (or the numerator None);
- derived: the expression over its inputs; an input with ``offset_window`` reads each
  of the bucket's days moved back by the offset (as a set: a day once), months clamped
  to the month's end; None propagates, a zero divisor gives None;
- cumulative: the measure over the window ending on a day (trailing ``window``,
  ``grain_to_date``, or all history), on the bucket's first day, last day, or averaged
  over its days (``period_agg``);
- filters of every enclosing metric and input apply; ``Dimension('entity__name')`` is
  the row's own column or ``expr`` (entity = the model's primary entity) or that of the
  model whose primary entity it is, looked up by key (no such row: the filter is false).
"""

from __future__ import annotations

import ast
import calendar
import re
from datetime import date, timedelta

from reference import bucket_start, days_between

COUNT_LIKE = ("sum", "count", "count_distinct", "sum_boolean")
FILTER_TERM = re.compile(
    r"^\{\{\s*Dimension\('(\w+?)__(\w+)'\)\s*\}\}\s*(=|!=|<>|>=|<=|>|<|in|not in)\s*(.+)$",
    re.I,
)


def months_back(day: date, months: int) -> date:
    """``day`` minus ``months`` months, clamped to the last day of the target month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def move_back(day: date, window: str) -> date:
    """``day`` minus a dbt window such as ``7 days``, ``1 week``, ``1 month``, ``1 year``."""
    count, unit = window.split()
    count, unit = int(count), unit.lower().rstrip("s")
    if unit == "day":
        return day - timedelta(days=count)
    if unit == "week":
        return day - timedelta(days=7 * count)
    return months_back(day, count * {"month": 1, "quarter": 3, "year": 12}[unit])


def grain_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return date(day.year, day.month, 1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise ValueError(grain)


def _name(item) -> str:
    return item if isinstance(item, str) else item["name"]


def _filters(item) -> list[str]:
    """Filter templates of a metric or input: a string, a list of strings, or none."""
    found = item.get("filter") if isinstance(item, dict) else None
    if found is None:
        return []
    return [found] if isinstance(found, str) else list(found)


class MetricReference:
    """The semantic YAML plus each model's rows; answers one request at a time."""

    def __init__(self, spec: dict, tables: dict[str, list[dict]], tenant: str = "client"):
        self.metrics = {m["name"]: m for m in spec["metrics"]}
        self.models = {m["name"]: m for m in spec["semantic_models"]}
        self.tables = tables
        self.tenant = tenant
        self._memo: dict[tuple, list[tuple]] = {}
        self.measures = {
            measure["name"]: (model, measure)
            for model in spec["semantic_models"]
            for measure in model.get("measures", [])
        }

    # --- the semantic models -----------------------------------------------------------

    @staticmethod
    def rows_of(model: dict, tables) -> list[dict]:
        table = re.fullmatch(r"ref\('(\w+)'\)", model["model"]).group(1)
        return tables[table]

    @staticmethod
    def column(elements: list[dict], name: str) -> str | None:
        for element in elements:
            if element["name"] == name:
                return element.get("expr") or element["name"]
        return None

    @staticmethod
    def primary(model: dict) -> str | None:
        if model.get("primary_entity"):
            return model["primary_entity"]
        return next((e["name"] for e in model["entities"] if e["type"] == "primary"), None)

    def dimension(self, model: dict, row: dict, reference: str):
        entity, name = reference.split("__")
        if entity == self.primary(model) and self.column(model.get("dimensions", []), name):
            return evaluate_measure(self.column(model["dimensions"], name), row)
        key = row[self.column(model["entities"], entity)]
        for other in self.models.values():
            column = self.column(other.get("dimensions", []), name)
            if other is model or column is None or self.primary(other) != entity:
                continue
            other_key = self.column(other["entities"], entity)
            for candidate in self.rows_of(other, self.tables):
                if candidate[other_key] == key:
                    return evaluate_measure(column, candidate)
            return None
        raise KeyError(reference)

    def passes(self, model: dict, row: dict, template: str) -> bool:
        for term in re.split(r"\s+and\s+", template.strip(), flags=re.I):
            entity, name, op, value = FILTER_TERM.match(term.strip()).groups()
            actual = self.dimension(model, row, f"{entity}__{name}")
            if actual is None:
                return False
            values = [_literal(v) for v in value.strip().strip("()").split(",")]
            test = {
                "=": lambda a, b: a == b[0],
                "!=": lambda a, b: a != b[0],
                "<>": lambda a, b: a != b[0],
                ">": lambda a, b: a > b[0],
                ">=": lambda a, b: a >= b[0],
                "<": lambda a, b: a < b[0],
                "<=": lambda a, b: a <= b[0],
                "in": lambda a, b: a in b,
                "not in": lambda a, b: a not in b,
            }[" ".join(op.lower().split())]
            if not test(actual, values):
                return False
        return True

    # --- values --------------------------------------------------------------------------

    def measure_rows(self, measure_name: str, filters: list[str], scope: dict) -> list[tuple]:
        """(day, measure value) of the rows in scope passing every filter (memoised)."""
        key = (measure_name, tuple(sorted(filters)), tuple(sorted(scope.items())))
        if key not in self._memo:
            self._memo[key] = self._measure_rows(measure_name, filters, scope)
        return self._memo[key]

    def _measure_rows(self, measure_name: str, filters: list[str], scope: dict) -> list[tuple]:
        model, measure = self.measures[measure_name]
        time = model["defaults"]["agg_time_dimension"]
        time = self.column(model["dimensions"], time)
        expr = measure.get("expr") or measure["name"]
        out = []
        for row in self.rows_of(model, self.tables):
            if any(row[self.column(model["entities"], e)] != v for e, v in scope.items()):
                continue
            if all(self.passes(model, row, f) for f in filters):
                out.append((row[time], evaluate_measure(expr, row)))
        return out

    def aggregate(self, measure_name: str, values: list):
        agg = self.measures[measure_name][1]["agg"]
        if agg == "sum":
            return sum(values) if values else None
        if agg == "sum_boolean":
            return sum(1 for v in values if v) if values else None
        if agg == "count":
            return sum(1 for v in values if v is not None)
        if agg == "count_distinct":
            return len({v for v in values if v is not None})
        if agg == "min":
            return min(values) if values else None
        if agg == "max":
            return max(values) if values else None
        if agg == "average":
            return sum(values) / len(values) if values else None
        raise ValueError(agg)

    def value(self, name: str, days: list[date], filters: list[str], scope: dict):
        """Metric ``name`` over a bucket's ``days`` with the enclosing ``filters``."""
        metric = self.metrics[name]
        filters = filters + _filters(metric)
        params = metric.get("type_params", {})
        kind = metric["type"]
        if kind in ("simple", "cumulative"):
            measure = params["measure"]
            measure_name = _name(measure)
            fill = measure.get("fill_nulls_with") if isinstance(measure, dict) else None
            agg = self.measures[measure_name][1]["agg"]
            empty = fill if fill is not None else (0 if agg in COUNT_LIKE else None)
            rows = self.measure_rows(measure_name, filters + _filters(measure), scope)

            def over(day_set: set[date]):  # no rows: the empty value, else the aggregate
                values = [v for d, v in rows if d in day_set]
                return self.aggregate(measure_name, values) if values else empty

            if kind == "simple":
                return over(set(days))
            cumulative = params.get("cumulative_type_params", {})
            period = cumulative.get("period_agg", "first")
            picked = {"first": [min(days)], "last": [max(days)]}.get(period, sorted(set(days)))
            daily = []
            for day in picked:
                if cumulative.get("window"):
                    start = move_back(day, cumulative["window"]) + timedelta(days=1)
                elif cumulative.get("grain_to_date"):
                    start = grain_start(day, cumulative["grain_to_date"])
                else:
                    start = date.min
                daily.append(over({d for d, _ in rows if start <= d <= day}))
            present = [v for v in daily if v is not None]
            if period == "average":
                return sum(present) / len(present) if present else None
            return daily[0]
        if kind == "ratio":
            numerator = self.input_value(params["numerator"], days, filters, scope)
            denominator = self.input_value(params["denominator"], days, filters, scope)
            if numerator is None or not denominator:
                return None
            return numerator / denominator
        if kind == "derived":
            values = {
                (item.get("alias") or item["name"]): self.input_value(item, days, filters, scope)
                for item in params["metrics"]
            }
            return evaluate_expression(params["expr"], values)
        raise ValueError(kind)

    def input_value(self, item, days: list[date], filters: list[str], scope: dict):
        if isinstance(item, dict) and item.get("offset_window"):
            days = sorted({move_back(day, item["offset_window"]) for day in days})
        return self.value(_name(item), days, filters + _filters(item), scope)

    def is_float(self, name: str) -> bool:
        metric = self.metrics[name]
        if metric["type"] in ("ratio", "derived"):
            return True
        params = metric["type_params"]
        if self.measures[_name(params["measure"])][1]["agg"] == "average":
            return True
        cumulative = params.get("cumulative_type_params") or {}
        return cumulative.get("period_agg") == "average"

    def series(self, *, metric: str, entity: str, tenant_id, entity_id, start, end, granularity):
        """One (bucket start, value) per bucket overlapping [start, end], oldest first."""
        scope = {self.tenant: tenant_id}
        if entity != self.tenant:
            scope[entity] = entity_id
        buckets: dict[date, list[date]] = {}
        for day in days_between(start, end):
            buckets.setdefault(bucket_start(day, granularity), []).append(day)
        out = []
        for bucket, days in sorted(buckets.items()):
            value = self.value(metric, days, [], scope)
            if value is not None:
                value = float(value) if self.is_float(metric) else int(value)
            out.append((bucket, value))
        return out


def _literal(text: str):
    """A filter's literal: ``'quoted text'`` or a whole number."""
    text = text.strip()
    return text[1:-1] if text.startswith("'") else int(text)


def evaluate_measure(expr: str, row: dict):
    """A measure's ``expr``: a column, a number, ``a + b``, or ``column > number``."""
    text = expr.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    comparison = re.fullmatch(r"(\w+)\s*(>=|>|<=|<|=)\s*(\d+)", text)
    if comparison:
        column, op, number = comparison.groups()
        left, right = row[column], int(number)
        return {">=": left >= right, ">": left > right, "<=": left <= right,
                "<": left < right, "=": left == right}[op]  # fmt: skip
    parts = [row[part.strip()] for part in text.split("+")]
    return parts[0] if len(parts) == 1 else sum(parts)


def evaluate_expression(expr: str, values: dict):
    """A derived ``expr`` (numbers, names, + - * /, parentheses) with None propagating."""

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = walk(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return None if right == 0 else left / right
        raise ValueError(ast.dump(node))

    return walk(ast.parse(expr.strip(), mode="eval"))
