"""Fault injection: the faults in force, and the admin API that sets them."""
