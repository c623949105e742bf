"""The Python reference consumer: predict and inspect exactly as tests/CONTRACT.md defines.

SavedModels run through ``tf.saved_model.load(dir, tags=["serve"]).signatures[key]``; frozen
GraphDefs run in a ``tf.compat.v1.Session`` with the tensor names from ``manifest.json``.
Signature specs (tensor names, dtypes, shapes) are read from the SavedModel proto itself,
exactly as the Go and Java consumers read them through the C API.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from python_producer import tf_runtime
from python_producer.reference.model_dir import (
    SERVE_TAG,
    SignatureInfo,
    join_as_given,
    no_frozen_graph,
    read_manifest,
    read_saved_model,
    serve_meta_graph,
    signature_not_found,
    specs_from_manifest,
)
from python_producer.reference.ops import check_frozen, check_saved_model
from python_producer.reference.status import Code, StatusError, error
from python_producer.reference.tfjson import (
    TensorSpec,
    decode_inputs,
    encode_response,
    first_line,
    parse_request,
)

FORMATS = ("saved_model", "frozen")


def _shape_of(proto) -> tuple[int, ...] | None:
    if proto.unknown_rank:
        return None
    return tuple(d.size for d in proto.dim)


def _dtype_name(key: str, kind: str, alias: str, dtype: int) -> str:
    """The ``DataType`` name of a SignatureDef entry's ``dtype`` enum.

    Raises:
        StatusError: the number is no ``DataType`` value (an invalid model).
    """
    try:
        return tf_runtime.types_pb2().DataType.Name(dtype)
    except ValueError:
        raise error(
            "invalid_dtype", signature=key, direction=kind, alias=alias, dtype=dtype
        ) from None


def signatures_of(version_dir: Path, meta_graph, manifest: dict | None) -> dict[str, SignatureInfo]:
    """Describe every SignatureDef of ``meta_graph`` (plus the manifest's frozen graph paths)."""
    result = {}
    manifest_sigs = (manifest or {}).get("signatures", {})
    for key, sig in meta_graph.signature_def.items():

        def specs(entries, kind, key=key):
            return {
                alias: TensorSpec(
                    alias, info.name, _dtype_name(key, kind, alias, info.dtype),
                    _shape_of(info.tensor_shape),
                )
                for alias, info in entries.items()
            }  # fmt: skip

        frozen = manifest_sigs.get(key, {}).get("frozen")
        result[key] = SignatureInfo(
            key,
            sig.method_name,
            specs(sig.inputs, "input"),
            specs(sig.outputs, "output"),
            frozen and frozen["graph"],
        )
    return result


class Predictor:
    """A loaded model version answering predict requests for one format.

    Args:
        version_dir: the version folder (see :func:`model_dir.resolve_version_dir`).
        model_format: ``saved_model`` or ``frozen``.
        allowed_ops: unsafe ops accepted knowingly (``--allow-op``).
        keys: the signatures that will be run (None: every servable one); the ops reachable
            from them are checked before anything is loaded (tests/CONTRACT.md, "Unsafe ops").

    Raises:
        StatusError: unknown format, unreadable SavedModel, (frozen) no manifest, or an unsafe
            op.
    """

    def __init__(
        self,
        version_dir: str | Path,
        model_format: str = "saved_model",
        allowed_ops: frozenset[str] = frozenset(),
        keys: list[str] | None = None,
    ):
        if model_format not in FORMATS:
            raise StatusError(f'unknown --format "{model_format}"; expected saved_model or frozen')
        shown = str(version_dir)  # as tests/CONTRACT.md, "Paths in messages", writes it
        version_dir = Path(version_dir)
        self.version_dir = version_dir
        self.format = model_format
        self.manifest = read_manifest(shown)
        self.signatures = signatures_of(
            version_dir, serve_meta_graph(read_saved_model(shown)), self.manifest
        )
        self.loaded = None
        self._frozen: dict[str, tuple] = {}
        self._graph_defs: dict[str, object] = {}
        self.allowed_ops = frozenset(allowed_ops)
        if model_format == "saved_model":
            check_saved_model(shown, keys, self.allowed_ops)
            tf = tf_runtime.tf()
            try:
                self.loaded = tf.saved_model.load(str(version_dir), tags=[SERVE_TAG])
            except Exception as exc:  # noqa: BLE001 - any load failure is an invalid model
                raise StatusError(
                    f"cannot load the SavedModel in {shown}: {first_line(exc)}",
                    Code.FAILED_PRECONDITION,
                ) from None
        elif self.manifest is None:
            raise error("frozen_needs_manifest", path=join_as_given(shown, "manifest.json"))
        else:
            frozen = {k for k, v in self.manifest["signatures"].items() if "frozen" in v}
            run = sorted(k for k in frozen if not k.startswith("__")) if keys is None else keys
            self._graph_defs = {k: self._read_frozen(k) for k in run if k in frozen}
            check_frozen(
                [
                    (graph_def, [o["name"] for o in self._frozen_outputs(k)])
                    for k, graph_def in self._graph_defs.items()
                ],
                self.allowed_ops,
            )

    def signature(self, key: str) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        """Return (inputs, outputs) specs of signature ``key`` for this predictor's format.

        Raises:
            StatusError: unknown key, or no frozen graph for it.
        """
        if self.format == "saved_model":
            if key not in self.signatures or key not in self.loaded.signatures:
                raise signature_not_found(key, list(self.loaded.signatures))
            sig = self.signatures[key]
            return sig.inputs, sig.outputs
        frozen_sigs = {
            k: v["frozen"] for k, v in self.manifest["signatures"].items() if "frozen" in v
        }
        if key not in frozen_sigs:
            entry = self.manifest["signatures"].get(key)
            if isinstance(entry, dict) and "saved_model" in entry:
                raise no_frozen_graph(key, entry.get("frozen_unavailable"))
            raise signature_not_found(key, list(frozen_sigs))
        entry = frozen_sigs[key]
        return specs_from_manifest(entry["inputs"]), specs_from_manifest(entry["outputs"])

    def run(self, key: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run signature ``key`` on already-checked inputs; returns numpy outputs by alias."""
        tf = tf_runtime.tf()
        in_specs, out_specs = self.signature(key)
        if self.format == "saved_model":
            fn = self.loaded.signatures[key]
            feeds = {
                a: tf.constant(
                    v, dtype=tf.dtypes.as_dtype(tf_runtime.dtype_enum(in_specs[a].dtype))
                )
                for a, v in inputs.items()
            }
            result = fn(**feeds)
            return {a: result[a].numpy() for a in out_specs}
        session, _ = self.frozen_session(key)
        aliases = sorted(out_specs)
        values = session.run(
            [out_specs[a].name for a in aliases],
            feed_dict={in_specs[a].name: v for a, v in inputs.items()},
        )
        return dict(zip(aliases, values, strict=True))

    def _frozen_outputs(self, key: str):
        return self.manifest["signatures"][key]["frozen"]["outputs"].values()

    def _read_frozen(self, key: str):
        """Parse the frozen GraphDef of signature ``key``; StatusError when it is not one."""
        tf = tf_runtime.tf()
        graph_path = self.version_dir / self.manifest["signatures"][key]["frozen"]["graph"]
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(graph_path.read_bytes())
        except Exception as exc:  # noqa: BLE001
            raise StatusError(
                f"{graph_path} is not a GraphDef: {exc}",
                Code.FAILED_PRECONDITION,
            ) from None
        return graph_def

    def frozen_session(self, key: str):
        """Return (tf.compat.v1.Session, tf.Graph) of the frozen graph of ``key``, made once."""
        if key not in self._frozen:
            tf = tf_runtime.tf()
            graph_def = self._graph_defs.get(key)
            if graph_def is None:  # not among the keys checked at load: check it now
                graph_def = self._read_frozen(key)
                names = [o["name"] for o in self._frozen_outputs(key)]
                check_frozen([(graph_def, names)], self.allowed_ops)
            graph = tf.Graph()
            with graph.as_default():
                tf.graph_util.import_graph_def(graph_def, name="")
            self._frozen[key] = (
                tf.compat.v1.Session(graph=graph, config=tf_runtime.session_config()),
                graph,
            )
        return self._frozen[key]

    def predict(self, body: str | bytes, default_signature: str = "serving_default") -> str:
        """Answer one TF Serving REST predict body with the response body.

        Raises:
            StatusError: the request does not fit the contract or the signature.
        """
        request = parse_request(body)
        key = request.signature_name or default_signature
        in_specs, _ = self.signature(key)
        inputs = decode_inputs(request, in_specs, key)
        return encode_response(self.run(key, inputs), request.row_format)

    def close(self) -> None:
        """Release sessions held for frozen graphs."""
        for session, _ in self._frozen.values():
            session.close()
        self._frozen.clear()


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "unknown_rank"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def inspect(version_dir: str | Path, as_json: bool = False) -> str:
    """Describe a model version as ``saved_model_cli show --all`` does (format in CONTRACT.md).

    ``version_dir`` is written as given (:func:`model_dir.resolve_version_dir` makes it).
    """
    shown = str(version_dir)
    version_dir = Path(version_dir)
    saved_model = read_saved_model(shown)
    manifest = read_manifest(shown)
    producer_version = ""
    meta_graphs = []
    for meta_graph in saved_model.meta_graphs:
        producer_version = producer_version or meta_graph.meta_info_def.tensorflow_version
        meta_graphs.append(
            (
                sorted(meta_graph.meta_info_def.tags),
                signatures_of(version_dir, meta_graph, manifest),
            )
        )
    version = int(version_dir.name) if version_dir.name.isdigit() else None
    if as_json:
        doc = {
            "model": shown,
            "version": version,
            "tensorflow_runtime": tf_runtime.tf_version(),
            "producer_tensorflow_version": producer_version,
            "meta_graphs": [
                {
                    "tags": tags,
                    "signatures": {
                        key: {
                            "method_name": sig.method_name,
                            "inputs": {a: s.to_json() for a, s in sorted(sig.inputs.items())},
                            "outputs": {a: s.to_json() for a, s in sorted(sig.outputs.items())},
                            "frozen_graph": sig.frozen_graph,
                        }
                        for key, sig in sorted(sigs.items())
                    },
                }
                for tags, sigs in meta_graphs
            ],
        }
        return json.dumps(doc, indent=2) + "\n"
    lines = [
        f"Model: {shown}",
        f"Version: {version if version is not None else 'none'}",
        f"TensorFlow runtime: {tf_runtime.tf_version()}",
        f"Producer TensorFlow version: {producer_version}",
    ]
    for tags, sigs in meta_graphs:
        lines += [
            "",
            f"MetaGraphDef with tag-set: '{', '.join(tags)}' contains the following SignatureDefs:",
        ]
        for key, sig in sorted(sigs.items()):
            lines += ["", f"signature_def['{key}']:"]
            for label, specs in (("input", sig.inputs), ("output", sig.outputs)):
                lines.append(
                    f"  The given SavedModel SignatureDef contains the following {label}(s):"
                )
                for alias, spec in sorted(specs.items()):
                    lines += [
                        f"    {label}s['{alias}'] tensor_info:",
                        f"        dtype: {spec.dtype}",
                        f"        shape: {_shape_text(spec.shape)}",
                        f"        name: {spec.name}",
                    ]
            lines.append(f"  Method name is: {sig.method_name}")
            lines.append(f"  Frozen graph: {sig.frozen_graph or 'none'}")
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "Predictor", "inspect"]
