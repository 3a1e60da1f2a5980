"""Market data: the seeded synthetic generator, recorded-data replay, bars and the live feed."""
