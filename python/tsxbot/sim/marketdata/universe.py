"""Builds one live market per front-month contract: synthetic series (a micro shares its mini's
price path) or, for the recorded symbol, the replayed series."""

from __future__ import annotations

from tsxbot.config.simulator import SimulatorConfig
from tsxbot.sim.contracts import ContractTable
from tsxbot.sim.marketdata.live import ContractMarket
from tsxbot.sim.marketdata.profiles import profile_for
from tsxbot.sim.marketdata.series import MinuteSeries, SyntheticSeries, UnderlyingGenerator


def build_markets(
    config: SimulatorConfig,
    contracts: ContractTable,
    start_ns: int,
    recorded: dict[str, MinuteSeries] | None = None,
) -> dict[str, ContractMarket]:
    settings = config.market
    generators: dict[str, UnderlyingGenerator] = {}
    markets: dict[str, ContractMarket] = {}
    for contract in contracts.active:
        profile = profile_for(contract.symbol, contract.tick_size)
        series: MinuteSeries
        if recorded and contract.symbol in recorded:
            series = recorded[contract.symbol]
        else:
            key = profile.underlying
            mini = profile_for(key, contract.tick_size)
            generator = generators.get(key)
            if generator is None or generator.tick_size != contract.tick_size:
                generator = UnderlyingGenerator(
                    mini, contract.calendar, contract.tick_size, config.seed, start_ns, settings.history_days
                )
                generators.setdefault(key, generator)
            series = SyntheticSeries(
                contract.symbol,
                generator,
                profile.daily_volume / mini.daily_volume,
                seed=config.seed,
                max_trades=settings.max_trades_per_minute,
                avg_trade_size=profile.avg_trade_size,
            )
        markets[contract.id] = ContractMarket(contract, series, profile, settings.depth_levels)
    return markets
