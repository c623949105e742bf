"""The Python reference of the ``train`` command: run a SavedModel's training signature in a loop.

Python calls the signatures of ``tf.saved_model.load`` (eager); Go and Java run the same
signatures through the C API.  What every language must do, step for step, is written once in
tests/CONTRACT.md ("Training"): how data shards are read and batched, how checkpoints are named,
written and resumed, and what the new model version holds.  The manifest's ``training`` section
(written by the producer, see :func:`training_section`) names the signatures and tensors.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from python_producer import tf_runtime
from python_producer.reference.model_dir import (
    VERSION_NAME,
    join_as_given,
    parent_as_given,
    resolve_version_dir,
    sha256_of,
)
from python_producer.reference.ops import check_saved_model
from python_producer.reference.status import Code, StatusError
from python_producer.reference.tfjson import excerpt, format_float, parse_decimal
from python_producer.reference.verify import verify_version
from python_producer.reference.version_writer import VersionWriter

#: What a CSV field is trimmed of (tests/CONTRACT.md, "Data"): ASCII white space only.
ASCII_WHITESPACE = " \t\n\v\f\r"

#: Checkpoints kept in a checkpoint folder (the oldest beyond this are deleted, as
#: ``tf.train.CheckpointManager(max_to_keep=5)`` does).
KEEP_CHECKPOINTS = 5
CHECKPOINT_PREFIX = "ckpt"
LANGUAGE = "python"


@dataclass(frozen=True)
class TrainOptions:
    """The ``train`` command's flags (tests/CONTRACT.md, "Training").

    Attributes:
        steps: training steps to run in this invocation (>= 1).
        batch_size: rows per step (>= 1).
        learning_rate: the ``--learning-rate`` literal as given, a decimal rounded to the
            float32 fed to the learning-rate input (finite, > 0; see :meth:`rate`).
        checkpoint_every: save a checkpoint whenever ``global_step`` is a multiple of this
            (0: only at the end).
        checkpoint_dir: where ``ckpt-<global_step>`` checkpoints and the ``checkpoint`` state
            file go; None means ``<model root>/checkpoints``.
        resume: restore the latest checkpoint of ``checkpoint_dir`` before training.
        log_every: print ``step: S, loss: L`` whenever ``global_step`` is a multiple of this.
        skip_verification: load the source version without checking it against its manifest.
        allow_op: unsafe ops accepted knowingly (tests/CONTRACT.md, "Unsafe ops").
    """

    steps: int
    batch_size: int = 64
    learning_rate: str = "0.1"
    checkpoint_every: int = 0
    checkpoint_dir: str | None = None
    resume: bool = False
    log_every: int = 100
    skip_verification: bool = False
    allow_op: tuple[str, ...] = ()

    def rate(self) -> np.float32:
        """The learning rate as the float32 fed to the model.

        Raises:
            StatusError: the literal is not a decimal (tests/CONTRACT.md, "Decimal numbers in
                text input") or not a finite float32 > 0; the message echoes it as given.
        """
        try:
            rate = parse_decimal(self.learning_rate, np.float32)
        except ValueError:
            rate = np.float32("nan")
        if not (math.isfinite(rate) and rate > 0):
            raise StatusError(
                "--learning-rate must be a finite number > 0 in float32, got "
                + excerpt(self.learning_rate)
            )
        return rate

    def check(self) -> None:
        """Raise :class:`StatusError` naming the first flag out of range."""
        if self.steps < 1:
            raise StatusError(f"--steps must be at least 1, got {self.steps}")
        if self.batch_size < 1:
            raise StatusError(f"--batch-size must be at least 1, got {self.batch_size}")
        self.rate()
        if self.checkpoint_every < 0:
            raise StatusError(f"--checkpoint-every must be 0 or more, got {self.checkpoint_every}")
        if self.log_every < 1:
            raise StatusError(f"--log-every must be at least 1, got {self.log_every}")


def training_section(module, frozen: dict, columns: list[str]) -> dict:
    """Build the manifest's ``training`` section for a model exported with a train signature.

    Args:
        module: the exported ``tf.Module``; its ``get_variables`` outputs are named after its
            variable attributes.
        frozen: signature key -> the concrete function that was frozen for it; each captured
            variable becomes a ``Const`` node named after the function's capture placeholder
            (``convert_variables_to_constants_v2``), recorded here so a training language can
            write new values into the frozen GraphDef.
        columns: the CSV columns, each the name of a float32 ``[-1]`` input of the train signature.
    """
    by_handle = {id(var.handle): name for name, var in _module_variables(module).items()}
    constants = {}
    for key, fn in frozen.items():
        constants[key] = {
            by_handle[id(external)]: internal.op.name
            for external, internal in fn.graph.captures
            if id(external) in by_handle
        }
    return {
        "train_signature": "train_step",
        "variables_signature": "get_variables",
        "learning_rate_input": "learning_rate",
        "loss_output": "loss",
        "step_output": "global_step",
        "columns": columns,
        "frozen_constants": constants,
    }


def _module_variables(module) -> dict:
    return {
        name: value
        for name, value in vars(module).items()
        if hasattr(value, "handle") and hasattr(value, "assign")
    }


def read_data(path: str, columns: list[str]) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Read CSV training shards: a file, or every ``*.csv`` of a folder in byte order of names.

    The rules are tests/CONTRACT.md's ("Data"): lines end at ``\\n`` (a ``\\r`` before it is
    part of the end); fields are split at ``,`` and trimmed of ASCII white space; blank lines
    are skipped; line 1 holds the column names; every other line one decimal literal per column,
    rounded once to float32 (:func:`tfjson.parse_decimal`). Files are named in messages as
    ``path`` was given, joined with their names (:func:`model_dir.join_as_given`).

    Returns:
        (column -> float32 array of shape ``[rows]``, one ``{"file", "sha256", "rows"}`` per file).

    Raises:
        StatusError: a missing path, no shard, a wrong header, a short or long line, a value
            that is not a finite float32, or no data row at all (naming the file and line).
    """
    source = Path(path)
    if source.is_dir():
        names = sorted(
            (p.name for p in source.iterdir() if len(p.name) > 4 and p.name.endswith(".csv")),
            key=lambda n: n.encode("utf-8", "surrogateescape"),
        )
        files = [(source / n, join_as_given(path, n)) for n in names if (source / n).is_file()]
        if not files:
            raise StatusError(f"--data {path}: no .csv shard in this folder")
    elif source.is_file():
        files = [(source, path)]
    else:
        raise StatusError(f"--data {path}: no such file or folder", Code.NOT_FOUND)
    header = ",".join(columns)
    values: dict[str, list[np.float32]] = {c: [] for c in columns}
    described = []
    for file, shown in files:
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StatusError(f"--data {shown}: cannot read it as UTF-8 text: {exc}") from None
        *ended, last = text.split("\n")  # a "\r" belongs to the line end only before "\n"
        lines = [line.removesuffix("\r") for line in ended] + ([last] if last else [])
        if not lines or _fields(lines[0]) != columns:
            raise StatusError(f'--data {shown}: line 1 must be the header "{header}"')
        rows = 0
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip(ASCII_WHITESPACE):
                continue
            fields = _fields(line)
            if len(fields) != len(columns):
                raise StatusError(
                    f"--data {shown}:{number}: {len(fields)} fields, expected {len(columns)} "
                    f"({header})"
                )
            for column, field in zip(columns, fields, strict=True):
                values[column].append(_parse_float32(field, shown, number, column))
            rows += 1
        described.append({"file": file.name, "sha256": sha256_of(file), "rows": rows})
    if not values[columns[0]]:
        raise StatusError(f"--data {path}: no data rows")
    return {c: np.array(v, dtype=np.float32) for c, v in values.items()}, described


def _fields(line: str) -> list[str]:
    return [field.strip(ASCII_WHITESPACE) for field in line.split(",")]


def _parse_float32(field: str, shown: str, line: int, column: str) -> np.float32:
    try:
        value = parse_decimal(field, np.float32)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise StatusError(
            f'--data {shown}:{line}: column {column} is "{excerpt(field)}", expected a finite '
            "float32"
        )
    return value


def batch_indices(global_step: int, batch_size: int, rows: int) -> np.ndarray:
    """Row indices of the batch for ``global_step`` (0-based steps already applied).

    Rows ``(global_step * batch_size + i) mod rows`` for ``i`` in ``[0, batch_size)``: the data
    is read in order, wrapping around, so a resumed run continues exactly where it stopped.
    """
    start = global_step * batch_size
    return (np.arange(start, start + batch_size, dtype=np.int64) % rows).astype(np.int64)


def latest_checkpoint(directory: Path) -> Path | None:
    """Return the prefix named by ``<directory>/checkpoint``, or None without a state file."""
    tf = tf_runtime.tf()
    state = tf.train.get_checkpoint_state(str(directory))
    if state is None or not state.model_checkpoint_path:
        return None
    prefix = Path(state.model_checkpoint_path)
    return prefix if prefix.is_absolute() else directory / prefix


def save_checkpoint(checkpoint, directory: Path, global_step: int) -> Path:
    """Write ``<directory>/ckpt-<global_step>`` and update the ``checkpoint`` state file.

    Keeps the newest :data:`KEEP_CHECKPOINTS` checkpoints and deletes older ones; the state file
    lists paths relative to ``directory``.
    """
    tf = tf_runtime.tf()
    prefix = directory / f"{CHECKPOINT_PREFIX}-{global_step}"
    checkpoint.write(str(prefix))
    state = tf.train.get_checkpoint_state(str(directory))
    earlier = state.all_model_checkpoint_paths if state else []
    kept = [Path(p).name for p in earlier if Path(p).name != prefix.name]
    kept.append(prefix.name)
    for old in kept[:-KEEP_CHECKPOINTS]:
        for file in directory.glob(f"{old}.*"):
            file.unlink()
    kept = kept[-KEEP_CHECKPOINTS:]
    tf.compat.v1.train.update_checkpoint_state(
        str(directory), prefix.name, all_model_checkpoint_paths=kept
    )
    return prefix


def train(model: str, data: str, options: TrainOptions, version: int | None = None, out=None):
    """Run the training loop on a model version and export the result as the next version.

    Prints ``step: S, loss: L`` lines and a ``final:`` line on ``out`` (stdout), the throughput
    and the exported folder on stderr.

    Returns:
        the path of the new version folder.

    Raises:
        StatusError: bad flags, data or checkpoint folder, or a model without a ``training``
            section in its manifest.
            ``INTERNAL`` when the loss stopped being finite (the run diverged).
    """
    out = out or sys.stdout
    options.check()
    tf = tf_runtime.tf()
    shown = resolve_version_dir(model, version)  # as tests/CONTRACT.md, "Paths in messages"
    model_shown = parent_as_given(shown)
    version_dir = Path(shown)
    if not VERSION_NAME.match(version_dir.name):
        raise StatusError(
            f"train publishes the next version beside {shown}, so it needs a version "
            "folder named by its number"
        )
    if not options.skip_verification:
        verify_version(shown)
    manifest = _read_manifest(shown)
    section = manifest.get("training")
    if not isinstance(section, dict):
        raise StatusError(
            f"{shown} has no training section in manifest.json; train needs a model "
            "exported with a train signature (such as affine)",
            Code.FAILED_PRECONDITION,
        )
    columns = section["columns"]
    data_arrays, data_files = read_data(data, columns)
    rows = len(data_arrays[columns[0]])
    checkpoint_shown = options.checkpoint_dir or join_as_given(model_shown, "checkpoints")
    checkpoint_dir = Path(checkpoint_shown).absolute()

    check_saved_model(
        shown,
        [section["train_signature"], section["variables_signature"]],
        frozenset(options.allow_op),
    )
    loaded = tf.saved_model.load(str(version_dir))
    train_fn = loaded.signatures[section["train_signature"]]
    variables_fn = loaded.signatures[section["variables_signature"]]
    checkpoint = tf.train.Checkpoint(loaded)
    resumed_from = None
    if options.resume:
        prefix = latest_checkpoint(checkpoint_dir)
        if prefix is None:
            raise StatusError(
                f"--resume: no checkpoint to resume in {checkpoint_shown}",
                Code.NOT_FOUND,
            )
        checkpoint.read(str(prefix)).expect_partial()
        resumed_from = prefix.name
    elif latest_checkpoint(checkpoint_dir) is not None:
        raise StatusError(
            f"{checkpoint_shown} holds checkpoints of an earlier run; pass --resume to continue it "
            "or --checkpoint-dir for a new run",
            Code.FAILED_PRECONDITION,
        )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)

    step_name, loss_name = section["step_output"], section["loss_output"]
    global_step = int(variables_fn()[step_name].numpy())
    rate = tf.constant(options.rate())
    loss = np.float32("nan")
    saved_at = None
    started = time.perf_counter()
    for _ in range(options.steps):
        rows_now = batch_indices(global_step, options.batch_size, rows)
        feeds = {c: tf.constant(data_arrays[c][rows_now]) for c in columns}
        feeds[section["learning_rate_input"]] = rate
        result = train_fn(**feeds)
        loss = result[loss_name].numpy()
        global_step = int(result[step_name].numpy())
        if not math.isfinite(loss):
            raise StatusError(
                f"training diverged at step {global_step}: the loss is {format_float(loss)}; "
                "lower --learning-rate",
                Code.INTERNAL,
            )
        if global_step % options.log_every == 0:
            print(f"step: {global_step}, loss: {format_float(loss)}", file=out)
        if options.checkpoint_every and global_step % options.checkpoint_every == 0:
            save_checkpoint(checkpoint, checkpoint_dir, global_step)
            saved_at = global_step
    elapsed = time.perf_counter() - started
    if saved_at != global_step:
        save_checkpoint(checkpoint, checkpoint_dir, global_step)
    final = {k: v.numpy() for k, v in variables_fn().items()}
    print("final: " + ", ".join(f"{k}: {_format_value(final[k])}" for k in sorted(final)), file=out)
    print(
        f"trained {options.steps} steps in {elapsed:.3f} s ({options.steps / elapsed:.1f} steps/s)",
        file=sys.stderr,
    )
    run = {
        "language": LANGUAGE,
        "tensorflow_version": tf_runtime.tf_version(),
        "source_version": int(version_dir.name),
        "steps": options.steps,
        "global_step": global_step,
        "batch_size": options.batch_size,
        "learning_rate": format_float(options.rate()),
        "resumed_from": resumed_from,
        "final_loss": format_float(loss),
        "data": data_files,
    }
    path = export_trained_version(version_dir, manifest, checkpoint, final, checkpoint_dir, run)
    print(f"exported {join_as_given(model_shown, path.name)}", file=sys.stderr)
    return path


def _format_value(value) -> str:
    """Format a variable's value as the contract's JSON numbers do (flat list if not scalar)."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        items = [format_float(v) for v in array.reshape(-1)]
    elif array.dtype.kind == "b":
        items = ["true" if v else "false" for v in array.reshape(-1)]
    else:
        items = [str(v) for v in array.reshape(-1).tolist()]
    return items[0] if array.ndim == 0 else "[" + ", ".join(items) + "]"


def _read_manifest(shown: str) -> dict:
    try:
        return json.loads((Path(shown) / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatusError(
            f"{shown} has no manifest.json; train needs the manifest's training section",
            Code.FAILED_PRECONDITION,
        ) from None
    except (OSError, ValueError) as exc:
        shown_manifest = join_as_given(shown, "manifest.json")
        raise StatusError(
            f"cannot read {shown_manifest}: {exc}",
            Code.FAILED_PRECONDITION,
        ) from None


def frozen_with_values(graph_def_bytes: bytes, constants: dict, values: dict) -> bytes:
    """Return a frozen GraphDef whose variable ``Const`` nodes hold ``values``.

    Args:
        graph_def_bytes: the serialized source GraphDef.
        constants: variable name -> ``Const`` node name (the manifest's ``frozen_constants``).
        values: variable name -> numpy value (dtype and shape as the variable).

    Each named node's ``value`` becomes a TensorProto with the node's dtype, the value's shape
    and the value's little-endian bytes in ``tensor_content``; the result is serialized
    deterministically (map entries sorted by key), as the Go and Java consumers do.

    Raises:
        StatusError: a named node is missing or is not a ``Const`` of the value's dtype.
    """
    tf = tf_runtime.tf()
    from tensorflow.core.framework import graph_pb2, tensor_pb2, tensor_shape_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(graph_def_bytes)
    nodes = {node.name: node for node in graph_def.node}
    for variable, node_name in sorted(constants.items()):
        node = nodes.get(node_name)
        value = np.asarray(values[variable])
        dtype = tf.as_dtype(value.dtype).as_datatype_enum
        if node is None or node.op != "Const" or node.attr["dtype"].type != dtype:
            raise StatusError(
                f"frozen graph has no Const node {node_name} for variable {variable}",
                Code.FAILED_PRECONDITION,
            )
        shape = tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in value.shape]
        )
        node.attr["value"].tensor.CopyFrom(
            tensor_pb2.TensorProto(
                dtype=dtype,
                tensor_shape=shape,
                tensor_content=value.astype(value.dtype.newbyteorder("<")).tobytes(),
            )
        )
    return graph_def.SerializeToString(deterministic=True)


def export_trained_version(
    source_dir: Path, manifest: dict, checkpoint, values: dict, checkpoint_dir: Path, run: dict
) -> Path:
    """Publish ``<model root>/<next version>/`` from the trained variables (tests/CONTRACT.md).

    The new version holds the source's ``saved_model.pb`` and ``assets/`` unchanged, the
    variables in ``variables/``, each frozen GraphDef with the new values in its variable
    constants (``.pb`` and ``.pbtxt``), the final checkpoint under ``checkpoint/``, the source's
    golden requests with responses computed on the new version, and a manifest whose ``files``
    hashes every file and whose ``training.run`` describes the run.
    """
    from google.protobuf import text_format
    from tensorflow.core.framework import graph_pb2

    model_root = source_dir.parent
    with VersionWriter(model_root.parent, model_root.name) as writer:
        staging = writer.path
        shutil.copy2(source_dir / "saved_model.pb", staging / "saved_model.pb")
        if (source_dir / "assets").is_dir():
            shutil.copytree(source_dir / "assets", staging / "assets")
        (staging / "variables").mkdir()
        checkpoint.write(str(staging / "variables" / "variables"))
        constants = manifest["training"].get("frozen_constants", {})
        for key, entry in manifest.get("signatures", {}).items():
            frozen = entry.get("frozen")
            if not frozen:
                continue
            graph = frozen_with_values(
                (source_dir / frozen["graph"]).read_bytes(), constants.get(key, {}), values
            )
            target = staging / frozen["graph"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(graph)
            parsed = graph_pb2.GraphDef()
            parsed.ParseFromString(graph)
            (staging / frozen["graph_text"]).write_text(
                text_format.MessageToString(parsed), encoding="utf-8"
            )
        (staging / "checkpoint").mkdir()
        save_checkpoint(checkpoint, staging / "checkpoint", run["global_step"])
        golden = source_dir / "golden"
        if golden.is_dir():
            requests = {
                p.name.removesuffix(".request.json"): p.read_text(encoding="utf-8").rstrip("\n")
                for p in golden.glob("*.request.json")
            }
            writer.write_golden(requests)
        new_manifest = dict(manifest)
        new_manifest["training"] = dict(manifest["training"], run=run)
        return writer.publish_manifest(new_manifest)
