package org.polyglot.tf.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polyglot.tf.consumer.TestSupport.utf8;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The JSON reader (literal numbers, NaN tokens) and writer (shortest floats). */
class JsonCodecTest {

    private static String writeDouble(double d) throws IOException {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeNumber(d);
        }
        return w.toString();
    }

    private static String writeFloat(float f) throws IOException {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeNumber(f);
        }
        return w.toString();
    }

    @ParameterizedTest
    @CsvSource({
        "1.0E23, 1.0E23",            // Java 17 Double.toString: 9.999999999999999E22
        "2.0E23, 2.0E23",            // Java 17: 1.9999999999999998E23
        "8.41E21, 8.41E21",          // Java 17: 8.409999999999999E21
        "9.9E-324, 9.9E-324",        // Java 17: 1.0E-323 (as short, but not the nearest)
        "2.82879384806159E17, 2.82879384806159E17", // Java 17: 2.82879384806159008E17
        "2.0E-3, 0.002",
        "0.1, 0.1",
        "4.9E-324, 4.9E-324",
        "1.7976931348623157E308, 1.7976931348623157E308",
        "-0.0, -0.0",
        "100.0, 100.0",
        "1.0E7, 1.0E7",
    })
    void doublesAreShortest(double d, String expected) throws IOException {
        assertEquals(expected, writeDouble(d));
    }

    @ParameterizedTest
    @CsvSource({
        "5.1960834E17, 5.1960834E17",   // Java 17 Float.toString: 5.19608339E17
        "-3.899637E8, -3.899637E8",     // Java 17: -3.89963712E8
        "0.1, 0.1",
        "3.4028235E38, 3.4028235E38",
        "1.4E-45, 1.4E-45",
        "-0.0, -0.0",
    })
    void floatsAreShortestFloat32(float f, String expected) throws IOException {
        assertEquals(expected, writeFloat(f));
    }

    @Test
    void nonFiniteAreBareTokens() throws IOException {
        assertEquals("NaN", writeDouble(Double.NaN));
        assertEquals("Infinity", writeDouble(Double.POSITIVE_INFINITY));
        assertEquals("-Infinity", writeFloat(Float.NEGATIVE_INFINITY));
    }

    @Test
    void randomValuesRoundTrip() throws IOException {
        Random r = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            double d = Double.longBitsToDouble(r.nextLong());
            float f = Float.intBitsToFloat(r.nextInt());
            if (!Double.isNaN(d)) {
                String s = writeDouble(d);
                assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(Double.parseDouble(s)), s);
                assertTrue(digits(s) <= digits(Double.toString(d)), s);
            }
            if (!Float.isNaN(f)) {
                String s = writeFloat(f);
                assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(Float.parseFloat(s)), s);
            }
        }
    }

    private static int digits(String s) {
        String m = s.replaceFirst("[eE].*", "").replace("-", "").replace(".", "").replaceFirst("^0+", "");
        return m.replaceFirst("0+$", "").length();
    }

    @Test
    void readsLiteralsAndTokens() {
        Json.Arr a = (Json.Arr) Json.parse(utf8("[NaN, Infinity, -Infinity, -0.0, 9223372036854775807, 1e999, 1.50]"));
        assertEquals(new Json.Num("NaN", false), a.get(0));
        assertTrue(((Json.Num) a.get(0)).nonFinite());
        assertEquals(new Json.Num("-Infinity", false), a.get(2));
        assertEquals(new Json.Num("-0.0", false), a.get(3));
        assertEquals(new Json.Num("9223372036854775807", true), a.get(4));
        assertEquals(new Json.Num("1e999", false), a.get(5));
        assertEquals(new Json.Num("1.50", false), a.get(6));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  ", "{\"a\": [1.0]", "{\"a\": 1} x", "[1] [2]", "[INF]", "[+1]", "[.5]", "[01]",
        "{'a': 1}", "[1,]", "nan", "[-NaN]"})
    void rejectsInvalidJson(String body) {
        ConsumerException e = assertThrows(ConsumerException.class, () -> Json.parse(utf8(body)));
        assertTrue(e.getMessage().startsWith("invalid JSON"), e.getMessage());
        assertEquals(ConsumerException.REFUSAL, e.exitStatus());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void lastDuplicateKeyWins() {
        Json.Obj o = (Json.Obj) Json.parse(utf8("{\"a\": 1, \"b\": 2, \"a\": 3}"));
        assertEquals(new Json.Num("3", true), o.get("a"));
        assertEquals(2, o.members().size());
    }

    @Test
    void base64Form() {
        assertTrue(((Json.Obj) Json.parse(utf8("{\"b64\": \"AAAA\"}"))).isBase64());
        assertTrue(!((Json.Obj) Json.parse(utf8("{\"b64\": \"AAAA\", \"x\": 1}"))).isBase64());
        assertInstanceOf(Json.Null.class, ((Json.Arr) Json.parse(utf8("[null]"))).get(0));
    }

    @Test
    void errorBodyIsOneJsonLine() {
        assertEquals("{\"error\":\"bad \\\"x\\\"\"}", Json.errorBody("bad \"x\""));
        assertEquals("a b c", Json.oneLine("a\n  b\r\n\tc\n"));
    }

    @Test
    void littleEndianBuffers() {
        ByteBuffer b = HostTensor.allocate(DType.INT32, new long[] {2});
        assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
        assertEquals(8, b.capacity());
    }
}
