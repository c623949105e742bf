"""Importing a model made elsewhere as the next version of ``models/<name>/`` (tests/CONTRACT.md,
"Importing a model").

    python -m python_producer import --name NAME [--models DIR] SOURCE [--requests FILE ...]
    python -m python_producer import --name NAME --meta-graph FILE.meta --checkpoint PREFIX
        (--inputs-collection C | --input ALIAS=TENSOR ...)
        (--outputs-collection C | --output ALIAS=TENSOR ...)

SOURCE is a SavedModel folder (copied unchanged), a Keras ``.keras`` file (exported with
Keras's own ``model.export``) or a frozen GraphDef ``.pb`` (with ``--input``/``--output``). A
TF1 MetaGraph and its ``tf.compat.v1.train.Saver`` checkpoint become a SavedModel with one
``serving_default`` signature through ``tf.compat.v1.saved_model.Builder``, as does a frozen
GraphDef. The version is then completed like an export (:class:`export.ExportWriter`): a frozen
GraphDef per signature where ``convert_variables_to_constants_v2`` can make one (otherwise the
manifest says why), golden requests (the user's, else generated: :mod:`generated_requests`)
with the Python reference's responses, the manifest with file hashes, and an atomic rename.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from python_producer import tf_runtime
from python_producer.producer import generated_requests
from python_producer.producer.export import CommandRunner, ExportWriter
from python_producer.reference.model_dir import SERVE_TAG
from python_producer.reference.ops import RootGroup, check_frozen, refuse_unsafe, saved_model_groups
from python_producer.reference.predictor import Predictor
from python_producer.reference.status import Code, StatusError
from python_producer.reference.tfjson import excerpt, first_line, parse_request

#: The files and folders of a SavedModel (TensorFlow's ``saved_model/constants.py``) that an
#: import copies; anything else in the source folder is not part of the model.
SAVED_MODEL_ENTRIES = (
    "saved_model.pb",
    "saved_model.pbtxt",
    "variables",
    "assets",
    "assets.extra",
    "fingerprint.pb",
)
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
DEFAULT_SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Source:
    """What to import.

    Attributes:
        kind: ``saved_model``, ``keras``, ``meta_graph`` or ``frozen_graph``.
        path: the SavedModel folder, ``.keras`` file, ``.meta`` file or ``.pb`` file.
        checkpoint: the checkpoint prefix of a ``meta_graph`` source.
        inputs, outputs: ``alias -> tensor name`` given with ``--input``/``--output``.
        inputs_collection, outputs_collection: graph collections naming the tensors instead.
    """

    kind: str
    path: Path
    checkpoint: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    inputs_collection: str | None = None
    outputs_collection: str | None = None


def parse_bindings(flag: str, values: list[str]) -> dict[str, str]:
    """Parse ``--input ALIAS=TENSOR`` values into ``{alias: tensor name}`` (``x`` means ``x:0``).

    Raises:
        StatusError: a value without ``=``, an empty side, or an alias given twice.
    """
    found: dict[str, str] = {}
    for value in values:
        alias, sep, tensor = value.partition("=")
        if not sep or not alias or not tensor:
            raise StatusError(f'{flag} "{excerpt(value)}": expected ALIAS=TENSOR, such as x=x:0')
        if alias in found:
            raise StatusError(f'{flag} names alias "{excerpt(alias)}" twice')
        found[alias] = tensor if ":" in tensor else f"{tensor}:0"
    return found


def resolve_source(
    source: str | None,
    meta_graph: str | None,
    checkpoint: str | None,
    inputs: list[str],
    outputs: list[str],
    inputs_collection: str | None,
    outputs_collection: str | None,
) -> Source:
    """Check the command line's description of a source and say which kind it is.

    Raises:
        StatusError: no source or two, a missing file, a file that is not a model, or flags
            that do not apply to that kind of source.
    """
    bound_in, bound_out = parse_bindings("--input", inputs), parse_bindings("--output", outputs)
    if meta_graph is not None:
        if source is not None:
            raise StatusError("give either SOURCE or --meta-graph FILE --checkpoint PREFIX")
        path = Path(meta_graph)
        if not path.is_file():
            raise StatusError(
                f"--meta-graph {path} does not exist; expected a .meta file", Code.NOT_FOUND
            )
        if checkpoint is None:
            raise StatusError("--meta-graph needs --checkpoint PREFIX (the Saver's checkpoint)")
        for kind, collection, bound in (
            ("inputs", inputs_collection, bound_in),
            ("outputs", outputs_collection, bound_out),
        ):
            if (collection is None) == (not bound):
                flag = "--input" if kind == "inputs" else "--output"
                raise StatusError(
                    f"--meta-graph needs its {kind} from --{kind}-collection NAME or from "
                    f"{flag} ALIAS=TENSOR, one of the two"
                )
        return Source(
            "meta_graph",
            path,
            checkpoint,
            bound_in,
            bound_out,
            inputs_collection,
            outputs_collection,
        )
    if source is None:
        raise StatusError(
            "import needs SOURCE (a SavedModel folder, a .keras file or a frozen .pb) or "
            "--meta-graph FILE --checkpoint PREFIX"
        )
    for flag, value in (
        ("--checkpoint", checkpoint),
        ("--inputs-collection", inputs_collection),
        ("--outputs-collection", outputs_collection),
    ):
        if value is not None:
            raise StatusError(f"{flag} applies to --meta-graph, not to SOURCE {source}")
    path = Path(source)
    if not path.exists():
        raise StatusError(
            f"SOURCE {path} does not exist; expected a SavedModel folder, a .keras file or a "
            "frozen GraphDef .pb",
            Code.NOT_FOUND,
        )
    if path.is_dir() or path.suffix == ".keras":
        if bound_in or bound_out:
            flag = "--input" if bound_in else "--output"
            raise StatusError(
                f"{flag} applies to --meta-graph or a frozen .pb, not to {path}: a SavedModel "
                "and a Keras model name their own signatures"
            )
        if path.is_dir():
            if not any((path / n).is_file() for n in ("saved_model.pb", "saved_model.pbtxt")):
                raise StatusError(f"{path} is not a SavedModel: expected saved_model.pb in it")
            return Source("saved_model", path)
        return Source("keras", path)
    if path.suffix in (".pb", ".pbtxt"):
        if not bound_in or not bound_out:
            raise StatusError(
                f"a frozen GraphDef ({path}) needs --input ALIAS=TENSOR and --output "
                "ALIAS=TENSOR: a GraphDef has no signature"
            )
        return Source("frozen_graph", path, inputs=bound_in, outputs=bound_out)
    raise StatusError(
        f"{path} is not a model: expected a SavedModel folder, a .keras file, a frozen "
        "GraphDef .pb, or --meta-graph FILE.meta --checkpoint PREFIX"
    )


def _one_line(exc: BaseException) -> str:
    return excerpt(first_line(exc))


def _read_proto(path: Path, message, what: str):
    """Parse a binary (or, for ``.pbtxt``, text format) protocol buffer file."""
    from google.protobuf import text_format

    data = path.read_bytes()
    try:
        if path.suffix == ".pbtxt":
            text_format.Parse(data.decode("utf-8"), message)
        else:
            message.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        raise StatusError(f"{path} is not a {what}: {_one_line(exc)}") from None
    return message


def _copy_saved_model(source: Path, out: Path) -> None:
    """Copy the SavedModel's own files; a ``saved_model.pbtxt`` alone is written as ``.pb``."""
    for name in SAVED_MODEL_ENTRIES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, out / name)
        elif src.is_file():
            shutil.copy2(src, out / name)
    if not (out / "saved_model.pb").exists():
        proto = _read_proto(
            out / "saved_model.pbtxt", tf_runtime.saved_model_pb2().SavedModel(), "SavedModel"
        )
        (out / "saved_model.pb").write_bytes(proto.SerializeToString(deterministic=True))


def _export_keras(source: Path, out: Path) -> None:
    """Load a ``.keras`` file (Keras's safe mode) and write it with ``model.export``."""
    tf_runtime.tf()  # before Keras imports TensorFlow: the contract's environment first
    import keras

    try:
        model = keras.models.load_model(str(source), compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
        raise StatusError(f"{source} is not a Keras model file: {_one_line(exc)}") from None
    model.export(str(out), format="tf_saved_model", verbose=False)


def _tensors(graph, bindings: dict[str, str], collection: str | None, kind: str) -> dict:
    """Resolve ``alias -> tensor`` from ``--input``-style bindings or a graph collection.

    A collection's tensors are named by their op's last name component (``inputs/x_sample:0``
    is ``x_sample``), ``_N`` appended for an output index N > 0.
    """
    if collection is None:
        found = {}
        for alias, name in bindings.items():
            try:
                found[alias] = graph.get_tensor_by_name(name)
            except (KeyError, ValueError):
                raise StatusError(
                    f'--{kind[:-1]} {alias}={name}: tensor "{excerpt(name)}" is not in the graph'
                ) from None
        return found
    if collection not in graph.get_all_collection_keys():
        have = ", ".join(sorted(graph.get_all_collection_keys())) or "none"
        raise StatusError(
            f'--{kind}-collection "{excerpt(collection)}" is not a collection of the MetaGraph; '
            f"it has: {excerpt(have)}"
        )
    found = {}
    for item in graph.get_collection(collection):
        name = getattr(item, "name", repr(item))
        if (
            not hasattr(item, "op")
            or not hasattr(item, "value_index")
            or not hasattr(item, "dtype")
            or item.op.type == "VarHandleOp"
        ):
            raise StatusError(
                f'collection "{collection}" holds {excerpt(name)}, which is not a tensor; '
                f"name the {kind} with --{kind[:-1]} ALIAS=TENSOR"
            )
        alias = item.op.name.rsplit("/", 1)[-1]
        alias = alias if item.value_index == 0 else f"{alias}_{item.value_index}"
        if alias in found:
            raise StatusError(
                f'collection "{collection}" holds two tensors named {alias}; name the {kind} '
                f"with --{kind[:-1]} ALIAS=TENSOR"
            )
        found[alias] = item
    if not found:
        raise StatusError(f'collection "{collection}" is empty; expected the {kind} tensors')
    return found


def _build_saved_model(session, inputs: dict, outputs: dict, out: Path) -> None:
    """Write the session's graph and variables as a SavedModel with ``serving_default``."""
    v1 = tf_runtime.tf().compat.v1
    signature = v1.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)
    builder = v1.saved_model.Builder(str(out))
    builder.add_meta_graph_and_variables(
        session,
        [SERVE_TAG],
        signature_def_map={DEFAULT_SIGNATURE: signature},
        strip_default_attrs=True,
    )
    builder.save()


def _convert_meta_graph(source: Source, out: Path, allowed_ops: frozenset[str]) -> None:
    """MetaGraph + Saver checkpoint -> SavedModel, after checking what restoring would run."""
    tf = tf_runtime.tf()
    v1 = tf.compat.v1
    meta = _read_proto(source.path, tf_runtime.meta_graph_pb2().MetaGraphDef(), "MetaGraphDef")
    graph = tf.Graph()
    with graph.as_default():
        try:
            saver = v1.train.import_meta_graph(meta, clear_devices=True)
        except Exception as exc:  # noqa: BLE001 - an unknown op, a bad graph
            raise StatusError(
                f"cannot import the MetaGraph {source.path}: {_one_line(exc)}"
            ) from None
        inputs = _tensors(graph, source.inputs, source.inputs_collection, "inputs")
        outputs = _tensors(graph, source.outputs, source.outputs_collection, "outputs")
        groups = [RootGroup("signature", tuple(t.name for t in outputs.values()))]
        refuse_unsafe([(meta.graph_def, groups + saved_model_groups(meta, [])[1:])], allowed_ops)
        with v1.Session(graph=graph, config=tf_runtime.session_config()) as session:
            if saver is not None:
                try:
                    saver.restore(session, source.checkpoint)
                except Exception as exc:  # noqa: BLE001 - missing or mismatched checkpoint
                    raise StatusError(
                        f"cannot restore --checkpoint {source.checkpoint}: {_one_line(exc)}"
                    ) from None
            _build_saved_model(session, inputs, outputs, out)


def _convert_frozen_graph(source: Source, out: Path, allowed_ops: frozenset[str]) -> None:
    """Frozen GraphDef -> SavedModel (no variables) with ``serving_default``."""
    tf = tf_runtime.tf()
    graph_def = _read_proto(source.path, tf.compat.v1.GraphDef(), "GraphDef")
    graph = tf.Graph()
    with graph.as_default():
        try:
            tf.graph_util.import_graph_def(graph_def, name="")
        except Exception as exc:  # noqa: BLE001 - an unknown op, a bad graph
            raise StatusError(
                f"cannot import the GraphDef {source.path}: {_one_line(exc)}"
            ) from None
        inputs = _tensors(graph, source.inputs, None, "inputs")
        outputs = _tensors(graph, source.outputs, None, "outputs")
        check_frozen([(graph_def, [t.name for t in outputs.values()])], allowed_ops)
        with tf.compat.v1.Session(graph=graph, config=tf_runtime.session_config()) as session:
            _build_saved_model(session, inputs, outputs, out)


def write_saved_model(source: Source, out: Path, allowed_ops: frozenset[str]) -> None:
    """Write ``source`` as a SavedModel into the empty folder ``out``.

    Raises:
        StatusError: the source cannot be read, converted or restored.
        StatusError: an unsafe op that converting the source would run.
    """
    if source.kind == "saved_model":
        _copy_saved_model(source.path, out)
        return
    if source.kind == "keras":
        _export_keras(source.path, out)
        return
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        built = Path(tmp) / "saved_model"
        if source.kind == "meta_graph":
            _convert_meta_graph(source, built, allowed_ops)
        else:
            _convert_frozen_graph(source, built, allowed_ops)
        for entry in built.iterdir():
            shutil.move(str(entry), out / entry.name)


def read_requests(files: list[str]) -> dict[str, str]:
    """Read ``--requests`` files: ``{case name: body}``, the case named after the file.

    ``a.request.json`` and ``a.json`` are both case ``a``.

    Raises:
        StatusError: a missing file, a body that is not a predict request, a case named twice.
    """
    found: dict[str, str] = {}
    for name in files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StatusError(f"--requests {path}: cannot read it: {exc}") from None
        try:
            parse_request(text)
        except StatusError as exc:
            raise StatusError(f"--requests {path}: {exc}") from None
        case = re.sub(
            r"[^A-Za-z0-9_-]", "_", path.name.removesuffix(".json").removesuffix(".request")
        )
        if case in found:
            raise StatusError(f"--requests {path}: case {case} is given twice")
        found[case] = text.strip()
    return found


def _signature_of(body: str) -> str:
    """The signature key a predict request body names (``serving_default`` when none)."""
    return parse_request(body).signature_name or DEFAULT_SIGNATURE


def golden_requests(predictor, user: dict[str, str], seed: int) -> tuple[dict[str, str], list]:
    """Choose the golden requests: the user's where they name a signature, else generated.

    Returns:
        ``({case: body}, notes)``: notes are the lines the import prints (a generated case the
        model refuses is left out and named there).

    Raises:
        StatusError: a user's request the reference refuses, or a signature left without a
            case (its inputs cannot be generated, or the model refused every generated one).
    """
    keys = sorted(k for k in predictor.loaded.signatures if not k.startswith("__"))
    chosen: dict[str, str] = {}
    for case, body in user.items():
        try:
            predictor.predict(body)
        except Exception as exc:  # noqa: BLE001 - any refusal or TensorFlow error
            raise StatusError(
                f"--requests case {case}: the model refuses it: {_one_line(exc)}"
            ) from None
        chosen[case] = body
    covered = {_signature_of(b) for b in user.values()}
    notes = []
    for number, key in enumerate(keys):
        if key in covered:
            continue
        inputs, _ = predictor.signature(key)
        generated = generated_requests.generate(key, inputs, seed + number)
        kept = 0
        for case, body in generated.items():
            try:
                predictor.predict(body)
            except Exception as exc:  # noqa: BLE001 - the model refuses these values
                notes.append(
                    f"generated case {case} left out: the model refuses it: {_one_line(exc)}"
                )
                continue
            chosen[case] = body
            kept += 1
        if not kept:
            raise StatusError(
                f'signature "{key}" refuses every generated request; give example requests '
                "with --requests FILE"
            )
    return chosen, notes


def import_model(
    models_dir: Path,
    name: str,
    source: Source,
    request_files: list[str],
    seed: int = 1,
    allowed_ops: frozenset[str] = frozenset(),
    run_command: CommandRunner | None = None,
) -> tuple[Path, list[str]]:
    """Import ``source`` as the next version of ``models_dir/name``.

    ``run_command`` runs the command lines whose output the version records
    (:class:`python_producer.producer.export.ExportWriter`); ``None`` records none.

    Returns:
        ``(published version folder, report lines)``: one line per signature (its frozen
        graph or why it has none, its golden cases) and one per generated case left out.

    Raises:
        StatusError: bad name, source, flags, tensors or requests, an unsafe op
            (``--allow-op``), or a SavedModel that cannot be loaded (nothing is published).
    """
    if not MODEL_NAME.match(name):
        raise StatusError(
            f'--name "{excerpt(name)}" is not a model name: expected letters, digits, ".", "_" '
            'and "-", not starting with "." or "-"'
        )
    user = read_requests(request_files)
    with ExportWriter(models_dir, name, run_command) as writer:
        write_saved_model(source, writer.path, allowed_ops)
        predictor = Predictor(writer.path, "saved_model", allowed_ops)
        signatures = {
            k: f for k, f in predictor.loaded.signatures.items() if not k.startswith("__")
        }
        unfrozen = writer.freeze(signatures, unavailable_ok=True)
        requests, notes = golden_requests(predictor, user, seed)
        writer.write_golden(requests, allowed_ops, predictor)
        predictor.close()
        lines = []
        for key in sorted(signatures):
            cases = sorted(c for c, b in requests.items() if _signature_of(b) == key)
            frozen = f"no frozen graph ({unfrozen[key]})" if key in unfrozen else f"frozen/{key}.pb"
            lines.append(f"  signature {key}: {frozen}; golden cases: {', '.join(cases)}")
        published = writer.publish(
            {"imported_from": {"kind": source.kind, "source": source.path.name}}
        )
    return published, lines + [f"  {n}" for n in notes]
