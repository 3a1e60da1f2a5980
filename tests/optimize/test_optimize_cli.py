"""``tsxbot optimize`` as a user runs it, on the simulator's synthetic market: a grid over the
example EMA_CROSS bot, the best params as a bot YAML the config loader takes, the study's charts,
walk-forward windows, and two worker processes sharing one study on a real Redis."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import optuna
import pytest

from support.processes import kill, start
from support.redis_server import RedisServer
from tsxbot.cli import main
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.optimize.out_of_sample import WalkForwardReport
from tsxbot.optimize.study import storage_for

BOT = str(Path(__file__).parents[2] / "config" / "bots" / "bot_2.yaml")
MARKET = ["--synthetic", "--days", "3", "--seed", "3", "--to", "2026-11-24"]


def test_a_grid_search_writes_the_best_bot_yaml_and_the_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best, html = tmp_path / "best.yaml", tmp_path / "study.html"
    args = ["optimize", "--bot", BOT, *MARKET, "--param", "fastPeriod=5:9:2", "--param", "slowPeriod=18:24:6"]
    code = main([*args, "--sampler", "grid", "--trials", "6", "--min-trades", "1", "--jobs", "1",
                 "--best-yaml", str(best), "--html", str(html)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "Trials (6" in out and "best (net)" in out
    # The YAML is a whole bot: the config loader takes it.
    config_dir = tmp_path / "config"
    (config_dir / "bots").mkdir(parents=True)
    shutil.copy(DEFAULTS_DIR / "global.yaml", config_dir / "global.yaml")
    shutil.copy(DEFAULTS_DIR / "instruments.yaml", config_dir / "instruments.yaml")
    shutil.copy(best, config_dir / "bots" / "bot_2.yaml")
    params = load_config(config_dir, env={}).bots["bot_2"].params
    header = best.read_text().splitlines()[0]
    assert f"fastPeriod={params.fast_period}" in header and f"slowPeriod={params.slow_period}" in header  # type: ignore[attr-defined]
    text = html.read_text()
    assert "Optimisation history" in text and "Parallel coordinates" in text and "plotly" in text.lower()


def test_every_trial_pruned_by_the_minimum_trades_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.yaml"
    args = ["optimize", "--bot", BOT, *MARKET, "--param", "fastPeriod=5:7:2", "--sampler", "grid"]
    assert (
        main([*args, "--trials", "2", "--min-trades", "100000", "--jobs", "1", "--best-yaml", str(best)]) == 1
    )
    assert "PRUNED: " in capsys.readouterr().out and not best.exists()


def test_unknown_params_and_bad_ranges_are_clear_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--bot", BOT, *MARKET, "--param", "noSuchParam=1:2", "--jobs", "1"]) == 2
    assert "noSuchParam" in capsys.readouterr().err
    assert main(["optimize", "--bot", BOT, *MARKET, "--param", "fastPeriod=9:5", "--jobs", "1"]) == 2
    assert "below low" in capsys.readouterr().err
    assert main(["optimize", "--bot", BOT, *MARKET, "--jobs", "1"]) == 2
    assert "no parameter to search" in capsys.readouterr().err


def test_walk_forward_leads_with_the_out_of_sample_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["optimize", "--bot", BOT, "--synthetic", "--days", "5", "--seed", "3", "--to", "2026-11-24"]
    search = ["--param", "fastPeriod=5:9:2", "--sampler", "grid", "--trials", "3", "--min-trades", "1"]
    out_json, best, html = tmp_path / "wf.json", tmp_path / "best.yaml", tmp_path / "wf.html"
    files = ["--json", str(out_json), "--best-yaml", str(best), "--html", str(html)]
    code = main([*args, *search, "--jobs", "1", "--walk-forward", "2,1", *files])
    assert code == 0
    out = capsys.readouterr().out
    assert out.index("Out of sample:") < out.index("Walk-forward: 3 windows")
    report = msgspec.json.decode(out_json.read_bytes(), type=WalkForwardReport)
    assert report.kind == "walk-forward" and len(report.windows) == 3
    # The combined out-of-sample report is the windows' out-of-sample backtests, back to back.
    combined = report.out_of_sample.summary
    assert combined.trades == sum(w.oos_trades for w in report.windows) > 0
    assert combined.net_pnl == pytest.approx(sum(w.oos_net_pnl for w in report.windows), abs=0.01)
    # Each window's out-of-sample days follow its in-sample days.
    for w in report.windows:
        assert w.in_sample[1] < w.out_of_sample[0]
    # The chosen params: the window with the best out-of-sample net P&L (the objective), the
    # latest on a tie; not the in-sample best.
    traded = [w for w in report.windows if w.oos_trades > 0]
    expected = max(traded, key=lambda w: (w.oos_net_pnl, w.window))
    assert report.chosen_window == expected.window and report.chosen_params == expected.params
    assert expected.params is not None
    header = best.read_text().splitlines()[0]  # the best YAML holds the chosen params
    assert header.endswith(", ".join(f"{k}={v}" for k, v in expected.params.items())), header
    page = html.read_text()
    assert "wf-windows" in page and "(chosen)" in page and "chosen on out-of-sample results" in page


def test_two_workers_share_one_study_on_redis(tmp_path: Path, redis: RedisServer) -> None:
    url = f"{redis.url.rsplit('/', 1)[0]}/5"
    study = "shared-test"
    args = ["optimize", "--bot", BOT, *MARKET, "--param", "fastPeriod=4:12", "--param", "slowPeriod=15:30",
            "--sampler", "random", "--trials", "8", "--min-trades", "1", "--jobs", "1", "--worker",
            "--storage", url, "--study", study]  # fmt: skip
    workers = [start(*args, cwd=tmp_path) for _ in range(2)]
    try:
        for w in workers:
            assert w.wait(timeout=240) == 0, w.stdout.read() if w.stdout else ""
    finally:
        for w in workers:
            kill(w)
    loaded = optuna.load_study(study_name=study, storage=storage_for(url))
    trials = loaded.get_trials(deepcopy=False)
    assert 8 <= len(trials) <= 9  # the last trial of each worker may start before the other's ends
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


def test_parallel_workers_on_a_database_storage_fill_one_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    search = ["--param", "fastPeriod=4:12", "--sampler", "random", "--trials", "6", "--min-trades", "1"]
    assert (
        main(["optimize", "--bot", BOT, *MARKET, *search, "--jobs", "2", "--storage", url, "--study", "db"])
        == 0
    )
    trials = optuna.load_study(study_name="db", storage=storage_for(url)).get_trials(deepcopy=False)
    assert 6 <= len(trials) <= 7
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
