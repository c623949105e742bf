package org.polyglot.tf.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/** The public API on the zoo's linear model: open, signatures, call, close, refusals, threads. */
class ModelApiTest {

    static final Path LINEAR = org.polyglot.tf.internal.TestSupport.LINEAR;

    static Path latestLinear() {
        assumeTrue(Files.isDirectory(LINEAR), "models/linear is missing (make models)");
        try (Stream<Path> s = Files.list(LINEAR)) {
            return s.filter(p -> p.getFileName().toString().matches("[0-9]+"))
                    .filter(p -> Files.exists(p.resolve("saved_model.pb")))
                    .max((a, b) -> Long.compare(Long.parseLong(a.getFileName().toString()),
                            Long.parseLong(b.getFileName().toString())))
                    .orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void opensTheHighestVersionAndListsItsSignatures() {
        Path latest = latestLinear();
        try (Model m = Model.loader(LINEAR).withTags("serve").withThreads(1, 1).load()) {
            assertEquals(latest.getFileName().toString(), m.version().toString());
            assertTrue(m.signatures().containsKey("serving_default"), m.signatures().keySet().toString());
            Signature s = m.function("serving_default");
            TensorSpec x = s.inputs().values().iterator().next();
            assertEquals(org.polyglot.tf.api.DataType.DOUBLE, x.dataType());
            assertEquals(2, x.shape().length);
            assertEquals(-1, x.shape()[0]);
        }
    }

    @Test
    void callMatchesTheGoldenResponse() throws IOException {
        Path v = latestLinear();
        String golden = Files.readString(v.resolve("golden/seed_example_rows.response.json")).strip().replace(" ", "");
        try (Model m = Model.load(v)) {
            Signature s = m.function("serving_default");
            String in = s.inputs().keySet().iterator().next();
            String out = s.outputs().keySet().iterator().next();
            try (Tensor x = Tensor.ofDoubles(new long[] {4, 1}, 0.0, 1.0, -1.0, 2.0)) {
                Map<String, Tensor> result = s.call(Map.of(in, x));
                Tensor y = result.get(out);
                assertArrayEquals(new long[] {4, 1}, y.shape());
                double[] got = y.doubles();
                assertEquals(4, got.length);
                assertEquals(4, y.asDoubleBuffer().remaining());
                assertTrue(golden.contains(Double.toString(got[0])), golden + " vs " + got[0]);
                result.values().forEach(Tensor::close);
            }
            byte[] request = Files.readAllBytes(v.resolve("golden/seed_example_rows.request.json"));
            assertEquals(golden, new String(RestJson.predict(m, request, "serving_default"), StandardCharsets.UTF_8));
        }
    }

    @Test
    void frozenGraphsAnswerTheSame() throws IOException {
        Path v = latestLinear();
        byte[] request = Files.readAllBytes(v.resolve("golden/seed_example_rows.request.json"));
        String golden = Files.readString(v.resolve("golden/seed_example_rows.response.json")).strip().replace(" ", "");
        try (Model m = Model.loader(v).withFormat(Model.Format.FROZEN_GRAPH).load()) {
            assertTrue(m.signatures().containsKey("serving_default"));
            RestJson.Request r = RestJson.decode(m, request, "serving_default");
            Map<String, Tensor> out = r.signature().call(r.inputs());
            assertEquals(golden, new String(RestJson.encode(r, out), StandardCharsets.UTF_8));
        }
    }

    @Test
    void refusalsCarryTheCanonicalCode() {
        Path v = latestLinear();
        ModelException e = assertThrows(ModelException.class, () -> Model.load(LINEAR.resolve("no-such-model")));
        assertEquals(ModelException.Code.NOT_FOUND, e.code());
        try (Model m = Model.load(v)) {
            assertEquals(ModelException.Code.NOT_FOUND,
                    assertThrows(ModelException.class, () -> m.function("nope")).code());
            Signature s = m.function("serving_default");
            String in = s.inputs().keySet().iterator().next();
            try (Tensor f = Tensor.ofFloats(new long[] {1, 1}, 1f)) {
                assertEquals(ModelException.Code.INVALID_ARGUMENT,
                        assertThrows(ModelException.class, () -> s.call(Map.of(in, f))).code());
            }
            ModelException missing = assertThrows(ModelException.class, () -> s.call(Map.of()));
            assertEquals(ModelException.Code.INVALID_ARGUMENT, missing.code());
            // The JSON request's own alias check and wording (PredictRequest.checkAliases).
            assertTrue(missing.getMessage().startsWith("the call of signature \"serving_default\" is missing input 'x'"),
                    missing.getMessage());
            assertEquals(ModelException.Code.INVALID_ARGUMENT, assertThrows(ModelException.class,
                    () -> RestJson.decode(m, "{".getBytes(StandardCharsets.UTF_8), "serving_default")).code());
            m.close();
            try (Tensor x = Tensor.ofDoubles(new long[] {1, 1}, 1.0)) {
                assertEquals(ModelException.Code.FAILED_PRECONDITION,
                        assertThrows(ModelException.class, () -> s.call(Map.of(in, x))).code());
            }
        }
        assertEquals(ModelException.Code.INVALID_ARGUMENT,
                assertThrows(ModelException.class, () -> Model.loader(v).withTags("train")).code());
        assertEquals(ModelException.Code.INVALID_ARGUMENT,
                assertThrows(ModelException.class, () -> Tensor.ofDoubles(new long[] {2}, 1.0)).code());
    }

    @Test
    void aTamperedVersionIsRefusedUnlessVerificationIsSkipped(@TempDir Path tmp) throws IOException {
        Path src = latestLinear();
        Path copy = tmp.resolve("1");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path to = copy.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        Files.writeString(copy.resolve("assets/extra.txt"), "not in the manifest");
        ModelException e = assertThrows(ModelException.class, () -> Model.load(copy));
        assertEquals(ModelException.Code.FAILED_PRECONDITION, e.code());
        try (Model m = Model.loader(copy).withoutVerification().load()) {
            assertTrue(m.signatures().containsKey("serving_default"));
        }
    }

    @Test
    void unsafeOpsAreRefusedByDefault(@TempDir Path tmp) throws IOException {
        Path v = Files.createDirectories(tmp.resolve("1"));
        AttrValue str = AttrValue.newBuilder().setType(DataType.DT_STRING).build();
        GraphDef g = GraphDef.newBuilder()
                .addNode(NodeDef.newBuilder().setName("x").setOp("Placeholder").putAttr("dtype", str))
                .addNode(NodeDef.newBuilder().setName("r").setOp("ReadFile").addInput("x"))
                .build();
        SignatureDef sig = SignatureDef.newBuilder()
                .putInputs("x", TensorInfo.newBuilder().setName("x:0").setDtype(DataType.DT_STRING).build())
                .putOutputs("y", TensorInfo.newBuilder().setName("r:0").setDtype(DataType.DT_STRING).build())
                .setMethodName("tensorflow/serving/predict").build();
        MetaGraphDef mg = MetaGraphDef.newBuilder()
                .setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder().addTags("serve"))
                .setGraphDef(g).putSignatureDef("serving_default", sig).build();
        Files.write(v.resolve("saved_model.pb"), SavedModel.newBuilder().addMetaGraphs(mg).build().toByteArray());
        ModelException e = assertThrows(ModelException.class, () -> Model.loader(v).withoutVerification().load());
        assertEquals(ModelException.Code.FAILED_PRECONDITION, e.code());
        // The catalog's library text of op_file_name_not_fed: no command-line flag in it.
        assertEquals("op ReadFile (node \"r\" in the graph) is not allowed: its file name (input 0) is not a path "
                + "the loader feeds inside the version folder; allow the op ReadFile to accept it", e.getMessage());
        try (Model m = Model.loader(v).withoutVerification().allowOps("ReadFile").load()) {
            assertTrue(m.signatures().containsKey("serving_default"));
        }

        // Verification on (the default) and no manifest.json: manifest_missing's library text.
        e = assertThrows(ModelException.class, () -> Model.load(v));
        assertEquals(ModelException.Code.FAILED_PRECONDITION, e.code());
        assertEquals(v + " has no manifest.json to verify; turn verification off to load an unverified model",
                e.getMessage());
        // The frozen graph format without a manifest to name the graphs: frozen_needs_manifest's.
        e = assertThrows(ModelException.class,
                () -> Model.loader(v).withoutVerification().withFormat(Model.Format.FROZEN_GRAPH).load());
        assertEquals(ModelException.Code.FAILED_PRECONDITION, e.code());
        assertEquals("the frozen graph format needs " + v + "/manifest.json, which is missing", e.getMessage());
    }

    @Test
    void anEmptyPathIsRefusedWithoutNamingAFlag() {
        ModelException e = assertThrows(ModelException.class, () -> Model.load(Path.of("")));
        assertEquals(ModelException.Code.INVALID_ARGUMENT, e.code());
        assertEquals("the model path is empty; expected a model folder or a version folder", e.getMessage());
    }

    @Test
    void callsFromSeveralThreadsAgree() throws Exception {
        try (Model m = Model.load(latestLinear())) {
            Signature s = m.function("serving_default");
            String in = s.inputs().keySet().iterator().next();
            String out = s.outputs().keySet().iterator().next();
            double[] expected;
            try (Tensor x = Tensor.ofDoubles(new long[] {3, 1}, 1.0, 2.0, 3.0)) {
                expected = s.call(Map.of(in, x)).get(out).doubles();
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<double[]>> results = new ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    results.add(pool.submit(() -> {
                        try (Tensor x = Tensor.ofDoubles(new long[] {3, 1}, 1.0, 2.0, 3.0)) {
                            return s.call(Map.of(in, x)).get(out).doubles();
                        }
                    }));
                }
                for (Future<double[]> f : results) {
                    assertArrayEquals(expected, f.get());
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void tensorsRoundTripTheirBuffers() {
        try (Tensor t = Tensor.ofLongs(new long[] {2, 2}, 1, 2, 3, 4);
                Tensor s = Tensor.ofStrings(new long[] {2}, "a".getBytes(StandardCharsets.UTF_8), new byte[] {0, -1})) {
            assertEquals(org.polyglot.tf.api.DataType.INT64, t.dataType());
            assertArrayEquals(new long[] {1, 2, 3, 4}, t.longs());
            assertEquals(32, t.asByteBuffer().remaining());
            assertArrayEquals(new byte[] {0, -1}, s.strings()[1]);
            t.close();
            assertThrows(ModelException.class, t::longs);
        }
    }
}
