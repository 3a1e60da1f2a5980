"""``tsxbot report`` over a real SQLite journal: tables, JSON, CSV, filters and errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from support.journal_samples import cash_flow_net, make_journal, mtm_max_drawdown
from tsxbot.cli import main


def test_report_json_csv_and_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = make_journal(tmp_path / "j.db")
    out = tmp_path / "r.json"
    assert main(["report", "--journal", url, "--json", str(out), "--csv", str(tmp_path / "csv")]) == 0
    printed = capsys.readouterr().out
    assert "Per bot" in printed and "orb_es" in printed and "2026-03-04" in printed
    report = json.loads(out.read_bytes())
    assert report["schema_version"] == 1
    assert report["summary"]["trades"] == 4
    assert report["summary"]["net_pnl"] == pytest.approx(cash_flow_net(), abs=0.005)
    assert {b["bot_id"]: round(b["metrics"]["net_pnl"], 2) for b in report["bots"]} == {
        "ema_mnq": cash_flow_net("ema_mnq"),
        "orb_es": cash_flow_net("orb_es"),
    }
    assert [d["trading_day"] for d in report["days"]] == ["2026-03-03", "2026-03-04", "2026-03-05"]
    first = report["trades"][0]
    # MAE/MFE come from the journal's trade row (measured live from quotes) when there is one.
    assert (first["trade_id"], first["mae"], first["mfe"]) == ("orb_es:ES:1", -150.0, 1250.0)
    # Long 2 ES from 5000, stop 4990: risk 10 points x 2 x 50 = 1000; net (10 + 4) x 50 - 4 x 1.40.
    assert first["r_multiple"] == pytest.approx((700 - 5.6) / 1000)
    assert report["summary"]["max_drawdown_mtm"] == pytest.approx(mtm_max_drawdown())
    assert report["equity"][-1]["equity"] == pytest.approx(cash_flow_net(), abs=0.01)
    [es] = [e for e in report["execution"] if e["bot_id"] == "orb_es"]
    assert (es["fills_with_signal"], es["average_slippage_ticks"], es["slippage_dollars"]) == (1, 2.0, 50.0)
    assert (es["average_signal_to_fill_ms"], es["orders_final"], es["orders_filled"]) == (250.0, 2, 1)
    assert es["fill_rate"] == 0.5
    assert "Execution quality" in printed
    with (tmp_path / "csv" / "trades.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 4


def test_report_filters_by_day_and_bot(tmp_path: Path) -> None:
    url = make_journal(tmp_path / "j.db")
    out = tmp_path / "r.json"
    args = ["report", "--journal", url, "--json", str(out), "--bot", "orb_es", "--from", "2026-03-05"]
    assert main(args) == 0
    report = json.loads(out.read_bytes())
    assert [t["trading_day"] for t in report["trades"]] == ["2026-03-05"]
    assert report["summary"]["net_pnl"] == pytest.approx(-10 * 50 - 2.8)


def test_report_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--journal", "nosuchdb://x"]) == 2
    assert "nosuchdb" in capsys.readouterr().err
    assert main(["report", "--journal", f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "not a tsxbot journal" in capsys.readouterr().err
    url = make_journal(tmp_path / "j.db")
    assert main(["report", "--journal", url, "--from", "2026-03-05", "--to", "2026-03-04"]) == 2
    assert "is after" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--from", "March"])
