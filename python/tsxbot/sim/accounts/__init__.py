"""Accounts: balances, positions, realized and open P&L, and TopStepX's account rules."""
