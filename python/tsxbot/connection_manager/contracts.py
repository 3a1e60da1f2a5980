"""Symbol -> the front-month ProjectX contract (``activeContract``), from ``Contract/available``."""

from __future__ import annotations

from tsxbot.config.instruments import Instrument, Instruments
from tsxbot.gateway.models import Contract
from tsxbot.gateway.rest import ProjectXRest


class ContractNotFoundError(LookupError):
    pass


class ContractResolver:
    def __init__(self, rest: ProjectXRest, instruments: Instruments, live: bool = False) -> None:
        self._rest = rest
        self._instruments = instruments
        self._live = live
        self._front: dict[str, Contract] = {}

    async def load(self) -> None:
        contracts = await self._rest.available_contracts(self._live)
        front: dict[str, Contract] = {}
        for contract in contracts:
            instrument = self._instruments.by_contract_id(contract.id)
            if instrument is not None and contract.active_contract:
                front[instrument.symbol] = contract
        self._front = front

    def front_month(self, symbol: str) -> Contract:
        try:
            return self._front[symbol]
        except KeyError:
            known = ", ".join(sorted(self._front)) or "none"
            raise ContractNotFoundError(f"no active contract for {symbol} (active: {known})") from None

    def instrument(self, contract_id: str) -> Instrument | None:
        """The instrument a contract is of (None: not in the instruments table)."""
        return self._instruments.by_contract_id(contract_id)

    def contract_id(self, symbol: str) -> str:
        return self.front_month(symbol).id

    @property
    def contracts(self) -> dict[str, Contract]:
        return dict(self._front)
