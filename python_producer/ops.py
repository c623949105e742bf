"""Refusing unsafe ops before a session exists (tests/CONTRACT.md, "Unsafe ops").

``saved_model_cli scan`` only reports three ops and changes nothing; the consumers walk
everything a signature can run — node inputs, control inputs and every function a node refers
to (its op, or ``func``/``list(func)`` attrs such as ``StatefulPartitionedCall.f`` or
``While.body``) — and refuse the ops of ``tests/cases/unsafe_ops.json`` unless allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_producer.model_dir import ModelError

#: tests/cases/unsafe_ops.json, embedded (tests/test_unsafe_ops.py checks they are equal).
UNSAFE_OPS = frozenset(
    """
    CacheDataset CacheDatasetV2 CloseSummaryWriter CreateSummaryDbWriter CreateSummaryFileWriter
    CSVDataset CSVDatasetV2 DatasetToTFRecord DebugIdentity DebugIdentityV2 DebugIdentityV3
    EagerPyFunc ExperimentalCSVDataset ExperimentalDatasetToTFRecord ExperimentalLMDBDataset
    ExperimentalSqlDataset FixedLengthRecordDataset FixedLengthRecordDatasetV2
    FixedLengthRecordReader FixedLengthRecordReaderV2 FlushSummaryWriter ImmutableConst
    InitializeTableFromTextFile InitializeTableFromTextFileV2 LMDBDataset LMDBReader
    LoadAndRemapMatrix LoadDataset MatchingFiles MatchingFilesDataset MergeV2Checkpoints Print
    PrintV2 PyFunc PyFuncStateless ReadFile Restore RestoreSlice RestoreV2 Save SaveDataset
    SaveDatasetV2 SaveSlices SaveV2 SnapshotDataset SnapshotDatasetV2 SqlDataset
    TextLineDataset TextLineReader TextLineReaderV2 TFRecordDataset TFRecordDatasetV2
    TFRecordReader TFRecordReaderV2 WholeFileReader WholeFileReaderV2 WriteAudioSummary
    WriteFile WriteGraphSummary WriteHistogramSummary WriteImageSummary WriteRawProtoSummary
    WriteScalarSummary WriteSummary
    """.split()
)
INIT_OP_SIGNATURE = "__saved_model_init_op"


@dataclass(frozen=True, order=True)
class Found:
    """One reached node: sorted by (op, function, node); the graph's function is ``""``."""

    op: str
    function: str
    node: str


def _node_name(tensor_or_input: str) -> str:
    return tensor_or_input.lstrip("^").split(":")[0]


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
        pending_functions.extend(_functions_of(node, set(library)))
    seen_functions: set[str] = set()
    while pending_functions:
        fname = pending_functions.pop()
        if fname in seen_functions or fname not in library:
            continue
        seen_functions.add(fname)
        for node in library[fname].node_def:
            found.append(Found(node.op, fname, node.name))
            pending_functions.extend(_functions_of(node, set(library)))
    return found


def refuse_unsafe(graphs, allowed: frozenset[str] = frozenset()) -> None:
    """Raise :class:`ModelError` for the first unsafe op reachable in any of ``graphs``.

    Args:
        graphs: ``(graph_def, roots)`` pairs, checked together: the op named is the first in
            (op, function, node) order over all of them.
        allowed: ops accepted by ``--allow-op``.
    """
    bad = sorted(
        f
        for graph_def, roots in graphs
        for f in reachable(graph_def, roots)
        if f.op in UNSAFE_OPS - allowed
    )
    if bad:
        first = bad[0]
        where = f'function "{first.function}"' if first.function else "the graph"
        raise ModelError(
            f'op {first.op} (node "{first.node}" in {where}) is not allowed: it can read or '
            f"write files or reach outside the process; pass --allow-op {first.op} to accept it"
        )


def saved_model_roots(meta_graph, keys: list[str]) -> list[str]:
    """Output tensor names of signatures ``keys`` and of the init op signature (if any)."""
    roots = []
    for key in [*keys, INIT_OP_SIGNATURE]:
        if key in meta_graph.signature_def:
            roots.extend(t.name for t in meta_graph.signature_def[key].outputs.values())
    return roots


def check_saved_model(version_dir, keys: list[str] | None, allowed=frozenset()) -> None:
    """Refuse unsafe ops reachable from signatures ``keys`` (None: every servable signature)."""
    from python_producer.reference import read_saved_model, serve_meta_graph

    meta_graph = serve_meta_graph(read_saved_model(version_dir))
    if keys is None:
        keys = sorted(k for k in meta_graph.signature_def if not k.startswith("__"))
    refuse_unsafe([(meta_graph.graph_def, saved_model_roots(meta_graph, keys))], frozenset(allowed))


def check_frozen(graphs, allowed=frozenset()) -> None:
    """Refuse unsafe ops reachable from frozen graphs' output tensors.

    Args:
        graphs: ``(graph_def, output tensor names)`` for every signature to be run; all are
            checked together before any session exists.
    """
    refuse_unsafe(graphs, frozenset(allowed))
