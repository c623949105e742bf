package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.OpScanner;
import org.polyglot.tf.internal.SharedData;
import org.polyglot.tf.internal.StatusException;
import org.tensorflow.proto.AssetFileDef;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.VersionDef;

/** The unsafe-op walk on hand-built graphs, its message, --allow-op, and the embedded list. */
class OpScannerTest {

    private static final String TAIL = " is not allowed: it can read or write files or reach outside the process; "
            + "pass --allow-op ";

    private static final String FILE_TAIL = " is not allowed: its file name (input 0) is not a path the loader feeds "
            + "inside the version folder; pass --allow-op ";

    // ---- building blocks ----

    private static NodeDef node(String name, String op, String... inputs) {
        return NodeDef.newBuilder().setName(name).setOp(op).addAllInput(List.of(inputs)).build();
    }

    private static NodeDef withFunc(NodeDef n, String attr, String function) {
        return n.toBuilder().putAttr(attr, AttrValue.newBuilder()
                .setFunc(NameAttrList.newBuilder().setName(function)).build()).build();
    }

    private static NodeDef withFuncList(NodeDef n, String attr, String... functions) {
        AttrValue.ListValue.Builder l = AttrValue.ListValue.newBuilder();
        for (String f : functions) {
            l.addFunc(NameAttrList.newBuilder().setName(f));
        }
        return n.toBuilder().putAttr(attr, AttrValue.newBuilder().setList(l).build()).build();
    }

    private static FunctionDef function(String name, NodeDef... nodes) {
        return FunctionDef.newBuilder().setSignature(OpDef.newBuilder().setName(name))
                .addAllNodeDef(List.of(nodes)).build();
    }

    private static GraphDef graph(List<NodeDef> nodes, FunctionDef... functions) {
        return GraphDef.newBuilder().addAllNode(nodes)
                .setLibrary(FunctionDefLibrary.newBuilder().addAllFunction(List.of(functions))).build();
    }

    private static Set<String> names(List<OpScanner.Found> found) {
        Set<String> s = new TreeSet<>();
        for (OpScanner.Found f : found) {
            s.add((f.function().isEmpty() ? "" : f.function() + "/") + f.node() + "=" + f.op());
        }
        return s;
    }

    private static String refusal(GraphDef g, List<String> roots, Set<String> allowed) {
        StatusException e = assertThrows(StatusException.class, () -> OpScanner.refuse(g, roots, allowed));
        assertEquals(Code.FAILED_PRECONDITION, e.code(), "an unsafe op makes a model that may not be run as it is");
        return e.getMessage();
    }

    // ---- the lists, from the jar's resource ----

    @Test
    void theListsAreReadFromTheResourceBesideTheClasses() throws IOException {
        java.net.URL url = OpScanner.class.getResource(SharedData.UNSAFE_OPS);
        assertTrue(url != null, "unsafe_ops.json is packed beside the classes");
        Json.Obj root;
        try (java.io.InputStream in = url.openStream()) {
            root = (Json.Obj) Json.parse(in.readAllBytes());
        }
        List<String> ops = new ArrayList<>();
        for (Json.Value v : ((Json.Arr) root.get("ops")).items()) {
            ops.add(((Json.Str) v).value());
        }
        assertEquals(ops, OpScanner.UNSAFE_OPS, "the resource's ops, in its order");
        Map<String, List<Integer>> fileInputs = new HashMap<>();
        for (Map.Entry<String, Json.Value> e : ((Json.Obj) root.get("file_inputs")).members().entrySet()) {
            List<Integer> indices = new ArrayList<>();
            for (Json.Value v : ((Json.Arr) e.getValue()).items()) {
                indices.add(Integer.parseInt(((Json.Num) v).text()));
            }
            fileInputs.put(e.getKey(), indices);
        }
        assertEquals(fileInputs, OpScanner.FILE_INPUTS);
        List<String> pure = new ArrayList<>();
        for (Json.Value v : ((Json.Arr) root.get("pure_ops")).items()) {
            pure.add(((Json.Str) v).value());
        }
        assertEquals(pure, OpScanner.PURE_OPS);
        assertTrue(OpScanner.UNSAFE_OPS.containsAll(List.of("ReadFile", "WriteFile", "PrintV2", "PyFunc")));
        assertTrue(OpScanner.UNSAFE_OPS.containsAll(OpScanner.FILE_INPUTS.keySet()), "file ops are unsafe ops");
        assertThrows(UnsupportedOperationException.class, () -> OpScanner.UNSAFE_OPS.add("X"));
        assertThrows(UnsupportedOperationException.class, () -> OpScanner.FILE_INPUTS.put("X", List.of()));
    }

    // ---- the walk ----

    @Test
    void followsDataAndControlInputsOnly() {
        GraphDef g = graph(List.of(
                node("x", "Placeholder"),
                node("c", "Const"),
                node("side", "NoOp"),
                node("split", "Split", "c", "x"),
                node("y", "AddV2", "split:1", "^side"),
                node("unused", "ReadFile", "x"),
                node("dangling", "Identity", "nowhere:0")));
        assertEquals(Set.of("x=Placeholder", "c=Const", "side=NoOp", "split=Split", "y=AddV2"),
                names(OpScanner.reachable(g, List.of("y:0"))));
        assertEquals(Set.of("dangling=Identity"), names(OpScanner.reachable(g, List.of("dangling"))),
                "an input naming no node is skipped");
        assertTrue(OpScanner.firstUnsafe(g, List.of("y:0"), Set.of()).isEmpty());
        assertEquals("ReadFile", OpScanner.firstUnsafe(g, List.of("y:0", "unused:0"), Set.of()).get().node().op());
    }

    @Test
    void controlInputReachesAnUnsafeOp() {
        GraphDef g = graph(List.of(
                node("x", "Placeholder"),
                node("p", "PrintV2", "x"),
                node("y", "Identity", "x", "^p")));
        assertEquals("op PrintV2 (node \"p\" in the graph)" + TAIL + "PrintV2 to accept it",
                refusal(g, List.of("y:0"), Set.of()));
    }

    @Test
    void nestedFunctionsThroughFuncAttrsAndOps() {
        // StatefulPartitionedCall.f -> outer; outer calls inner by op name; inner has an If whose
        // else_branch holds the unsafe op; the If's then_branch is safe.
        FunctionDef inner = function("inner",
                withFunc(withFunc(node("if", "StatelessIf", "c"), "then_branch", "then_fn"), "else_branch",
                        "else_fn"));
        FunctionDef outer = function("outer", node("call", "inner", "a"), node("mul", "Mul", "a", "b"));
        FunctionDef thenFn = function("then_fn", node("id", "Identity", "x"));
        FunctionDef elseFn = function("else_fn", node("w", "WriteFile", "x", "y"));
        FunctionDef unrelated = function("unrelated", node("r", "ReadFile", "x"));
        GraphDef g = graph(List.of(
                node("x", "Placeholder"),
                withFunc(node("spc", "StatefulPartitionedCall", "x"), "f", "outer"),
                node("out", "Identity", "spc:0")),
                inner, outer, thenFn, elseFn, unrelated);
        Set<String> reached = names(OpScanner.reachable(g, List.of("out:0")));
        assertEquals(Set.of("x=Placeholder", "spc=StatefulPartitionedCall", "out=Identity", "outer/call=inner",
                "outer/mul=Mul", "inner/if=StatelessIf", "then_fn/id=Identity", "else_fn/w=WriteFile"), reached);
        assertEquals("op WriteFile (node \"w\" in function \"else_fn\")" + TAIL + "WriteFile to accept it",
                refusal(g, List.of("out:0"), Set.of()));
        OpScanner.refuse(g, List.of("out:0"), Set.of("WriteFile"));
    }

    @Test
    void whileCondBodyAndListFuncAttrs() {
        FunctionDef cond = function("cond", node("less", "Less", "i", "n"));
        FunctionDef body = function("body", node("tf", "TFRecordDataset", "files"));
        FunctionDef b0 = function("branch0", node("id", "Identity", "x"));
        FunctionDef b1 = function("branch1", node("sv", "SaveV2", "prefix"));
        GraphDef g = graph(List.of(
                node("x", "Placeholder"),
                withFunc(withFunc(node("loop", "While", "x"), "cond", "cond"), "body", "body"),
                withFuncList(node("case", "Case", "x"), "branches", "branch0", "branch1"),
                node("y", "Pack", "loop:0", "case:0")),
                cond, body, b0, b1);
        assertEquals(Set.of("x=Placeholder", "loop=While", "case=Case", "y=Pack", "cond/less=Less",
                "body/tf=TFRecordDataset", "branch0/id=Identity", "branch1/sv=SaveV2"),
                names(OpScanner.reachable(g, List.of("y"))));
        // SaveV2 < TFRecordDataset
        assertEquals("op SaveV2 (node \"sv\" in function \"branch1\")" + TAIL + "SaveV2 to accept it",
                refusal(g, List.of("y"), Set.of()));
        assertEquals("op TFRecordDataset (node \"tf\" in function \"body\")" + FILE_TAIL
                + "TFRecordDataset to accept it", refusal(g, List.of("y"), Set.of("SaveV2")));
        OpScanner.refuse(g, List.of("y"), Set.of("SaveV2", "TFRecordDataset"));
    }

    @Test
    void cyclesEnd() {
        // Graph cycle (as a while loop's NextIteration makes) and mutually recursive functions.
        FunctionDef f1 = function("f1", withFunc(node("call2", "PartitionedCall"), "f", "f2"));
        FunctionDef f2 = function("f2", node("call1", "f1"), node("self", "f2"), node("p", "Print", "x"));
        GraphDef g = graph(List.of(
                node("enter", "Enter", "x"),
                node("merge", "Merge", "enter", "next"),
                node("next", "NextIteration", "merge"),
                node("x", "Placeholder", "^merge"),
                withFunc(node("call", "PartitionedCall", "merge"), "f", "f1")),
                f1, f2);
        List<OpScanner.Found> found = OpScanner.reachable(g, List.of("call:0"));
        assertEquals(Set.of("enter=Enter", "merge=Merge", "next=NextIteration", "x=Placeholder",
                "call=PartitionedCall", "f1/call2=PartitionedCall", "f2/call1=f1", "f2/self=f2", "f2/p=Print"),
                names(found));
        assertEquals(names(found).size(), found.size(), "every node once");
        assertEquals("op Print (node \"p\" in function \"f2\")" + TAIL + "Print to accept it",
                refusal(g, List.of("call:0"), Set.of()));
    }

    @Test
    void funcValuesInTheAttrsOfAFuncValueAreFollowed() {
        FunctionDef outer = function("outer", node("id", "Identity"));
        FunctionDef inner = function("inner", node("p", "PrintV2"));
        NameAttrList f = NameAttrList.newBuilder().setName("outer").putAttr("fn", AttrValue.newBuilder()
                .setFunc(NameAttrList.newBuilder().setName("inner")).build()).build();
        GraphDef g = graph(List.of(node("call", "PartitionedCall").toBuilder()
                .putAttr("f", AttrValue.newBuilder().setFunc(f).build()).build()), outer, inner);
        assertEquals(Set.of("call=PartitionedCall", "outer/id=Identity", "inner/p=PrintV2"),
                names(OpScanner.reachable(g, List.of("call"))));
    }

    @Test
    void unknownFunctionsAreSkipped() {
        GraphDef g = graph(List.of(withFunc(node("call", "PartitionedCall"), "f", "missing")));
        assertEquals(Set.of("call=PartitionedCall"), names(OpScanner.reachable(g, List.of("call"))));
    }

    @Test
    void orderIsOpThenFunctionWithTheGraphFirstThenNode() {
        FunctionDef a = function("a", node("z", "ReadFile"), node("b", "ReadFile"));
        FunctionDef b = function("b", node("a", "ReadFile"), node("m", "MatchingFiles"));
        GraphDef g = graph(List.of(
                withFunc(withFunc(node("root", "PartitionedCall", "r2", "r1"), "f", "b"), "g", "a"),
                node("r2", "ReadFile"),
                node("r1", "ReadFile")),
                a, b);
        assertEquals("op MatchingFiles (node \"m\" in function \"b\")" + TAIL + "MatchingFiles to accept it",
                refusal(g, List.of("root"), Set.of()));
        Set<String> allowMatching = Set.of("MatchingFiles");
        assertEquals("op ReadFile (node \"r1\" in the graph)" + FILE_TAIL + "ReadFile to accept it",
                refusal(g, List.of("root"), allowMatching));
        GraphDef noGraphRead = graph(List.of(
                withFunc(withFunc(node("root", "PartitionedCall"), "f", "b"), "g", "a")), a, b);
        assertEquals("op ReadFile (node \"b\" in function \"a\")" + FILE_TAIL + "ReadFile to accept it",
                refusal(noGraphRead, List.of("root"), allowMatching));
        assertEquals(Optional.empty(), OpScanner.firstUnsafe(g, List.of("root"), Set.of("MatchingFiles", "ReadFile")));
    }

    @Test
    void orderIsByCodePoint() {
        // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 unit.
        GraphDef g = graph(List.of(node("root", "NoOp", "^\uD83D\uDE00", "^\uFF5E"),
                node("\uD83D\uDE00", "Print"), node("\uFF5E", "Print")));
        assertEquals("\uFF5E", OpScanner.firstUnsafe(g, List.of("root"), Set.of()).get().node().node());
    }

    @Test
    void allowOpOnlyAcceptsTheNamedOps() {
        GraphDef g = graph(List.of(node("a", "PrintV2"), node("b", "ReadFile"), node("y", "NoOp", "^a", "^b")));
        assertTrue(refusal(g, List.of("y"), Set.of()).startsWith("op PrintV2 "));
        assertTrue(refusal(g, List.of("y"), Set.of("PrintV2", "Unrelated")).startsWith("op ReadFile "));
        assertTrue(refusal(g, List.of("y"), Set.of("printv2")).startsWith("op PrintV2 "), "names are exact");
        OpScanner.refuse(g, List.of("y"), Set.of("PrintV2", "ReadFile"));
    }

    @Test
    void aRootNotInTheGraphReachesNothing() {
        GraphDef g = graph(List.of(node("x", "Placeholder"), node("r", "ReadFile", "x")));
        assertEquals(Set.of("x=Placeholder"), names(OpScanner.reachable(g, List.of("x:0", "nope:0"))));
    }

    @Test
    void messageText() {
        assertEquals("op ReadFile (node \"map/while/ReadFile\" in function \"map_while_body_28\") is not allowed: "
                + "it can read or write files or reach outside the process; pass --allow-op ReadFile to accept it",
                new OpScanner.Refused(new OpScanner.Found("ReadFile", "map_while_body_28", "map/while/ReadFile"), -1)
                        .message());
        assertEquals("op PrintV2 (node \"p\" in the graph) is not allowed: it can read or write files or reach "
                + "outside the process; pass --allow-op PrintV2 to accept it",
                new OpScanner.Refused(new OpScanner.Found("PrintV2", "", "p"), -1).message());
    }

    @Test
    void nodeNames() {
        assertEquals("a", OpScanner.nodeName("a"));
        assertEquals("a/b", OpScanner.nodeName("a/b:3"));
        assertEquals("c", OpScanner.nodeName("^c"));
    }

    // ---- SavedModel roots ----

    private static TensorInfo info(String name) {
        return TensorInfo.newBuilder().setName(name).setDtype(DataType.DT_FLOAT).build();
    }

    private static SignatureDef sig(String... outputNames) {
        SignatureDef.Builder s = SignatureDef.newBuilder();
        for (int i = 0; i < outputNames.length; i++) {
            s.putOutputs("o" + i, info(outputNames[i]));
        }
        return s.build();
    }

    /** serving_default safe; "read" reaches ReadFile; "__hidden" reaches WriteFile; init optional. */
    private static MetaGraphDef metaGraph(boolean unsafeInit) {
        GraphDef g = graph(List.of(
                node("x", "Placeholder"),
                node("y", "Identity", "x"),
                node("r", "ReadFile", "x"),
                node("w", "WriteFile", "x", "x"),
                node("init_print", "PrintV2", "x"),
                node("NoOp", "NoOp", unsafeInit ? new String[] {"^init_print"} : new String[0]),
                // the saver's ops are no roots
                node("save/RestoreV2", "RestoreV2", "x"),
                node("save/SaveV2", "SaveV2", "x")));
        return MetaGraphDef.newBuilder()
                .setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve"))
                .setGraphDef(g)
                .putSignatureDef("serving_default", sig("y:0"))
                .putSignatureDef("read", sig("r:0"))
                .putSignatureDef("__hidden", sig("w:0"))
                .putSignatureDef(Model.INIT_OP_SIGNATURE, sig("NoOp"))
                .build();
    }

    @Test
    void savedModelGroupsAreTheSignaturesTheInitOpAndTheRestoreOp() {
        MetaGraphDef mg = metaGraph(false);
        List<OpScanner.RootGroup> groups = OpScanner.savedModelGroups(mg, List.of("serving_default", "unknown"));
        assertEquals(List.of("signature", "init", "restore"), groups.stream().map(OpScanner.RootGroup::name).toList());
        assertEquals(List.of("y:0"), groups.get(0).roots());
        assertEquals(List.of("NoOp"), groups.get(1).roots());
        assertEquals(List.of(), groups.get(2).roots(), "no saver_def");
        OpScanner.checkSavedModel(mg, List.of("serving_default"), Set.of());
        assertTrue(assertThrows(StatusException.class,
                () -> OpScanner.checkSavedModel(mg, List.of("serving_default", "read"), Set.of()))
                .getMessage().startsWith("op ReadFile (node \"r\" in the graph)"));
        MetaGraphDef unsafeInit = metaGraph(true);
        assertTrue(assertThrows(StatusException.class,
                () -> OpScanner.checkSavedModel(unsafeInit, List.of("serving_default"), Set.of()))
                .getMessage().startsWith("op PrintV2 (node \"init_print\" in the graph)"));
    }

    @Test
    void everyServableKeyIsEveryKeyNotStartingWithTwoUnderscores() {
        assertEquals(List.of("__hidden", "a", "b"),
                OpScanner.runKeys(List.of("__hidden", "a"), true, List.of("b", "__x", "a", "__hidden")));
        assertEquals(List.of("k"), OpScanner.runKeys(List.of("k"), false, List.of("b", "a")));
    }

    // ---- the loader's roots and the dataflow rule ----

    private static NodeDef constString(String name, String value) {
        return NodeDef.newBuilder().setName(name).setOp("Const")
                .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_STRING).build())
                .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder()
                        .setDtype(DataType.DT_STRING).setTensorShape(TensorShapeProto.newBuilder())
                        .addStringVal(ByteString.copyFromUtf8(value))).build())
                .build();
    }

    private static NodeDef withString(NodeDef n, String attr, String value) {
        return n.toBuilder().putAttr(attr, AttrValue.newBuilder().setS(ByteString.copyFromUtf8(value)).build()).build();
    }

    private static FunctionDef function(String name, List<String> args, NodeDef... nodes) {
        OpDef.Builder sig = OpDef.newBuilder().setName(name);
        args.forEach(a -> sig.addInputArg(OpDef.ArgDef.newBuilder().setName(a)));
        return FunctionDef.newBuilder().setSignature(sig).addAllNodeDef(List.of(nodes)).build();
    }

    private static CollectionDef nodeList(String... names) {
        return CollectionDef.newBuilder().setNodeList(CollectionDef.NodeList.newBuilder().addAllValue(List.of(names)))
                .build();
    }

    private static AssetFileDef asset(String tensor, String filename) {
        return AssetFileDef.newBuilder().setTensorInfo(TensorInfo.newBuilder().setName(tensor))
                .setFilename(filename).build();
    }

    private static MetaGraphDef.Builder loaderGraph(GraphDef g) {
        return MetaGraphDef.newBuilder().setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve"))
                .setGraphDef(g).putSignatureDef("serving_default", sig("y:0"));
    }

    private static String savedModelRefusal(MetaGraphDef mg) {
        return assertThrows(StatusException.class,
                () -> OpScanner.checkSavedModel(mg, List.of("serving_default"), Set.of())).getMessage();
    }

    private static final NodeDef X = node("x", "Placeholder");
    private static final NodeDef Y = node("y", "Identity", "x");

    @Test
    void mainOpCollectionNodesAreRoots() {
        GraphDef g = graph(List.of(X, Y, node("w", "WriteFile", "x", "x"), node("main_op", "NoOp", "^w")));
        MetaGraphDef mg = loaderGraph(g).putCollectionDef(OpScanner.MAIN_OP_COLLECTION, nodeList("main_op:0"))
                .addAssetFileDef(asset("x:0", "vocab.txt")).build();
        assertEquals(List.of("main_op:0"), OpScanner.savedModelGroups(mg, List.of()).get(1).roots());
        assertEquals(Set.of("x:0"), OpScanner.savedModelGroups(mg, List.of()).get(1).fed());
        assertEquals("op WriteFile (node \"w\" in the graph)" + TAIL + "WriteFile to accept it", savedModelRefusal(mg),
                "writing is never exempt, not even to a fed path");
        MetaGraphDef otherKind = loaderGraph(g).putCollectionDef(OpScanner.MAIN_OP_COLLECTION, CollectionDef
                .newBuilder().setBytesList(CollectionDef.BytesList.newBuilder().addValue(ByteString.copyFromUtf8("w")))
                .build()).build();
        OpScanner.checkSavedModel(otherKind, List.of("serving_default"), Set.of());
    }

    @Test
    void legacyInitOpReadingAConstPathIsRefusedAndAnAssetIsNot() {
        GraphDef g = graph(List.of(X, Y,
                constString("path", "/etc/passwd"),
                node("asset", "Placeholder"),
                node("asset_id", "Identity", "asset"),
                node("sharded", "ShardedFilename", "asset_id", "shard", "count"),
                node("read_const", "ReadFile", "path"),
                node("read_asset", "ReadFile", "^x", "sharded"),
                node("legacy", "NoOp", "^read_const", "^read_asset")));
        MetaGraphDef.Builder mg = loaderGraph(g).putCollectionDef(OpScanner.LEGACY_INIT_OP_COLLECTION,
                nodeList("legacy")).addAssetFileDef(asset("asset", "vocab.txt"));
        assertEquals("op ReadFile (node \"read_const\" in the graph)" + FILE_TAIL + "ReadFile to accept it",
                savedModelRefusal(mg.build()));
        GraphDef onlyAsset = g.toBuilder().setNode(g.getNodeCount() - 1, node("legacy", "NoOp", "^read_asset"))
                .build();
        OpScanner.checkSavedModel(mg.setGraphDef(onlyAsset).build(), List.of("serving_default"), Set.of());
        MetaGraphDef unclean = mg.setAssetFileDef(0, asset("asset", "../vocab.txt")).build();
        assertEquals("op ReadFile (node \"read_asset\" in the graph)" + FILE_TAIL + "ReadFile to accept it",
                savedModelRefusal(unclean), "an asset outside assets/ is fed no path inside the folder");
    }

    @Test
    void cleanRelativePaths() {
        for (String ok : List.of("vocab.txt", "a/b.txt", "..a", "a..")) {
            assertTrue(OpScanner.isCleanRelativePath(ok), ok);
        }
        for (String bad : List.of("", "/etc/passwd", "a\\b", "a//b", "a/", "./a", "a/../b", "..", ".")) {
            assertFalse(OpScanner.isCleanRelativePath(bad), bad);
        }
    }

    /** A TF1 saver: restore_all -> (control) assign <- RestoreV2(save/Const, names, slices). */
    private static MetaGraphDef tf1Restore(boolean write, boolean fromSignature) {
        GraphDef g = graph(List.of(X,
                fromSignature ? node("y", "Identity", "save/RestoreV2") : Y,
                node("save/Const", "Placeholder"),
                constString("save/names", "w"),
                constString("save/slices", ""),
                node("save/RestoreV2", "RestoreV2", "^x", "save/Const", "save/names", "save/slices"),
                node("save/Assign", "AssignVariableOp", "w", "save/RestoreV2"),
                node("w", "VarHandleOp"),
                node("save/w", "WriteFile", "save/Const", "save/names"),
                write ? node("save/restore_all", "NoOp", "^save/Assign", "^save/w")
                        : node("save/restore_all", "NoOp", "^save/Assign")));
        return loaderGraph(g).setSaverDef(SaverDef.newBuilder().setFilenameTensorName("save/Const:0")
                .setRestoreOpName("save/restore_all").setSaveTensorName("save/w")).build();
    }

    @Test
    void theRestoreOpMayReadTheCheckpointButNotWrite() {
        OpScanner.checkSavedModel(tf1Restore(false, false), List.of("serving_default"), Set.of());
        assertEquals("op WriteFile (node \"save/w\" in the graph)" + TAIL + "WriteFile to accept it",
                savedModelRefusal(tf1Restore(true, false)));
        OpScanner.checkSavedModel(tf1Restore(true, false), List.of("serving_default"), Set.of("WriteFile"));
        assertEquals("op RestoreV2 (node \"save/RestoreV2\" in the graph)" + FILE_TAIL + "RestoreV2 to accept it",
                savedModelRefusal(tf1Restore(false, true)), "a signature reaching the reader feeds nothing");
    }

    /**
     * The shape tf.saved_model.save gives an asset: asset_path_initializer assigned to a variable
     * that the init function reads and passes to a table initialiser.
     */
    private static List<NodeDef> tf2InitNodes() {
        return List.of(X, Y,
                node("asset_path_initializer", "Placeholder"),
                withString(node("Variable", "VarHandleOp"), "shared_name", "Variable"),
                node("Variable/Assign", "AssignVariableOp", "Variable", "asset_path_initializer"),
                node("Variable/IsInitialized", "VarIsInitializedOp", "Variable"),
                node("hash_table", "HashTableV2"),
                node("ReadVariableOp", "ReadVariableOp", "Variable", "^Variable/Assign"),
                withFunc(node("StatefulPartitionedCall", "StatefulPartitionedCall", "hash_table", "ReadVariableOp"),
                        "f", "__inference__initializer"),
                node("NoOp", "NoOp", "^StatefulPartitionedCall"));
    }

    private static final FunctionDef INITIALIZER = function("__inference__initializer",
            List.of("handle_arg", "filepath_arg"),
            node("InitializeTableFromTextFileV2", "InitializeTableFromTextFileV2", "handle_arg", "filepath_arg"),
            node("Const", "Const"));

    private static MetaGraphDef.Builder tf2Init(List<NodeDef> nodes) {
        return loaderGraph(graph(nodes, INITIALIZER)).putSignatureDef(Model.INIT_OP_SIGNATURE, sig("NoOp"))
                .addAssetFileDef(asset("asset_path_initializer:0", "vocab.txt"));
    }

    private static final String TABLE_REFUSAL = "op InitializeTableFromTextFileV2 (node "
            + "\"InitializeTableFromTextFileV2\" in function \"__inference__initializer\") is not allowed: its file "
            + "name (input 1) is not a path the loader feeds inside the version folder; pass --allow-op "
            + "InitializeTableFromTextFileV2 to accept it";

    @Test
    void tf2AssetInitialiserIsExempt() {
        OpScanner.checkSavedModel(tf2Init(tf2InitNodes()).build(), List.of("serving_default"), Set.of());
        // the assets packed in the saved_model_assets collection count when asset_file_def is empty
        MetaGraphDef packed = tf2Init(tf2InitNodes()).clearAssetFileDef()
                .putCollectionDef(OpScanner.ASSETS_COLLECTION, CollectionDef.newBuilder().setAnyList(
                        CollectionDef.AnyList.newBuilder().addValue(com.google.protobuf.Any.pack(
                                asset("asset_path_initializer:0", "vocab.txt")))).build()).build();
        OpScanner.checkSavedModel(packed, List.of("serving_default"), Set.of());
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(tf2InitNodes()).clearAssetFileDef().build()),
                "without the asset nothing is fed");
    }

    @Test
    void tf2AssetInitialiserReachedFromASignatureIsRefused() {
        List<NodeDef> nodes = new ArrayList<>(tf2InitNodes());
        nodes.set(1, withFunc(node("y", "StatefulPartitionedCall", "hash_table", "ReadVariableOp"), "f",
                "__inference__initializer"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(nodes).build()));
    }

    @Test
    void theAssetVariableMustBeUsedOnlyByReadsAndAssignmentsOfTheAsset() {
        List<NodeDef> other = new ArrayList<>(tf2InitNodes());
        other.add(node("Variable/Assign2", "AssignVariableOp", "Variable", "x"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(other).build()), "an assignment of another value");
        List<NodeDef> leaked = new ArrayList<>(tf2InitNodes());
        leaked.add(node("handle_copy", "Identity", "Variable"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(leaked).build()), "another data use");
        List<NodeDef> shared = new ArrayList<>(tf2InitNodes());
        shared.add(withString(node("Variable_1", "VarHandleOp"), "shared_name", "Variable"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(shared).build()), "a shared name used twice");
        List<NodeDef> unassigned = new ArrayList<>(tf2InitNodes());
        unassigned.set(4, node("Variable/Assign", "NoOp"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(unassigned).build()), "no assignment");
        List<NodeDef> nonCall = new ArrayList<>(tf2InitNodes());
        nonCall.add(withFunc(node("loop", "While", "x"), "body", "__inference__initializer"));
        nonCall.set(nonCall.size() - 2, node("NoOp", "NoOp", "^StatefulPartitionedCall", "^loop"));
        assertEquals(TABLE_REFUSAL, savedModelRefusal(tf2Init(nonCall).build()),
                "a function referred to as a While body has arguments that trace to nothing");
    }

    /** The shape of tf.saved_model.save's restore: StatefulPartitionedCall_2(saver_filename, ...). */
    private static MetaGraphDef tf2Restore(NodeDef... restoreBody) {
        List<NodeDef> body = new ArrayList<>(List.of(
                constString("RestoreV2/tensor_names", "w"),
                constString("RestoreV2/shape_and_slices", ""),
                node("Identity", "Identity", "RestoreV2:tensors:0")));
        body.addAll(List.of(restoreBody));
        FunctionDef restore = function("__inference__traced_restore", List.of("file_prefix", "variable"),
                body.toArray(new NodeDef[0]));
        GraphDef g = graph(List.of(X, Y,
                node("saver_filename", "Placeholder"),
                node("Variable", "VarHandleOp"),
                withFunc(node("StatefulPartitionedCall_2", "StatefulPartitionedCall", "saver_filename", "Variable"),
                        "f", "__inference__traced_restore")), restore);
        return loaderGraph(g).setSaverDef(SaverDef.newBuilder().setFilenameTensorName("saver_filename:0")
                .setRestoreOpName("StatefulPartitionedCall_2")).build();
    }

    @Test
    void tf2RestoreFunctionReadingItsPrefixArgumentIsExempt() {
        MetaGraphDef mg = tf2Restore(node("RestoreV2", "RestoreV2", "file_prefix",
                "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"));
        OpScanner.checkSavedModel(mg, List.of("serving_default"), Set.of());
        OpScanner.checkSavedModel(tf2Restore(
                constString("suffix", ".data"),
                withString(node("join", "StringJoin", "file_prefix", "suffix:output:0"), "separator", ""),
                node("RestoreV2", "RestoreV2", "join:output:0", "RestoreV2/tensor_names:output:0",
                        "RestoreV2/shape_and_slices:output:0")), List.of("serving_default"), Set.of());
        String refused = "op RestoreV2 (node \"RestoreV2\" in function \"__inference__traced_restore\")" + FILE_TAIL
                + "RestoreV2 to accept it";
        assertEquals(refused, savedModelRefusal(tf2Restore(
                constString("suffix", "/../../etc"),
                node("join", "StringJoin", "file_prefix", "suffix:output:0"),
                node("RestoreV2", "RestoreV2", "join:output:0", "RestoreV2/tensor_names:output:0",
                        "RestoreV2/shape_and_slices:output:0"))), "a joined part with a slash");
        assertEquals(refused, savedModelRefusal(tf2Restore(
                constString("suffix", "x"),
                withString(node("join", "StringJoin", "file_prefix", "suffix:output:0"), "separator", "/"),
                node("RestoreV2", "RestoreV2", "join:output:0", "RestoreV2/tensor_names:output:0",
                        "RestoreV2/shape_and_slices:output:0"))), "a separator with a slash");
        assertEquals(refused, savedModelRefusal(tf2Restore(node("RestoreV2", "RestoreV2", "variable",
                "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"))), "another argument");
        assertEquals(refused, savedModelRefusal(tf2Restore(
                node("a", "Identity", "b:output:0"), node("b", "Identity", "a:output:0"),
                node("RestoreV2", "RestoreV2", "a:output:0", "RestoreV2/tensor_names:output:0",
                        "RestoreV2/shape_and_slices:output:0"))), "a cycle traces to nothing");
    }

    @Test
    void everyGroupReachingAFileOpMustFeedItsPath() {
        // the restore function also called from a signature: the signature feeds nothing
        MetaGraphDef mg = tf2Restore(node("RestoreV2", "RestoreV2", "file_prefix",
                "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"));
        GraphDef g = mg.getGraphDef().toBuilder().setNode(1, withFunc(node("y", "StatefulPartitionedCall",
                "saver_filename", "Variable"), "f", "__inference__traced_restore")).build();
        assertTrue(savedModelRefusal(mg.toBuilder().setGraphDef(g).build()).startsWith("op RestoreV2 "));
    }

    // ---- through the command line (refusals come before any session) ----

    private static Path writeSavedModel(Path dir, MetaGraphDef mg) throws IOException {
        Path version = dir.resolve("1");
        Files.createDirectories(version);
        Files.write(version.resolve("saved_model.pb"),
                SavedModel.newBuilder().setSavedModelSchemaVersion(1).addMetaGraphs(mg).build().toByteArray());
        return version;
    }

    @Test
    void commandsRefuseWithOneLine(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, metaGraph(false));
        String readRefusal = "java_consumer: error: op ReadFile (node \"r\" in the graph)" + FILE_TAIL
                + "ReadFile to accept it\n";
        // predict and serve-stdio check every signature a request may name ("__hidden" is not one).
        for (String cmd : List.of("predict", "serve-stdio")) {
            CliRuns.Run r = CliRuns.run(new byte[0], cmd, "--model", v.toString(), "--skip-verification");
            assertEquals(2, r.status(), cmd);
            assertEquals(readRefusal, r.stderr(), cmd);
            assertEquals("", r.stdout(), cmd);
        }
        // bench runs one signature: serving_default passes the check (then fails for its own reasons:
        // this hand-built model has no float input TensorFlow can run), "read" does not.
        CliRuns.Run bench = CliRuns.run(new byte[0], "bench", "--model", v.toString(), "--skip-verification",
                "--signature", "read");
        assertEquals(2, bench.status());
        assertEquals(readRefusal, bench.stderr());
        CliRuns.Run benchOk = CliRuns.run(new byte[0], "bench", "--model", v.toString(),
                "--skip-verification", "--signature", "read", "--allow-op", "ReadFile");
        assertFalse(benchOk.stderr().contains("is not allowed"), benchOk.stderr());
        CliRuns.Run classify = CliRuns.run(new byte[0], "classify", "--model", v.toString(),
                "--skip-verification", "--signature", "read", "img.png");
        assertEquals(2, classify.status());
        assertEquals(readRefusal, classify.stderr());
        CliRuns.Run generate = CliRuns.run(new byte[0], "generate", "--model", v.toString(),
                "--skip-verification", "--signature", "read", "--prefix", "a");
        assertEquals(2, generate.status());
        assertEquals(readRefusal, generate.stderr());
    }

    /**
     * A SavedModel TensorFlow can load (no variables): y = Identity(x) for a scalar string x, after
     * PrintV2(x) as a control input, written to the INFO log (silenced).
     */
    private static MetaGraphDef printingMetaGraph() {
        AttrValue string = AttrValue.newBuilder().setType(DataType.DT_STRING).build();
        GraphDef g = GraphDef.newBuilder()
                .setVersions(VersionDef.newBuilder().setProducer(1882))
                .addNode(NodeDef.newBuilder().setName("x").setOp("Placeholder").putAttr("dtype", string)
                        .putAttr("shape", AttrValue.newBuilder().setShape(TensorShapeProto.newBuilder()).build()))
                .addNode(NodeDef.newBuilder().setName("print").setOp("PrintV2").addInput("x:0")
                        .putAttr("output_stream", AttrValue.newBuilder()
                                .setS(com.google.protobuf.ByteString.copyFromUtf8("log(info)")).build())
                        .putAttr("end", AttrValue.newBuilder()
                                .setS(com.google.protobuf.ByteString.copyFromUtf8("\n")).build()))
                .addNode(NodeDef.newBuilder().setName("y").setOp("Identity").addInput("x:0").addInput("^print")
                        .putAttr("T", string))
                .build();
        TensorInfo x = TensorInfo.newBuilder().setName("x:0").setDtype(DataType.DT_STRING)
                .setTensorShape(TensorShapeProto.newBuilder()).build();
        TensorInfo y = x.toBuilder().setName("y:0").build();
        return MetaGraphDef.newBuilder()
                .setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve"))
                .setGraphDef(g)
                .putSignatureDef("serving_default", SignatureDef.newBuilder().putInputs("x", x).putOutputs("y", y)
                        .setMethodName("tensorflow/serving/predict").build())
                .build();
    }

    @Test
    void allowOpLetsTheModelRun(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, printingMetaGraph());
        byte[] request = "{\"inputs\": {\"x\": \"hello\"}}".getBytes(StandardCharsets.UTF_8);
        CliRuns.Run refused = CliRuns.run(request, "predict", "--model", v.toString(), "--skip-verification");
        assertEquals(2, refused.status());
        assertEquals("java_consumer: error: op PrintV2 (node \"print\" in the graph)" + TAIL
                + "PrintV2 to accept it\n", refused.stderr());
        CliRuns.Run ok = CliRuns.run(request, "predict", "--model", v.toString(), "--skip-verification",
                "--allow-op", "PrintV2");
        assertEquals("", ok.stderr());
        assertEquals(0, ok.status());
        assertEquals("{\"outputs\":\"hello\"}\n", ok.stdout());
        CliRuns.Run other = CliRuns.run(request, "predict", "--model", v.toString(), "--skip-verification",
                "--allow-op", "ReadFile");
        assertEquals(2, other.status(), "allowing another op does not allow PrintV2");
    }

    @Test
    void frozenGraphsAreCheckedFromTheManifestOutputs(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, metaGraph(false));
        Files.createDirectories(v.resolve("frozen"));
        Files.write(v.resolve("frozen/serving_default.pb"), graph(List.of(
                node("x", "Placeholder"), node("y", "Identity", "x"), node("r", "ReadFile", "x"))).toByteArray());
        Files.write(v.resolve("frozen/read.pb"), graph(List.of(
                node("x", "Placeholder"), node("Identity", "Identity", "x", "^t"),
                node("t", "TextLineDataset", "x"))).toByteArray());
        Files.writeString(v.resolve("manifest.json"), """
                {"signatures": {
                  "serving_default": {"frozen": {"graph": "frozen/serving_default.pb",
                      "inputs": {"x": {"name": "x:0", "dtype": "DT_FLOAT", "shape": [-1]}},
                      "outputs": {"y": {"name": "y:0", "dtype": "DT_FLOAT", "shape": [-1]}}}},
                  "read": {"frozen": {"graph": "frozen/read.pb",
                      "inputs": {"x": {"name": "x:0", "dtype": "DT_FLOAT", "shape": [-1]}},
                      "outputs": {"y": {"name": "Identity:0", "dtype": "DT_FLOAT", "shape": [-1]}}}}
                }}""");
        Model.Format frozen = Model.Format.FROZEN;
        ModelLocation loc = new ModelLocation(v, java.math.BigInteger.ONE);
        Model.Safety unverified = new Model.Safety(false, Set.of());
        Model.open(loc, frozen, unverified, List.of("serving_default"), false).close();
        assertEquals("op TextLineDataset (node \"t\" in the graph)" + FILE_TAIL + "TextLineDataset to accept it",
                assertThrows(StatusException.class,
                        () -> Model.open(loc, frozen, unverified, List.of("serving_default"), true)).getMessage());
        Model.open(loc, frozen, new Model.Safety(false, Set.of("TextLineDataset")), List.of("serving_default"), true).close();
        Model.open(loc, frozen, unverified, List.of("no_such_signature"), false).close();
        CliRuns.Run r = CliRuns.run(new byte[0], "serve-stdio", "--model", v.toString(),
                "--skip-verification", "--format", "frozen");
        assertEquals(2, r.status());
        assertEquals("java_consumer: error: op TextLineDataset (node \"t\" in the graph)" + FILE_TAIL
                + "TextLineDataset to accept it\n", r.stderr());
    }
}
