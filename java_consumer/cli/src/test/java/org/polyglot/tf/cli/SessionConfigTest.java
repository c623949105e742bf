package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.DType;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.SessionConfig;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TfSession;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RewriterConfig;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * The session configuration of tests/CONTRACT.md ("Numeric configuration"): Grappler's constant
 * folding off in every session, with the user's thread counts, and no session left with
 * TensorFlow's default configuration.
 */
class SessionConfigTest {

    /** The constant divisor of {@link #divGraph()}. */
    static final float DIVISOR = 3f;

    @TempDir
    Path temp;

    @Test
    void constantFoldingIsOffAndThreadCountsAreKept() throws Exception {
        ConfigProto c = SessionConfig.proto(4, 1);
        assertEquals(RewriterConfig.Toggle.OFF, c.getGraphOptions().getRewriteOptions().getConstantFolding());
        assertEquals(4, c.getIntraOpParallelismThreads());
        assertEquals(1, c.getInterOpParallelismThreads());
        assertEquals(c, ConfigProto.parseFrom(SessionConfig.serialized(4, 1)));
        // Nothing else is set: every other Grappler pass (and every other option) keeps its default.
        ConfigProto want = ConfigProto.newBuilder()
                .setIntraOpParallelismThreads(4)
                .setInterOpParallelismThreads(1)
                .setGraphOptions(GraphOptions.newBuilder().setRewriteOptions(
                        RewriterConfig.newBuilder().setConstantFolding(RewriterConfig.Toggle.OFF)))
                .build();
        assertEquals(want, c);
    }

    @Test
    void theDefaultConfigHasConstantFoldingOffAndTensorFlowsThreadPools() throws Exception {
        byte[] bytes = SessionConfig.contract();
        assertArrayEquals(SessionConfig.serialized(0, 0), bytes);
        ConfigProto c = ConfigProto.parseFrom(bytes);
        assertEquals(0, c.getIntraOpParallelismThreads());
        assertEquals(0, c.getInterOpParallelismThreads());
        assertEquals(RewriterConfig.Toggle.OFF, c.getGraphOptions().getRewriteOptions().getConstantFolding());
        assertTrue(bytes.length > 0, "not an empty (all-defaults) ConfigProto");
        assertThrows(IllegalArgumentException.class, () -> SessionConfig.proto(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> SessionConfig.proto(0, -1));
    }

    @Test
    void aMissingOrNonContractConfigIsRefused() throws IOException {
        assertThrows(NullPointerException.class, () -> SessionConfig.check(null));
        byte[] threadsOnly = ConfigProto.newBuilder().setIntraOpParallelismThreads(2).build().toByteArray();
        byte[] foldingOn = ConfigProto.newBuilder().setGraphOptions(GraphOptions.newBuilder().setRewriteOptions(
                RewriterConfig.newBuilder().setConstantFolding(RewriterConfig.Toggle.ON))).build().toByteArray();
        for (byte[] bad : new byte[][] {new byte[0], threadsOnly, foldingOn}) {
            assertThrows(IllegalArgumentException.class, () -> SessionConfig.check(bad));
        }
        StatusException e = assertThrows(StatusException.class,
                () -> SessionConfig.check(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}));
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        SessionConfig.check(SessionConfig.contract());
        SessionConfig.check(SessionConfig.serialized(3, 2));

        // Every path that creates sessions checks it: null no longer means TensorFlow's defaults.
        Path graph = writeDivGraph();
        assertThrows(NullPointerException.class, () -> TfSession.loadFrozenGraph(graph, null));
        assertThrows(NullPointerException.class, () -> TfSession.loadSavedModel(temp, null));
        assertThrows(IllegalArgumentException.class, () -> TfSession.loadFrozenGraph(graph, threadsOnly));
        assertThrows(IllegalArgumentException.class, () -> TfSession.loadSavedModel(temp, foldingOn));
        ModelLocation loc = new ModelLocation(temp, BigInteger.ONE);
        Model.Safety unverified = new Model.Safety(false, java.util.Set.of());
        for (Model.Format fmt : Model.Format.values()) {
            assertThrows(NullPointerException.class, () -> Model.open(loc, fmt, null, unverified, List.of(), false));
            assertThrows(IllegalArgumentException.class,
                    () -> Model.open(loc, fmt, threadsOnly, unverified, List.of(), false));
        }
    }

    /**
     * {@code y = Identity(Identity(RealDiv(x, Const 3)))}: with constant folding on, Grappler
     * rewrites the division into {@code x * (1/3)} (the fetched node itself is preserved, hence
     * the Identity after it).
     */
    static GraphDef divGraph() {
        AttrValue f32 = AttrValue.newBuilder().setType(DataType.DT_FLOAT).build();
        TensorProto c = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT)
                .setTensorShape(TensorShapeProto.getDefaultInstance()).addFloatVal(DIVISOR).build();
        return GraphDef.newBuilder()
                .addNode(NodeDef.newBuilder().setName("x").setOp("Placeholder").putAttr("dtype", f32))
                .addNode(NodeDef.newBuilder().setName("c").setOp("Const").putAttr("dtype", f32)
                        .putAttr("value", AttrValue.newBuilder().setTensor(c).build()))
                .addNode(NodeDef.newBuilder().setName("div").setOp("RealDiv").addInput("x").addInput("c")
                        .putAttr("T", f32))
                .addNode(NodeDef.newBuilder().setName("div_id").setOp("Identity").addInput("div").putAttr("T", f32))
                .addNode(NodeDef.newBuilder().setName("y").setOp("Identity").addInput("div_id").putAttr("T", f32))
                .build();
    }

    private Path writeDivGraph() throws IOException {
        return Files.write(temp.resolve("div.pb"), divGraph().toByteArray());
    }

    /** Inputs for which {@code x / 3} and {@code x * (1/3)} differ in float32 (some of them). */
    static float[] inputs() {
        float[] xs = new float[4096];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (i + 1) * 0.37f;
        }
        return xs;
    }

    static HostTensor floats(float[] xs) {
        ByteBuffer b = HostTensor.allocate(DType.FLOAT, new long[] {xs.length});
        for (int i = 0; i < xs.length; i++) {
            b.putFloat(4 * i, xs[i]);
        }
        return HostTensor.numeric(DType.FLOAT, new long[] {xs.length}, b);
    }

    @Test
    void sessionsDivideByAConstantWithoutFoldingItIntoAReciprocal() throws IOException {
        float[] xs = inputs();
        int differ = 0;
        for (float x : xs) {
            if (Float.floatToRawIntBits(x / DIVISOR) != Float.floatToRawIntBits(x * (1f / DIVISOR))) {
                differ++;
            }
        }
        assertTrue(differ > 0, "the inputs tell a division from a multiplication by the reciprocal");
        Path graph = writeDivGraph();
        // The one-argument loader (the contract's config) and an explicit one with thread counts.
        byte[][] configs = {null, Bench.sessionConfig(1, 1), SessionConfig.serialized(2, 0)};
        for (byte[] config : configs) {
            try (TfSession s = config == null ? TfSession.loadFrozenGraph(graph) : TfSession.loadFrozenGraph(graph, config)) {
                for (int round = 0; round < 2; round++) {
                    HostTensor y = s.run(List.of("x:0"), List.of(floats(xs)), List.of("y:0")).get(0);
                    for (int i = 0; i < xs.length; i++) {
                        assertEquals(Float.floatToRawIntBits(xs[i] / DIVISOR), Float.floatToRawIntBits(y.data().getFloat(4 * i)),
                                "x = " + xs[i]);
                    }
                }
            }
        }
    }
}
