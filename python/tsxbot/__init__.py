"""tsxbot: automated futures trading for TopStepX, a Rust core under asyncio services."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tsxbot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
