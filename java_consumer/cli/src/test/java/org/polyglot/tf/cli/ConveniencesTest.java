package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.ByteString;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Conveniences;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TensorSpec;
import org.polyglot.tf.internal.TestSupport;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * {@code classify} and {@code generate}: the signature shapes they need, their refusals (all
 * before TensorFlow is loaded), and complete runs on small frozen graphs built here and, when
 * the Python producer has written them, on {@code models/digits} and {@code models/charlm}.
 */
class ConveniencesTest {

    private static final Path DIGITS = TestSupport.REPO.resolve("models/digits");
    private static final Path CHARLM = TestSupport.REPO.resolve("models/charlm");

    @TempDir
    Path temp;

    private int models;

    // ------------------------------------------------------------------------------------------
    // fixtures

    private static TensorSpec spec(String alias, String dtype, long... dims) {
        return new TensorSpec(alias, alias + ":0", dtype, dims);
    }

    private static TensorSpec unknownRank(String alias, String dtype) {
        return new TensorSpec(alias, alias + ":0", dtype, null);
    }

    private static SignatureSpec sig(List<TensorSpec> in, List<TensorSpec> out) {
        Map<String, TensorSpec> i = new LinkedHashMap<>();
        in.forEach(t -> i.put(t.alias(), t));
        Map<String, TensorSpec> o = new LinkedHashMap<>();
        out.forEach(t -> o.put(t.alias(), t));
        return TestSupport.signature(i, o);
    }

    private static final TensorSpec IMAGES = spec("images", "DT_STRING", -1);
    private static final TensorSpec CLASS_ID = spec("class_id", "DT_INT64", -1);
    private static final TensorSpec PROBABILITIES = spec("probabilities", "DT_FLOAT", -1, 3);
    private static final TensorSpec PREFIX = spec("prefix", "DT_STRING", -1);
    private static final TensorSpec LENGTH = spec("length", "DT_INT32");
    private static final TensorSpec CONTINUATION = spec("continuation", "DT_STRING", -1);

    private static TensorInfo info(TensorSpec t) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        if (t.shape() == null) {
            shape.setUnknownRank(true);
        } else {
            for (long d : t.shape()) {
                shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
            }
        }
        return TensorInfo.newBuilder().setName(t.tensorName()).setDtype(DataType.valueOf(t.dtypeName()))
                .setTensorShape(shape).build();
    }

    /**
     * Writes a model folder with one version: a saved_model.pb holding only the SignatureDef
     * (enough for every check before TensorFlow), and with a graph also frozen/KEY.pb and a
     * manifest.json naming it, so that --format frozen runs it. The manifest lists no "files", so
     * every command line on these models passes --skip-verification.
     */
    private Path model(String key, List<TensorSpec> in, List<TensorSpec> out, GraphDef frozen) throws IOException {
        Path v = Files.createDirectories(temp.resolve("model" + models++).resolve("1"));
        SignatureDef.Builder sd = SignatureDef.newBuilder().setMethodName("tensorflow/serving/predict");
        in.forEach(t -> sd.putInputs(t.alias(), info(t)));
        out.forEach(t -> sd.putOutputs(t.alias(), info(t)));
        SavedModel sm = SavedModel.newBuilder().setSavedModelSchemaVersion(1)
                .addMetaGraphs(MetaGraphDef.newBuilder()
                        .setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve")
                                .setTensorflowVersion("2.21.0"))
                        .putSignatureDef(key, sd.build()))
                .build();
        Files.write(v.resolve("saved_model.pb"), sm.toByteArray());
        if (frozen != null) {
            Files.createDirectories(v.resolve("frozen"));
            Files.write(v.resolve("frozen/" + key + ".pb"), frozen.toByteArray());
            ByteArrayOutputStream m = new ByteArrayOutputStream();
            try (JsonGenerator g = Json.generator(m)) {
                g.writeStartObject();
                g.writeObjectFieldStart("signatures");
                g.writeObjectFieldStart(key);
                g.writeStringField("method_name", "tensorflow/serving/predict");
                g.writeObjectFieldStart("frozen");
                g.writeStringField("graph", "frozen/" + key + ".pb");
                writeSpecs(g, "inputs", in);
                writeSpecs(g, "outputs", out);
                g.writeEndObject();
                g.writeEndObject();
                g.writeEndObject();
                g.writeEndObject();
            }
            Files.write(v.resolve("manifest.json"), m.toByteArray());
        }
        return v.getParent();
    }

    private static void writeSpecs(JsonGenerator g, String field, List<TensorSpec> specs) throws IOException {
        g.writeObjectFieldStart(field);
        for (TensorSpec t : specs) {
            g.writeObjectFieldStart(t.alias());
            g.writeStringField("name", t.tensorName());
            g.writeStringField("dtype", t.dtypeName());
            g.writeArrayFieldStart("shape");
            for (long d : t.shape()) {
                g.writeNumber(d);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static AttrValue type(DataType t) {
        return AttrValue.newBuilder().setType(t).build();
    }

    private static NodeDef.Builder node(String name, String op, String... inputs) {
        NodeDef.Builder n = NodeDef.newBuilder().setName(name).setOp(op);
        for (String i : inputs) {
            n.addInput(i);
        }
        return n;
    }

    private static NodeDef.Builder constant(String name, TensorProto.Builder value) {
        value.setTensorShape(TensorShapeProto.newBuilder());
        return node(name, "Const").putAttr("dtype", type(value.getDtype()))
                .putAttr("value", AttrValue.newBuilder().setTensor(value).build());
    }

    /**
     * images (string [-1], each a decimal number n) -> class_id = n mod 3 (int64 [-1]),
     * probabilities = one_hot(class_id, 3, 0.7f, 0.15f) (float [-1, 3]). A non-number fails
     * in TensorFlow (StringToNumber).
     */
    private static GraphDef classifyGraph() {
        return GraphDef.newBuilder()
                .addNode(node("images", "Placeholder").putAttr("dtype", type(DataType.DT_STRING)))
                .addNode(node("number", "StringToNumber", "images").putAttr("out_type", type(DataType.DT_INT64)))
                .addNode(constant("three", TensorProto.newBuilder().setDtype(DataType.DT_INT64).addInt64Val(3)))
                .addNode(node("class_id", "FloorMod", "number", "three").putAttr("T", type(DataType.DT_INT64)))
                .addNode(constant("depth", TensorProto.newBuilder().setDtype(DataType.DT_INT32).addIntVal(3)))
                .addNode(constant("on", TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).addFloatVal(0.7f)))
                .addNode(constant("off", TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).addFloatVal(0.15f)))
                .addNode(node("probabilities", "OneHot", "class_id", "depth", "on", "off")
                        .putAttr("T", type(DataType.DT_FLOAT)).putAttr("TI", type(DataType.DT_INT64))
                        .putAttr("axis", AttrValue.newBuilder().setI(-1).build()))
                .build();
    }

    /** continuation = prefix + str(length) + the byte 0xff (not UTF-8, so the response has it as b64). */
    private static GraphDef generateGraph() {
        return GraphDef.newBuilder()
                .addNode(node("prefix", "Placeholder").putAttr("dtype", type(DataType.DT_STRING)))
                .addNode(node("length", "Placeholder").putAttr("dtype", type(DataType.DT_INT32)))
                .addNode(node("length_text", "AsString", "length").putAttr("T", type(DataType.DT_INT32)))
                .addNode(constant("tail", TensorProto.newBuilder().setDtype(DataType.DT_STRING)
                        .addStringVal(ByteString.copyFrom(new byte[] {(byte) 0xff}))))
                .addNode(node("continuation", "StringJoin", "prefix", "length_text", "tail")
                        .putAttr("N", AttrValue.newBuilder().setI(3).build()))
                .build();
    }

    private Path file(String name, byte[] content) throws IOException {
        return Files.write(temp.resolve(name), content);
    }

    private static void assertRefusal(CliRuns.RawRun r, String... contains) {
        assertEquals(2, r.status(), r.stderr());
        assertEquals(0, r.stdout().length, "nothing on stdout");
        assertOneErrorLine(r.stderr(), contains);
    }

    private static void assertOneErrorLine(String stderr, String... contains) {
        String[] lines = stderr.split("\n", -1);
        assertEquals(2, lines.length, "exactly one line: " + stderr);
        assertEquals("", lines[1]);
        assertTrue(lines[0].startsWith("java_consumer: error: "), lines[0]);
        for (String want : contains) {
            assertTrue(lines[0].toLowerCase(Locale.ROOT).contains(want.toLowerCase(Locale.ROOT)),
                    "'" + want + "' not in: " + lines[0]);
        }
    }

    private static String text(CliRuns.RawRun r) {
        return new String(r.stdout(), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------------
    // signature shapes

    @Test
    void classifyAcceptsAnyIntegerAndFloatingDtype() {
        assertEquals("images", Conveniences.classifyInput(sig(List.of(IMAGES), List.of(CLASS_ID, PROBABILITIES))));
        assertEquals("image_bytes", Conveniences.classifyInput(sig(List.of(spec("image_bytes", "DT_STRING", 5)),
                List.of(spec("class_id", "DT_INT32", -1), spec("probabilities", "DT_DOUBLE", -1, -1),
                        spec("logits", "DT_FLOAT", -1, 10)))));
        assertEquals("images", Conveniences.classifyInput(sig(List.of(IMAGES),
                List.of(spec("class_id", "DT_UINT8", -1), spec("probabilities", "DT_HALF", -1, 10)))));
    }

    @Test
    void classifyRefusesOtherSignatureShapes() {
        Map<String, SignatureSpec> bad = new LinkedHashMap<>();
        bad.put("2 inputs", sig(List.of(IMAGES, spec("extra", "DT_STRING", -1)), List.of(CLASS_ID, PROBABILITIES)));
        bad.put("it has 0 inputs", sig(List.of(), List.of(CLASS_ID, PROBABILITIES)));
        bad.put("'images' (DT_FLOAT", sig(List.of(spec("images", "DT_FLOAT", -1)), List.of(CLASS_ID, PROBABILITIES)));
        bad.put("'images' (DT_STRING, shape (-1, 1))",
                sig(List.of(spec("images", "DT_STRING", -1, 1)), List.of(CLASS_ID, PROBABILITIES)));
        bad.put("'images' (DT_STRING, shape ())", sig(List.of(spec("images", "DT_STRING")),
                List.of(CLASS_ID, PROBABILITIES)));
        bad.put("unknown_rank", sig(List.of(unknownRank("images", "DT_STRING")), List.of(CLASS_ID, PROBABILITIES)));
        bad.put("no output 'class_id'", sig(List.of(IMAGES), List.of(PROBABILITIES)));
        bad.put("no output 'probabilities'", sig(List.of(IMAGES), List.of(CLASS_ID)));
        bad.put("'class_id' (DT_FLOAT", sig(List.of(IMAGES), List.of(spec("class_id", "DT_FLOAT", -1), PROBABILITIES)));
        bad.put("'class_id' (DT_INT64, shape (-1, 1))",
                sig(List.of(IMAGES), List.of(spec("class_id", "DT_INT64", -1, 1), PROBABILITIES)));
        bad.put("'probabilities' (DT_INT32",
                sig(List.of(IMAGES), List.of(CLASS_ID, spec("probabilities", "DT_INT32", -1, 3))));
        bad.put("'probabilities' (DT_FLOAT, shape (-1))",
                sig(List.of(IMAGES), List.of(CLASS_ID, spec("probabilities", "DT_FLOAT", -1))));
        bad.put("'probabilities' (DT_FLOAT, shape unknown_rank)",
                sig(List.of(IMAGES), List.of(CLASS_ID, unknownRank("probabilities", "DT_FLOAT"))));
        bad.put("'x' (DT_DOUBLE", TestSupport.linearSignature());
        for (Map.Entry<String, SignatureSpec> e : bad.entrySet()) {
            StatusException x = assertThrows(StatusException.class,
                    () -> Conveniences.classifyInput(e.getValue()), e.getKey());
            assertEquals(Code.INVALID_ARGUMENT, x.code());
            assertOneErrorLine("java_consumer: error: " + x.getMessage() + "\n", e.getKey(), "serving_default",
                    "classify needs", "exactly one input", "DT_STRING", "rank 1", "class_id", "integer",
                    "probabilities", "floating", "rank 2");
        }
    }

    @Test
    void generateChecksItsSignatureShape() {
        Conveniences.checkGenerateSignature(sig(List.of(PREFIX, LENGTH), List.of(CONTINUATION)));
        Conveniences.checkGenerateSignature(sig(List.of(spec("prefix", "DT_STRING", 1), LENGTH),
                List.of(CONTINUATION, spec("logits", "DT_FLOAT", -1, 5))));
        Map<String, SignatureSpec> bad = new LinkedHashMap<>();
        bad.put("no input 'prefix'", sig(List.of(LENGTH), List.of(CONTINUATION)));
        bad.put("no input 'length'", sig(List.of(PREFIX), List.of(CONTINUATION)));
        bad.put("further input 'temperature'",
                sig(List.of(PREFIX, LENGTH, spec("temperature", "DT_FLOAT")), List.of(CONTINUATION)));
        bad.put("'prefix' (DT_STRING, shape ())", sig(List.of(spec("prefix", "DT_STRING"), LENGTH),
                List.of(CONTINUATION)));
        bad.put("'prefix' (DT_INT32", sig(List.of(spec("prefix", "DT_INT32", -1), LENGTH), List.of(CONTINUATION)));
        bad.put("'length' (DT_INT64, shape ())", sig(List.of(PREFIX, spec("length", "DT_INT64")),
                List.of(CONTINUATION)));
        bad.put("'length' (DT_INT32, shape (1))", sig(List.of(PREFIX, spec("length", "DT_INT32", 1)),
                List.of(CONTINUATION)));
        bad.put("no output 'continuation'", sig(List.of(PREFIX, LENGTH), List.of(spec("text", "DT_STRING", -1))));
        bad.put("'continuation' (DT_STRING, shape ())", sig(List.of(PREFIX, LENGTH),
                List.of(spec("continuation", "DT_STRING"))));
        bad.put("'continuation' (DT_FLOAT", sig(List.of(PREFIX, LENGTH),
                List.of(spec("continuation", "DT_FLOAT", -1))));
        for (Map.Entry<String, SignatureSpec> e : bad.entrySet()) {
            StatusException x = assertThrows(StatusException.class,
                    () -> Conveniences.checkGenerateSignature(e.getValue()), e.getKey());
            assertEquals(Code.INVALID_ARGUMENT, x.code());
            assertOneErrorLine("java_consumer: error: " + x.getMessage() + "\n", e.getKey(), "generate needs",
                    "'prefix' (DT_STRING, rank 1)", "'length' (DT_INT32, a scalar)",
                    "'continuation' (DT_STRING, rank 1)");
        }
    }

    @Test
    void requestsAreTheColumnarForm() {
        byte[] c = Conveniences.classifyRequest("k", "images", List.of(new byte[] {1, 2, 3}, new byte[0]));
        assertEquals("{\"signature_name\":\"k\",\"inputs\":{\"images\":[{\"b64\":\"AQID\"},{\"b64\":\"\"}]}}",
                new String(c, StandardCharsets.UTF_8));
        byte[] g = Conveniences.generateRequest("generate", "h\u00e9 \"x\"", 7);
        assertEquals("{\"signature_name\":\"generate\",\"inputs\":{\"prefix\":[\"h\u00e9 \\\"x\\\"\"],\"length\":7}}",
                new String(g, StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------------------------------------
    // refusals through the command line (none of them loads TensorFlow)

    @Test
    void classifyRefusesASignatureOfAnotherShape() throws IOException {
        Path m = model("serving_default", List.of(PREFIX, LENGTH), List.of(CONTINUATION), null);
        Path image = file("a.png", new byte[] {1});
        assertRefusal(CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", image.toString()),
                "signature 'serving_default'", "classify needs", "exactly one input", "class_id", "probabilities");
        Path g = model("generate", List.of(PREFIX, LENGTH), List.of(CONTINUATION), generateGraph());
        assertRefusal(CliRuns.runRaw("classify", "--model", g.toString(), "--skip-verification", "--signature", "generate",
                "--format", "frozen", image.toString()), "signature 'generate'", "classify needs");
        assertRefusal(CliRuns.runRaw("classify", "--model", g.toString(), "--skip-verification", image.toString()),
                "signature \"serving_default\" not found");
    }

    @Test
    void classifyRefusesMissingOrUnreadableImages() throws IOException {
        Path m = model("serving_default", List.of(IMAGES), List.of(CLASS_ID, PROBABILITIES), null);
        Path good = file("good.png", new byte[] {1});
        String missing = temp.resolve("missing.png").toString();
        assertRefusal(CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", good.toString(), missing),
                "IMAGE '" + missing + "'", "no such file");
        String dir = Files.createDirectories(temp.resolve("a-folder.png")).toString();
        assertRefusal(CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", dir), "IMAGE '" + dir + "'");
        assertRefusal(CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification"), "IMAGE");
        assertRefusal(CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", "--format", "onnx", good.toString()),
                "--format");
        assertRefusal(CliRuns.runRaw("classify", "--model", temp.resolve("nowhere").toString(), good.toString()));
    }

    @Test
    void generateRefusesBadFlags() throws IOException {
        Path m = model("generate", List.of(PREFIX, LENGTH), List.of(CONTINUATION), null);
        for (String bad : List.of("-1", "10001", "99999999999")) {
            assertRefusal(CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--prefix", "a", "--length", bad),
                    "--length", "0..10000", bad);
        }
        assertRefusal(CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--prefix", "a", "--length", "ten"),
                "--length");
        assertRefusal(CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification"), "--prefix");
        assertRefusal(CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--prefix", "a", "--signature", "other"),
                "signature \"other\" not found");
    }

    @Test
    void generateRefusesASignatureOfAnotherShape() throws IOException {
        Path m = model("generate", List.of(PREFIX, spec("length", "DT_INT64")), List.of(CONTINUATION), null);
        assertRefusal(CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--prefix", "a"),
                "signature 'generate'", "generate needs", "'length' (DT_INT64, shape ())");
        Path c = model("serving_default", List.of(IMAGES), List.of(CLASS_ID, PROBABILITIES), classifyGraph());
        assertRefusal(CliRuns.runRaw("generate", "--model", c.toString(), "--skip-verification", "--signature", "serving_default",
                "--format", "frozen", "--prefix", "a"), "generate needs", "no input 'prefix'");
    }

    @Test
    void linearModelFitsNeither() throws IOException {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        Path image = file("a.png", new byte[] {1});
        assertRefusal(CliRuns.runRaw("classify", "--model", TestSupport.LINEAR.toString(), image.toString()),
                "signature 'serving_default'", "classify needs", "'x' (DT_DOUBLE");
        assertRefusal(CliRuns.runRaw("generate", "--model", TestSupport.LINEAR.toString(), "--prefix", "a"),
                "signature \"generate\" not found");
        assertRefusal(CliRuns.runRaw("generate", "--model", TestSupport.LINEAR.toString(), "--prefix", "a",
                "--signature", "serving_default"), "generate needs", "no input 'prefix'");
    }

    // ------------------------------------------------------------------------------------------
    // complete runs on frozen graphs (loads TensorFlow)

    @Test
    void classifyRunsThroughThePredictPath() throws IOException {
        Path m = model("serving_default", List.of(IMAGES), List.of(CLASS_ID, PROBABILITIES), classifyGraph());
        Path a = file("a.img", TestSupport.utf8("7"));
        Path b = file("b b.img", TestSupport.utf8("8"));
        CliRuns.RawRun r = CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", "--format", "frozen",
                a.toString(), b.toString(), a.toString());
        assertEquals(0, r.status(), r.stderr());
        assertEquals("", r.stderr());
        // 0.7f written as the shortest float32 form, not 0.699999988079071.
        assertEquals(a + "\tclass_id=1\tprobability=0.7\n" + b + "\tclass_id=2\tprobability=0.7\n"
                + a + "\tclass_id=1\tprobability=0.7\n", text(r));
        // A value TensorFlow cannot convert is a TensorFlow failure (status 1), not a refusal.
        Path bad = file("bad.img", TestSupport.utf8("seven"));
        r = CliRuns.runRaw("classify", "--model", m.toString(), "--skip-verification", "--format", "frozen", a.toString(), bad.toString());
        assertEquals(1, r.status(), r.stderr());
        assertEquals(0, r.stdout().length);
        assertOneErrorLine(r.stderr(), "TensorFlow", "seven");
    }

    @Test
    void generateWritesPrefixAndContinuationBytes() throws IOException {
        Path m = model("generate", List.of(PREFIX, LENGTH), List.of(CONTINUATION), generateGraph());
        CliRuns.RawRun r = CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--format", "frozen",
                "--prefix", "h\u00e9", "--length", "3");
        assertEquals(0, r.status(), r.stderr());
        assertEquals("", r.stderr());
        byte[] he = TestSupport.utf8("h\u00e9");
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        want.writeBytes(he);
        want.writeBytes(he);
        want.writeBytes(new byte[] {'3', (byte) 0xff, '\n'});
        assertArrayEquals(want.toByteArray(), r.stdout());
        r = CliRuns.runRaw("generate", "--model", m.toString(), "--skip-verification", "--format", "frozen", "--prefix", "");
        assertEquals(0, r.status(), r.stderr());
        assertArrayEquals(new byte[] {'1', '0', '0', (byte) 0xff, '\n'}, r.stdout(), "--length defaults to 100");
    }

    // ------------------------------------------------------------------------------------------
    // the producer's models

    private static byte[] png(int width, int height, int seed) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int v = (x * 37 + y * 91 + seed * 53) % 256;
                img.getRaster().setSample(x, y, 0, v);
            }
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, "png", b));
        return b.toByteArray();
    }

    /** Up to 4 of the version's samples/*.png, and two PNGs written here. */
    private List<String> digitImages() throws IOException {
        List<String> images = new ArrayList<>();
        Path samples = ModelLocation.resolve(DIGITS.toString(), null).dir().resolve("samples");
        if (Files.isDirectory(samples)) {
            try (Stream<Path> s = Files.list(samples)) {
                s.filter(p -> p.toString().endsWith(".png")).sorted().limit(4).forEach(p -> images.add(p.toString()));
            }
        }
        images.add(file("made-8x8.png", png(8, 8, 1)).toString());
        images.add(file("made-28x20.png", png(28, 20, 2)).toString());
        return images;
    }

    @Test
    void classifiesDigits() throws IOException {
        assumeTrue(TestSupport.modelPresent("digits"), "models/digits is absent: run the Python producer first");
        List<String> images = digitImages();
        List<String> args = new ArrayList<>(List.of("classify", "--model", DIGITS.toString()));
        args.addAll(images);
        CliRuns.RawRun r = CliRuns.runRaw(args.toArray(new String[0]));
        assertEquals(0, r.status(), r.stderr());
        assertEquals("", r.stderr());
        String[] lines = text(r).split("\n", -1);
        assertEquals(images.size() + 1, lines.length, text(r));
        assertEquals("", lines[images.size()]);

        // The same request through predict: each line is class_id[i] and probabilities[i][class_id[i]]
        // exactly as the response has them.
        List<byte[]> bytes = new ArrayList<>();
        for (String i : images) {
            bytes.add(Files.readAllBytes(Path.of(i)));
        }
        Json.Obj outputs;
        try (Model model = Model.open(ModelLocation.resolve(DIGITS.toString(), null), Model.Format.SAVED_MODEL,
                Model.Safety.DEFAULT, List.of(Main.DEFAULT_SIGNATURE), false)) {
            String alias = Conveniences.classifyInput(model.signature(Main.DEFAULT_SIGNATURE));
            String response = model.predict(Conveniences.classifyRequest(Main.DEFAULT_SIGNATURE, alias, bytes),
                    Main.DEFAULT_SIGNATURE);
            outputs = (Json.Obj) ((Json.Obj) Json.parse(TestSupport.utf8(response))).get("outputs");
        }
        Pattern line = Pattern.compile("(.*)\tclass_id=([0-9]+)\tprobability=(\\S+)");
        for (int i = 0; i < images.size(); i++) {
            Matcher mt = line.matcher(lines[i]);
            assertTrue(mt.matches(), lines[i]);
            assertEquals(images.get(i), mt.group(1));
            int c = Integer.parseInt(mt.group(2));
            assertTrue(c >= 0 && c < 10, lines[i]);
            assertEquals(((Json.Num) ((Json.Arr) outputs.get("class_id")).get(i)).text(), mt.group(2));
            Json.Arr row = (Json.Arr) ((Json.Arr) outputs.get("probabilities")).get(i);
            assertEquals(((Json.Num) row.get(c)).text(), mt.group(3));
            float p = Float.parseFloat(mt.group(3));
            assertTrue(p > 0 && p <= 1, lines[i]);
        }

        // The frozen graph gives the same classes.
        if (Files.isRegularFile(ModelLocation.resolve(DIGITS.toString(), null).dir()
                .resolve("frozen/serving_default.pb"))) {
            args.add(1, "--format=frozen");
            CliRuns.RawRun f = CliRuns.runRaw(args.toArray(new String[0]));
            assertEquals(0, f.status(), f.stderr());
            String[] fl = text(f).split("\n", -1);
            for (int i = 0; i < images.size(); i++) {
                assertEquals(lines[i].replaceAll("\tprobability=.*", ""), fl[i].replaceAll("\tprobability=.*", ""));
            }
        }
    }

    @Test
    void undecodableImageIsATensorFlowFailure() throws IOException {
        assumeTrue(TestSupport.modelPresent("digits"), "models/digits is absent: run the Python producer first");
        Path good = file("good.png", png(8, 8, 3));
        Path bad = file("bad.png", TestSupport.utf8("this is not a PNG"));
        CliRuns.RawRun r = CliRuns.runRaw("classify", "--model", DIGITS.toString(), good.toString(),
                bad.toString());
        assertEquals(1, r.status(), r.stderr());
        assertEquals(0, r.stdout().length);
        assertOneErrorLine(r.stderr(), "TensorFlow");
        assertFalse(r.stderr().contains("Exception"), r.stderr());
    }

    @Test
    void generatesText() {
        assumeTrue(TestSupport.modelPresent("charlm"), "models/charlm is absent: run the Python producer first");
        byte[] prefix = TestSupport.utf8("The ");
        for (int length : new int[] {0, 1, 40}) {
            CliRuns.RawRun r = CliRuns.runRaw("generate", "--model", CHARLM.toString(), "--prefix", "The ",
                    "--length", Integer.toString(length));
            assertEquals(0, r.status(), r.stderr());
            assertEquals("", r.stderr());
            byte[] out = r.stdout();
            assertTrue(out.length >= prefix.length + 1, text(r));
            assertArrayEquals(prefix, java.util.Arrays.copyOf(out, prefix.length), text(r));
            assertEquals('\n', out[out.length - 1]);
            if (length == 0) {
                assertEquals(prefix.length + 1, out.length, "--length 0: " + text(r));
            }
        }
        // The same request through predict gives the same continuation.
        try (Model model = Model.open(ModelLocation.resolve(CHARLM.toString(), null), Model.Format.SAVED_MODEL,
                Model.Safety.DEFAULT, List.of(Main.DEFAULT_SIGNATURE), false)) {
            SignatureSpec sig = model.signature(Conveniences.GENERATE_SIGNATURE);
            String response = model.predict(Conveniences.generateRequest(sig.key(), "The ", 40), sig.key());
            byte[] cont = Conveniences.continuation(response, sig);
            CliRuns.RawRun r = CliRuns.runRaw("generate", "--model", CHARLM.toString(), "--prefix", "The ",
                    "--length", "40");
            ByteArrayOutputStream want = new ByteArrayOutputStream();
            want.writeBytes(prefix);
            want.writeBytes(cont);
            want.write('\n');
            assertArrayEquals(want.toByteArray(), r.stdout());
        }
    }
}
