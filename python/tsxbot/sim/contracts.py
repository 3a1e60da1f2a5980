"""The simulator's contracts: one front month per instrument (``activeContract: true``), ids
``CON.F.US.<root>.<M><YY>``, and expired or deferred months resolvable by id."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from tsxbot.config.instruments import MONTH_CODES, Instrument
from tsxbot.sim.sessions import SessionCalendar
from tsxbot.ticks import TickSize

MAX_SEARCH_RESULTS = 20


@dataclass(frozen=True)
class Contract:
    id: str
    name: str
    description: str
    symbol_id: str
    instrument: Instrument
    month_code: str
    year: int
    active: bool
    ticks: TickSize
    calendar: SessionCalendar

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def tick_size(self) -> float:
        return self.instrument.tick_size

    @property
    def tick_value(self) -> float:
        return self.instrument.tick_value

    def price(self, ticks: int) -> float:
        """Integer ticks -> the exact decimal price as a float."""
        return self.ticks.to_price(ticks)


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (calendar.FRIDAY - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def _roll_date(instrument: Instrument, month: int, year: int) -> dt.date:
    """The day trading moves to the next listed month (approximate, per product family)."""
    if instrument.contract_months == "HMUZ":
        return _third_friday(year, month) - dt.timedelta(days=8)
    prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
    return dt.date(prev_year, prev_month, 15 if len(instrument.contract_months) == 12 else 25)


def front_month(instrument: Instrument, today: dt.date) -> tuple[str, int]:
    """(month code, year) of the contract that is active on ``today``."""
    for year in (today.year, today.year + 1, today.year + 2):
        for code in instrument.contract_months:
            month = MONTH_CODES.index(code) + 1
            if _roll_date(instrument, month, year) > today:
                return code, year
    raise ValueError(f"no listed month for {instrument.symbol}")


class ContractTable:
    def __init__(
        self,
        instruments: Iterable[Instrument],
        today: dt.date,
        *,
        years_back: int = 5,
        years_ahead: int = 2,
    ) -> None:
        """``years_back`` / ``years_ahead``: the range of years (around ``today``) in which a
        listed month of a known product resolves by id."""
        self._years = range(today.year - years_back, today.year + years_ahead + 1)
        self._by_root: dict[str, Instrument] = {}
        self._calendars: dict[str, SessionCalendar] = {}
        self._ticks: dict[str, TickSize] = {}
        self.front: dict[str, Contract] = {}
        for inst in instruments:
            if not inst.enabled:
                continue
            self._by_root[inst.contract_root] = inst
            self._calendars[inst.symbol] = SessionCalendar(inst.sessions)
            self._ticks[inst.symbol] = inst.ticks
            code, year = front_month(inst, today)
            self.front[inst.symbol] = self._make(inst, code, year, active=True)
        self._by_id = {c.id: c for c in self.front.values()}

    def _make(self, inst: Instrument, code: str, year: int, *, active: bool) -> Contract:
        month = MONTH_CODES.index(code) + 1
        return Contract(
            id=inst.contract_id(code, year),
            name=f"{inst.symbol}{code}{year % 10}",
            description=f"{inst.description}: {calendar.month_name[month]} {year}",
            symbol_id=inst.symbol_id,
            instrument=inst,
            month_code=code,
            year=year,
            active=active,
            ticks=self._ticks[inst.symbol],
            calendar=self._calendars[inst.symbol],
        )

    @property
    def active(self) -> list[Contract]:
        return list(self.front.values())

    def get(self, contract_id: str) -> Contract | None:
        """A well-formed id of a known root, active or not (like ``searchById``): a month the
        product lists (ES has no January) in the table's range of years; else None."""
        found = self._by_id.get(contract_id)
        if found is not None:
            return found
        parts = contract_id.split(".")
        if len(parts) != 5 or parts[:3] != ["CON", "F", "US"] or len(parts[4]) != 3:
            return None
        inst = self._by_root.get(parts[3])
        code, yy = parts[4][0], parts[4][1:]
        if inst is None or code not in inst.contract_months or not yy.isdigit():
            return None
        year = 2000 + int(yy)
        if year not in self._years:
            return None
        contract = self._make(inst, code, year, active=False)
        return contract if contract.id == contract_id else None

    def active_by_id(self, contract_id: str) -> Contract | None:
        return self._by_id.get(contract_id)

    def search(self, text: str) -> list[Contract]:
        """Active contracts whose name, symbol or description contains ``text`` (case-blind),
        exact symbol matches first; at most 20, as the real endpoint."""
        needle = text.strip().lower()
        hits = [
            c
            for c in self.front.values()
            if not needle
            or needle in c.name.lower()
            or needle in c.symbol_id.lower()
            or needle in c.description.lower()
        ]
        hits.sort(key=lambda c: (c.symbol.lower() != needle, not c.name.lower().startswith(needle), c.symbol))
        return hits[:MAX_SEARCH_RESULTS]
