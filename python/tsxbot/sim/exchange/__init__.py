"""The exchange: orders, the matching engine, brackets, and the venue that ties them to accounts."""
