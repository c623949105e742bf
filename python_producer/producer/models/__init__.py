"""The model zoo: each module trains one model and exports it as a new version.

Every module exposes a frozen dataclass of settings with ``epochs`` and ``seed`` fields and
``export(models_dir, config) -> str`` (the published version folder).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

#: model name -> its module: every public module of this package is one model of the zoo (the
#: Makefile lists the same modules for ``make models``).
ZOO: dict[str, str] = {
    m.name: f"{__name__}.{m.name}"
    for m in pkgutil.iter_modules(__path__)
    if not m.name.startswith("_")
}


def export_model(
    name: str,
    models_dir,
    run_command,
    epochs: int | None = None,
    seed: int | None = None,
) -> str:
    """Train ``name`` with its default settings (``epochs``/``seed`` overridden when given).

    The settings class is the one ``export``'s ``config`` parameter is annotated with;
    ``run_command`` runs the command lines whose output the version records
    (:class:`python_producer.producer.export.ExportWriter`).

    Raises:
        KeyError: ``name`` is not in :data:`ZOO`.
    """
    module = importlib.import_module(ZOO[name])
    config = typing.get_type_hints(module.export)["config"]()
    overrides = {k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None}
    return module.export(models_dir, dataclasses.replace(config, **overrides), run_command)
