"""Built-in strategies (``PDH_PDL``, ``EMA_CROSS``, ``ORB_RUBBER_BAND``) and their parameters.

Users write their own against ``tsxbot.strategy`` and name them by dotted path in a bot's YAML
(``strategy.type: mypackage.module:MyStrategy``), from ``sys.path`` or ``strategyPaths``."""
