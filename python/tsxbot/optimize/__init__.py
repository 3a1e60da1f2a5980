"""``tsxbot optimize``: an Optuna search over a bot's strategy parameters, each trial a backtest
(``space``: the ranges; ``study``: objectives, samplers, storage, workers; ``walk_forward``: the
windows; ``output``: the best bot YAML and the study's charts)."""
