"""Request bodies, field for field as Swagger names them, read the way ASP.NET binds them: a
missing text field (a non-nullable reference type) is HTTP 400; a missing number, flag or
DateTime (a value type) takes its default (0, false, 0001-01-01) and the endpoint answers with
its business error code (an accountId of 0 is AccountNotFound).

Order/place and Order/modify bodies are the gateway's own models (``tsxbot.gateway.models``):
the client encodes them and the simulator decodes them with the same types (there every field
Swagger marks required is required)."""

from __future__ import annotations

import msgspec

# Timestamps stay text here and are read leniently (Z, an offset, none, a bare date, 7 digits).
Timestamp = str
DEFAULT_DATETIME = "0001-01-01T00:00:00"


class _Body(msgspec.Struct, rename="camel", kw_only=True):
    pass


class LoginKeyRequest(_Body):
    user_name: str
    api_key: str


class SearchAccountRequest(_Body):
    only_active_accounts: bool = False


class SearchContractRequest(_Body):
    live: bool = False
    search_text: str | None = None


class SearchContractByIdRequest(_Body):
    contract_id: str


class AvailableContractRequest(_Body):
    live: bool = False


class RetrieveBarRequest(_Body):
    contract_id: str
    live: bool = False
    start_time: Timestamp = DEFAULT_DATETIME
    end_time: Timestamp = DEFAULT_DATETIME
    unit: int = 0
    unit_number: int = 0
    limit: int = 0
    include_partial_bar: bool = False


class CancelOrderRequest(_Body):
    account_id: int = 0
    order_id: int = 0


class SearchOrderRequest(_Body):
    account_id: int = 0
    start_timestamp: Timestamp = DEFAULT_DATETIME
    end_timestamp: Timestamp | None = None


class SearchOpenOrderRequest(_Body):
    account_id: int = 0


class SearchOrderByIdRequest(_Body):
    account_id: int = 0
    order_id: int = 0


class SearchPositionRequest(_Body):
    account_id: int = 0


class CloseContractRequest(_Body):
    contract_id: str
    account_id: int = 0


class PartialCloseContractRequest(_Body):
    contract_id: str
    account_id: int = 0
    size: int = 0


class SearchTradeRequest(_Body):
    account_id: int = 0
    start_timestamp: Timestamp | None = None
    end_timestamp: Timestamp | None = None


class OrderFilter(_Body):
    account_id: int = 0
    statuses: list[int] | None = None
    contract_id: str | None = None
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None


class OrderQueryRequest(_Body):
    """Order/v2/query (newer Swagger only; paging defaults unconfirmed)."""

    filter: OrderFilter
    page_size: int | None = None
    page_offset: int | None = None
    sort_by: int | None = None  # 0 CreatedAt, 1 Id
    sort_direction: int | None = None  # 0 Asc, 1 Desc
    include_total_count: bool | None = None
