"""Running services: the ``Service`` contract and the runner that starts and stops them."""

from tsxbot.runtime.runner import ServiceFailed, run_services, run_until_stopped
from tsxbot.runtime.service import Service, StartupError, listen_error

__all__ = ["Service", "ServiceFailed", "StartupError", "listen_error", "run_services", "run_until_stopped"]
