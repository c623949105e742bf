"""The model zoo: each module trains one model and exports it as a new version.

Every module exposes a frozen dataclass of settings with ``epochs`` and ``seed`` fields and
``export(models_dir, config) -> str`` (the published version folder).
"""

from __future__ import annotations

import dataclasses
import importlib

#: model name -> (module, settings class)
ZOO: dict[str, tuple[str, str]] = {
    "linear": ("python_producer.models.linear", "LinearConfig"),
    "sine": ("python_producer.models.sine", "SineConfig"),
    "digits": ("python_producer.models.digits", "DigitsConfig"),
    "charlm": ("python_producer.models.charlm", "CharLMConfig"),
    "dtypes": ("python_producer.models.dtypes", "DTypesConfig"),
    "keras_mlp": ("python_producer.models.keras_mlp", "KerasMLPConfig"),
    "affine": ("python_producer.models.affine", "AffineConfig"),
}


def export_model(name: str, models_dir, epochs: int | None = None, seed: int | None = None) -> str:
    """Train ``name`` with its default settings (``epochs``/``seed`` overridden when given).

    Raises:
        KeyError: ``name`` is not in :data:`ZOO`.
    """
    module_name, config_name = ZOO[name]
    module = importlib.import_module(module_name)
    config = getattr(module, config_name)()
    overrides = {k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None}
    return module.export(models_dir, dataclasses.replace(config, **overrides))
