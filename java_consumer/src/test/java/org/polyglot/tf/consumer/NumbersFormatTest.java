package org.polyglot.tf.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Python's number text (numpy 2 str of float32/float16, CPython repr of float), for train's stdout. */
class NumbersFormatTest {

    /** float32 bit patterns and str(np.float32(...)) from numpy 2.4. */
    private static final Object[][] FLOAT32 = {
        {0x3dcccccd, "0.1"}, {0x40400000, "3.0"}, {0x38d1b717, "1e-04"}, {0x38d1b70a, "9.99999e-05"},
        {0x5a0e1bca, "1e+16"}, {0x58635fa9, "1e+15"}, {0x4ceb79a3, "1.2345679e+08"}, {0x37e9bb31, "2.7862932e-05"},
        {0x7f7fffff, "3.4028235e+38"}, {0x00000001, "1e-45"}, {0x00800000, "1.1754944e-38"}, {0x80000000, "-0.0"},
        {0x00000000, "0.0"}, {0x42c80000, "100.0"}, {0x3fc00000, "1.5"}, {0xb48637bd, "-2.5e-07"},
        {0x4b800000, "1.6777216e+07"}, {0x3901725b, "0.00012345"}, {0x4b18967f, "9.999999e+06"},
        {0x4b189680, "1e+07"}, {0x477fe000, "65504.0"}, {0x4040052a, "3.0003152"}, {0x3e99999a, "0.3"},
        {0x497423ff, "999999.94"}, {0x49742400, "1e+06"}, {0x38d1b718, "0.000100000005"},
        {0x7fc00000, "NaN"}, {0x7f800000, "Infinity"}, {0xff800000, "-Infinity"},
    };

    @Test
    void float32AsNumpyStr() {
        for (Object[] c : FLOAT32) {
            float f = Float.intBitsToFloat((Integer) c[0]);
            assertEquals(c[1], Numbers.formatFloat32(f), Integer.toHexString((Integer) c[0]));
        }
    }

    @Test
    void float32RoundTripsEverywhere() {
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 20000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isFinite(f)) {
                assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(Float.parseFloat(
                        Numbers.formatFloat32(f))), Float.toString(f));
            }
        }
    }

    @Test
    void float64AsPythonRepr() {
        assertEquals("0.1", Numbers.formatFloat64(0.1));
        assertEquals("1e-05", Numbers.formatFloat64(1e-5));
        assertEquals("1e+16", Numbers.formatFloat64(1e16));
        assertEquals("1000000000000000.0", Numbers.formatFloat64(1e15));
        assertEquals("5e-324", Numbers.formatFloat64(Double.MIN_VALUE));
        assertEquals("1.7976931348623157e+308", Numbers.formatFloat64(Double.MAX_VALUE));
        assertEquals("123.456", Numbers.formatFloat64(123.456));
        assertEquals("-0.0", Numbers.formatFloat64(-0.0));
        assertEquals("0.3333333333333333", Numbers.formatFloat64(1.0 / 3));
    }

    @Test
    void float16AsNumpyStr() {
        assertEquals("0.1", Numbers.formatFloat16((short) 0x2e66));
        assertEquals("6.55e+04", Numbers.formatFloat16((short) 0x7bff));
        assertEquals("6e-08", Numbers.formatFloat16((short) 0x0001));
        assertEquals("0.0001", Numbers.formatFloat16((short) 0x068e));
        assertEquals("3.14", Numbers.formatFloat16((short) 0x4248));
    }
}
