package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polyglot.tf.internal.TestSupport.utf8;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The JSON reader (literal numbers, NaN tokens) and writer (number text as given, pretty form). */
class JsonCodecTest {

    /** Writes number text as the response writer does. */
    private static String writeNumber(String text) throws IOException {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeStartArray();
            g.writeNumber(text);
            g.writeEndArray();
        }
        return w.toString();
    }

    @ParameterizedTest
    @CsvSource({
        "1.0E23, 1e+23",
        "2.0E23, 2e+23",
        "8.41E21, 8.41e+21",
        "0.002, 0.002",
        "0.1, 0.1",
        "4.9E-324, 5e-324",
        "1.7976931348623157E308, 1.7976931348623157e+308",
        "-0.0, -0.0",
        "100.0, 100.0",
        "1.0E7, 10000000.0",
    })
    void doublesAreWrittenAsTheContractsText(double d, String expected) throws IOException {
        assertEquals("[" + expected + "]", writeNumber(Numbers.format(d)));
    }

    @Test
    void nonFiniteAreBareTokens() throws IOException {
        assertEquals("[NaN]", writeNumber(Numbers.format(Double.NaN)));
        assertEquals("[Infinity]", writeNumber(Numbers.format(Double.POSITIVE_INFINITY)));
        assertEquals("[-Infinity]", writeNumber(Numbers.format(Float.NEGATIVE_INFINITY)));
        Json.Arr a = (Json.Arr) Json.parse(utf8("[" + Numbers.format(Double.NaN) + "," + Numbers.format(-0.0) + "]"));
        assertEquals(new Json.Num("NaN", false), a.get(0));
        assertEquals(new Json.Num("-0.0", false), a.get(1));
    }

    @Test
    void prettyIsParsedBackToTheSameTree() {
        Map<String, Json.Value> d = new LinkedHashMap<>();
        d.put("d", new Json.Str("\u00e9\u2028\u007f\n\"\\"));
        Map<String, Json.Value> m = new LinkedHashMap<>();
        m.put("a", new Json.Arr(List.of()));
        m.put("b", new Json.Obj(Map.of()));
        m.put("c", new Json.Arr(List.of(new Json.Num("1", true), new Json.Obj(d))));
        m.put("e", new Json.Null());
        m.put("f", new Json.Bool(true));
        m.put("g", new Json.Num("1.5", false));
        m.put("h", new Json.Num("-0.0", false));
        Json.Obj tree = new Json.Obj(m);
        String text = Json.pretty(tree);
        assertTrue(text.contains("\n"), text);
        assertEquals(tree, Json.parse(utf8(text)));
        assertEquals(TestSupport.write(tree), TestSupport.write(Json.parse(utf8(text))));
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
        StatusException e = assertThrows(StatusException.class, () -> Json.parse(utf8(body)));
        assertTrue(e.getMessage().startsWith("invalid JSON"), e.getMessage());
        assertEquals(Code.INVALID_ARGUMENT, e.code());
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
