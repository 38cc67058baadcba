"""Product costs and the simulator's commands for the acquisition side: the cost file
kpiwatch reads for gross margin, the campaign list, the spend options."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from models.product_costs import cost_at, read_cost_file
from simulator import ShopSimulator
from simulator.cli import build_parser, main
from simulator.costs import cost_rows, shop_catalog, unit_costs, write_cost_file
from simulator.sources import CAMPAIGNS
from tests.unit.simulator.fixtures import START

pytestmark = pytest.mark.unit
REPO_DEMO_COSTS = "examples/demo/costs.csv"


def test_costs_are_a_share_of_each_price_of_the_seeds_catalogue_and_some_are_missing():
    costs = unit_costs(seed=1)
    catalogue = {product.product_id: product.price for product in shop_catalog(seed=1).products}
    assert costs.keys() == catalogue.keys()
    known = {pid: cost for pid, cost in costs.items() if cost is not None}
    assert 0 < len(costs) - len(known) < len(costs) / 10
    for product_id, cost in known.items():
        assert Decimal("0.40") * catalogue[product_id] - Decimal("0.01") <= cost
        assert cost <= Decimal("0.70") * catalogue[product_id] + Decimal("0.01")
        assert cost == cost.quantize(Decimal("0.01"))
    assert unit_costs(seed=1) == costs
    assert unit_costs(seed=2) != costs


def test_a_run_sells_the_products_the_file_costs_and_some_orders_are_uncosted(tmp_path):
    path = tmp_path / "costs.csv"
    assert write_cost_file(path, seed=1) == len(cost_rows(seed=1))
    table = read_cost_file(path)
    catalogue = {product.product_id: product.price for product in shop_catalog(seed=1).products}
    costed = uncosted = 0
    for labelled in ShopSimulator(seed=1, diurnal=False).labelled(START, timedelta(minutes=10), 40):
        if labelled.event.type != "order_completed":
            continue
        lines = [cost_at(table, item["product_id"], 0) for item in labelled.event.fields["items"]]
        for item in labelled.event.fields["items"]:  # the run sells the same catalogue
            assert item["price"] == catalogue[item["product_id"]]
        if all(lines):
            costed += 1
        else:
            uncosted += 1
    assert costed > 10 * uncosted > 0


def test_the_costs_command_writes_the_file(tmp_path):
    path = tmp_path / "c.csv"
    assert main(["costs", "--out", str(path), "--seed", "3"]) == 0
    assert path.read_text().splitlines()[0] == "product_id,unit_cost,currency,valid_from"
    assert read_cost_file(path).keys() == {pid for pid, _, _, _ in cost_rows(seed=3)}


def test_the_demo_ships_the_cost_file_of_its_seed():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[3] / REPO_DEMO_COSTS
    lines = shipped.read_text().splitlines()
    assert lines[1:] == [",".join(row) for row in cost_rows(seed=1)], (
        "examples/demo/costs.csv is stale: python -m simulator costs --seed 1 "
        f"--out {REPO_DEMO_COSTS}"
    )


def test_the_campaigns_command_prints_the_list_for_kpiwatch_campaigns(capsys):
    assert main(["campaigns"]) == 0
    assert json.loads(capsys.readouterr().out) == list(CAMPAIGNS)


def test_spend_is_on_for_kafka_off_for_files_and_explained_in_help(tmp_path, capsys):
    help_text = build_parser().format_help()
    for words in ("--spend", "--no-spend", "--spend-span", "--topic-ad-spend", "campaign-waste",
                  "keyed by its", "sent at the start of its span", "python -m simulator costs"):
        assert words in help_text, words
    with pytest.raises(SystemExit):
        main(["--duration", "1m", "--out", str(tmp_path / "x.jsonl"), "--spend"])
    assert "leave --spend off with --out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--spend-span", "90s", "--duration", "1m"])
    assert "--spend-span" in capsys.readouterr().err
    out = tmp_path / "events.jsonl"
    assert main(["--duration", "2m", "--out", str(out), "--rate", "5"]) == 0
    assert '"stream":"ad_spend"' not in out.read_text()
