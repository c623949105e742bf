package org.polyglot.tf.internal;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.tensorflow.proto.AssetFileDef;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Refuses unsafe ops before a session exists (tests/CONTRACT.md, "Unsafe ops").
 *
 * <p>What runs is given as {@linkplain RootGroup groups of roots}, each with the tensors the loader
 * feeds while it runs them: for a SavedModel the signatures to be run (fed nothing), the loader's
 * init op and its restore op ({@link #savedModelGroups(MetaGraphDef, Collection)}); for a frozen
 * graph its output tensors. The walk ({@link #reachable(GraphDef, Collection)}) starts at root
 * tensors and follows node inputs ({@code name}, {@code name:N}) and control inputs
 * ({@code ^name}) transitively; for every reached node, every function it refers to — its op when
 * that names a function of the graph's {@code library}, and every attr value of type {@code func}
 * or {@code list(func)} (the {@code f} of {@code StatefulPartitionedCall}, {@code then_branch},
 * {@code body}, ..., and func values in the attrs of such a value) — contributes all of its
 * {@code node_def}s, and their functions in turn (each function once, so cycles end).
 *
 * <p>A reached op of {@link #UNSAFE_OPS} is refused unless {@code --allow-op} accepts it or it is
 * an op of {@link #FILE_INPUTS} each of whose file-name inputs traces, through the pure ops
 * ({@link #PURE_OPS}), to a tensor fed by every group that reaches it (the dataflow rule). The
 * first refused node in the order (op, function, node) with the graph as function {@code ""} is
 * reported ({@link Refused#message()}).
 *
 * <p>The scan is pure: it reads protos only, so it runs without the native library.
 */
public final class OpScanner {

    /** The repeatable command-line flag that accepts one op knowingly. */
    public static final String ALLOW_FLAG = "--allow-op";

    /**
     * The ops refused by default: {@code tests/cases/unsafe_ops.json}'s {@code ops}, in that
     * file's order, read from the jar's resource ({@link SharedData#UNSAFE_OPS}).
     */
    public static final List<String> UNSAFE_OPS;

    /**
     * The file ops the loader itself needs, each with the indices of its data inputs (control
     * inputs not counted) that name a file: {@code tests/cases/unsafe_ops.json}'s
     * {@code file_inputs}, read from the jar's resource.
     */
    public static final Map<String, List<Integer>> FILE_INPUTS;

    /**
     * The ops a file name may be traced through: {@code tests/cases/unsafe_ops.json}'s
     * {@code pure_ops}, in that file's order, read from the jar's resource; each one's condition
     * (tests/CONTRACT.md, "The dataflow rule for file names") is in {@code Program#throughPure},
     * which traces through no other op.
     */
    public static final List<String> PURE_OPS;

    static {
        String where = SharedData.UNSAFE_OPS;
        Json.Obj lists = SharedData.read(SharedData.UNSAFE_OPS);
        UNSAFE_OPS = SharedData.strings(lists, "ops", where);
        Map<String, List<Integer>> fileInputs = new LinkedHashMap<>();
        for (Map.Entry<String, Json.Value> e : SharedData.object(lists, "file_inputs", where).members().entrySet()) {
            String at = where + " file_inputs." + e.getKey();
            if (!(e.getValue() instanceof Json.Arr indices)) {
                throw new IllegalStateException(at + " is not a list");
            }
            List<Integer> is = new ArrayList<>();
            for (Json.Value v : indices.items()) {
                is.add(SharedData.integer(v, at));
            }
            fileInputs.put(e.getKey(), List.copyOf(is));
        }
        FILE_INPUTS = java.util.Collections.unmodifiableMap(fileInputs);
        PURE_OPS = SharedData.strings(lists, "pure_ops", where);
    }

    private static final Set<String> UNSAFE = Set.copyOf(UNSAFE_OPS);

    private static final Set<String> PURE = Set.copyOf(PURE_OPS);

    /**
     * The SignatureDef key of a SavedModel's initialisation op, whose outputs are roots of the
     * {@value #INIT_GROUP} group (TensorFlow runs it when loading).
     */
    public static final String INIT_OP_SIGNATURE = Model.INIT_OP_SIGNATURE;

    /** The collection of a TF1 SavedModel's main op (a root of the {@value #INIT_GROUP} group). */
    public static final String MAIN_OP_COLLECTION = "saved_model_main_op";

    /** The collection of a TF1 SavedModel's legacy init op (a root of the {@value #INIT_GROUP} group). */
    public static final String LEGACY_INIT_OP_COLLECTION = "legacy_init_op";

    /** The collection of {@code AssetFileDef}s (packed as {@code Any}) when the MetaGraphDef lists none. */
    public static final String ASSETS_COLLECTION = "saved_model_assets";

    /** The group of the signatures to be run (the loader feeds nothing). */
    public static final String SIGNATURE_GROUP = "signature";

    /** The group of the loader's init op (it feeds the asset tensors). */
    public static final String INIT_GROUP = "init";

    /** The group of the saver's restore op (the loader feeds the checkpoint prefix and the assets). */
    public static final String RESTORE_GROUP = "restore";

    private static final Set<String> CALL_OPS = Set.of("PartitionedCall", "StatefulPartitionedCall");

    /**
     * One group of roots: what one step of loading or serving runs.
     *
     * @param name {@value #SIGNATURE_GROUP}, {@value #INIT_GROUP} or {@value #RESTORE_GROUP}
     * @param roots tensor or node names of the graph ({@code name}, {@code name:N}, {@code ^name})
     * @param fed the tensors the loader feeds with a path inside the version folder while it runs
     *     the roots, as {@code name:N} ({@code name} is stored as {@code name:0})
     */
    public record RootGroup(String name, List<String> roots, Set<String> fed) {
        /**
         * Copies the lists and writes every fed tensor as {@code name:N}.
         *
         * @param name the group's name
         * @param roots the roots
         * @param fed the fed tensors
         */
        public RootGroup {
            roots = List.copyOf(roots);
            Set<String> canonical = new LinkedHashSet<>();
            fed.forEach(t -> canonical.add(tensorName(t)));
            fed = java.util.Collections.unmodifiableSet(canonical);
        }

        /**
         * Returns a {@value #SIGNATURE_GROUP} group (nothing fed).
         *
         * @param roots the roots
         * @return the group
         */
        public static RootGroup signature(Collection<String> roots) {
            return new RootGroup(SIGNATURE_GROUP, List.copyOf(roots), Set.of());
        }
    }

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
     * A refused node.
     *
     * @param node the node
     * @param fileInput for an op of {@link #FILE_INPUTS}, the first of its file-name inputs that
     *     does not trace to a fed tensor; {@code -1} for every other op
     */
    public record Refused(Found node, int fileInput) {
        /**
         * Returns the refusal (tests/CONTRACT.md, "Unsafe ops", "Refusals"): the catalog's
         * {@code op_not_allowed}, or {@code op_file_name_not_fed} for an op of
         * {@link #FILE_INPUTS} (both {@link Code#FAILED_PRECONDITION}).
         *
         * @return the error
         */
        public StatusException error() {
            Map<String, String> values = new HashMap<>();
            values.put("op", node.op());
            values.put("node", node.node());
            values.put("where", where(node.function()));
            if (fileInput < 0) {
                return Messages.error("op_not_allowed", values);
            }
            values.put("input", Integer.toString(fileInput));
            return Messages.error("op_file_name_not_fed", values);
        }

        /**
         * Returns the refusal message.
         *
         * @return {@code op <Op> (node "<node>" in function "<fn>"|the graph) is not allowed: ...}
         */
        public String message() {
            return error().getMessage();
        }
    }

    /**
     * The refusal order: by op, then function (the graph's {@code ""} first), then node, each by
     * Unicode code point (as Python and Go compare strings).
     */
    public static final Comparator<Found> ORDER = Comparator
            .comparing(Found::op, SignatureSpec.CODE_POINT_ORDER)
            .thenComparing(Found::function, SignatureSpec.CODE_POINT_ORDER)
            .thenComparing(Found::node, SignatureSpec.CODE_POINT_ORDER);

    private static final Comparator<Refused> REFUSED_ORDER = Comparator.comparing(Refused::node, ORDER);

    private OpScanner() {
    }

    private static String where(String function) {
        return function.isEmpty() ? "the graph" : "function \"" + function + "\"";
    }

    /**
     * Returns the node name a tensor name or node input refers to: {@code name}, {@code name:N}
     * and {@code ^name} all name the node {@code name} (inside a function, {@code node:output:N}
     * names the node {@code node}).
     *
     * @param tensorOrInput a tensor name or a NodeDef input
     * @return the node name
     */
    public static String nodeName(String tensorOrInput) {
        String s = tensorOrInput.startsWith("^") ? tensorOrInput.substring(1) : tensorOrInput;
        int colon = s.indexOf(':');
        return colon < 0 ? s : s.substring(0, colon);
    }

    /**
     * Returns a graph tensor name in the form {@code name:N}.
     *
     * @param tensor {@code name} (output 0) or {@code name:N}
     * @return {@code name:N}
     */
    static String tensorName(String tensor) {
        return tensor.indexOf(':') < 0 ? tensor + ":0" : tensor;
    }

    /**
     * Returns a node's data inputs (control inputs {@code ^name} left out), in order.
     *
     * @param node the node
     * @return its data inputs
     */
    static List<String> dataInputs(NodeDef node) {
        List<String> in = new ArrayList<>();
        for (String s : node.getInputList()) {
            if (!s.startsWith("^")) {
                in.add(s);
            }
        }
        return in;
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
        return new ArrayList<>(new Program(graph).walk(roots).keySet());
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
     * Returns the first reached op that is unsafe, not allowed and not exempt by the dataflow rule.
     *
     * @param graph the GraphDef
     * @param groups what runs, with what the loader feeds
     * @param allowed ops accepted by {@code --allow-op}
     * @return the first such node in {@link #ORDER}, or empty when there is none
     */
    public static Optional<Refused> firstUnsafe(GraphDef graph, List<RootGroup> groups, Set<String> allowed) {
        return new Program(graph).firstRefused(groups, allowed);
    }

    /**
     * Returns the first unsafe op reachable from root tensors that nothing feeds (one
     * {@value #SIGNATURE_GROUP} group) and that is not allowed.
     *
     * @param graph the GraphDef
     * @param roots tensor names of the graph
     * @param allowed ops accepted by {@code --allow-op}
     * @return the first such node in {@link #ORDER}, or empty when there is none
     */
    public static Optional<Refused> firstUnsafe(GraphDef graph, Collection<String> roots, Set<String> allowed) {
        return firstUnsafe(graph, List.of(RootGroup.signature(roots)), allowed);
    }

    /**
     * Refuses the first refused node among several graphs' (all graphs together, one order).
     *
     * @param firsts each graph's first refused node (empty ones ignored)
     * @throws StatusException for the first of them in {@link #ORDER}
     */
    private static void refuseFirst(Collection<Optional<Refused>> firsts) {
        Optional<Refused> first = firsts.stream().flatMap(Optional::stream).min(REFUSED_ORDER);
        if (first.isPresent()) {
            throw first.get().error();
        }
    }

    /**
     * Refuses the first unsafe op that running groups of roots can reach, that is not allowed and
     * not exempt.
     *
     * @param graph the GraphDef
     * @param groups what runs, with what the loader feeds
     * @param allowed ops accepted by {@code --allow-op}
     * @throws StatusException naming that op
     */
    public static void refuse(GraphDef graph, List<RootGroup> groups, Set<String> allowed) {
        refuseFirst(List.of(firstUnsafe(graph, groups, allowed)));
    }

    /**
     * Refuses the first unsafe op reachable from root tensors that nothing feeds and that is not
     * allowed.
     *
     * @param graph the GraphDef
     * @param roots tensor names of the graph
     * @param allowed ops accepted by {@code --allow-op}
     * @throws StatusException naming that op
     */
    public static void refuse(GraphDef graph, Collection<String> roots, Set<String> allowed) {
        refuse(graph, List.of(RootGroup.signature(roots)), allowed);
    }

    /**
     * Returns the three groups of roots of a SavedModel (tests/CONTRACT.md, "Roots: what runs"):
     * {@value #SIGNATURE_GROUP}, the output tensors of the signatures {@code keys} (keys the
     * MetaGraphDef does not have are skipped: running them is refused elsewhere), fed nothing;
     * {@value #INIT_GROUP}, the outputs of {@value Model#INIT_OP_SIGNATURE} and every node of the
     * {@value #MAIN_OP_COLLECTION} and {@value #LEGACY_INIT_OP_COLLECTION} collections, fed the
     * asset tensors; {@value #RESTORE_GROUP}, the saver's restore op, fed its filename tensor and
     * the asset tensors.
     *
     * @param metaGraph the MetaGraphDef
     * @param keys the signatures to be run
     * @return the groups in that order, each root once, signatures in key then output-alias order
     */
    public static List<RootGroup> savedModelGroups(MetaGraphDef metaGraph, Collection<String> keys) {
        List<String> assets = assetTensors(metaGraph);
        List<String> init = new ArrayList<>(signatureOutputs(metaGraph, List.of(INIT_OP_SIGNATURE)));
        for (String collection : List.of(MAIN_OP_COLLECTION, LEGACY_INIT_OP_COLLECTION)) {
            CollectionDef c = metaGraph.getCollectionDefMap().get(collection);
            if (c != null && c.hasNodeList()) {
                init.addAll(c.getNodeList().getValueList());
            }
        }
        SaverDef saver = metaGraph.getSaverDef();
        List<String> restore = saver.getRestoreOpName().isEmpty() ? List.of() : List.of(saver.getRestoreOpName());
        Set<String> restoreFed = new LinkedHashSet<>(assets);
        if (!saver.getFilenameTensorName().isEmpty()) {
            restoreFed.add(saver.getFilenameTensorName());
        }
        return List.of(
                RootGroup.signature(signatureOutputs(metaGraph, keys)),
                new RootGroup(INIT_GROUP, new ArrayList<>(new LinkedHashSet<>(init)), new LinkedHashSet<>(assets)),
                new RootGroup(RESTORE_GROUP, restore, restoreFed));
    }

    private static List<String> signatureOutputs(MetaGraphDef metaGraph, Collection<String> keys) {
        Set<String> roots = new LinkedHashSet<>();
        for (String key : keys) {
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
     * Returns the asset tensors the loader feeds with a path inside the version folder: the
     * {@code tensor_info.name}s of the MetaGraphDef's {@code asset_file_def}s or, when it has none,
     * of the {@code AssetFileDef}s packed in the {@value #ASSETS_COLLECTION} collection, for the
     * entries whose file name is a {@linkplain #isCleanRelativePath(String) clean relative path}.
     *
     * @param metaGraph the MetaGraphDef
     * @return the tensor names, in file order
     */
    static List<String> assetTensors(MetaGraphDef metaGraph) {
        List<AssetFileDef> defs = new ArrayList<>(metaGraph.getAssetFileDefList());
        CollectionDef packed = metaGraph.getCollectionDefMap().get(ASSETS_COLLECTION);
        if (defs.isEmpty() && packed != null && packed.hasAnyList()) {
            for (Any any : packed.getAnyList().getValueList()) {
                if (any.is(AssetFileDef.class)) {
                    try {
                        defs.add(any.unpack(AssetFileDef.class));
                    } catch (InvalidProtocolBufferException e) {
                        // not an AssetFileDef the loader could read either
                    }
                }
            }
        }
        List<String> tensors = new ArrayList<>();
        for (AssetFileDef d : defs) {
            if (isCleanRelativePath(d.getFilename())) {
                tensors.add(d.getTensorInfo().getName());
            }
        }
        return tensors;
    }

    /**
     * Tells whether an asset file name stays inside {@code assets/}: not empty, no leading
     * {@code /}, no {@code \}, and no empty, {@code .} or {@code ..} segment.
     *
     * @param name the {@code AssetFileDef.filename}
     * @return true when it is a clean relative path
     */
    public static boolean isCleanRelativePath(String name) {
        if (name.isEmpty() || name.indexOf('\\') >= 0) {
            return false;
        }
        for (String segment : name.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
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
    public static List<String> runKeys(Collection<String> keys, boolean everyServable, Collection<String> available) {
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
     * Refuses the first unsafe op that loading a SavedModel's MetaGraphDef and running signatures
     * of it can reach ({@link #savedModelGroups(MetaGraphDef, Collection)}), not allowed and not
     * exempt.
     *
     * @param metaGraph the MetaGraphDef that will be loaded
     * @param keys the signatures to be run
     * @param allowed ops accepted by {@code --allow-op}
     * @throws StatusException naming the op
     */
    public static void checkSavedModel(MetaGraphDef metaGraph, Collection<String> keys, Set<String> allowed) {
        refuse(metaGraph.getGraphDef(), savedModelGroups(metaGraph, keys), allowed);
    }

    /**
     * Reads a version folder's {@code saved_model.pb} and refuses the first unsafe op that loading
     * its {@code serve} MetaGraphDef and running signatures of it can reach.
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()}), which
     *     messages name (tests/CONTRACT.md, "Paths in messages")
     * @param keys the signatures to be run
     * @param everyServable whether every signature a predict request may name (the keys not
     *     starting with {@code __}) is run too
     * @param allowed ops accepted by {@code --allow-op}
     * @throws StatusException naming the op, or when the SavedModel cannot be read or
     *     has no {@code serve} MetaGraphDef
     */
    public static void checkSavedModel(Path versionDir, String shown, Collection<String> keys,
            boolean everyServable, Set<String> allowed) {
        MetaGraphDef mg = SavedModelInfo.servingMetaGraph(SavedModelInfo.parseSavedModel(versionDir, shown));
        checkSavedModel(mg, runKeys(keys, everyServable, mg.getSignatureDefMap().keySet()), allowed);
    }

    /**
     * Refuses the first unsafe op reachable from the manifest's output tensors in the frozen
     * GraphDefs of signatures (all graphs together, one order; nothing is fed).
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given, which messages name
     * @param manifest the version's manifest, or {@code null} (then nothing is checked: a frozen
     *     run without a manifest is refused elsewhere)
     * @param keys the signatures to be run; keys without a frozen graph are skipped (running them
     *     is refused elsewhere)
     * @param everyServable whether every signature a predict request may name (the manifest's keys
     *     not starting with {@code __}) is run too
     * @param allowed ops accepted by {@code --allow-op}
     * @throws StatusException naming the op, or when a frozen graph cannot be read or
     *     parsed
     */
    public static void checkFrozen(Path versionDir, String shown, Manifest manifest, Collection<String> keys,
            boolean everyServable, Set<String> allowed) {
        if (manifest == null) {
            return;
        }
        List<Optional<Refused>> firsts = new ArrayList<>();
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
            firsts.add(firstUnsafe(readGraph(versionDir.resolve(rel), ModelLocation.join(shown, rel)), roots, allowed));
        }
        refuseFirst(firsts);
    }

    /**
     * Reads a binary GraphDef.
     *
     * @param file the {@code .pb} file
     * @param shown the file's text in messages (the version folder as given, joined with the
     *     manifest's path)
     * @return the graph
     * @throws StatusException when it cannot be read or parsed
     */
    static GraphDef readGraph(Path file, String shown) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read frozen graph " + Echo.quotedSingle(shown) + ": "
                    + e.getMessage());
        }
        try {
            return GraphDef.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw StatusException.failedPrecondition(Echo.quotedSingle(shown) + " is not a valid GraphDef: "
                    + e.getMessage());
        }
    }

    /**
     * One graph with its library, indexed for the walk and the dataflow rule; the results of a
     * walk ({@link #firstRefused(List, Set)}) are kept for the traces that follow it.
     */
    private static final class Program {
        private final GraphDef graph;
        private final Map<String, NodeDef> nodes = new HashMap<>();
        private final Map<String, FunctionDef> library = new HashMap<>();
        private final Map<String, Map<String, NodeDef>> functionNodes = new HashMap<>();
        /** Every reached node referring to a function, by function name. */
        private final Map<String, List<Reference>> referrers = new HashMap<>();
        private Map<String, Integer> sharedNames;
        private Map<String, List<Use>> uses;

        /** A reached node that refers to a function, and whether it calls it. */
        private record Reference(Found at, NodeDef node, boolean call) {
        }

        /** A graph node's data input {@code index} naming a node. */
        private record Use(NodeDef node, int index) {
        }

        Program(GraphDef graph) {
            this.graph = graph;
            for (NodeDef n : graph.getNodeList()) {
                nodes.putIfAbsent(n.getName(), n);
            }
            for (FunctionDef f : graph.getLibrary().getFunctionList()) {
                library.putIfAbsent(f.getSignature().getName(), f);
            }
        }

        /** The reached nodes from roots, each with its NodeDef: graph nodes first, then function nodes. */
        Map<Found, NodeDef> walk(Collection<String> roots) {
            Deque<String> stack = new ArrayDeque<>();
            for (String root : roots) {
                stack.push(nodeName(root));
            }
            Map<Found, NodeDef> found = new LinkedHashMap<>();
            Set<String> seenNodes = new HashSet<>();
            Deque<String> pendingFunctions = new ArrayDeque<>();
            while (!stack.isEmpty()) {
                String name = stack.pop();
                NodeDef node = nodes.get(name);
                if (node == null || !seenNodes.add(name)) {
                    continue;
                }
                found.put(new Found(node.getOp(), "", node.getName()), node);
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
                    found.putIfAbsent(new Found(node.getOp(), name, node.getName()), node);
                    pendingFunctions.addAll(functionsOf(node, library));
                }
            }
            return found;
        }

        Optional<Refused> firstRefused(List<RootGroup> groups, Set<String> allowed) {
            Map<Found, NodeDef> reached = new LinkedHashMap<>();
            Map<Found, List<RootGroup>> reachedBy = new HashMap<>();
            for (RootGroup g : groups) {
                for (Map.Entry<Found, NodeDef> e : walk(g.roots()).entrySet()) {
                    reached.putIfAbsent(e.getKey(), e.getValue());
                    reachedBy.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(g);
                }
            }
            for (Map.Entry<Found, NodeDef> e : reached.entrySet()) {
                for (String f : new LinkedHashSet<>(functionsOf(e.getValue(), library))) {
                    referrers.computeIfAbsent(f, k -> new ArrayList<>())
                            .add(new Reference(e.getKey(), e.getValue(), isCall(e.getValue(), f)));
                }
            }
            List<Found> candidates = new ArrayList<>();
            for (Found f : reached.keySet()) {
                if (UNSAFE.contains(f.op()) && !allowed.contains(f.op())) {
                    candidates.add(f);
                }
            }
            candidates.sort(ORDER);
            for (Found f : candidates) {
                int input = untracedFileInput(f, reached.get(f), reachedBy.get(f));
                if (input != EXEMPT) {
                    return Optional.of(new Refused(f, input));
                }
            }
            return Optional.empty();
        }

        private static final int EXEMPT = -2;

        /**
         * Applies the dataflow rule to a reached unsafe node.
         *
         * @return {@link #EXEMPT}; the first file-name input that does not trace to a tensor fed by
         *     every group reaching the node; or -1 for an op without file inputs
         */
        private int untracedFileInput(Found f, NodeDef node, List<RootGroup> by) {
            List<Integer> fileInputs = FILE_INPUTS.get(f.op());
            if (fileInputs == null) {
                return -1;
            }
            Set<String> fed = new HashSet<>(by.get(0).fed());
            by.forEach(g -> fed.retainAll(g.fed()));
            for (int i : fileInputs) {
                Set<String> traced = fed.isEmpty() ? Set.of() : traceInput(node, i, f.function(), new HashSet<>());
                if (java.util.Collections.disjoint(traced, fed)) {
                    return i;
                }
            }
            return EXEMPT;
        }

        private static boolean isCall(NodeDef node, String function) {
            if (node.getOp().equals(function)) {
                return true;
            }
            AttrValue f = node.getAttrMap().get("f");
            return CALL_OPS.contains(node.getOp()) && f != null && f.hasFunc() && f.getFunc().getName().equals(function);
        }

        private Map<String, NodeDef> functionNodes(String function) {
            return functionNodes.computeIfAbsent(function, name -> {
                Map<String, NodeDef> m = new HashMap<>();
                FunctionDef f = library.get(name);
                if (f != null) {
                    f.getNodeDefList().forEach(n -> m.putIfAbsent(n.getName(), n));
                }
                return m;
            });
        }

        /** The graph tensors (as {@code name:N}) a node's data input {@code index} traces to. */
        private Set<String> traceInput(NodeDef node, int index, String function, Set<String> following) {
            List<String> in = dataInputs(node);
            return index < in.size() ? trace(function, in.get(index), following) : Set.of();
        }

        /**
         * The graph tensors (as {@code name:N}) a data input traces to (tests/CONTRACT.md, "The
         * dataflow rule for file names").
         *
         * @param function the function holding the input, {@code ""} for the graph
         * @param input the data input
         * @param following the nodes and arguments being followed ({@code function \0 node} and
         *     {@code function \1 argument}); coming back to one traces to nothing
         */
        private Set<String> trace(String function, String input, Set<String> following) {
            if (function.isEmpty()) {
                String name = nodeName(input);
                String key = "\0" + name;
                if (!following.add(key)) {
                    return Set.of();
                }
                Set<String> out = new HashSet<>();
                out.add(tensorName(input));
                NodeDef n = nodes.get(name);
                if (n != null) {
                    out.addAll(throughPure(n, "", following));
                }
                following.remove(key);
                return out;
            }
            FunctionDef f = library.get(function);
            int arg = -1;
            List<OpDef.ArgDef> args = f == null ? List.of() : f.getSignature().getInputArgList();
            for (int i = 0; i < args.size() && arg < 0; i++) {
                if (args.get(i).getName().equals(input)) {
                    arg = i;
                }
            }
            String key = arg >= 0 ? function + "\1" + input : function + "\0" + nodeName(input);
            NodeDef n = arg >= 0 ? null : functionNodes(function).get(nodeName(input));
            if ((arg < 0 && n == null) || !following.add(key)) {
                return Set.of();
            }
            Set<String> out = arg >= 0 ? traceArgument(function, arg, following) : throughPure(n, function, following);
            following.remove(key);
            return out;
        }

        /**
         * What a function's argument traces to: what the data input at its index traces to in every
         * reached caller, when every reached node referring to the function calls it.
         */
        private Set<String> traceArgument(String function, int arg, Set<String> following) {
            Set<String> out = null;
            for (Reference r : referrers.getOrDefault(function, List.of())) {
                if (!r.call()) {
                    return Set.of();
                }
                out = intersect(out, traceInput(r.node(), arg, r.at().function(), following));
                if (out.isEmpty()) {
                    return out;
                }
            }
            return out == null ? Set.of() : out;
        }

        private static Set<String> intersect(Set<String> acc, Set<String> next) {
            if (acc == null) {
                return new HashSet<>(next);
            }
            acc.retainAll(next);
            return acc;
        }

        /** What an output of a pure op traces to through its traced input, under the op's condition. */
        private Set<String> throughPure(NodeDef n, String function, Set<String> following) {
            if (!PURE.contains(n.getOp())) {
                return Set.of();
            }
            return switch (n.getOp()) {
                case "Identity", "ShardedFilename" -> traceInput(n, 0, function, following);
                case "StringJoin" -> joinsPlainNames(n, function) ? traceInput(n, 0, function, following) : Set.of();
                case "ReadVariableOp" -> function.isEmpty() ? traceVariable(n, following) : Set.of();
                default -> Set.of();
            };
        }

        /**
         * Whether a {@code StringJoin} keeps its input 0 in the same folder: every other data input
         * is a {@code Const} (in the same graph or function) holding one {@code DT_STRING} value
         * without {@code /} or {@code \}, and the separator has neither.
         */
        private boolean joinsPlainNames(NodeDef join, String function) {
            AttrValue separator = join.getAttrMap().get("separator");
            if (separator != null && !plainName(separator.getS().toByteArray())) {
                return false;
            }
            Map<String, NodeDef> scope = function.isEmpty() ? nodes : functionNodes(function);
            List<String> in = dataInputs(join);
            for (int i = 1; i < in.size(); i++) {
                NodeDef c = scope.get(nodeName(in.get(i)));
                AttrValue value = c == null || !c.getOp().equals("Const") ? null : c.getAttrMap().get("value");
                if (value == null || !value.hasTensor() || !oneString(value.getTensor())) {
                    return false;
                }
            }
            return true;
        }

        private static boolean oneString(TensorProto t) {
            if (t.getDtype() != DataType.DT_STRING || t.getStringValCount() != 1) {
                return false;
            }
            TensorShapeProto shape = t.getTensorShape();
            if (shape.getUnknownRank()) {
                return false;
            }
            for (TensorShapeProto.Dim d : shape.getDimList()) {
                if (d.getSize() != 1) {
                    return false;
                }
            }
            return plainName(t.getStringVal(0).toByteArray());
        }

        private static boolean plainName(byte[] bytes) {
            for (byte b : bytes) {
                if (b == '/' || b == '\\') {
                    return false;
                }
            }
            return true;
        }

        /**
         * What a graph {@code ReadVariableOp} traces to: its input 0 is a {@code VarHandleOp} with a
         * unique shared name whose every data use among the graph's nodes is input 0 of a
         * {@code ReadVariableOp}, a {@code VarIsInitializedOp} or an {@code AssignVariableOp}, with
         * at least one assignment; it traces to what every assignment's input 1 traces to.
         */
        private Set<String> traceVariable(NodeDef read, Set<String> following) {
            List<String> in = dataInputs(read);
            NodeDef handle = in.isEmpty() ? null : nodes.get(nodeName(in.get(0)));
            if (handle == null || !handle.getOp().equals("VarHandleOp")
                    || sharedNames().getOrDefault(sharedName(handle), 0) != 1) {
                return Set.of();
            }
            Set<String> out = null;
            for (Use u : uses().getOrDefault(handle.getName(), List.of())) {
                String op = u.node().getOp();
                if (u.index() == 0 && (op.equals("ReadVariableOp") || op.equals("VarIsInitializedOp"))) {
                    continue;
                }
                if (u.index() != 0 || !op.equals("AssignVariableOp")) {
                    return Set.of();
                }
                out = intersect(out, traceInput(u.node(), 1, "", following));
                if (out.isEmpty()) {
                    return out;
                }
            }
            return out == null ? Set.of() : out;
        }

        private static String sharedName(NodeDef handle) {
            AttrValue v = handle.getAttrMap().get("shared_name");
            String s = v == null ? "" : v.getS().toString(StandardCharsets.UTF_8);
            return s.isEmpty() ? handle.getName() : s;
        }

        /** How many {@code VarHandleOp}s of the graph and of every library function have each shared name. */
        private Map<String, Integer> sharedNames() {
            if (sharedNames == null) {
                sharedNames = new HashMap<>();
                List<NodeDef> all = new ArrayList<>(graph.getNodeList());
                graph.getLibrary().getFunctionList().forEach(f -> all.addAll(f.getNodeDefList()));
                for (NodeDef n : all) {
                    if (n.getOp().equals("VarHandleOp")) {
                        sharedNames.merge(sharedName(n), 1, Integer::sum);
                    }
                }
            }
            return sharedNames;
        }

        /** Every data use of each graph node among the graph's nodes. */
        private Map<String, List<Use>> uses() {
            if (uses == null) {
                uses = new HashMap<>();
                for (NodeDef n : graph.getNodeList()) {
                    List<String> in = dataInputs(n);
                    for (int i = 0; i < in.size(); i++) {
                        uses.computeIfAbsent(nodeName(in.get(i)), k -> new ArrayList<>()).add(new Use(n, i));
                    }
                }
            }
            return uses;
        }
    }
}
