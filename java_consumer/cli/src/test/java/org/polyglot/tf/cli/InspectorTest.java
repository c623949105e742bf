package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.polyglot.tf.internal.Inspector;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.SavedModelInfo;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.TensorSpec;
import org.polyglot.tf.internal.TestSupport;

/** The inspect text and JSON forms (tests/CONTRACT.md, "inspect"). */
class InspectorTest {

    private static Inspector report() {
        SignatureSpec serving = TestSupport.linearSignature();
        SortedMap<String, TensorSpec> none = SignatureSpec.newSpecMap();
        SortedMap<String, TensorSpec> init = SignatureSpec.newSpecMap();
        init.put("__saved_model_init_op", new TensorSpec("__saved_model_init_op", "NoOp", "DT_INVALID", null));
        SortedMap<String, TensorSpec> scalarIn = SignatureSpec.newSpecMap();
        scalarIn.put("v", new TensorSpec("v", "sc_v:0", "DT_FLOAT", new long[] {}));
        scalarIn.put("u", new TensorSpec("u", "sc_u:0", "DT_FLOAT", new long[] {-1}));
        SortedMap<String, SignatureSpec> sigs = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
        sigs.put("serving_default", serving);
        sigs.put("__saved_model_init_op", new SignatureSpec("__saved_model_init_op", "", none, init));
        sigs.put("scalar", new SignatureSpec("scalar", "tensorflow/serving/predict", scalarIn, none));
        SavedModelInfo info = new SavedModelInfo(List.of(new SavedModelInfo.MetaGraph(List.of("serve"), "2.21.0", sigs)));
        ModelLocation loc = new ModelLocation(Path.of("/abs/models/linear/1"), BigInteger.ONE);
        return new Inspector(loc, info, null, "2.21.0");
    }

    @Test
    void text() {
        String expected = String.join("\n",
                "Model: /abs/models/linear/1",
                "Version: 1",
                "TensorFlow runtime: 2.21.0",
                "Producer TensorFlow version: 2.21.0",
                "",
                "MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:",
                "",
                "signature_def['__saved_model_init_op']:",
                "  The given SavedModel SignatureDef contains the following input(s):",
                "  The given SavedModel SignatureDef contains the following output(s):",
                "    outputs['__saved_model_init_op'] tensor_info:",
                "        dtype: DT_INVALID",
                "        shape: unknown_rank",
                "        name: NoOp",
                "  Method name is: ",
                "  Frozen graph: none",
                "",
                "signature_def['scalar']:",
                "  The given SavedModel SignatureDef contains the following input(s):",
                "    inputs['u'] tensor_info:",
                "        dtype: DT_FLOAT",
                "        shape: (-1)",
                "        name: sc_u:0",
                "    inputs['v'] tensor_info:",
                "        dtype: DT_FLOAT",
                "        shape: ()",
                "        name: sc_v:0",
                "  The given SavedModel SignatureDef contains the following output(s):",
                "  Method name is: tensorflow/serving/predict",
                "  Frozen graph: none",
                "",
                "signature_def['serving_default']:",
                "  The given SavedModel SignatureDef contains the following input(s):",
                "    inputs['x'] tensor_info:",
                "        dtype: DT_DOUBLE",
                "        shape: (-1, -1)",
                "        name: serving_default_x:0",
                "  The given SavedModel SignatureDef contains the following output(s):",
                "    outputs['y'] tensor_info:",
                "        dtype: DT_DOUBLE",
                "        shape: (-1, -1)",
                "        name: StatefulPartitionedCall:0",
                "  Method name is: tensorflow/serving/predict",
                "  Frozen graph: none",
                "");
        assertEquals(expected, report().text());
    }

    @Test
    void json() {
        Json.Obj doc = (Json.Obj) Json.parse(TestSupport.utf8(report().json()));
        assertEquals(new Json.Num("1", true), doc.get("version"));
        Json.Obj sig = (Json.Obj) ((Json.Obj) ((Json.Obj) ((Json.Arr) doc.get("meta_graphs")).get(0)).get("signatures"))
                .get("serving_default");
        assertEquals(new Json.Null(), sig.get("frozen_graph"));
        assertEquals("{\"dtype\":\"DT_DOUBLE\",\"shape\":[-1,-1],\"name\":\"serving_default_x:0\"}",
                TestSupport.write(((Json.Obj) sig.get("inputs")).get("x")));
        assertEquals(Map.of(), ((Json.Obj) ((Json.Obj) ((Json.Obj) ((Json.Arr) doc.get("meta_graphs")).get(0))
                .get("signatures")).get("__saved_model_init_op")).get("inputs") instanceof Json.Obj o
                ? o.members() : null);
    }

    @Test
    void theModelPathIsWrittenAsGivenMadeAbsoluteByConcatenation() {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        String version = ModelLocation.resolve(TestSupport.LINEAR.toString(), null).dir().getFileName().toString();
        String relative = "../../models/./linear/";
        CliRuns.Run r = CliRuns.run(new byte[0], "inspect", "--model", relative);
        assertEquals(0, r.status(), r.stderr());
        String expected = System.getProperty("user.dir") + "/" + relative + version;
        assertEquals("Model: " + expected, r.stdout().lines().findFirst().orElse(""));
        CliRuns.Run j = CliRuns.run(new byte[0], "inspect", "--json", "--model", relative + version + "/");
        assertEquals(0, j.status(), j.stderr());
        assertEquals(new Json.Str(expected + "/"), ((Json.Obj) Json.parse(TestSupport.utf8(j.stdout()))).get("model"));
    }

    @Test
    void shapes() {
        assertEquals("()", TensorSpec.formatShape(new long[] {}));
        assertEquals("(-1)", TensorSpec.formatShape(new long[] {-1}));
        assertEquals("(2, 3)", TensorSpec.formatShape(new long[] {2, 3}));
        assertEquals("unknown_rank", TensorSpec.formatShape(null));
    }
}
