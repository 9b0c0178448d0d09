"""Storage backends behind the ``Backend`` protocol (see ``base``).

Each backend module exposes ``open_backend(config, migration_options)`` and is
imported only when a ConnectionConfig asks for it, so optional drivers stay
optional.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from lineage import errors

__all__ = ["import_driver", "missing_driver_error"]


def missing_driver_error(config_field: str, package: str, extra: str | None) -> errors.FailedPreconditionError:
    """The error for a backend whose optional driver is not installed, naming the extra."""
    hint = f"pip install 'lineage[{extra}]'" if extra else "reinstall lineage"
    return errors.FailedPreconditionError(
        f"ConnectionConfig.{config_field} needs the Python package {package!r}: {hint}")


def import_driver(name: str, config_field: str, extra: str) -> ModuleType:
    """Imports a backend's driver on first use.

    Raises:
        FailedPreconditionError: the driver is not installed; the message names the extra.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        raise missing_driver_error(config_field, e.name or name, extra) from e

