package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.TextFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/** Rewriting a frozen graph's variable constants (pure protobuf, no TensorFlow runtime). */
class FrozenGraphsTest {

    private static AttrValue type(DataType t) {
        return AttrValue.newBuilder().setType(t).build();
    }

    /** A frozen graph as convert_variables_to_constants_v2 writes one: W and b as Const nodes. */
    private static GraphDef graph() {
        TensorProto oldW = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT)
                .setTensorShape(TensorShapeProto.getDefaultInstance()).addFloatVal(-1f).build();
        return GraphDef.newBuilder()
                .addNode(NodeDef.newBuilder().setName("x").setOp("Placeholder").putAttr("dtype", type(DataType.DT_FLOAT))
                        .putAttr("shape", AttrValue.newBuilder().setShape(TensorShapeProto.newBuilder()
                                .addDim(TensorShapeProto.Dim.newBuilder().setSize(-1))).build()))
                .addNode(NodeDef.newBuilder().setName("W").setOp("Const").putAttr("dtype", type(DataType.DT_FLOAT))
                        .putAttr("value", AttrValue.newBuilder().setTensor(oldW).build()))
                .addNode(NodeDef.newBuilder().setName("b").setOp("Const").putAttr("dtype", type(DataType.DT_FLOAT))
                        .putAttr("value", AttrValue.newBuilder().setTensor(oldW.toBuilder().setFloatVal(0, 0.5f)).build()))
                .addNode(NodeDef.newBuilder().setName("step").setOp("Const").putAttr("dtype", type(DataType.DT_INT64))
                        .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder()
                                .setDtype(DataType.DT_INT64).addInt64Val(0)).build()))
                .addNode(NodeDef.newBuilder().setName("y").setOp("AddV2").addInput("x").addInput("W")
                        .putAttr("T", type(DataType.DT_FLOAT)))
                .build();
    }

    private static HostTensor floats(long[] shape, float... v) {
        ByteBuffer b = HostTensor.allocate(DType.FLOAT, shape);
        for (int i = 0; i < v.length; i++) {
            b.putFloat(i * 4, v[i]);
        }
        return HostTensor.numeric(DType.FLOAT, shape, b);
    }

    private static HostTensor int64(long v) {
        ByteBuffer b = HostTensor.allocate(DType.INT64, new long[0]);
        b.putLong(0, v);
        return HostTensor.numeric(DType.INT64, new long[0], b);
    }

    @Test
    void replacesOnlyTheNamedConstantsValues() throws Exception {
        GraphDef source = graph();
        Map<String, HostTensor> values = Map.of("W", floats(new long[0], 3.0003152f),
                "b", floats(new long[] {2}, 2f, -0.5f), "global_step", int64(1000));
        byte[] out = FrozenGraphs.withValues(source.toByteArray(),
                Map.of("W", "W", "b", "b", "global_step", "step"), values, "g.pb");
        GraphDef g = GraphDef.parseFrom(out);
        assertEquals(source.getNodeCount(), g.getNodeCount());
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeDef before = source.getNode(i);
            NodeDef after = g.getNode(i);
            assertEquals(before.getName(), after.getName());
            assertEquals(before.getOp(), after.getOp());
            assertEquals(before.getInputList(), after.getInputList());
            if (!before.getOp().equals("Const")) {
                assertEquals(before, after);
            }
        }
        TensorProto w = g.getNode(1).getAttrOrThrow("value").getTensor();
        byte[] le = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(3.0003152f).array();
        assertEquals(TensorProto.newBuilder().setDtype(DataType.DT_FLOAT)
                .setTensorShape(TensorShapeProto.getDefaultInstance())
                .setTensorContent(ByteString.copyFrom(le)).build(), w);
        assertTrue(w.hasTensorShape(), "a scalar's shape is present (empty), as Python writes it");
        assertEquals(0, w.getFloatValCount());
        TensorProto b = g.getNode(2).getAttrOrThrow("value").getTensor();
        assertEquals(1, b.getTensorShape().getDimCount());
        assertEquals(2, b.getTensorShape().getDim(0).getSize());
        assertEquals(8, b.getTensorContent().size());
        TensorProto step = g.getNode(3).getAttrOrThrow("value").getTensor();
        assertEquals(DataType.DT_INT64, step.getDtype());
        assertArrayEquals(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array(),
                step.getTensorContent().toByteArray());
        assertEquals(g.getNode(1).getAttrOrThrow("dtype"), source.getNode(1).getAttrOrThrow("dtype"));
    }

    @Test
    void serializationIsDeterministicAndStable() throws Exception {
        byte[] once = FrozenGraphs.withValues(graph().toByteArray(), Map.of("W", "W"),
                Map.of("W", floats(new long[0], 1f)), "g.pb");
        byte[] twice = FrozenGraphs.withValues(once, Map.of("W", "W"), Map.of("W", floats(new long[0], 1f)), "g.pb");
        assertArrayEquals(once, twice);
        // Map entries sorted by key: "dtype" before "value" in every Const node.
        NodeDef w = GraphDef.parseFrom(once).getNode(1);
        byte[] node = FrozenGraphs.serializeDeterministic(GraphDef.newBuilder().addNode(w).build());
        String text = new String(node, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(text.indexOf("dtype") < text.indexOf("value"));
        // The text form parses back to the same graph.
        GraphDef.Builder parsed = GraphDef.newBuilder();
        TextFormat.merge(FrozenGraphs.text(once, "g.pb"), parsed);
        assertArrayEquals(once, FrozenGraphs.serializeDeterministic(parsed.build()));
    }

    @Test
    void refusesConstantsThatDoNotFit() {
        byte[] g = graph().toByteArray();
        Map<String, HostTensor> w = Map.of("W", floats(new long[0], 1f));
        String missing = assertThrows(StatusException.class,
                () -> FrozenGraphs.withValues(g, Map.of("W", "nope"), w, "g.pb")).getMessage();
        assertTrue(missing.contains("frozen graph has no Const node nope for variable W"), missing);
        String notConst = assertThrows(StatusException.class,
                () -> FrozenGraphs.withValues(g, Map.of("W", "y"), w, "g.pb")).getMessage();
        assertTrue(notConst.contains("it is a AddV2"), notConst);
        String dtype = assertThrows(StatusException.class,
                () -> FrozenGraphs.withValues(g, Map.of("W", "step"), w, "g.pb")).getMessage();
        assertTrue(dtype.contains("DT_INT64"), dtype);
        assertThrows(StatusException.class, () -> FrozenGraphs.withValues(g, Map.of("v", "W"), w, "g.pb"));
        assertThrows(StatusException.class, () -> FrozenGraphs.withValues(new byte[] {(byte) 0xff}, Map.of(), w,
                "g.pb"));
        FrozenGraphs.check(g, Map.of("W", "W", "global_step", "step"), Map.of("W", DType.FLOAT, "global_step",
                DType.INT64), "g.pb");
        StatusException e = assertThrows(StatusException.class,
                () -> FrozenGraphs.check(g, Map.of("W", "step"), Map.of("W", DType.FLOAT), "g.pb"));
        assertEquals(Code.FAILED_PRECONDITION, e.code());
    }
}
