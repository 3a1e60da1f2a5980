"""Built-in strategies. Users add their own in this folder or in a directory named by
``strategyPaths`` in ``global.yaml``."""
