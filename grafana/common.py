"""The house style of kpiwatch dashboards: every panel is "default plus what differs".

Every panel and variable queries the ``$datasource`` variable; every panel has a unit and a
description; rates use ``$__rate_interval``; KPIs are read from the recorded series of
``prometheus/kpis.py`` for the selected ``$window`` size, settled windows only unless a panel
says otherwise. Benchmark lines come from ``alerts/rules.yaml`` (:func:`benchmark`), the same
rules that page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts.rules import Rule, load_rules
from prometheus.promql import total

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PROVISIONED_DATASOURCE_UID = "kpiwatch-prometheus"  # grafana/provisioning/datasources
SETTLED = 'window="$window", window_state="settled"'
CURRENCY = "currencyUSD"  # KPIWATCH_BASE_CURRENCY's default; change with the base currency
WIDTH = 24


def settled(**labels: str) -> str:
    """Selector of the settled ``$window`` plus label matchers (``~`` prefix: regex)."""
    extra = "".join(f', {k}=~"{v[1:]}"' if v.startswith("~") else f', {k}="{v}"'
                    for k, v in labels.items())
    return "{" + SETTLED + extra + "}"


def gauge(metric: str, by: tuple[str, ...] = (), **labels: str) -> str:
    """A per-partition KPI gauge of the settled ``$window``, summed over partitions."""
    return total(metric, by, settled(**labels))


@dataclass
class Target:
    expr: str
    legend: str = ""
    instant: bool = False
    format: str = ""  # "table": one row per series (a table panel's instant query)

    def to_json(self, ref: str) -> dict:
        out = {"datasource": DATASOURCE, "expr": self.expr, "legendFormat": self.legend or "__auto",
               "refId": ref, "range": not self.instant, "instant": self.instant}
        if self.format:
            out["format"] = self.format
        return out


@dataclass
class Panel:
    title: str
    description: str
    unit: str
    targets: list[Target]
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    thresholds: list[dict] | None = None  # benchmark steps, see benchmark()
    min: float | None = None
    max: float | None = None
    options: dict = field(default_factory=dict)
    transformations: list[dict] = field(default_factory=list)

    def to_json(self, panel_id: int, x: int, y: int) -> dict:
        defaults: dict = {"unit": self.unit, "color": {"mode": "palette-classic"},
                          "thresholds": {"mode": "absolute",
                                         "steps": self.thresholds or [{"color": "green",
                                                                       "value": None}]}}
        if self.kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line", "lineWidth": 2, "fillOpacity": 10, "showPoints": "never",
                "lineInterpolation": "stepAfter",  # a window's value holds until the next one
                "thresholdsStyle": {"mode": "dashed" if self.thresholds else "off"},
            }
        elif self.kind == "table":  # every cell coloured by its value, red low to green high
            defaults["color"] = {"mode": "continuous-RdYlGr"}
            defaults["custom"] = {"align": "center", "cellOptions": {"type": "color-background"}}
        else:
            defaults["color"] = {"mode": "thresholds"}
        for bound in ("min", "max"):
            if getattr(self, bound) is not None:
                defaults[bound] = getattr(self, bound)
        out = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {**_OPTIONS[self.kind], **self.options},
            "targets": [t.to_json(chr(ord("A") + i)) for i, t in enumerate(self.targets)],
        }
        if self.transformations:
            out["transformations"] = self.transformations
        return out


_OPTIONS = {
    "timeseries": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "desc"}},
    "stat": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
             "colorMode": "value", "graphMode": "area", "textMode": "auto"},
    "table": {"showHeader": True, "cellHeight": "sm",
              "footer": {"show": False, "reducer": ["sum"], "countRows": False}},
    "bargauge": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
}


def timeseries(title: str, description: str, unit: str, *targets: Target, **kw) -> Panel:
    return Panel(title, description, unit, list(targets), **kw)


def stat(title: str, description: str, unit: str, *targets: Target, **kw) -> Panel:
    return Panel(title, description, unit, list(targets), kind="stat",
                 **{"width": 4, "height": 4, **kw})


def bargauge(title: str, description: str, unit: str, *targets: Target, **kw) -> Panel:
    return Panel(title, description, unit, list(targets), kind="bargauge", **kw)


def table(title: str, description: str, unit: str, *targets: Target, **kw) -> Panel:
    return Panel(title, description, unit, list(targets), kind="table", **kw)


# Benchmarks: the alert rules are the one source of every threshold line.

def rules_for(kpi: str) -> list[Rule]:
    return [rule for rule in load_rules().rules if rule.kpi == kpi]


def benchmark(kpi: str, per_dimension: bool = False) -> tuple[list[dict] | None, str]:
    """Threshold steps for the static benchmark of ``kpi`` (red on the breaching side) and a
    sentence for the panel description naming its rule; (None, "") when no rule has one.
    ``per_dimension``: also take rules judged per channel or payment method."""
    for rule in rules_for(kpi):
        if rule.benchmark.type != "static" or rule.where or (rule.per and not per_dimension):
            continue
        value = rule.benchmark.value
        steps = ([{"color": "red", "value": None}, {"color": "green", "value": value}]
                 if rule.condition == "below" else
                 [{"color": "green", "value": None}, {"color": "red", "value": value}])
        per = f" for each {rule.per}" if rule.per else ""
        return steps, (f" Dashed line: the benchmark of alert rule `{rule.name}`"
                       f" (pages when {rule.condition} {value:g}{per}; alerts/rules.yaml).")
    return None, ""


# Variables and dashboards.

def _query_variable(name: str, label: str, metric: str) -> dict:
    definition = f"label_values({metric}, {name})"
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
            "definition": definition, "query": {"query": definition, "refId": name},
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"text": ["All"], "value": ["$__all"]}, "sort": 1, "hide": 0,
            "regex": "", "options": []}


def variables() -> list[dict]:
    windows = ("5m", "15m", "1h", "1d")
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "refresh": 1, "hide": 0, "regex": "", "options": [],
         "current": {"text": "Prometheus", "value": PROVISIONED_DATASOURCE_UID}},
        {"name": "window", "label": "Window", "type": "custom", "query": ",".join(windows),
         "description": "Window size the KPIs are computed over (settled windows only).",
         "hide": 0, "current": {"text": "15m", "value": "15m"},
         "options": [{"text": w, "value": w, "selected": w == "15m"} for w in windows]},
        _query_variable("channel", "Channel", "kpiwatch_sessions"),
        _query_variable("device", "Device", "kpiwatch_sessions"),
    ]


def alert_annotations(uid: str) -> list[dict]:
    """Firing alerts whose rule links to this dashboard: from Prometheus' own rules (ALERTS)
    and from the kpiwatch evaluator (kpiwatch_alerts_active)."""
    names = sorted(rule.name for rule in load_rules().rules if rule.dashboard == uid)
    out = [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]
    if names:
        out += [
            {"name": "Prometheus alerts", "datasource": DATASOURCE, "enable": True,
             "iconColor": "red", "step": "1m",
             "expr": f'ALERTS{{alertstate="firing", dashboard="{uid}"}}',
             "titleFormat": "{{alertname}}", "tagKeys": "severity,kpi"},
            {"name": "kpiwatch alerts", "datasource": DATASOURCE, "enable": True,
             "iconColor": "orange", "step": "1m",
             "expr": (f'max by (rule) (kpiwatch_alerts_active{{state="firing", '
                      f'rule=~"{"|".join(names)}"}}) > 0'),
             "titleFormat": "{{rule}}", "tagKeys": "rule"},
        ]
    return out


def dashboard(uid: str, title: str, description: str, panels: list[Panel]) -> dict:
    laid_out = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        if x + panel.width > WIDTH:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append(panel.to_json(panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["kpiwatch"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "browser",
        "links": [{"title": "kpiwatch dashboards", "type": "dashboards", "tags": ["kpiwatch"],
                   "asDropdown": True, "includeVars": True, "keepTime": True}],
        "annotations": {"list": alert_annotations(uid)},
        "templating": {"list": variables()},
        "panels": laid_out,
    }
