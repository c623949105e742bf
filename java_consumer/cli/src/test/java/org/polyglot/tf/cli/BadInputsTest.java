package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Echo;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.SavedModelInfo;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/**
 * Bad-input faults (tests/CONTRACT.md, "Request and response bodies", "Errors"): lone surrogate
 * escapes, bounded echoes, invalid dtype enums in a SignatureDef, long number literals.
 */
class BadInputsTest {

    private static final String SURROGATE_TAIL = "; a \\u escape of U+D800-U+DFFF must be a high surrogate followed "
            + "by a low one";

    private static String refusal(String json) {
        return assertThrows(StatusException.class, () -> Json.parse(json.getBytes(StandardCharsets.UTF_8)))
                .getMessage();
    }

    // ---- lone surrogate escapes ----

    @Test
    void loneSurrogateEscapesAreRefusedInKeysAndValues() {
        assertEquals("invalid JSON: a string holds a lone surrogate escape \\uD800" + SURROGATE_TAIL,
                refusal("{\"inputs\": \"a\\ud800b\"}"));
        assertEquals("invalid JSON: a string holds a lone surrogate escape \\uDFFF" + SURROGATE_TAIL,
                refusal("{\"x\\udfff\": 1}"), "a key, a lone low surrogate");
        assertEquals("invalid JSON: a string holds a lone surrogate escape \\uDC00" + SURROGATE_TAIL,
                refusal("[\"\\uDC00\\uD800\"]"), "a reversed pair: the low one comes first");
        assertEquals("invalid JSON: a string holds a lone surrogate escape \\uDBFF" + SURROGATE_TAIL,
                refusal("[\"ok\", {\"k\": [\"\\udbff\"]}, \"\\ud800\"]"), "the first in the body");
        assertEquals("invalid JSON: a string holds a lone surrogate escape \\uD83D" + SURROGATE_TAIL,
                refusal("[\"\\ud83d\"]"), "a high surrogate at the end of the string");
        assertEquals(new Json.Str("\uD83D\uDE00"), ((Json.Arr) Json.parse(TestSupport.utf8("[\"\\ud83d\\ude00\"]")))
                .get(0), "a pair is one code point");
    }

    @Test
    void predictAndServeStdioRefuseALoneSurrogate(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, identityModel(DataType.DT_STRING));
        byte[] body = TestSupport.utf8("{\"inputs\": {\"x\": \"\\ud800\"}}");
        String message = "invalid JSON: a string holds a lone surrogate escape \\uD800" + SURROGATE_TAIL;
        CliRuns.Run p = CliRuns.run(body, "predict", "--model", v.toString(), "--skip-verification");
        assertEquals(2, p.status());
        assertEquals("java_consumer: error: " + message + "\n", p.stderr());
        byte[] line = (new String(body, StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8);
        CliRuns.Run s = CliRuns.run(line, "serve-stdio", "--model", v.toString(), "--skip-verification");
        assertEquals(Json.errorBody(message) + "\n", s.stdout());
    }

    // ---- bounded echoes ----

    @Test
    void echoesAreBoundedByCodePoints() {
        String exact = "a".repeat(200);
        assertEquals(exact, Echo.bound(exact));
        assertEquals(exact + "... (201 characters)", Echo.bound(exact + "b"));
        String emoji = "\uD83D\uDE00".repeat(250);
        assertEquals("\uD83D\uDE00".repeat(200) + "... (250 characters)", Echo.bound(emoji),
                "a code point outside the BMP is one character, never split");
        assertEquals("\"" + "\uD83D\uDE00".repeat(150) + "\"", Echo.quoted("\uD83D\uDE00".repeat(150)));
        assertEquals("'" + exact + "... (1000 characters)'", Echo.quotedSingle("a".repeat(1000)));
        assertEquals("x, " + exact + "... (300 characters)", Echo.list(List.of("x", "a".repeat(300))));
        String arg = "z".repeat(5000);
        assertEquals("Unknown option: '" + "z".repeat(200) + "... (5000 characters)'; and '--f=" + "z".repeat(196)
                + "... (5004 characters)'", Echo.boundArguments("Unknown option: '" + arg + "'; and '--f=" + arg + "'",
                new String[] {arg, "--f=" + arg}));
    }

    @Test
    void aHugeSignatureNameGivesAShortLine(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, identityModel(DataType.DT_STRING));
        String name = "s".repeat(1 << 20);
        byte[] body = TestSupport.utf8("{\"signature_name\": \"" + name + "\", \"inputs\": {\"x\": \"a\"}}");
        CliRuns.Run r = CliRuns.run(body, "predict", "--model", v.toString(), "--skip-verification");
        assertEquals(2, r.status());
        assertEquals("java_consumer: error: signature \"" + "s".repeat(200) + "... (1048576 characters)\" not found; "
                + "available signatures: serving_default\n", r.stderr());
        String alias = "a".repeat(40_000); // Jackson refuses keys over 50000 characters (a short line too)
        CliRuns.Run a = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"" + alias + "\": \"a\"}}"), "predict",
                "--model", v.toString(), "--skip-verification");
        assertEquals(2, a.status());
        assertTrue(a.stderr().length() < 1000 && a.stderr().contains("... (40000 characters)"), a.stderr());
    }

    @Test
    void longNumberLiteralsAreCleanRefusalsWithBoundedEchoes(@TempDir Path tmp) throws IOException {
        Path v = writeSavedModel(tmp, identityModel(DataType.DT_INT64));
        String digits = "1".repeat(5000);
        CliRuns.Run big = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": " + digits + "}}"), "predict",
                "--model", v.toString(), "--skip-verification");
        assertEquals(2, big.status());
        assertTrue(big.stderr().contains("has " + "1".repeat(200) + "... (5000 characters), which is out of range for "
                + "DT_INT64"), big.stderr());
        assertTrue(big.stderr().length() < 1000, big.stderr());
        CliRuns.Run tooLong = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": " + "1".repeat(100_008)
                + "}}"), "predict", "--model", v.toString(), "--skip-verification");
        assertEquals(2, tooLong.status());
        assertEquals("java_consumer: error: invalid JSON: a number literal of 100008 characters is longer than the "
                + "limit of " + Json.MAX_NUMBER_CHARS, tooLong.stderr().strip());
    }

    // ---- invalid dtype enums ----

    @Test
    void aSignatureDtypeThatIsNoDataTypeIsAnInvalidModel(@TempDir Path tmp) throws IOException {
        MetaGraphDef good = identityModel(DataType.DT_FLOAT);
        SignatureDef sig = good.getSignatureDefOrThrow("serving_default");
        MetaGraphDef badInput = good.toBuilder().putSignatureDef("serving_default", sig.toBuilder()
                .putInputs("x", sig.getInputsOrThrow("x").toBuilder().setDtypeValue(12345).build()).build()).build();
        Path v = writeSavedModel(tmp.resolve("in"), badInput);
        assertEquals("signature \"serving_default\" input \"x\" has dtype 12345, which is not a TensorFlow DataType "
                + "this consumer handles", assertThrows(StatusException.class, () -> SavedModelInfo.read(v, v.toString()))
                .getMessage());
        CliRuns.Run r = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": 1}}"), "predict", "--model",
                v.toString(), "--skip-verification");
        assertEquals(2, r.status());
        assertEquals("java_consumer: error: signature \"serving_default\" input \"x\" has dtype 12345, which is not "
                + "a TensorFlow DataType this consumer handles\n", r.stderr());
        MetaGraphDef badOutput = good.toBuilder().putSignatureDef("serving_default", sig.toBuilder()
                .putOutputs("y", sig.getOutputsOrThrow("y").toBuilder().setDtypeValue(-3).build()).build()).build();
        Path w = writeSavedModel(tmp.resolve("out"), badOutput);
        assertEquals("signature \"serving_default\" output \"y\" has dtype -3, which is not a TensorFlow DataType "
                + "this consumer handles", assertThrows(StatusException.class, () -> SavedModelInfo.read(w, w.toString()))
                .getMessage());
    }

    // ---- helpers ----

    /** y = Identity(x) for a scalar x of one dtype, loadable by TensorFlow. */
    static MetaGraphDef identityModel(DataType dtype) {
        org.tensorflow.proto.AttrValue t = org.tensorflow.proto.AttrValue.newBuilder().setType(dtype).build();
        GraphDef g = GraphDef.newBuilder()
                .setVersions(org.tensorflow.proto.VersionDef.newBuilder().setProducer(1882))
                .addNode(NodeDef.newBuilder().setName("x").setOp("Placeholder").putAttr("dtype", t))
                .addNode(NodeDef.newBuilder().setName("y").setOp("Identity").addInput("x:0").putAttr("T", t))
                .build();
        TensorInfo x = TensorInfo.newBuilder().setName("x:0").setDtype(dtype)
                .setTensorShape(org.tensorflow.proto.TensorShapeProto.newBuilder()).build();
        return MetaGraphDef.newBuilder()
                .setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve"))
                .setGraphDef(g)
                .putSignatureDef("serving_default", SignatureDef.newBuilder().putInputs("x", x)
                        .putOutputs("y", x.toBuilder().setName("y:0").build())
                        .setMethodName("tensorflow/serving/predict").build())
                .build();
    }

    static Path writeSavedModel(Path dir, MetaGraphDef mg) throws IOException {
        Path version = dir.resolve("1");
        Files.createDirectories(version);
        Files.write(version.resolve("saved_model.pb"),
                SavedModel.newBuilder().setSavedModelSchemaVersion(1).addMetaGraphs(mg).build().toByteArray());
        return version;
    }
}
