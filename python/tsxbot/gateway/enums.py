"""ProjectX wire enums and each endpoint's own error codes (the same integer means different
things on different endpoints, so they are never mapped through one global table)."""

from __future__ import annotations

from enum import IntEnum


class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class OrderSide(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


class OrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


class BarUnit(IntEnum):
    """AggregateBarUnit."""

    UNSPECIFIED = 0
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAY = 4
    WEEK = 5
    MONTH = 6
    TICK = 7


class TradeLogType(IntEnum):
    BUY = 0
    SELL = 1


class DomType(IntEnum):
    UNKNOWN = 0
    ASK = 1
    BID = 2
    BEST_ASK = 3
    BEST_BID = 4
    TRADE = 5
    RESET = 6
    LOW = 7
    HIGH = 8
    NEW_BEST_BID = 9
    NEW_BEST_ASK = 10
    FILL = 11


# --- error codes, one enum per endpoint -----------------------------------------------------------


class LoginErrorCode(IntEnum):
    SUCCESS = 0
    USER_NOT_FOUND = 1
    PASSWORD_VERIFICATION_FAILED = 2
    INVALID_CREDENTIALS = 3
    APP_NOT_FOUND = 4
    APP_VERIFICATION_FAILED = 5
    INVALID_DEVICE = 6
    AGREEMENTS_NOT_SIGNED = 7
    UNKNOWN_ERROR = 8
    API_SUBSCRIPTION_NOT_FOUND = 9
    API_KEY_AUTHENTICATION_DISABLED = 10


class ValidateErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    SESSION_NOT_FOUND = 2
    EXPIRED_TOKEN = 3
    UNKNOWN_ERROR = 4


class LogoutErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    UNKNOWN_ERROR = 2


class SearchAccountErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractByIdErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1


class RetrieveBarErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1
    UNIT_INVALID = 2
    UNIT_NUMBER_INVALID = 3
    LIMIT_INVALID = 4


class PlaceOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_REJECTED = 2
    INSUFFICIENT_FUNDS = 3
    ACCOUNT_VIOLATION = 4
    OUTSIDE_TRADING_HOURS = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    CONTRACT_NOT_FOUND = 8
    CONTRACT_NOT_ACTIVE = 9
    ACCOUNT_REJECTED = 10


class ModifyOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6
    CONTRACT_NOT_FOUND = 7


class CancelOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6


class SearchOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class SearchOrderByIdErrorCode(IntEnum):
    """Order/searchById (newer Swagger only)."""

    SUCCESS = 0
    ORDER_NOT_FOUND = 1


class SearchPositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class ClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    ORDER_REJECTED = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    ACCOUNT_REJECTED = 8


class PartialClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    INVALID_CLOSE_SIZE = 5
    ORDER_REJECTED = 6
    ORDER_PENDING = 7
    UNKNOWN_ERROR = 8
    ACCOUNT_REJECTED = 9


class SearchTradeErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
