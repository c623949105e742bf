package org.polyglot.tf.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Writes trained variable values into a frozen GraphDef (tests/CONTRACT.md, "The new model
 * version"): each variable's {@code Const} node (the manifest's {@code frozen_constants}) gets a
 * {@code value} attribute holding a TensorProto with {@code dtype} (the node's dtype),
 * {@code tensor_shape} (the value's shape) and {@code tensor_content} (the value's
 * little-endian bytes), and nothing else. Everything else in the graph is kept as it was.
 */
public final class FrozenGraphs {

    private FrozenGraphs() {
    }

    /**
     * Checks, before training, that every named constant can take its variable's value: the node
     * exists, is a {@code Const}, and has the variable's dtype.
     *
     * @param graphDef the serialized frozen GraphDef
     * @param constants variable name -&gt; {@code Const} node name
     * @param dtypes variable name -&gt; its dtype (from the variables signature)
     * @param where the graph's file, for messages
     * @throws StatusException when the graph cannot be parsed, a variable has no dtype,
     *     or a node is missing or does not fit
     */
    public static void check(byte[] graphDef, Map<String, String> constants, Map<String, DType> dtypes,
            String where) {
        Map<String, NodeDef> nodes = new HashMap<>();
        for (NodeDef n : parse(graphDef, where).getNodeList()) {
            nodes.put(n.getName(), n);
        }
        for (Map.Entry<String, String> e : new TreeMap<>(constants).entrySet()) {
            DType dt = dtypes.get(e.getKey());
            if (dt == null) {
                throw StatusException.failedPrecondition(where + ": frozen_constants names " + Echo.quotedSingle(e.getKey())
                        + ", which is no output of the variables signature");
            }
            requireConst(nodes.get(e.getValue()), e.getValue(), e.getKey(), dt, where);
        }
    }

    /**
     * Returns a frozen GraphDef whose variable {@code Const} nodes hold {@code values},
     * serialized deterministically (map entries sorted by key), byte for byte as Python's
     * {@code SerializeToString(deterministic=True)} writes the same message.
     *
     * @param graphDef the serialized source GraphDef
     * @param constants variable name -&gt; {@code Const} node name (the manifest's
     *     {@code frozen_constants} of this graph's signature)
     * @param values variable name -&gt; value (any numeric dtype and shape; little-endian data)
     * @param where the graph's file, for messages
     * @return the serialized new GraphDef
     * @throws StatusException when the graph cannot be parsed, a named variable has no
     *     value, or a node is missing, not a {@code Const}, or of another dtype than its value
     */
    public static byte[] withValues(byte[] graphDef, Map<String, String> constants, Map<String, HostTensor> values,
            String where) {
        GraphDef.Builder g = parse(graphDef, where).toBuilder();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            index.put(g.getNode(i).getName(), i);
        }
        for (Map.Entry<String, String> e : new TreeMap<>(constants).entrySet()) {
            String variable = e.getKey();
            String nodeName = e.getValue();
            HostTensor value = values.get(variable);
            if (value == null || value.dtype() == DType.STRING) {
                throw StatusException.failedPrecondition(where + ": frozen_constants names " + Echo.quotedSingle(variable)
                        + ", which is no numeric output of the variables signature");
            }
            Integer i = index.get(nodeName);
            requireConst(i == null ? null : g.getNode(i), nodeName, variable, value.dtype(), where);
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (long d : value.shape()) {
                shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
            }
            ByteBuffer data = value.data().duplicate();
            data.position(0);
            TensorProto tensor = TensorProto.newBuilder()
                    .setDtypeValue(value.dtype().code())
                    .setTensorShape(shape)
                    .setTensorContent(ByteString.copyFrom(data))
                    .build();
            g.getNodeBuilder(i).putAttr("value", AttrValue.newBuilder().setTensor(tensor).build());
        }
        return serializeDeterministic(g.build());
    }

    /**
     * Writes a GraphDef as protobuf text format (protobuf-java's {@link TextFormat}).
     *
     * @param graphDef the serialized GraphDef
     * @param where the graph's file, for messages
     * @return the text
     * @throws StatusException when the bytes are no GraphDef
     */
    public static String text(byte[] graphDef, String where) {
        return TextFormat.printer().printToString(parse(graphDef, where));
    }

    /**
     * Serializes a GraphDef deterministically (map entries sorted by key).
     *
     * @param g the graph
     * @return the bytes
     */
    static byte[] serializeDeterministic(GraphDef g) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(g.getSerializedSize());
        try {
            CodedOutputStream c = CodedOutputStream.newInstance(out);
            c.useDeterministicSerialization();
            g.writeTo(c);
            c.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static GraphDef parse(byte[] graphDef, String where) {
        try {
            return GraphDef.parseFrom(graphDef);
        } catch (InvalidProtocolBufferException e) {
            throw StatusException.failedPrecondition(where + " is not a valid GraphDef: " + e.getMessage());
        }
    }

    private static void requireConst(NodeDef node, String nodeName, String variable, DType dtype, String where) {
        if (node == null || !node.getOp().equals("Const") || !node.containsAttr("dtype")
                || node.getAttrOrThrow("dtype").getTypeValue() != dtype.code()) {
            String found = node == null ? "there is no such node"
                    : "it is a " + node.getOp() + (node.containsAttr("dtype")
                    ? " of " + DataType.forNumber(node.getAttrOrThrow("dtype").getTypeValue()) : "");
            throw StatusException.failedPrecondition(where + ": frozen graph has no Const node " + nodeName + " for variable "
                    + variable + " (" + dtype.tfName() + "): " + found);
        }
    }
}
