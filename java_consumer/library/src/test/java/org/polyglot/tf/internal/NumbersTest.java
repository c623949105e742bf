package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

/** Decimal literals rounded directly to half, float and double. */
class NumbersTest {

    private static int floatBits(String text) throws Numbers.OverflowException {
        return Float.floatToRawIntBits(Numbers.parseFloat(text));
    }

    @Test
    void floatAvoidsDoubleRounding() throws Exception {
        // 1 + 2^-24 + 2^-80: just above the midpoint between 1 and 1 + 2^-23. Rounded to double
        // first it becomes exactly the midpoint, which then ties to even (1.0): wrong.
        String x = BigDecimal.ONE.add(new BigDecimal(0x1p-24)).add(new BigDecimal(0x1p-80)).toPlainString();
        assertEquals(1.0f, (float) Double.parseDouble(x), "the naive route double-rounds");
        assertEquals(Math.nextUp(1.0f), Numbers.parseFloat(x));
        // Just below the midpoint: rounds down.
        String y = BigDecimal.ONE.add(new BigDecimal(0x1p-24)).subtract(new BigDecimal(0x1p-80)).toPlainString();
        assertEquals(1.0f, Numbers.parseFloat(y));
        // Exactly the midpoint: ties to even.
        assertEquals(1.0f, Numbers.parseFloat(BigDecimal.ONE.add(new BigDecimal(0x1p-24)).toPlainString()));
    }

    @Test
    void floatRange() throws Exception {
        assertEquals(Float.MAX_VALUE, Numbers.parseFloat("3.4028235e38"));
        // Below MAX + ulp/2 (its nearest double is that midpoint): still MAX.
        assertEquals(Float.MAX_VALUE, Numbers.parseFloat("3.4028235677973366e38"));
        // Exactly MAX + ulp/2 ties to even, i.e. to infinity: an overflow.
        assertThrows(Numbers.OverflowException.class,
                () -> Numbers.parseFloat("340282356779733661637539395458142568448"));
        assertThrows(Numbers.OverflowException.class, () -> Numbers.parseFloat("1e39"));
        assertThrows(Numbers.OverflowException.class, () -> Numbers.parseFloat("-1e39"));
        assertEquals(Float.MIN_VALUE, Numbers.parseFloat("1e-45"));
        assertEquals(0x80000000, floatBits("-1e-50"));
        assertEquals(0x80000000, floatBits("-0"));
        assertEquals(0x80000000, floatBits("-0.0"));
        assertEquals(0.1f, Numbers.parseFloat("0.1"));
        assertEquals(16777216f, Numbers.parseFloat("16777217"));
        assertTrue(Float.isNaN(Numbers.parseFloat("NaN")));
        assertEquals(Float.NEGATIVE_INFINITY, Numbers.parseFloat("-Infinity"));
    }

    @Test
    void doubleRange() throws Exception {
        assertThrows(Numbers.OverflowException.class, () -> Numbers.parseDouble("1e999"));
        assertThrows(Numbers.OverflowException.class, () -> Numbers.parseDouble("-1.8e308"));
        assertEquals(Double.MAX_VALUE, Numbers.parseDouble("1.7976931348623157e308"));
        assertEquals(0.0, Numbers.parseDouble("1e-999"));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(Numbers.parseDouble("-0")));
        // Around 2^-1075, half the smallest subnormal.
        assertEquals(0.0, Numbers.parseDouble("2.4703282292062327e-324"));
        assertEquals(Double.MIN_VALUE, Numbers.parseDouble("2.4703282292062328e-324"));
        assertEquals(0.0, Numbers.parseDouble(new BigDecimal(Double.MIN_VALUE).divide(BigDecimal.valueOf(2)).toString()));
        assertEquals(Double.POSITIVE_INFINITY, Numbers.parseDouble("Infinity"));
        assertEquals(9007199254740992.0, Numbers.parseDouble("9007199254740993"));
    }

    @Test
    void half() throws Exception {
        assertEquals((short) 0x7bff, Numbers.parseHalf("65504"));
        assertEquals((short) 0x7bff, Numbers.parseHalf("65519.99"));
        assertThrows(Numbers.OverflowException.class, () -> Numbers.parseHalf("65520"));
        assertEquals((short) 0x3c00, Numbers.parseHalf("1"));
        assertEquals((short) 0x2e66, Numbers.parseHalf("0.1"));
        assertEquals((short) 0x0000, Numbers.parseHalf("2.98023223876953125e-8"), "2^-25 ties to even: 0");
        assertEquals((short) 0x0001, Numbers.parseHalf("2.98023223876953126e-8"));
        assertEquals((short) 0x8000, Numbers.parseHalf("-0"));
        assertEquals((short) 0x7c00, Numbers.parseHalf("Infinity"));
        assertEquals((short) 0x0400, Numbers.doubleToHalf(0x1p-14));
        assertEquals(0x1p-24, Numbers.halfToDouble((short) 1));
        assertEquals(65504.0, Numbers.halfToDouble((short) 0x7bff));
    }

    @Test
    void halfShortestFormReadsBackForEveryHalf() {
        assertEquals("0.1", Numbers.formatHalf((short) 0x2e66));
        assertEquals("65500.0", Numbers.formatHalf((short) 0x7bff));
        assertEquals("6e-8", Numbers.formatHalf((short) 0x0001));
        assertEquals("-0.0", Numbers.formatHalf((short) 0x8000));
        assertEquals("NaN", Numbers.formatHalf((short) 0x7e00));
        assertEquals("-Infinity", Numbers.formatHalf((short) 0xfc00));
        for (int h = 0; h < 0x10000; h++) {
            double v = Numbers.halfToDouble((short) h);
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                continue;
            }
            String s = Numbers.formatHalf((short) h);
            short back;
            try {
                back = Numbers.parseHalf(s);
            } catch (Numbers.OverflowException e) {
                throw new AssertionError(s, e);
            }
            assertEquals((short) h, back, s);
        }
    }
}
