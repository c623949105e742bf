package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * tests/CONTRACT.md, "Numbers in text" and "Decimal numbers in text input": every case of
 * tests/cases/number_text.json, and the shortest digits checked against a plain search.
 */
class NumberTextTest {

    /** tests/cases/number_text.json, found from the working folder or any folder above it. */
    static Json.Obj cases() throws IOException {
        Path start = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = start; d != null; d = d.getParent()) {
            Path f = d.resolve("tests/cases/number_text.json");
            if (Files.isRegularFile(f)) {
                return (Json.Obj) Json.parse(Files.readAllBytes(f));
            }
        }
        throw new AssertionError("tests/cases/number_text.json is in no folder from " + start + " up");
    }

    private static String str(Json.Value v) {
        return ((Json.Str) v).value();
    }

    private static long bits(String hex) {
        return Long.parseUnsignedLong(hex.substring(2), 16);
    }

    @Test
    void everyFormatCase() throws IOException {
        Json.Arr format = (Json.Arr) cases().get("format");
        assertTrue(format.size() >= 40, "format cases: " + format.size());
        for (Json.Value c : format.items()) {
            Json.Obj o = (Json.Obj) c;
            String dtype = str(o.get("dtype"));
            long b = bits(str(o.get("bits")));
            String text = str(o.get("text"));
            String got = switch (dtype) {
                case "DT_DOUBLE" -> Numbers.format(Double.longBitsToDouble(b));
                case "DT_FLOAT" -> Numbers.format(Float.intBitsToFloat((int) b));
                case "DT_HALF" -> Numbers.formatHalf((short) b);
                default -> throw new AssertionError(dtype);
            };
            assertEquals(text, got, dtype + " " + str(o.get("bits")));
            // The same through the tensor-element entry point every writer uses.
            DType d = DType.valueOf(dtype.substring(3));
            ByteBuffer buf = ByteBuffer.allocate(d.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            switch (d) {
                case DOUBLE -> buf.putLong(0, b);
                case FLOAT -> buf.putInt(0, (int) b);
                default -> buf.putShort(0, (short) b);
            }
            assertEquals(text, Numbers.format(d, buf, 0), dtype + " " + str(o.get("bits")));
        }
    }

    @Test
    void everyParseFloat32Case() throws IOException {
        Json.Obj parse = (Json.Obj) cases().get("parse_float32");
        Json.Arr accepted = (Json.Arr) parse.get("accepted");
        assertTrue(accepted.size() >= 10);
        for (Json.Value c : accepted.items()) {
            Json.Obj o = (Json.Obj) c;
            String literal = str(o.get("literal"));
            float f = Numbers.parseDecimalFloat32(literal);
            if (o.get("bits") instanceof Json.Null) {
                assertTrue(Float.isInfinite(f), literal + " is beyond float32: " + f);
            } else {
                assertEquals(bits(str(o.get("bits"))), Float.floatToRawIntBits(f) & 0xffff_ffffL, literal);
            }
        }
        Json.Arr refused = (Json.Arr) parse.get("refused");
        assertTrue(refused.size() >= 10);
        for (Json.Value c : refused.items()) {
            String literal = str(c);
            assertThrows(NumberFormatException.class, () -> Numbers.parseDecimalFloat32(literal), literal);
        }
    }

    @Test
    void decimalInputRefusesWhatThePatternDoesNot() {
        for (String bad : new String[] {"1_000", "0x10", "0x1p3", "inf", "-Infinity", "nan", "1f", "1d", "1e",
            "e5", "\u00a01", "1\u00a0", "\t1", "1\n", "\uff11", "+", "-", "1e+", "1.5.", "1,5"}) {
            assertThrows(NumberFormatException.class, () -> Numbers.parseDecimalFloat32(bad), bad);
        }
        assertEquals(3.0f, Numbers.parseDecimalFloat32("3."));
        assertEquals(0.25f, Numbers.parseDecimalFloat32(".25"));
        assertEquals(1000f, Numbers.parseDecimalFloat32("+1E+3"));
        assertEquals(Float.NEGATIVE_INFINITY, Numbers.parseDecimalFloat32("-1e39"));
        // Rounded once, to float32: 1 + 2^-24 + 2^-80 goes up; through a double it would tie to 1.
        String x = BigDecimal.ONE.add(new BigDecimal(0x1p-24)).add(new BigDecimal(0x1p-80)).toPlainString();
        assertEquals(Math.nextUp(1.0f), Numbers.parseDecimalFloat32(x));
        // A digit far beyond the midpoint still decides.
        assertEquals(Math.nextUp(1.0f), Numbers.parseDecimalFloat32("1.000000059604644775390625" + "0".repeat(3000) + "1"));
        assertEquals(1.0f, Numbers.parseDecimalFloat32("1.000000059604644775390625" + "0".repeat(3000)));
    }

    @Test
    void integersAndBooleansAsText() {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, -1L);
        assertEquals("18446744073709551615", Numbers.format(DType.UINT64, b, 0));
        assertEquals("-1", Numbers.format(DType.INT64, b, 0));
        assertEquals("4294967295", Numbers.format(DType.UINT32, b, 0));
        assertEquals("65535", Numbers.format(DType.UINT16, b, 0));
        assertEquals("255", Numbers.format(DType.UINT8, b, 0));
        assertEquals("-1", Numbers.format(DType.INT8, b, 0));
        assertEquals("true", Numbers.format(DType.BOOL, b, 0));
        b.put(0, (byte) 0);
        assertEquals("false", Numbers.format(DType.BOOL, b, 0));
        assertThrows(IllegalArgumentException.class, () -> Numbers.format(DType.STRING, b, 0));
    }

    @Test
    void layoutAroundEachBoundary() {
        assertEquals("123456789012345680000.0", Numbers.format(123456789012345680000.0));
        assertEquals("1.2345678901234568e+21", Numbers.format(1234567890123456800000.0));
        assertEquals("0.000001", Numbers.format(1e-6));
        assertEquals("0.0000015", Numbers.format(1.5e-6));
        assertEquals("1.5e-7", Numbers.format(1.5e-7));
        assertEquals("-123.45", Numbers.format(-123.45));
        assertEquals("1e+23", Numbers.format(1e23)); // Java 17 Double.toString: 9.999999999999999E22
        assertEquals("2e+23", Numbers.format(2e23)); // Java 17: 1.9999999999999998E23
        assertEquals("8.41e+21", Numbers.format(8.41e21)); // Java 17: 8.409999999999999E21
        assertEquals("1e-323", Numbers.format(Double.MIN_VALUE * 2)); // Schubfach's two digits: 9.9E-324
        assertEquals("519608340000000000.0", Numbers.format(5.1960834E17f)); // Java 17: 5.19608339E17
        assertEquals("-389963700.0", Numbers.format(-3.899637E8f)); // Java 17: -3.89963712E8
        assertEquals("0.1", Numbers.format(0.1f)); // the float32 digits, not 0.10000000149011612
    }

    /**
     * The contract's digits by their definition: for 1, 2, ... digits, the decimals just below and
     * above the exact value; the nearest that reads back wins (the round-half-even one on a tie).
     */
    private static String searched(BigDecimal exact, int maxDigits, Predicate<String> readsBack) {
        for (int p = 1; p <= maxDigits; p++) {
            BigDecimal best = null;
            for (RoundingMode m : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal c = exact.round(new MathContext(p, m));
                if (readsBack.test(c.toString())
                        && (best == null || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = c;
                }
            }
            if (best != null) {
                return digitsOf(best.toString());
            }
        }
        throw new AssertionError(exact);
    }

    /** The digits and exponent of a formatted number, in the form {@link #searched} returns. */
    private static String digitsOf(String text) {
        BigDecimal d = new BigDecimal(text).stripTrailingZeros();
        return d.unscaledValue().abs().toString() + "e" + (d.precision() - d.scale());
    }

    private static Predicate<String> readsBack(double d) {
        return c -> {
            try {
                return Numbers.parseDouble(c) == d;
            } catch (Numbers.OverflowException e) {
                return false;
            }
        };
    }

    @Test
    void digitsAreTheShortestNearestForRandomValues() {
        Random r = new Random(20261202);
        for (int i = 0; i < 5_000; i++) {
            double d = Double.longBitsToDouble(r.nextLong());
            if (Double.isFinite(d) && d != 0) {
                String s = Numbers.format(d);
                assertEquals(searched(new BigDecimal(d), 17, readsBack(d)), digitsOf(s), s);
                assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(Double.parseDouble(s)), s);
            }
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isFinite(f) && f != 0) {
                String s = Numbers.format(f);
                assertEquals(searched(new BigDecimal(f), 9, c -> Float.parseFloat(c) == f), digitsOf(s), s);
                assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(Float.parseFloat(s)), s);
            }
        }
        // Subnormals, where a single digit often reads back and Schubfach writes two.
        for (long m = 1; m < 2000; m++) {
            double d = Double.longBitsToDouble(m);
            assertEquals(searched(new BigDecimal(d), 17, readsBack(d)), digitsOf(Numbers.format(d)));
            float f = Float.intBitsToFloat((int) m);
            assertEquals(searched(new BigDecimal(f), 9, c -> Float.parseFloat(c) == f), digitsOf(Numbers.format(f)));
        }
    }

    @Test
    void textIsEcmaScriptLayoutWithPointZero() {
        Random r = new Random(7);
        for (int i = 0; i < 5_000; i++) {
            String s = Numbers.format(Double.longBitsToDouble(r.nextLong()));
            if (s.equals("NaN") || s.endsWith("Infinity")) {
                continue;
            }
            assertFalse(s.contains("E"), s);
            assertTrue(s.matches("-?(0|[1-9][0-9]*)\\.[0-9]+|-?[1-9](\\.[0-9]*[1-9])?e[+-][1-9][0-9]*"), s);
        }
    }
}
