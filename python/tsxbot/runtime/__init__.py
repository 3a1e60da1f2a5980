"""Running services: the ``Service`` contract and the runner that starts and stops them."""

from tsxbot.runtime.runner import ServiceFailed, run_services
from tsxbot.runtime.service import Service

__all__ = ["Service", "ServiceFailed", "run_services"]
