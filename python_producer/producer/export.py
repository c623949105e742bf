"""The producer's export of a trained model: SavedModel, frozen GraphDefs, checkpoint (on top of
the reference's :class:`~python_producer.reference.version_writer.VersionWriter`, which adds the
golden files, the recorded commands and the manifest, and publishes the folder).
"""

from __future__ import annotations

from pathlib import Path

from python_producer import tf_runtime
from python_producer.reference.model_dir import SERVE_TAG, read_saved_model, serve_meta_graph
from python_producer.reference.predictor import signatures_of
from python_producer.reference.tfjson import TensorSpec, excerpt, first_line
from python_producer.reference.version_writer import (
    COMMANDS_FILE,
    VERSION_DIR,
    CommandRunner,
    VersionWriter,
    file_hashes,
    sha256_of,
)

__all__ = [
    "COMMANDS_FILE",
    "VERSION_DIR",
    "CommandRunner",
    "ExportWriter",
    "file_hashes",
    "sha256_of",
]


def _tensor_entry(tensor, signature_shape=None) -> dict:
    """Describe a graph tensor of the frozen function as a manifest entry.

    Where the frozen graph lost the rank (an output computed in lowered control flow), the
    signature's own shape for that output (``signature_shape``) is used.
    """
    shape = tensor.shape
    if shape.rank is None and signature_shape is not None:
        shape = signature_shape
    return TensorSpec(
        alias="",
        name=tensor.name,
        dtype=tf_runtime.types_pb2().DataType.Name(tensor.dtype.as_datatype_enum),
        shape=None
        if shape.rank is None
        else tuple(-1 if d is None else d for d in shape.as_list()),
    ).to_json()


def _frozen_function(fn, input_count: int):
    """Freeze ``fn`` with ``convert_variables_to_constants_v2``: ``(function, None)``, or
    ``(None, reason)`` when TensorFlow cannot make a frozen graph that runs on its own.

    A resource that is not a variable (a lookup table, an iterator) stays an input of the frozen
    function, which could then not run: that counts as cannot.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    try:
        frozen = convert_variables_to_constants_v2(fn)
    except Exception as exc:  # noqa: BLE001 - TensorFlow raises several types here
        return None, f"convert_variables_to_constants_v2 failed: {excerpt(first_line(exc))}"
    extra = list(frozen.inputs[input_count:])
    if extra:
        kinds = ", ".join(f"{t.name} ({t.dtype.name})" for t in extra)
        return None, (
            f"convert_variables_to_constants_v2 left inputs that are not signature inputs: "
            f"{kinds}, a resource such as a lookup table that cannot become a constant"
        )
    return frozen, None


class ExportWriter(VersionWriter):
    """A :class:`VersionWriter` that also writes what a trained model's export holds: the
    SavedModel, a frozen GraphDef per signature and a checkpoint; :meth:`publish` writes the
    manifest with every signature's entries.

    Args: those of :class:`VersionWriter`.
    """

    def __init__(self, models_dir, name: str, run_command: CommandRunner | None = None):
        super().__init__(models_dir, name, run_command)
        self._signatures: dict = {}

    def save_model(self, module, signatures: dict, checkpoint_objects: dict) -> None:
        """Write the SavedModel, a frozen GraphDef per signature and a tf.train.Checkpoint.

        Args:
            module: the ``tf.Module`` holding the variables.
            signatures: signature key -> concrete function (``tf.function.get_concrete_function``).
            checkpoint_objects: name -> trackable, saved with ``tf.train.CheckpointManager``.
        """
        tf = tf_runtime.tf()
        tf.saved_model.save(module, str(self.path), signatures=signatures)
        self.freeze(signatures)
        self.save_checkpoint(checkpoint_objects)

    def freeze(self, signatures: dict, unavailable_ok: bool = False) -> dict[str, str]:
        """Write ``frozen/<key>.pb`` and ``.pbtxt`` for each signature's concrete function.

        Uses ``convert_variables_to_constants_v2`` (variables become ``Const`` nodes, functional
        control flow is lowered to TF1 frames); the tensor names go into the manifest.

        Args:
            signatures: signature key -> concrete function.
            unavailable_ok: record a signature that cannot be frozen (the manifest's
                ``frozen_unavailable`` says why) instead of raising.

        Returns:
            ``{key: reason}`` for every signature left without a frozen graph.

        Raises:
            ValueError: a signature cannot be frozen and ``unavailable_ok`` is false.
        """
        tf = tf_runtime.tf()
        frozen_dir = self.path / "frozen"
        frozen_dir.mkdir()
        unavailable = {}
        for key, fn in signatures.items():
            input_specs = {
                spec.name: spec for spec in tf.nest.flatten(fn.structured_input_signature)
            }
            frozen, reason = _frozen_function(fn, len(input_specs))
            if frozen is None:
                if not unavailable_ok:
                    raise ValueError(f'signature "{key}" cannot be frozen: {reason}')
                unavailable[key] = reason
                self._signatures[key] = {"frozen_unavailable": reason}
                continue
            graph_def = frozen.graph.as_graph_def()
            (frozen_dir / f"{key}.pb").write_bytes(graph_def.SerializeToString(deterministic=True))
            tf.io.write_graph(graph_def, str(frozen_dir), f"{key}.pbtxt", as_text=True)
            # The frozen function keeps the concrete function's inputs in order: the flattened
            # structured inputs first (a TF1 signature's are named by alias, not by tensor).
            frozen_inputs = dict(zip(input_specs, frozen.inputs, strict=False))
            self._signatures[key] = {
                "frozen": {
                    "graph": f"frozen/{key}.pb",
                    "graph_text": f"frozen/{key}.pbtxt",
                    "inputs": {alias: _tensor_entry(frozen_inputs[alias]) for alias in input_specs},
                    # convert_variables_to_constants_v2 keeps the outputs in tf.nest order,
                    # which for a dict is sorted by key.
                    "outputs": {
                        alias: _tensor_entry(tensor, fn.structured_outputs[alias].shape)
                        for alias, tensor in zip(
                            sorted(fn.structured_outputs), frozen.outputs, strict=True
                        )
                    },
                },
            }
        return unavailable

    def save_checkpoint(self, checkpoint_objects: dict) -> None:
        """Save ``checkpoint_objects`` (name -> trackable) under ``checkpoint/``."""
        tf = tf_runtime.tf()
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(**checkpoint_objects), str(self.path / "checkpoint"), max_to_keep=1
        )
        manager.save()

    def signature_entries(self) -> dict:
        """Describe every servable signature of the staged SavedModel (and its frozen graph)."""
        meta_graph = serve_meta_graph(read_saved_model(self.path))
        signatures = {}
        for key, sig in signatures_of(self.path, meta_graph, None).items():
            if key.startswith("__"):
                continue
            entry = {
                "method_name": sig.method_name,
                "saved_model": {
                    "inputs": {a: s.to_json() for a, s in sorted(sig.inputs.items())},
                    "outputs": {a: s.to_json() for a, s in sorted(sig.outputs.items())},
                },
            }
            entry.update(self._signatures.get(key, {}))
            signatures[key] = entry
        return signatures

    def publish(self, extra: dict | None = None) -> Path:
        """Write ``manifest.json`` and rename the staging folder to its version; return it.

        Args:
            extra: further top-level manifest entries (such as ``training``).

        Raises:
            FileExistsError: another writer published the same version meanwhile.
        """
        manifest = {"manifest_version": 1, "model_name": self.name, "tags": [SERVE_TAG]}
        manifest["signatures"] = self.signature_entries()
        manifest.update(extra or {})
        return self.publish_manifest(manifest, record_commands=self._run_command is not None)
