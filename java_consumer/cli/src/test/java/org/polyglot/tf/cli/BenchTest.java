package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.DType;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.Numbers;
import org.polyglot.tf.internal.SessionConfig;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TensorSpec;
import org.polyglot.tf.internal.TestSupport;
import org.polyglot.tf.internal.TfSession;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RewriterConfig;

/** {@code bench}: flags, generated inputs, nearest-rank percentiles, JSON, and a short run. */
class BenchTest {

    @TempDir
    Path temp;

    private static TensorSpec spec(String dtype, long... shape) {
        return new TensorSpec("x", "x:0", dtype, shape);
    }

    private static Bench.Options options(long[] sizes, double seconds, int intra, int inter) {
        return new Bench.Options("serving_default", Model.Format.SAVED_MODEL, sizes, seconds, intra, inter);
    }

    // ---- flags ----

    @Test
    void batchSizesParse() {
        assertArrayEquals(new long[] {1, 8, 64, 512, 4096}, Bench.parseBatchSizes(Bench.DEFAULT_BATCH_SIZES));
        assertArrayEquals(new long[] {3, 1, 3}, Bench.parseBatchSizes("3, 1 ,3"));
    }

    @Test
    void badBatchSizesAreRefusals() {
        for (String bad : new String[] {"", " ", "1,,2", "1,", "0", "1,-4", "x", "1.5", "99999999999999999999"}) {
            StatusException e = assertThrows(StatusException.class, () -> Bench.parseBatchSizes(bad), bad);
            assertEquals(Code.INVALID_ARGUMENT, e.code(), bad);
            assertTrue(e.getMessage().contains("--batch-sizes"), e.getMessage());
        }
        assertThrows(StatusException.class, () -> options(new long[0], 1, 0, 0));
        assertThrows(StatusException.class, () -> options(new long[] {0}, 1, 0, 0));
    }

    @Test
    void badSecondsAndThreadsAreRefusals() {
        for (double s : new double[] {0, -0.0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            StatusException e = assertThrows(StatusException.class, () -> options(new long[] {1}, s, 0, 0));
            assertEquals(Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("--seconds"), e.getMessage());
        }
        StatusException e = assertThrows(StatusException.class, () -> options(new long[] {1}, 1, -1, 0));
        assertTrue(e.getMessage().contains("--intra-op-threads"), e.getMessage());
        e = assertThrows(StatusException.class, () -> options(new long[] {1}, 1, 0, -1));
        assertTrue(e.getMessage().contains("--inter-op-threads"), e.getMessage());
        Bench.Options ok = options(new long[] {2, 1}, 0.001, 4, 2);
        assertArrayEquals(new long[] {2, 1}, ok.batchSizes());
    }

    @Test
    void badFlagsOnTheCommandLineAreOneLineRefusals() {
        String model = TestSupport.LINEAR.toString();
        String[][] cases = {
            {"--seconds", "0"}, {"--seconds", "-2"}, {"--seconds", "abc"}, {"--batch-sizes", ""},
            {"--batch-sizes", "1,0"}, {"--batch-sizes", "8,,64"}, {"--intra-op-threads", "-1"},
            {"--inter-op-threads", "-3"}, {"--format", "onnx"},
        };
        for (String[] c : cases) {
            CliRuns.Run r = CliRuns.run(new byte[0], "bench", "--model", model, c[0], c[1]);
            String what = String.join(" ", c);
            assertEquals(2, r.status(), what + ": " + r.stderr());
            assertEquals("", r.stdout(), what);
            assertTrue(r.stderr().startsWith("java_consumer: error: "), what + ": " + r.stderr());
            assertEquals(1, r.stderr().lines().count(), what + ": " + r.stderr());
        }
        CliRuns.Run r = CliRuns.run(new byte[0], "bench");
        assertEquals(2, r.status(), "--model is required");
    }

    @Test
    void threadFlagsBecomeAConfigProto() throws Exception {
        ConfigProto c = ConfigProto.parseFrom(Bench.sessionConfig(3, 2));
        assertEquals(3, c.getIntraOpParallelismThreads());
        assertEquals(2, c.getInterOpParallelismThreads());
        assertEquals(RewriterConfig.Toggle.OFF, c.getGraphOptions().getRewriteOptions().getConstantFolding(),
                "tests/CONTRACT.md, \"Numeric configuration\": constant folding is off");
        assertEquals(SessionConfig.proto(3, 2), c, "built by the one SessionConfig function");
        byte[] none = Bench.sessionConfig(0, 0);
        assertNotNull(none, "0/0 is no longer TensorFlow's default config");
        assertArrayEquals(SessionConfig.contract(), none, "0/0 is exactly the other commands' config");
        ConfigProto z = ConfigProto.parseFrom(none);
        assertEquals(0, z.getIntraOpParallelismThreads());
        assertEquals(0, z.getInterOpParallelismThreads());
        assertEquals(RewriterConfig.Toggle.OFF, z.getGraphOptions().getRewriteOptions().getConstantFolding());
    }

    // ---- inputs ----

    @Test
    void inputShapeUsesBatchForDimZeroAndOneForOtherUnknownDims() {
        assertArrayEquals(new long[] {7, 3, 1}, Bench.inputShape(spec("DT_FLOAT", -1, 3, -1), 7));
        assertArrayEquals(new long[] {7, 1}, Bench.inputShape(spec("DT_DOUBLE", -1, -1), 7));
        assertArrayEquals(new long[] {7}, Bench.inputShape(spec("DT_FLOAT", 2), 7), "dim 0 is the batch size");
        assertArrayEquals(new long[] {}, Bench.inputShape(spec("DT_FLOAT"), 7), "rank 0 is a scalar");
    }

    @Test
    void floatingInputsAreKMod1000Over1000() {
        HostTensor d = Bench.input(spec("DT_DOUBLE", -1), 1002);
        assertArrayEquals(new long[] {1002}, d.shape());
        assertEquals(0.0, d.data().getDouble(0));
        assertEquals(0.001, d.data().getDouble(8));
        assertEquals(0.999, d.data().getDouble(999 * 8));
        assertEquals(0.0, d.data().getDouble(1000 * 8));
        assertEquals(0.001, d.data().getDouble(1001 * 8));

        HostTensor f = Bench.input(spec("DT_FLOAT", -1, 3), 400);
        assertArrayEquals(new long[] {400, 3}, f.shape());
        for (int k = 0; k < 1200; k++) {
            assertEquals((k % 1000) / 1000f, f.data().getFloat(k * 4), "element " + k);
        }

        HostTensor h = Bench.input(spec("DT_HALF", -1), 1000);
        assertEquals(0, h.data().getShort(0));
        assertEquals((short) 0x3800, h.data().getShort(500 * 2), "0.5");
        assertEquals((short) 0x3400, h.data().getShort(250 * 2), "0.25");
        assertEquals(Numbers.doubleToHalf(0.123), h.data().getShort(123 * 2));
    }

    @Test
    void integerInputsAreKMod100AndBoolsKMod2() {
        for (String dt : new String[] {"DT_INT8", "DT_UINT8", "DT_INT16", "DT_UINT16", "DT_INT32", "DT_UINT32",
            "DT_INT64", "DT_UINT64"}) {
            HostTensor t = Bench.input(spec(dt, -1, 2), 60);
            ByteBuffer b = t.data();
            int size = t.dtype().byteSize();
            for (int k = 0; k < 120; k++) {
                long v = switch (size) {
                    case 1 -> b.get(k);
                    case 2 -> b.getShort(k * 2);
                    case 4 -> b.getInt(k * 4);
                    default -> b.getLong(k * 8);
                };
                assertEquals(k % 100, v, dt + " element " + k);
            }
        }
        HostTensor bools = Bench.input(spec("DT_BOOL", -1), 5);
        byte[] got = new byte[5];
        bools.data().get(0, got);
        assertArrayEquals(new byte[] {0, 1, 0, 1, 0}, got);

        HostTensor scalar = Bench.input(spec("DT_INT32"), 64);
        assertEquals(0, scalar.rank());
        assertEquals(0, scalar.data().getInt(0));
    }

    @Test
    void inputsThatCannotBeGeneratedAreRefusals() {
        SignatureSpec strings = TestSupport.signature(
                java.util.Map.of("s", new TensorSpec("s", "s:0", "DT_STRING", new long[] {-1})),
                java.util.Map.of("y", new TensorSpec("y", "y:0", "DT_FLOAT", new long[] {-1})));
        StatusException e = assertThrows(StatusException.class, () -> Bench.checkInputs(strings));
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("'s'"), e.getMessage());
        SignatureSpec unknownRank = TestSupport.signature(
                java.util.Map.of("u", new TensorSpec("u", "u:0", "DT_FLOAT", null)),
                java.util.Map.of("y", new TensorSpec("y", "y:0", "DT_FLOAT", new long[] {-1})));
        e = assertThrows(StatusException.class, () -> Bench.checkInputs(unknownRank));
        assertTrue(e.getMessage().contains("'u'") && e.getMessage().contains("rank"), e.getMessage());
        SignatureSpec unsupported = TestSupport.signature(
                java.util.Map.of("c", new TensorSpec("c", "c:0", "DT_COMPLEX64", new long[] {-1})),
                java.util.Map.of("y", new TensorSpec("y", "y:0", "DT_FLOAT", new long[] {-1})));
        assertThrows(StatusException.class, () -> Bench.checkInputs(unsupported));
        Bench.checkInputs(TestSupport.linearSignature());
        assertThrows(StatusException.class, () -> Bench.input(spec("DT_FLOAT", -1, 1 << 20), 1 << 12),
                "a tensor over 2 GiB is refused");
    }

    // ---- statistics and output ----

    @Test
    void nearestRankPercentile() {
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = i + 1;
        }
        assertEquals(99, Bench.nearestRank(hundred, 100, 99));
        assertEquals(50, Bench.nearestRank(hundred, 100, 50));
        assertEquals(100, Bench.nearestRank(hundred, 100, 100));
        assertEquals(1, Bench.nearestRank(hundred, 100, 1));
        assertEquals(5, Bench.nearestRank(hundred, 5, 99), "ceil(4.95) = 5");
        assertEquals(3, Bench.nearestRank(hundred, 5, 50), "ceil(2.5) = 3");
        assertEquals(5, Bench.nearestRank(hundred, 10, 50), "ceil(5) = 5");
        assertEquals(1, Bench.nearestRank(hundred, 1, 99));
        long[] big = new long[1000];
        for (int i = 0; i < big.length; i++) {
            big[i] = i + 1;
        }
        assertEquals(990, Bench.nearestRank(big, 1000, 99));
        assertThrows(IllegalArgumentException.class, () -> Bench.nearestRank(hundred, 0, 50));
        assertEquals(3.0, Bench.median(new long[] {1, 3, 8}, 3));
        assertEquals(2.5, Bench.median(new long[] {1, 2, 3, 4}, 4), "even count: mean of the two middle ones");
        assertEquals(7.0, Bench.median(new long[] {7}, 1));
        assertThrows(IllegalArgumentException.class, () -> Bench.median(hundred, 0));
        assertThrows(IllegalArgumentException.class, () -> Bench.nearestRank(hundred, 10, 0));
    }

    @Test
    void resultSummarizesCallTimes() {
        long[] times = {5000, 1000, 4000, 2000, 3000, 0, 0};
        Bench.Result r = Bench.Result.of(8, times, 5);
        assertEquals(5, r.calls());
        assertEquals(3000.0, r.medianNanos());
        assertEquals(2500.0, Bench.Result.of(1, new long[] {4000, 1000, 3000, 2000}, 4).medianNanos());
        assertEquals(5000, r.p99Nanos());
        assertEquals(15000, r.totalNanos());
        assertEquals(3.0, r.meanMicros(), 1e-12);
        assertEquals(8 * 5 / 15e-6, r.rowsPerSecond(), 1e-3);
    }

    @Test
    void jsonHasTheContractFieldsInPlainDecimals() {
        assertEquals("22.0", Bench.decimal(22, 3));
        assertEquals("21.875", Bench.decimal(21.875, 3));
        assertEquals("0.001", Bench.decimal(0.0012, 3));
        assertEquals("123456789.1", Bench.decimal(123456789.06, 1));
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        ModelLocation loc = ModelLocation.resolve(TestSupport.LINEAR.toString(), null);
        Bench.Result r = Bench.Result.of(4, new long[] {21900, 22000, 35200}, 3);
        Bench.Result even = Bench.Result.of(64, new long[] {21900, 22000}, 2);
        String json = Bench.json(loc, options(new long[] {4, 64}, 2, 1, 0), "2.21.0", List.of(r, even));
        Json.Obj o = (Json.Obj) Json.parse(TestSupport.utf8(json));
        assertEquals(List.of("runtime", "tensorflow_version", "model", "signature", "format", "intra_op_threads",
                "inter_op_threads", "results"), new ArrayList<>(o.members().keySet()));
        assertEquals(new Json.Str("java"), o.get("runtime"));
        assertEquals(new Json.Str(loc.shown()), o.get("model"));
        assertEquals(new Json.Str("saved_model"), o.get("format"));
        assertEquals("1", ((Json.Num) o.get("intra_op_threads")).text());
        Json.Obj row = (Json.Obj) ((Json.Arr) o.get("results")).get(0);
        assertEquals(List.of("batch_size", "calls", "median_us", "p99_us", "mean_us", "rows_per_second"),
                new ArrayList<>(row.members().keySet()));
        assertEquals("22.0", ((Json.Num) row.get("median_us")).text());
        assertEquals("35.2", ((Json.Num) row.get("p99_us")).text());
        assertEquals("26.367", ((Json.Num) row.get("mean_us")).text());
        assertEquals("151706.7", ((Json.Num) row.get("rows_per_second")).text());
        Json.Obj row2 = (Json.Obj) ((Json.Arr) o.get("results")).get(1);
        assertEquals("21.95", ((Json.Num) row2.get("median_us")).text());
        assertFalse(json.contains("\n"));
    }

    // ---- the native path ----

    /** A frozen graph with one Identity per numeric dtype: in_<code> -> out_<code>. */
    private Path identityGraph(List<DType> dtypes) throws IOException {
        GraphDef.Builder g = GraphDef.newBuilder();
        for (DType d : dtypes) {
            AttrValue type = AttrValue.newBuilder().setType(DataType.forNumber(d.code())).build();
            g.addNode(NodeDef.newBuilder().setName("in_" + d.code()).setOp("Placeholder").putAttr("dtype", type));
            g.addNode(NodeDef.newBuilder().setName("out_" + d.code()).setOp("Identity").addInput("in_" + d.code())
                    .putAttr("T", type));
        }
        return Files.write(temp.resolve("identity.pb"), g.build().toByteArray());
    }

    @Test
    void preparedRunFeedsGeneratedInputsAndReadsEveryOutput() throws IOException {
        List<DType> dtypes = new ArrayList<>();
        for (DType d : DType.values()) {
            if (d != DType.STRING) {
                dtypes.add(d);
            }
        }
        byte[] config = Bench.sessionConfig(1, 1);
        try (TfSession s = TfSession.loadFrozenGraph(identityGraph(dtypes), config)) {
            List<String> in = new ArrayList<>();
            List<String> out = new ArrayList<>();
            for (DType d : dtypes) {
                in.add("in_" + d.code() + ":0");
                out.add("out_" + d.code() + ":0");
            }
            try (TfSession.PreparedRun run = s.prepare(in, out)) {
                assertThrows(IllegalStateException.class, run::run, "inputs not fed yet");
                for (long batch : new long[] {3, 1, 1500}) {
                    List<HostTensor> fed = new ArrayList<>();
                    long bytes = 0;
                    for (int i = 0; i < dtypes.size(); i++) {
                        HostTensor t = Bench.input(new TensorSpec("x", in.get(i), dtypes.get(i).tfName(),
                                new long[] {-1, -1}), batch);
                        fed.add(t);
                        bytes += t.data().capacity();
                        run.feed(i, t);
                    }
                    for (int round = 0; round < 3; round++) {
                        assertEquals(bytes, run.run());
                        for (int i = 0; i < dtypes.size(); i++) {
                            assertEquals(fed.get(i).data(), ByteBuffer.wrap(run.lastOutput(i)),
                                    dtypes.get(i).tfName() + " batch " + batch);
                        }
                    }
                }
                Bench.Result r = Bench.measure(run, 1500, 0.01);
                assertTrue(r.calls() >= Bench.MIN_CALLS);
                assertTrue(r.medianNanos() > 0 && r.medianNanos() <= r.p99Nanos());
            }
            StatusException e = assertThrows(StatusException.class,
                    () -> s.prepare(List.of("no_such_op:0"), List.of("out_1:0")));
            assertEquals(Code.FAILED_PRECONDITION, e.code(), "a tensor name the graph does not have");
        }
    }

    @Test
    void tensorFlowRejectsABadConfigAsARefusal() throws IOException {
        Path graph = identityGraph(List.of(DType.FLOAT));
        StatusException e = assertThrows(StatusException.class,
                () -> TfSession.loadFrozenGraph(graph, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}));
        assertEquals(Code.INVALID_ARGUMENT, e.code());
    }

    @Test
    void benchRunsOnLinear() {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        for (String[] extra : new String[][] {{}, {"--format", "frozen", "--intra-op-threads", "1",
            "--inter-op-threads", "1"}}) {
            List<String> args = new ArrayList<>(List.of("bench", "--model", TestSupport.LINEAR.toString(),
                    "--batch-sizes", "1,16", "--seconds", "0.02"));
            args.addAll(List.of(extra));
            CliRuns.Run r = CliRuns.run(new byte[0], args.toArray(new String[0]));
            assertEquals(0, r.status(), r.stderr());
            assertEquals("", r.stderr());
            assertTrue(r.stdout().endsWith("}\n") && r.stdout().lines().count() == 1, r.stdout());
            Json.Obj o = (Json.Obj) Json.parse(TestSupport.utf8(r.stdout()));
            assertEquals(new Json.Str("java"), o.get("runtime"));
            assertEquals(new Json.Str("2.21.0"), o.get("tensorflow_version"));
            assertEquals(new Json.Str("serving_default"), o.get("signature"));
            assertEquals(new Json.Str(extra.length == 0 ? "saved_model" : "frozen"), o.get("format"));
            String model = ((Json.Str) o.get("model")).value();
            assertTrue(Path.of(model).isAbsolute() && Files.isRegularFile(Path.of(model, "saved_model.pb")), model);
            Json.Arr results = (Json.Arr) o.get("results");
            assertEquals(2, results.size());
            long[] sizes = {1, 16};
            for (int i = 0; i < 2; i++) {
                Json.Obj row = (Json.Obj) results.get(i);
                assertEquals(Long.toString(sizes[i]), ((Json.Num) row.get("batch_size")).text());
                assertTrue(Long.parseLong(((Json.Num) row.get("calls")).text()) >= Bench.MIN_CALLS);
                double median = Double.parseDouble(((Json.Num) row.get("median_us")).text());
                double p99 = Double.parseDouble(((Json.Num) row.get("p99_us")).text());
                assertTrue(median > 0 && median <= p99, row.toString());
                assertTrue(Double.parseDouble(((Json.Num) row.get("rows_per_second")).text()) > 0);
            }
        }
    }

    @Test
    void benchRefusesAStringInput() {
        assumeTrue(TestSupport.modelPresent("dtypes"), "models/dtypes is absent");
        CliRuns.Run r = CliRuns.run(new byte[0], "bench", "--model",
                TestSupport.REPO.resolve("models/dtypes").toString(), "--seconds", "0.01");
        assertEquals(2, r.status(), r.stderr());
        assertTrue(r.stderr().startsWith("java_consumer: error: bench needs numeric or bool inputs"), r.stderr());
        assertEquals(1, r.stderr().lines().count());
    }
}
