"""Refusing unsafe ops before a session exists (tests/CONTRACT.md, "Unsafe ops").

``saved_model_cli scan`` only reports three ops and changes nothing; the consumers walk
everything TensorFlow will run — the signatures, and what the C++ loader runs on
``TF_LoadSessionFromSavedModel`` (``tensorflow/cc/saved_model/loader.cc``: the restore op,
then the init op, fed the checkpoint prefix and the asset paths) — following node inputs,
control inputs and every function a node refers to (its op, or ``func``/``list(func)`` attrs
such as ``StatefulPartitionedCall.f`` or ``While.body``), and refuse the ops of
``tests/cases/unsafe_ops.json`` unless allowed. The file-reading ops the loader itself needs
(``RestoreV2`` on the checkpoint, a table initialiser on an asset) are exempt when their file
name is, by dataflow, exactly a tensor the loader feeds with a path inside the version folder.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from python_producer.reference.model_dir import read_saved_model, serve_meta_graph
from python_producer.reference.status import StatusError, error

#: The unsafe-op lists every language reads (tests/CONTRACT.md, "Unsafe ops"): Python reads
#: the data file itself, Go generates it into its binary, Java packs it as a resource.
UNSAFE_OPS_FILE = Path(__file__).resolve().parents[2] / "tests" / "cases" / "unsafe_ops.json"
_LISTS = json.loads(UNSAFE_OPS_FILE.read_text(encoding="utf-8"))
#: ``ops``: refused by default when reachable from what a command runs.
UNSAFE_OPS = frozenset(_LISTS["ops"])
#: ``file_inputs``: op → data-input indices that name a file.
FILE_INPUTS: dict[str, tuple[int, ...]] = {
    op: tuple(indices) for op, indices in _LISTS["file_inputs"].items()
}
#: ``pure_ops``: ops a file name may flow through (see :meth:`_Dataflow.traces` for each
#: one's condition).
PURE_OPS = frozenset(_LISTS["pure_ops"])
INIT_OP_SIGNATURE = "__saved_model_init_op"
#: The collections TensorFlow's loader runs as the init op when there is no init-op signature
#: (``loader_util.cc`` ``GetInitOp``: ``kSavedModelMainOpKey``, ``kSavedModelLegacyInitOpKey``).
INIT_OP_COLLECTIONS = ("saved_model_main_op", "legacy_init_op")
#: The legacy collection of ``AssetFileDef``s (``kSavedModelAssetsKey``), read when the
#: MetaGraphDef has no ``asset_file_def``.
ASSETS_COLLECTION = "saved_model_assets"
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})


@dataclass(frozen=True, order=True)
class Found:
    """One reached node: sorted by (op, function, node); the graph's function is ``""``."""

    op: str
    function: str
    node: str


def _node_name(tensor_or_input: str) -> str:
    """The node a graph tensor (``name:N``), a control input (``^name``) or a function's node
    input (``name:output:N``) names."""
    return tensor_or_input.lstrip("^").split(":")[0]


def _data_inputs(node) -> list[str]:
    """A node's data inputs, control inputs (``^name``) left out."""
    return [i for i in node.input if not i.startswith("^")]


def _attr_functions(value, names: list[str]) -> None:
    """Append the functions an ``AttrValue`` names, and those nested in their own attrs."""
    funcs = [value.func] if value.HasField("func") else []
    if value.HasField("list"):
        funcs.extend(value.list.func)
    for func in funcs:
        names.append(func.name)
        for nested in func.attr.values():
            _attr_functions(nested, names)


def _functions_of(node, library_names: set[str]) -> list[str]:
    names = [node.op] if node.op in library_names else []
    for value in node.attr.values():
        _attr_functions(value, names)
    return names


def reachable(graph_def, roots: list[str]) -> list[Found]:
    """Every node reachable from the ``roots`` tensor names, functions followed.

    Args:
        graph_def: a ``GraphDef`` (its ``library`` holds the functions).
        roots: tensor or node names in the graph (``name``, ``name:N``); a root naming no node
            is skipped (running it fails in TensorFlow, which reports it), as are functions the
            library does not define.
    """
    nodes = {n.name: n for n in graph_def.node}
    library = {f.signature.name: f for f in graph_def.library.function}
    library_names = set(library)
    found: list[Found] = []
    seen_nodes: set[str] = set()
    pending_functions: list[str] = []
    stack = [_node_name(root) for root in roots]
    while stack:
        name = stack.pop()
        if name in seen_nodes or name not in nodes:
            continue
        seen_nodes.add(name)
        node = nodes[name]
        found.append(Found(node.op, "", node.name))
        stack.extend(_node_name(i) for i in node.input)
        pending_functions.extend(_functions_of(node, library_names))
    seen_functions: set[str] = set()
    while pending_functions:
        fname = pending_functions.pop()
        if fname in seen_functions or fname not in library:
            continue
        seen_functions.add(fname)
        for node in library[fname].node_def:
            found.append(Found(node.op, fname, node.name))
            pending_functions.extend(_functions_of(node, library_names))
    return found


@dataclass(frozen=True)
class RootGroup:
    """One run TensorFlow makes: the tensors or nodes it fetches, and the tensors it feeds.

    Attributes:
        name: ``signature``, ``init`` or ``restore`` (tests/CONTRACT.md, "Roots: what runs").
        roots: tensor or node names (``name``, ``name:N``).
        fed: tensor names (``name:N``) the loader feeds with a path inside the version folder.
    """

    name: str
    roots: tuple[str, ...]
    fed: frozenset[str] = frozenset()


def _shared_name(var_handle) -> bytes:
    """The resource a ``VarHandleOp`` names: its ``shared_name``, else its node name."""
    return var_handle.attr["shared_name"].s or var_handle.name.encode()


def _tensor(name: str) -> str:
    return name if ":" in name else f"{name}:0"


class _Dataflow:
    """Where a file op's file name comes from, for the contract's dataflow rule."""

    def __init__(self, graph_def, reached: set[Found]):
        self.nodes: dict[str, object] = {}
        for node in graph_def.node:
            self.nodes.setdefault(node.name, node)
        self.library = {f.signature.name: f for f in graph_def.library.function}
        self.function_nodes = {
            name: {n.name: n for n in f.node_def} for name, f in self.library.items()
        }
        self.graph_def = graph_def
        # How many VarHandleOps of the graph and its functions share each shared_name.
        self.shared_names = Counter(
            _shared_name(n)
            for n in [*graph_def.node, *(n for f in self.library.values() for n in f.node_def)]
            if n.op == "VarHandleOp"
        )
        # Function name -> [(caller context, caller node, is a call)] over the reached nodes.
        self.referrers: dict[str, list[tuple[str, object, bool]]] = {}
        for found in reached:
            node = self.node(found.function, found.node)
            if node is not None:
                for name, is_call in self._references(node):
                    self.referrers.setdefault(name, []).append((found.function, node, is_call))

    def node(self, context: str, name: str):
        """The node ``name`` of the graph (``context`` ``""``) or of function ``context``."""
        if context == "":
            return self.nodes.get(name)
        return self.function_nodes.get(context, {}).get(name)

    def _references(self, node):
        """``(function, is a call)`` for every library function ``node`` refers to."""
        if node.op in self.library:
            yield node.op, True
        for key, value in node.attr.items():
            names: list[str] = []
            _attr_functions(value, names)
            for i, name in enumerate(names):
                # Only the top-level ``f`` of a call maps the call's inputs to the arguments.
                yield name, node.op in CALL_OPS and key == "f" and i == 0

    def traces(self, context: str, value: str, fed: frozenset[str], following=frozenset()) -> bool:
        """Whether data input ``value`` (of a node in ``context``) is exactly a tensor of
        ``fed``, through the pure ops and function arguments only."""
        key = (context, value)
        if key in following or not fed:
            return False
        following = following | {key}
        if context == "":
            if _tensor(value) in fed:
                return True
        else:
            args = [a.name for a in self.library[context].signature.input_arg]
            if ":" not in value and value in args:
                return self._argument_traces(context, args.index(value), fed, following)
        node = self.node(context, _node_name(value))
        if node is None or node.op not in PURE_OPS:
            return False
        inputs = _data_inputs(node)
        if not inputs:
            return False
        if node.op == "StringJoin" and not self._constant_parts(context, node, inputs[1:]):
            return False
        if node.op == "ReadVariableOp":
            return context == "" and self._variable_traces(inputs[0], fed, following)
        return self.traces(context, inputs[0], fed, following)

    def _argument_traces(self, function: str, index: int, fed, following) -> bool:
        callers = self.referrers.get(function, [])
        if not callers:
            return False
        for context, node, is_call in callers:
            inputs = _data_inputs(node)
            if not is_call or index >= len(inputs):
                return False
            if not self.traces(context, inputs[index], fed, following):
                return False
        return True

    def _constant_parts(self, context: str, join, parts: list[str]) -> bool:
        """StringJoin's other inputs are one-string ``Const``s and it joins with a separator,
        none of them holding ``/`` or ``\\``."""
        if any(c in join.attr["separator"].s for c in (b"/", b"\\")):
            return False
        for part in parts:
            const = self.node(context, _node_name(part))
            if const is None or const.op != "Const":
                return False
            tensor = const.attr["value"].tensor
            elements = 1
            for dim in tensor.tensor_shape.dim:
                elements *= dim.size
            if tensor.dtype != 7 or elements != 1 or len(tensor.string_val) != 1:  # DT_STRING
                return False
            if any(c in tensor.string_val[0] for c in (b"/", b"\\")):
                return False
        return True

    def _variable_traces(self, handle: str, fed, following) -> bool:
        """A ``ReadVariableOp`` of graph variable ``handle`` traces when the variable is only
        read, checked or assigned a value that traces, and assigned at least once."""
        var = self.nodes.get(_node_name(handle))
        if var is None or var.op != "VarHandleOp":
            return False
        if self.shared_names[_shared_name(var)] != 1:
            return False
        assigned = False
        for node in self.graph_def.node:
            inputs = _data_inputs(node)
            for index, value in enumerate(inputs):
                if _node_name(value) != var.name:
                    continue
                if index == 0 and node.op in ("ReadVariableOp", "VarIsInitializedOp"):
                    continue
                if (
                    index == 0
                    and node.op == "AssignVariableOp"
                    and len(inputs) > 1
                    and self.traces("", inputs[1], fed, following)
                ):
                    assigned = True
                    continue
                return False
        return assigned


def _refusal(found: Found, message_id: str, **values: object) -> StatusError:
    where = f'function "{found.function}"' if found.function else "the graph"
    return error(message_id, op=found.op, node=found.node, where=where, **values)


def refuse_unsafe(graphs, allowed: frozenset[str] = frozenset()) -> None:
    """Raise :class:`StatusError` for the first unsafe op that is neither allowed nor exempt.

    Args:
        graphs: ``(graph_def, groups)`` pairs, checked together (the op named is the first in
            (op, function, node) order over all of them); ``groups`` are the
            :class:`RootGroup`s of what runs in that graph.
        allowed: ops accepted by ``--allow-op``.

    A reached node of :data:`FILE_INPUTS` is exempt when each of its file-name inputs traces
    to a tensor fed by every group that reaches it (tests/CONTRACT.md, "The dataflow rule for
    file names").
    """
    refusals = []
    for graph_def, groups in graphs:
        fed_by: dict[Found, frozenset[str] | None] = {}
        for group in groups:
            for found in reachable(graph_def, list(group.roots)):
                before = fed_by.get(found)
                fed_by[found] = group.fed if before is None else before & group.fed
        unsafe = sorted(f for f in fed_by if f.op in UNSAFE_OPS - allowed)
        if not unsafe:
            continue
        dataflow = _Dataflow(graph_def, set(fed_by))
        for found in unsafe:
            error = _file_refusal(dataflow, found, fed_by[found])
            if error is not None:
                refusals.append((found, error))
                break
    if refusals:
        raise min(refusals, key=lambda r: r[0])[1]


def _file_refusal(dataflow: _Dataflow, found: Found, fed: frozenset[str]) -> StatusError | None:
    """The refusal of reached unsafe node ``found``, or ``None`` when it is exempt."""
    if found.op not in FILE_INPUTS:
        return _refusal(found, "op_not_allowed")
    inputs = _data_inputs(dataflow.node(found.function, found.node))
    for index in FILE_INPUTS[found.op]:
        if index >= len(inputs) or not dataflow.traces(found.function, inputs[index], fed):
            return _refusal(found, "op_file_name_not_fed", input=index)
    return None


def _clean_asset_name(filename: str) -> bool:
    parts = filename.split("/")
    return bool(filename) and "\\" not in filename and all(p not in ("", ".", "..") for p in parts)


def asset_tensors(meta_graph) -> frozenset[str]:
    """The tensors the loader feeds with ``<version>/assets/<filename>``: the
    ``asset_file_def`` entries, or when there are none the ``AssetFileDef``s of the
    ``saved_model_assets`` collection (``loader_util.cc`` ``GetAssetFileDefs``); only those
    whose ``filename`` is a clean relative path."""
    from tensorflow.core.protobuf import meta_graph_pb2

    assets = list(meta_graph.asset_file_def)
    if not assets and ASSETS_COLLECTION in meta_graph.collection_def:
        for packed in meta_graph.collection_def[ASSETS_COLLECTION].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            if packed.Unpack(asset):
                assets.append(asset)
    return frozenset(_tensor(a.tensor_info.name) for a in assets if _clean_asset_name(a.filename))


def saved_model_groups(meta_graph, keys: list[str]) -> list[RootGroup]:
    """What runs when signatures ``keys`` of a SavedModel are served: the signatures, and the
    loader's init and restore runs with the tensors it feeds (tests/CONTRACT.md, "Roots: what
    runs")."""

    def outputs(key: str) -> list[str]:
        if key not in meta_graph.signature_def:
            return []
        return [t.name for t in meta_graph.signature_def[key].outputs.values()]

    signature = [name for key in keys for name in outputs(key)]
    init = outputs(INIT_OP_SIGNATURE)
    for key in INIT_OP_COLLECTIONS:
        if key in meta_graph.collection_def:
            init.extend(meta_graph.collection_def[key].node_list.value)
    assets = asset_tensors(meta_graph)
    saver = meta_graph.saver_def
    restore = [saver.restore_op_name] if saver.restore_op_name else []
    fed_at_restore = (
        assets | {_tensor(saver.filename_tensor_name)} if saver.filename_tensor_name else assets
    )
    return [
        RootGroup("signature", tuple(signature)),
        RootGroup("init", tuple(init), assets),
        RootGroup("restore", tuple(restore), fed_at_restore),
    ]


def check_saved_model(version_dir, keys: list[str] | None, allowed=frozenset()) -> None:
    """Refuse unsafe ops that serving signatures ``keys`` (None: every servable signature) of
    a SavedModel, or loading it, would run."""
    meta_graph = serve_meta_graph(read_saved_model(version_dir))
    if keys is None:
        keys = sorted(k for k in meta_graph.signature_def if not k.startswith("__"))
    refuse_unsafe(
        [(meta_graph.graph_def, saved_model_groups(meta_graph, keys))], frozenset(allowed)
    )


def check_frozen(graphs, allowed=frozenset()) -> None:
    """Refuse unsafe ops reachable from frozen graphs' output tensors.

    Args:
        graphs: ``(graph_def, output tensor names)`` for every signature to be run; all are
            checked together before any session exists. Nothing is fed: no op is exempt.
    """
    refuse_unsafe(
        [(g, [RootGroup("signature", tuple(names))]) for g, names in graphs], frozenset(allowed)
    )
