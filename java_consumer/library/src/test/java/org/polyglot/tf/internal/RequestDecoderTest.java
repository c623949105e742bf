package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polyglot.tf.internal.TestSupport.utf8;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Request envelope and TF Serving's row/columnar decoding against a signature. */
class RequestDecoderTest {

    private static final SignatureSpec LINEAR = TestSupport.linearSignature();

    private static final SignatureSpec MULTI = TestSupport.signature(Map.of(
            "a", new TensorSpec("a", "a:0", "DT_FLOAT", new long[] {-1, 3}),
            "n", new TensorSpec("n", "n:0", "DT_INT64", new long[] {-1}),
            "s", new TensorSpec("s", "s:0", "DT_STRING", new long[] {-1}),
            "b", new TensorSpec("b", "b:0", "DT_BOOL", new long[] {-1})),
            Map.of("y", new TensorSpec("y", "y:0", "DT_FLOAT", new long[] {-1})));

    private static PredictRequest.Inputs decode(String body, SignatureSpec sig) {
        return PredictRequest.parse(utf8(body)).decode(sig);
    }

    private static String refusal(String body, SignatureSpec sig) {
        StatusException e = assertThrows(StatusException.class, () -> decode(body, sig));
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        return e.getMessage();
    }

    private static HostTensor decodeOne(String json, TensorSpec spec) {
        return TensorDecoder.decode(Json.parse(utf8(json)), spec, false);
    }

    @Test
    void rowFormatStacksInstances() {
        PredictRequest.Inputs in = decode("{\"instances\": [[1.0, 2.0], [3.0, -0.0]]}", LINEAR);
        assertTrue(in.rowFormat());
        assertEquals(2, in.batchSize());
        HostTensor x = in.tensors().get("x");
        assertArrayEquals(new long[] {2, 2}, x.shape());
        assertEquals(3.0, x.data().getDouble(16));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(x.data().getDouble(24)));
    }

    @Test
    void keyedInstancesAndColumnarForms() {
        HostTensor a = decode("{\"instances\": [{\"x\": [1.5]}, {\"x\": [2.5]}]}", LINEAR).tensors().get("x");
        assertArrayEquals(new long[] {2, 1}, a.shape());
        HostTensor b = decode("{\"inputs\": [[1.5], [2.5]]}", LINEAR).tensors().get("x");
        HostTensor c = decode("{\"inputs\": {\"x\": [[1.5], [2.5]]}}", LINEAR).tensors().get("x");
        assertEquals(a.data(), b.data());
        assertEquals(b.data(), c.data());
        assertEquals(-1, decode("{\"inputs\": [[1]]}", LINEAR).batchSize());
    }

    @Test
    void severalInputs() {
        PredictRequest.Inputs in = decode("{\"instances\": ["
                + "{\"a\": [1, 2, 3], \"n\": 9007199254740993, \"s\": \"h\u00e9\", \"b\": true},"
                + "{\"a\": [4, 5, 6], \"n\": -9223372036854775808, \"s\": {\"b64\": \"/wA=\"}, \"b\": false}]}", MULTI);
        assertEquals(9007199254740993L, in.tensors().get("n").data().getLong(0), "int64 beyond 2^53 is exact");
        assertEquals(Long.MIN_VALUE, in.tensors().get("n").data().getLong(8));
        assertArrayEquals("h\u00e9".getBytes(StandardCharsets.UTF_8), in.tensors().get("s").strings()[0]);
        assertArrayEquals(new byte[] {(byte) 0xff, 0}, in.tensors().get("s").strings()[1]);
        assertEquals(1, in.tensors().get("b").data().get(0));
        assertEquals(0, in.tensors().get("b").data().get(1));
        assertEquals(6.0f, in.tensors().get("a").data().getFloat(20));
        assertTrue(refusal("{\"inputs\": [[1, 2, 3]]}", MULTI).contains("object keyed by input alias"));
        assertTrue(refusal("{\"instances\": [[1, 2, 3]]}", MULTI).contains("object keyed by input alias"));
        String m = refusal("{\"inputs\": {\"a\": [[1, 2, 3]], \"n\": [1], \"s\": [\"x\"]}}", MULTI);
        assertTrue(m.contains("missing input 'b' (DT_BOOL, shape (-1))"), m);
    }

    @Test
    void raggedIsRefused() {
        assertTrue(refusal("{\"instances\": [[1.0, 2.0], [3.0]]}", LINEAR).contains("ragged"));
        assertTrue(refusal("{\"inputs\": [[1.0], [2.0, 3.0]]}", LINEAR).contains("ragged"));
        assertTrue(refusal("{\"inputs\": [[1.0], 2.0]}", LINEAR).contains("ragged"));
        assertTrue(refusal("{\"inputs\": [[1.0], [[2.0]]]}", LINEAR).contains("ragged"));
        assertTrue(refusal("{\"inputs\": [[], [1.0]]}", LINEAR).contains("ragged"));
    }

    @Test
    void rankDimsAndDtypeAreChecked() {
        String m = refusal("{\"instances\": [1.0, 2.0]}", LINEAR);
        assertTrue(m.contains("rank 1") && m.contains("expects rank 2") && m.contains("DT_DOUBLE"), m);
        m = refusal("{\"inputs\": {\"a\": [[1, 2]], \"n\": [1], \"s\": [\"x\"], \"b\": [true]}}", MULTI);
        assertTrue(m.contains("dimension 1") && m.contains("fixes that dimension to 3"), m);
        assertTrue(refusal("{\"inputs\": [[\"1\"]]}", LINEAR).contains("DT_DOUBLE"));
        assertTrue(refusal("{\"inputs\": [[1e999]]}", LINEAR).contains("overflows DT_DOUBLE"));
    }

    @Test
    void integersMustBeIntegerLiteralsInRange() {
        TensorSpec i8 = new TensorSpec("i", "i:0", "DT_INT8", new long[] {-1});
        TensorSpec u64 = new TensorSpec("u", "u:0", "DT_UINT64", new long[] {-1});
        assertEquals(-128, decodeOne("[-128]", i8).data().get(0));
        assertThrows(StatusException.class, () -> decodeOne("[128]", i8));
        assertThrows(StatusException.class, () -> decodeOne("[1.0]", i8));
        assertThrows(StatusException.class, () -> decodeOne("[1e2]", i8));
        assertThrows(StatusException.class, () -> decodeOne("[NaN]", i8));
        assertThrows(StatusException.class, () -> decodeOne("[true]", i8));
        assertEquals(-1L, decodeOne("[18446744073709551615]", u64).data().getLong(0));
        assertThrows(StatusException.class, () -> decodeOne("[18446744073709551616]", u64));
        assertThrows(StatusException.class, () -> decodeOne("[-1]", u64));
    }

    @Test
    void stringsAndBase64() {
        TensorSpec s = new TensorSpec("s", "s:0", "DT_STRING", null);
        assertArrayEquals(new byte[] {0, 1, 2}, decodeOne("{\"b64\": \"AAEC\"}", s).strings()[0]);
        assertArrayEquals(new byte[0], decodeOne("[\"\"]", s).strings()[0]);
        assertArrayEquals(new long[] {}, decodeOne("\"scalar\"", s).shape());
        assertThrows(StatusException.class, () -> decodeOne("{\"b64\": \"AAE\"}", s), "padding is required");
        assertThrows(StatusException.class, () -> decodeOne("{\"b64\": \"A*==\"}", s));
        assertThrows(StatusException.class, () -> decodeOne("{\"b64\": 5}", s));
        assertThrows(StatusException.class, () -> decodeOne("[\"\\ud800\"]", s), "lone surrogate");
        assertThrows(StatusException.class, () -> decodeOne("[1]", s));
        // A single string input may take {"b64": ...} instances directly.
        SignatureSpec one = TestSupport.signature(Map.of("s", s), Map.of());
        PredictRequest.Inputs in = decode("{\"instances\": [{\"b64\": \"AA==\"}, {\"b64\": \"AQ==\"}]}", one);
        assertArrayEquals(new byte[] {1}, in.tensors().get("s").strings()[1]);
    }

    @Test
    void unknownRankTakesAnyShape() {
        TensorSpec any = new TensorSpec("v", "v:0", "DT_INT32", null);
        assertArrayEquals(new long[] {}, decodeOne("7", any).shape());
        assertArrayEquals(new long[] {1, 2, 2}, decodeOne("[[[1, 2], [3, 4]]]", any).shape());
        assertArrayEquals(new long[] {0}, decodeOne("[]", any).shape());
    }

    @Test
    void envelope() {
        assertNull(PredictRequest.parse(utf8("{\"signature_name\": null, \"inputs\": 1}")).signatureName());
        assertEquals("k", PredictRequest.parse(utf8("{\"signature_name\": \"k\", \"inputs\": 1}")).signatureName());
        assertTrue(refusal("[1]", LINEAR).contains("object"));
        assertTrue(refusal("{\"instances\": [[1]], \"foo\": 1}", LINEAR).contains("foo"));
        assertTrue(refusal("{\"instances\": [], \"inputs\": 1}", LINEAR).contains("both"));
        assertTrue(refusal("{}", LINEAR).contains("instances"));
        assertTrue(refusal("{\"signature_name\": 5, \"inputs\": 1}", LINEAR).contains("signature_name"));
        assertTrue(refusal("{\"instances\": []}", LINEAR).contains("empty"));
        assertTrue(refusal("{\"instances\": {\"x\": [[1]]}}", LINEAR).contains("must be a list"));
        assertTrue(refusal("{\"instances\": [{\"x\": [1]}, [2]]}", LINEAR).contains("instance 1"));
    }
}
