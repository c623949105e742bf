package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.DType;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.Numbers;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.polyglot.tf.internal.TfSession;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

/** The native path: TensorFlow 2.21.0 through the C API (loads the native library). */
class TfSessionTest {

    @TempDir
    Path temp;

    @Test
    void runtimeIsTensorFlow2210() {
        assertEquals("2.21.0", TfSession.runtimeVersion());
    }

    /** A frozen graph with one Identity per dtype: in_<code> -> out_<code>. */
    private Path identityGraph() throws IOException {
        GraphDef.Builder g = GraphDef.newBuilder();
        for (DType d : DType.values()) {
            AttrValue type = AttrValue.newBuilder().setType(DataType.forNumber(d.code())).build();
            g.addNode(NodeDef.newBuilder().setName("in_" + d.code()).setOp("Placeholder").putAttr("dtype", type));
            g.addNode(NodeDef.newBuilder().setName("out_" + d.code()).setOp("Identity").addInput("in_" + d.code())
                    .putAttr("T", type));
        }
        return Files.write(temp.resolve("identity.pb"), g.build().toByteArray());
    }

    private static HostTensor numeric(DType d, long[] shape, int seed) {
        ByteBuffer b = HostTensor.allocate(d, shape);
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) (i * 31 + seed));
        }
        if (d == DType.BOOL) {
            for (int i = 0; i < b.capacity(); i++) {
                b.put(i, (byte) (i % 2));
            }
        }
        return HostTensor.numeric(d, shape, b);
    }

    @Test
    void everyDtypeRoundTripsThroughTensorFlow() throws IOException {
        byte[][] strings = {
            "".getBytes(StandardCharsets.UTF_8),
            "short".getBytes(StandardCharsets.UTF_8),
            "a string longer than the 22 bytes kept inline in a TF_TString".getBytes(StandardCharsets.UTF_8),
            {0, (byte) 0xff, 0, (byte) 0x80, 10},
        };
        try (TfSession s = TfSession.loadFrozenGraph(identityGraph())) {
            List<String> in = new ArrayList<>();
            List<String> out = new ArrayList<>();
            List<HostTensor> values = new ArrayList<>();
            for (DType d : DType.values()) {
                in.add("in_" + d.code() + ":0");
                out.add("out_" + d.code());
                values.add(d == DType.STRING ? HostTensor.strings(new long[] {2, 2}, strings)
                        : numeric(d, new long[] {2, 3}, d.code()));
            }
            for (int round = 0; round < 3; round++) {
                List<HostTensor> got = s.run(in, values, out);
                for (int i = 0; i < values.size(); i++) {
                    HostTensor want = values.get(i);
                    HostTensor have = got.get(i);
                    assertEquals(want.dtype(), have.dtype());
                    assertArrayEquals(want.shape(), have.shape());
                    if (want.dtype() == DType.STRING) {
                        for (int k = 0; k < strings.length; k++) {
                            assertArrayEquals(strings[k], have.strings()[k]);
                        }
                    } else {
                        assertEquals(want.data(), have.data(), want.dtype().tfName());
                    }
                }
            }
            // Scalars and empty tensors.
            ByteBuffer one = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, -0.0);
            HostTensor scalar = HostTensor.numeric(DType.DOUBLE, new long[] {}, one);
            HostTensor empty = HostTensor.strings(new long[] {0, 3}, new byte[0][]);
            List<HostTensor> got = s.run(List.of("in_2", "in_7"), List.of(scalar, empty), List.of("out_2:0", "out_7:0"));
            assertEquals(0, got.get(0).rank());
            assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(got.get(0).data().getDouble(0)));
            assertArrayEquals(new long[] {0, 3}, got.get(1).shape());
        }
    }

    @Test
    void tensorFlowErrorsAreReportedNotFatal() throws IOException {
        try (TfSession s = TfSession.loadFrozenGraph(identityGraph())) {
            HostTensor f = numeric(DType.FLOAT, new long[] {2}, 1);
            StatusException e = assertThrows(StatusException.class,
                    () -> s.run(List.of("in_3:0"), List.of(f), List.of("out_3:0")));
            assertEquals(Code.INTERNAL, e.code(), "a TensorFlow error at run time is INTERNAL");
            e = assertThrows(StatusException.class, () -> s.run(List.of(), List.of(), List.of("no_such_op:0")));
            assertEquals(Code.FAILED_PRECONDITION, e.code(), "a tensor name the graph does not have");
            e = assertThrows(StatusException.class, () -> s.run(List.of(), List.of(), List.of("out_3:0")));
            assertTrue(e.getMessage().contains("TensorFlow"), e.getMessage());
        }
        Path garbage = Files.write(temp.resolve("garbage.pb"), new byte[] {1, 2, 3, 4});
        assertEquals(Code.FAILED_PRECONDITION,
                assertThrows(StatusException.class, () -> TfSession.loadFrozenGraph(garbage)).code());
        assertEquals(Code.FAILED_PRECONDITION,
                assertThrows(StatusException.class, () -> TfSession.loadSavedModel(temp)).code(),
                "a model TensorFlow cannot load may not be run as it is");
    }

    static Stream<Path> goldenRequests() throws IOException {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        Path v = ModelLocation.resolve(TestSupport.LINEAR.toString(), null).dir();
        try (Stream<Path> s = Files.list(v.resolve("golden"))) {
            return s.filter(p -> p.toString().endsWith(".request.json")).sorted().toList().stream();
        }
    }

    @Test
    void goldenResponsesAreBitIdentical() throws IOException {
        List<Path> requests = goldenRequests().toList();
        assumeTrue(!requests.isEmpty(), "no golden requests");
        for (Model.Format fmt : Model.Format.values()) {
            try (Model m = Model.open(ModelLocation.resolve(TestSupport.LINEAR.toString(), null), fmt, Model.Safety.DEFAULT,
                    List.of(Main.DEFAULT_SIGNATURE), true)) {
                for (Path req : requests) {
                    String got = m.predict(Files.readAllBytes(req), Main.DEFAULT_SIGNATURE);
                    Path resp = req.resolveSibling(req.getFileName().toString().replace(".request.", ".response."));
                    assertSameBits(Json.parse(Files.readAllBytes(resp)), Json.parse(TestSupport.utf8(got)),
                            fmt + " " + req.getFileName());
                }
            }
        }
    }

    /** Same structure; numbers equal as float64 bit patterns. */
    static void assertSameBits(Json.Value want, Json.Value got, String where) {
        if (want instanceof Json.Num w && got instanceof Json.Num g) {
            try {
                assertEquals(Double.doubleToRawLongBits(Numbers.parseDouble(w.text())),
                        Double.doubleToRawLongBits(Numbers.parseDouble(g.text())), where + ": " + w + " vs " + g);
            } catch (Numbers.OverflowException e) {
                throw new AssertionError(where, e);
            }
        } else if (want instanceof Json.Arr w && got instanceof Json.Arr g) {
            assertEquals(w.size(), g.size(), where);
            for (int i = 0; i < w.size(); i++) {
                assertSameBits(w.get(i), g.get(i), where + "[" + i + "]");
            }
        } else if (want instanceof Json.Obj w && got instanceof Json.Obj g) {
            assertEquals(w.members().keySet(), g.members().keySet(), where);
            for (String k : w.members().keySet()) {
                assertSameBits(w.get(k), g.get(k), where + "." + k);
            }
        } else {
            assertEquals(want, got, where);
        }
    }
}
