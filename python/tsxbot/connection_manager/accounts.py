"""Which TopStepX account each service trades: a default (``topstepx.accountId``, else the first
active account that can trade), switchable per service (``/current-account/{service}``)."""

from __future__ import annotations

from tsxbot.gateway.models import Account


class AccountSelectionError(LookupError):
    pass


class AccountSelector:
    def __init__(
        self, accounts: list[Account], preferred_id: int | None = None, preferred_name: str | None = None
    ) -> None:
        self._accounts = {a.id: a for a in accounts}
        self._per_service: dict[str, int] = {}
        self.default_id = self._choose_default(preferred_id, preferred_name)

    def _choose_default(self, preferred_id: int | None, preferred_name: str | None) -> int:
        if preferred_id is not None:
            if preferred_id not in self._accounts:
                raise AccountSelectionError(
                    f"topstepx.accountId {preferred_id} is not an active account of this login "
                    f"(accounts: {self._describe()})"
                )
            return preferred_id
        if preferred_name is not None:
            for account in self._accounts.values():
                if account.name == preferred_name:
                    return account.id
            raise AccountSelectionError(
                f"no active account named {preferred_name!r} (accounts: {self._describe()})"
            )
        for account in self._accounts.values():
            if account.can_trade:
                return account.id
        raise AccountSelectionError(f"no active account can trade (accounts: {self._describe()})")

    def _describe(self) -> str:
        return (
            ", ".join(
                f"{a.id} {a.name}{'' if a.can_trade else ' (cannot trade)'}" for a in self._accounts.values()
            )
            or "none"
        )

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def update(self, account: Account) -> None:
        self._accounts[account.id] = account

    def get(self, account_id: int) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise AccountSelectionError(
                f"unknown account {account_id} (accounts: {self._describe()})"
            ) from None

    def for_service(self, service: str) -> Account:
        return self.get(self._per_service.get(service, self.default_id))

    def switch(self, service: str, account_id: int) -> Account:
        account = self.get(account_id)
        self._per_service[service] = account_id
        return account

    def resolve(self, account_id: int | None) -> int:
        """The account a command names, or the default one."""
        return self.get(account_id).id if account_id is not None else self.default_id
