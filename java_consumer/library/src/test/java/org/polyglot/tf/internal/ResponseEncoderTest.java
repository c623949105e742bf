package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/** TF Serving response bodies. */
class ResponseEncoderTest {

    private static HostTensor doubles(long[] shape, double... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : v) {
            b.putDouble(d);
        }
        return HostTensor.numeric(DType.DOUBLE, shape, b.flip());
    }

    private static SortedMap<String, TensorSpec> outputs(String... aliases) {
        SortedMap<String, TensorSpec> m = SignatureSpec.newSpecMap();
        for (String a : aliases) {
            m.put(a, new TensorSpec(a, a + ":0", "DT_DOUBLE", null));
        }
        return m;
    }

    private static PredictRequest.Inputs rows(int n) {
        return new PredictRequest.Inputs(true, n, Map.of());
    }

    private static final PredictRequest.Inputs COLUMNS = new PredictRequest.Inputs(false, -1, Map.of());

    @Test
    void singleOutput() {
        HostTensor y = doubles(new long[] {2, 2}, 1.0E23, -0.0, Double.NaN, Double.NEGATIVE_INFINITY);
        assertEquals("{\"predictions\":[[1e+23,-0.0],[NaN,-Infinity]]}",
                ResponseEncoder.encode(rows(2), outputs("y"), Map.of("y", y)));
        assertEquals("{\"outputs\":[[1e+23,-0.0],[NaN,-Infinity]]}",
                ResponseEncoder.encode(COLUMNS, outputs("y"), Map.of("y", y)));
        assertEquals("{\"outputs\":2.5}",
                ResponseEncoder.encode(COLUMNS, outputs("y"), Map.of("y", doubles(new long[] {}, 2.5))));
    }

    @Test
    void severalOutputsSortedByAlias() {
        Map<String, HostTensor> v = new LinkedHashMap<>();
        v.put("b", doubles(new long[] {2}, 1, 2));
        v.put("a", doubles(new long[] {2, 1}, 3, 4));
        assertEquals("{\"predictions\":[{\"a\":[3.0],\"b\":1.0},{\"a\":[4.0],\"b\":2.0}]}",
                ResponseEncoder.encode(rows(2), outputs("b", "a"), v));
        assertEquals("{\"outputs\":{\"a\":[[3.0],[4.0]],\"b\":[1.0,2.0]}}",
                ResponseEncoder.encode(COLUMNS, outputs("b", "a"), v));
        v.put("a", doubles(new long[] {3}, 3, 4, 5));
        assertThrows(StatusException.class, () -> ResponseEncoder.encode(rows(2), outputs("a", "b"), v));
        assertThrows(StatusException.class, () -> ResponseEncoder.encode(rows(1), outputs("y"),
                Map.of("y", doubles(new long[] {}, 1))));
    }

    @Test
    void stringsAndIntegers() {
        byte[][] s = {"h\u00e9".getBytes(StandardCharsets.UTF_8), {(byte) 0xff}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}};
        HostTensor t = HostTensor.strings(new long[] {3}, s);
        assertEquals("{\"outputs\":[\"h\u00e9\",{\"b64\":\"/w==\"},{\"b64\":\"7aCA\"}]}",
                ResponseEncoder.encode(COLUMNS, outputs("text"), Map.of("text", t)));
        assertEquals("{\"outputs\":[{\"b64\":\"aMOp\"},{\"b64\":\"/w==\"},{\"b64\":\"7aCA\"}]}",
                ResponseEncoder.encode(COLUMNS, outputs("raw_bytes"), Map.of("raw_bytes", t)));
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(9007199254740993L).putLong(-1L);
        assertEquals("{\"outputs\":[9007199254740993,-1]}", ResponseEncoder.encode(COLUMNS, outputs("n"),
                Map.of("n", HostTensor.numeric(DType.INT64, new long[] {2}, b.flip()))));
        b.rewind();
        assertEquals("{\"outputs\":[9007199254740993,18446744073709551615]}", ResponseEncoder.encode(COLUMNS,
                outputs("n"), Map.of("n", HostTensor.numeric(DType.UINT64, new long[] {2}, b))));
        ByteBuffer f = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.1f).putFloat(5.1960834E17f);
        assertEquals("{\"outputs\":[0.1,519608340000000000.0]}", ResponseEncoder.encode(COLUMNS, outputs("f"),
                Map.of("f", HostTensor.numeric(DType.FLOAT, new long[] {2}, f.flip()))));
        ByteBuffer h = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x7bff).putShort((short) 1);
        assertEquals("{\"outputs\":[65500.0,6e-8]}", ResponseEncoder.encode(COLUMNS, outputs("h"),
                Map.of("h", HostTensor.numeric(DType.HALF, new long[] {2}, h.flip()))));
        ByteBuffer bool = ByteBuffer.allocate(2).put((byte) 1).put((byte) 0);
        assertEquals("{\"outputs\":[true,false]}", ResponseEncoder.encode(COLUMNS, outputs("b"),
                Map.of("b", HostTensor.numeric(DType.BOOL, new long[] {2}, bool.flip()))));
    }
}
