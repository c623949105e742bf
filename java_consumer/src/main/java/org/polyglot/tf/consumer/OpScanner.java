package org.polyglot.tf.consumer;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/**
 * Refuses unsafe ops before a session exists (tests/CONTRACT.md, "Unsafe ops").
 *
 * <p>The walk ({@link #reachable(GraphDef, Collection)}) starts at root tensors and follows node
 * inputs ({@code name}, {@code name:N}) and control inputs ({@code ^name}) transitively; for every
 * reached node, every function it refers to — its op when that names a function of the graph's
 * {@code library}, and every attr value of type {@code func} or {@code list(func)} (the {@code f}
 * of {@code StatefulPartitionedCall}, {@code then_branch}, {@code body}, ..., and func values in
 * the attrs of such a value) — contributes all of
 * its {@code node_def}s, and their functions in turn (each function once, so cycles end). The first
 * reached op of {@link #UNSAFE_OPS} that is not allowed, in the order (op, function, node) with the
 * graph as function {@code ""}, is refused with {@link #message(Found)}.
 *
 * <p>The walk is pure: it reads protos only, so it runs without the native library.
 */
public final class OpScanner {

    /** The repeatable command-line flag that accepts one op knowingly. */
    public static final String ALLOW_FLAG = "--allow-op";

    /**
     * The ops refused by default: {@code tests/cases/unsafe_ops.json}'s {@code ops}, in that
     * file's order (a unit test checks they are equal).
     */
    public static final List<String> UNSAFE_OPS = List.of(
            "CacheDataset", "CacheDatasetV2", "CloseSummaryWriter", "CreateSummaryDbWriter",
            "CreateSummaryFileWriter", "CSVDataset", "CSVDatasetV2", "DatasetToTFRecord",
            "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "EagerPyFunc",
            "ExperimentalCSVDataset", "ExperimentalDatasetToTFRecord", "ExperimentalLMDBDataset",
            "ExperimentalSqlDataset", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2",
            "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "FlushSummaryWriter",
            "ImmutableConst", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
            "LMDBDataset", "LMDBReader", "LoadAndRemapMatrix", "LoadDataset", "MatchingFiles",
            "MatchingFilesDataset", "MergeV2Checkpoints", "Print", "PrintV2", "PyFunc",
            "PyFuncStateless", "ReadFile", "Restore", "RestoreSlice", "RestoreV2", "Save",
            "SaveDataset", "SaveDatasetV2", "SaveSlices", "SaveV2", "SnapshotDataset",
            "SnapshotDatasetV2", "SqlDataset", "TextLineDataset", "TextLineReader", "TextLineReaderV2",
            "TFRecordDataset", "TFRecordDatasetV2", "TFRecordReader", "TFRecordReaderV2",
            "WholeFileReader", "WholeFileReaderV2", "WriteAudioSummary", "WriteFile",
            "WriteGraphSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteRawProtoSummary",
            "WriteScalarSummary", "WriteSummary");

    private static final Set<String> UNSAFE = Set.copyOf(UNSAFE_OPS);

    /**
     * The SignatureDef key of a SavedModel's initialisation op, whose outputs are always roots
     * (TensorFlow runs it when loading).
     */
    public static final String INIT_OP_SIGNATURE = Model.INIT_OP_SIGNATURE;

    /**
     * One reached node.
     *
     * @param op the node's op
     * @param function the name of the library function holding the node, {@code ""} for the graph
     * @param node the node's name
     */
    public record Found(String op, String function, String node) {
    }

    /**
     * The refusal order: by op, then function (the graph's {@code ""} first), then node, each by
     * Unicode code point (as Python and Go compare strings).
     */
    public static final Comparator<Found> ORDER = Comparator
            .comparing(Found::op, SignatureSpec.CODE_POINT_ORDER)
            .thenComparing(Found::function, SignatureSpec.CODE_POINT_ORDER)
            .thenComparing(Found::node, SignatureSpec.CODE_POINT_ORDER);

    private OpScanner() {
    }

    /**
     * Returns the node name a tensor name or node input refers to: {@code name}, {@code name:N}
     * and {@code ^name} all name the node {@code name}.
     *
     * @param tensorOrInput a tensor name or a NodeDef input
     * @return the node name
     */
    static String nodeName(String tensorOrInput) {
        String s = tensorOrInput.startsWith("^") ? tensorOrInput.substring(1) : tensorOrInput;
        int colon = s.indexOf(':');
        return colon < 0 ? s : s.substring(0, colon);
    }

    /**
     * Lists every node reachable from root tensors, library functions followed. Roots and inputs
     * naming no node of the graph, and functions the library does not define, are skipped: nothing
     * can run through them (running such a signature or graph is refused or fails elsewhere, with
     * a message about the signature).
     *
     * @param graph the GraphDef (its {@code library} holds the functions)
     * @param roots tensor or node names of the graph ({@code name}, {@code name:N}, {@code ^name})
     * @return the reached nodes: graph nodes first, then function nodes, each once
     */
    public static List<Found> reachable(GraphDef graph, Collection<String> roots) {
        Map<String, NodeDef> nodes = new HashMap<>();
        for (NodeDef n : graph.getNodeList()) {
            nodes.putIfAbsent(n.getName(), n);
        }
        Map<String, FunctionDef> library = new HashMap<>();
        for (FunctionDef f : graph.getLibrary().getFunctionList()) {
            library.putIfAbsent(f.getSignature().getName(), f);
        }
        Deque<String> stack = new ArrayDeque<>();
        for (String root : roots) {
            stack.push(nodeName(root));
        }
        List<Found> found = new ArrayList<>();
        Set<String> seenNodes = new HashSet<>();
        Deque<String> pendingFunctions = new ArrayDeque<>();
        while (!stack.isEmpty()) {
            String name = stack.pop();
            NodeDef node = nodes.get(name);
            if (node == null || !seenNodes.add(name)) {
                continue;
            }
            found.add(new Found(node.getOp(), "", node.getName()));
            for (String input : node.getInputList()) {
                stack.push(nodeName(input));
            }
            pendingFunctions.addAll(functionsOf(node, library));
        }
        Set<String> seenFunctions = new HashSet<>();
        while (!pendingFunctions.isEmpty()) {
            String name = pendingFunctions.pop();
            FunctionDef f = library.get(name);
            if (f == null || !seenFunctions.add(name)) {
                continue;
            }
            for (NodeDef node : f.getNodeDefList()) {
                found.add(new Found(node.getOp(), name, node.getName()));
                pendingFunctions.addAll(functionsOf(node, library));
            }
        }
        return found;
    }

    /**
     * Returns the functions a node refers to: its op when the library defines a function of that
     * name, and the name of every attr value of type {@code func} or {@code list(func)} (with the
     * func values in the attrs of those values in turn).
     *
     * @param node the node
     * @param library the graph's functions by name
     * @return the function names, in attr order (duplicates possible)
     */
    static List<String> functionsOf(NodeDef node, Map<String, FunctionDef> library) {
        List<String> names = new ArrayList<>();
        if (library.containsKey(node.getOp())) {
            names.add(node.getOp());
        }
        for (AttrValue value : node.getAttrMap().values()) {
            attrFunctions(value, names);
        }
        return names;
    }

    private static void attrFunctions(AttrValue value, List<String> names) {
        if (value.hasFunc()) {
            nameAttrList(value.getFunc(), names);
        }
        if (value.hasList()) {
            for (NameAttrList f : value.getList().getFuncList()) {
                nameAttrList(f, names);
            }
        }
    }

    private static void nameAttrList(NameAttrList f, List<String> names) {
        names.add(f.getName());
        for (AttrValue v : f.getAttrMap().values()) {
            attrFunctions(v, names);
        }
    }

    /**
     * Returns the first reachable op that is unsafe and not allowed.
     *
     * @param graph the GraphDef
     * @param roots tensor names of the graph
     * @param allowed ops accepted by {@code --allow-op}
     * @return the first such node in {@link #ORDER}, or empty when there is none
     */
    public static Optional<Found> firstUnsafe(GraphDef graph, Collection<String> roots, Set<String> allowed) {
        return reachable(graph, roots).stream()
                .filter(f -> UNSAFE.contains(f.op()) && !allowed.contains(f.op()))
                .min(ORDER);
    }

    /**
     * Returns the refusal message for an unsafe node.
     *
     * @param f the node
     * @return {@code op <Op> (node "<node>" in function "<fn>"|the graph) is not allowed: ...}
     */
    public static String message(Found f) {
        String where = f.function().isEmpty() ? "the graph" : "function \"" + f.function() + "\"";
        return "op " + f.op() + " (node \"" + f.node() + "\" in " + where + ") is not allowed: it can read or write "
                + "files or reach outside the process; pass " + ALLOW_FLAG + " " + f.op() + " to accept it";
    }

    /**
     * Refuses the first unsafe op that is not allowed among several graphs' reachable nodes.
     *
     * @param firsts each graph's first unsafe node (empty ones ignored)
     * @throws ConsumerException (refusal) for the first of them in {@link #ORDER}
     */
    private static void refuseFirst(Collection<Optional<Found>> firsts) {
        Optional<Found> first = firsts.stream().flatMap(Optional::stream).min(ORDER);
        if (first.isPresent()) {
            throw ConsumerException.refusal(message(first.get()));
        }
    }

    /**
     * Refuses the first unsafe op reachable from root tensors that is not allowed.
     *
     * @param graph the GraphDef
     * @param roots tensor names of the graph
     * @param allowed ops accepted by {@code --allow-op}
     * @throws ConsumerException (refusal) naming that op
     */
    public static void refuse(GraphDef graph, Collection<String> roots, Set<String> allowed) {
        refuseFirst(List.of(firstUnsafe(graph, roots, allowed)));
    }

    /**
     * Returns the roots of a SavedModel run: the output tensor names of the signatures
     * {@code keys} (keys the MetaGraphDef does not have are skipped: running them is refused
     * elsewhere) and of {@value Model#INIT_OP_SIGNATURE} when present.
     *
     * @param metaGraph the MetaGraphDef
     * @param keys the signatures to be run
     * @return the tensor names, each once, in signature then output-alias order
     */
    public static List<String> savedModelRoots(MetaGraphDef metaGraph, Collection<String> keys) {
        Set<String> roots = new LinkedHashSet<>();
        List<String> all = new ArrayList<>(keys);
        all.add(INIT_OP_SIGNATURE);
        for (String key : all) {
            SignatureDef sig = metaGraph.getSignatureDefMap().get(key);
            if (sig == null) {
                continue;
            }
            List<String> aliases = new ArrayList<>(sig.getOutputsMap().keySet());
            aliases.sort(SignatureSpec.CODE_POINT_ORDER);
            for (String alias : aliases) {
                TensorInfo t = sig.getOutputsMap().get(alias);
                roots.add(t.getName());
            }
        }
        return new ArrayList<>(roots);
    }

    /**
     * Returns the keys of {@code keys} and, when {@code everyServable}, every key of
     * {@code available} not starting with {@code __} (the signatures a predict request may name).
     *
     * @param keys the signatures to be run
     * @param everyServable whether every servable signature is run too
     * @param available the model's signature keys
     * @return the keys, each once: {@code keys} in order, then the servable ones by code point
     */
    static List<String> runKeys(Collection<String> keys, boolean everyServable, Collection<String> available) {
        Set<String> run = new LinkedHashSet<>(keys);
        if (everyServable) {
            List<String> servable = new ArrayList<>();
            for (String k : available) {
                if (!k.startsWith("__")) {
                    servable.add(k);
                }
            }
            servable.sort(SignatureSpec.CODE_POINT_ORDER);
            run.addAll(servable);
        }
        return new ArrayList<>(run);
    }

    /**
     * Refuses the first unsafe op that running signatures of a SavedModel's MetaGraphDef can reach
     * (their outputs and the {@value Model#INIT_OP_SIGNATURE} outputs as roots).
     *
     * @param metaGraph the MetaGraphDef that will be loaded
     * @param keys the signatures to be run
     * @param allowed ops accepted by {@code --allow-op}
     * @throws ConsumerException (refusal) naming the op
     */
    public static void checkSavedModel(MetaGraphDef metaGraph, Collection<String> keys, Set<String> allowed) {
        refuse(metaGraph.getGraphDef(), savedModelRoots(metaGraph, keys), allowed);
    }

    /**
     * Reads a version folder's {@code saved_model.pb} and refuses the first unsafe op that running
     * signatures of its {@code serve} MetaGraphDef can reach.
     *
     * @param versionDir the version folder
     * @param keys the signatures to be run
     * @param everyServable whether every signature a predict request may name (the keys not
     *     starting with {@code __}) is run too
     * @param allowed ops accepted by {@code --allow-op}
     * @throws ConsumerException (refusal) naming the op, or when the SavedModel cannot be read or
     *     has no {@code serve} MetaGraphDef
     */
    public static void checkSavedModel(Path versionDir, Collection<String> keys, boolean everyServable,
            Set<String> allowed) {
        MetaGraphDef mg = SavedModelInfo.servingMetaGraph(SavedModelInfo.parseSavedModel(versionDir));
        checkSavedModel(mg, runKeys(keys, everyServable, mg.getSignatureDefMap().keySet()), allowed);
    }

    /**
     * Refuses the first unsafe op reachable from the manifest's output tensors in the frozen
     * GraphDefs of signatures (all graphs together, one order).
     *
     * @param versionDir the version folder
     * @param manifest the version's manifest, or {@code null} (then nothing is checked: a frozen
     *     run without a manifest is refused elsewhere)
     * @param keys the signatures to be run; keys without a frozen graph are skipped (running them
     *     is refused elsewhere)
     * @param everyServable whether every signature a predict request may name (the manifest's keys
     *     not starting with {@code __}) is run too
     * @param allowed ops accepted by {@code --allow-op}
     * @throws ConsumerException (refusal) naming the op, or when a frozen graph cannot be read or
     *     parsed
     */
    public static void checkFrozen(Path versionDir, Manifest manifest, Collection<String> keys, boolean everyServable,
            Set<String> allowed) {
        if (manifest == null) {
            return;
        }
        List<Optional<Found>> firsts = new ArrayList<>();
        for (String key : runKeys(keys, everyServable, manifest.signatureKeys())) {
            String rel = manifest.hasSignature(key) ? manifest.frozenGraph(key) : null;
            if (rel == null) {
                continue;
            }
            SignatureSpec sig = manifest.frozenSignature(key);
            List<String> roots = new ArrayList<>();
            for (TensorSpec out : sig.outputs().values()) {
                roots.add(out.tensorName());
            }
            firsts.add(firstUnsafe(readGraph(versionDir.resolve(rel).normalize()), roots, allowed));
        }
        refuseFirst(firsts);
    }

    /**
     * Reads a binary GraphDef.
     *
     * @param file the {@code .pb} file
     * @return the graph
     * @throws ConsumerException (refusal) when it cannot be read or parsed
     */
    static GraphDef readGraph(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw ConsumerException.refusal("cannot read frozen graph '" + file + "': " + e.getMessage());
        }
        try {
            return GraphDef.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw ConsumerException.refusal("'" + file + "' is not a valid GraphDef: " + e.getMessage());
        }
    }
}
