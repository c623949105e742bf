package org.polyglot.tf.consumer;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Decimal text to and from the floating dtypes, rounding directly to the target width.
 *
 * <p>Parsing: the literal is first rounded to double ({@link Double#parseDouble}); narrowing that
 * double to float or half gives the correctly rounded result except when the double lies exactly
 * halfway between two neighbours of the narrow type (double rounding), which is detected and
 * decided on the exact decimal value with {@link BigDecimal}. All roundings are
 * round-half-to-even. A finite literal whose rounded value overflows the dtype is an error.
 */
public final class Numbers {

    /** 2^-1075: half of the smallest subnormal double. */
    private static final BigDecimal HALF_MIN_DOUBLE = new BigDecimal(Double.MIN_VALUE).divide(BigDecimal.valueOf(2));

    /** Largest finite half, 65504. */
    private static final double HALF_MAX = 65504.0;

    private Numbers() {
    }

    /** Thrown when a finite literal overflows the target dtype. */
    public static final class OverflowException extends Exception {
        private static final long serialVersionUID = 1L;

        OverflowException() {
            super(null, null, false, false);
        }
    }

    /**
     * Rounds a JSON number literal (or {@code NaN}, {@code Infinity}, {@code -Infinity}) to
     * double.
     *
     * @param text the literal
     * @return the nearest double (ties to even)
     * @throws OverflowException when a finite literal rounds to an infinity
     * @throws NumberFormatException when the text is no number
     */
    public static double parseDouble(String text) throws OverflowException {
        Double special = special(text);
        if (special != null) {
            return special;
        }
        double d = Double.parseDouble(text);
        if (Double.isInfinite(d)) {
            throw new OverflowException();
        }
        if (Math.abs(d) <= Double.MIN_VALUE) {
            // Older JDKs misround around 2^-1075 (JDK-4396272): decide on the exact value.
            BigDecimal x = exact(text);
            if (x != null && x.signum() != 0) {
                boolean up = x.abs().compareTo(HALF_MIN_DOUBLE) > 0;
                d = Math.copySign(up ? Double.MIN_VALUE : 0.0, x.signum());
            }
        }
        return d;
    }

    /**
     * Rounds a JSON number literal (or {@code NaN}, {@code Infinity}, {@code -Infinity}) to float
     * directly (not through a rounded double).
     *
     * @param text the literal
     * @return the nearest float (ties to even)
     * @throws OverflowException when a finite literal rounds to an infinity
     * @throws NumberFormatException when the text is no number
     */
    public static float parseFloat(String text) throws OverflowException {
        Double special = special(text);
        if (special != null) {
            return special.floatValue();
        }
        double d = Double.parseDouble(text);
        if (Double.isInfinite(d)) {
            throw new OverflowException();
        }
        float f = (float) d;
        if ((double) f != d) {
            float mag = Math.abs(d) > Math.abs((double) f) ? Math.nextUp(Math.abs(f)) : Math.nextDown(Math.abs(f));
            float other = Math.copySign(mag, (float) d);
            double mid = Float.isInfinite(f) || Float.isInfinite(other)
                    ? Math.copySign((double) Float.MAX_VALUE + Math.ulp(Float.MAX_VALUE) / 2.0, d)
                    : ((double) f + (double) other) / 2.0;
            if (d == mid) {
                int c = compareMagnitude(text, mid);
                if (c != 0) {
                    boolean fLarger = Math.abs(f) > Math.abs(other);
                    f = (c > 0) == fLarger ? f : other;
                }
            }
        }
        if (Float.isInfinite(f)) {
            throw new OverflowException();
        }
        return f;
    }

    /**
     * Rounds a JSON number literal (or {@code NaN}, {@code Infinity}, {@code -Infinity}) to
     * IEEE binary16 directly.
     *
     * @param text the literal
     * @return the half's bit pattern
     * @throws OverflowException when a finite literal rounds to an infinity (|x| &gt;= 65520)
     * @throws NumberFormatException when the text is no number
     */
    public static short parseHalf(String text) throws OverflowException {
        Double special = special(text);
        if (special != null) {
            return doubleToHalf(special);
        }
        double d = Double.parseDouble(text);
        if (Double.isInfinite(d)) {
            throw new OverflowException();
        }
        short h = doubleToHalf(d);
        double hv = halfToDouble(h);
        if (hv != d) {
            boolean up = Math.abs(d) > Math.abs(hv);
            short other = (short) (up ? h + 1 : h - 1);
            double ov = halfToDouble(other);
            double mid = Double.isInfinite(hv) || Double.isInfinite(ov)
                    ? Math.copySign(HALF_MAX + 16.0, d)
                    : (hv + ov) / 2.0;
            if (d == mid) {
                int c = compareMagnitude(text, mid);
                if (c != 0) {
                    boolean hLarger = Math.abs(hv) > Math.abs(ov);
                    h = (c > 0) == hLarger ? h : other;
                }
            }
        }
        if ((h & 0x7fff) == 0x7c00) {
            throw new OverflowException();
        }
        return h;
    }

    /**
     * Converts a double to the nearest half (ties to even), NaN to a quiet NaN.
     *
     * @param d the value
     * @return the half's bit pattern
     */
    public static short doubleToHalf(double d) {
        int sign = (Double.doubleToRawLongBits(d) < 0) ? 0x8000 : 0;
        if (Double.isNaN(d)) {
            return (short) 0x7e00;
        }
        double a = Math.abs(d);
        if (a >= HALF_MAX + 16.0) {
            return (short) (sign | 0x7c00);
        }
        if (a < 0x1p-14) {
            int m = (int) Math.rint(a * 0x1p24);
            return (short) (sign | m);
        }
        int e = Math.getExponent(a);
        int m = (int) Math.rint(Math.scalb(a, 10 - e));
        if (m == 2048) {
            m = 1024;
            e++;
        }
        if (e > 15) {
            return (short) (sign | 0x7c00);
        }
        return (short) (sign | ((e + 15) << 10) | (m - 1024));
    }

    /**
     * Converts a half to double (exactly).
     *
     * @param h the half's bit pattern
     * @return the value
     */
    public static double halfToDouble(short h) {
        int bits = h & 0xffff;
        int sign = bits >>> 15;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        double v;
        if (exp == 0x1f) {
            v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exp == 0) {
            v = Math.scalb((double) mant, -24);
        } else {
            v = Math.scalb((double) (mant | 0x400), exp - 25);
        }
        return sign == 1 ? -v : v;
    }

    /**
     * Formats a half in the shortest decimal form that parses back (by {@link #parseHalf}) to the
     * same half, choosing the nearest such decimal to the exact value.
     *
     * @param h the half's bit pattern
     * @return e.g. {@code 0.1}, {@code 65500.0}, {@code 6.0E-8}, {@code NaN}, {@code -Infinity},
     *     {@code -0.0}
     */
    public static String formatHalf(short h) {
        double v = halfToDouble(h);
        if (Double.isNaN(v) || Double.isInfinite(v) || v == 0.0) {
            return Double.toString(v);
        }
        BigDecimal exact = new BigDecimal(v);
        for (int p = 1; p <= 17; p++) {
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR,
                RoundingMode.CEILING}) {
                BigDecimal c = exact.round(new MathContext(p, mode));
                short back;
                try {
                    back = parseHalf(c.toString());
                } catch (OverflowException e) {
                    continue;
                }
                if (back == h && (best == null
                        || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = c;
                }
            }
            if (best != null) {
                return formatDecimal(best);
            }
        }
        return Double.toString(v);
    }

    /**
     * Formats a float32 as Python's reference writes it ({@code str()} of a numpy 2
     * {@code float32}): the shortest decimal that parses back to the same float32 (the nearest
     * such one), positional when {@code 1e-4 <= |f| < 1e6} ({@code 0.1}, {@code 3.0},
     * {@code 999999.94}) and scientific otherwise ({@code 2.7862932e-05}, {@code 1e-04},
     * {@code 1e+06}, {@code 1e-45}); NaN and the infinities as the contract's bare tokens
     * {@code NaN}, {@code Infinity}, {@code -Infinity}; {@code -0.0} keeps its sign.
     *
     * <p>This is the text of the {@code train} command's stdout lines, which must be byte-identical
     * across languages (JSON responses instead use Jackson's writer; they are compared by value).
     *
     * @param f the value
     * @return the text
     */
    public static String formatFloat32(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            return Float.isNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity";
        }
        if (f == 0.0f) {
            return Float.floatToRawIntBits(f) < 0 ? "-0.0" : "0.0";
        }
        BigDecimal d = shortest(new BigDecimal(f), 9, c -> Float.parseFloat(c.toString()) == f);
        return pythonStyle(d, Math.abs((double) f), 1e6);
    }

    /**
     * Formats a float64 as Python's {@code repr(float)} does (the rules of
     * {@link #formatFloat32(float)} with the shortest decimal that parses back to the same double,
     * positional when {@code 1e-4 <= |v| < 1e16}).
     *
     * @param v the value
     * @return the text, e.g. {@code 0.1}, {@code 1e-05}, {@code 1e+16}, {@code NaN}
     */
    public static String formatFloat64(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0.0) {
            return Double.doubleToRawLongBits(v) < 0 ? "-0.0" : "0.0";
        }
        BigDecimal d = shortest(new BigDecimal(v), 17, c -> Double.parseDouble(c.toString()) == v);
        return pythonStyle(d, Math.abs(v), 1e16);
    }

    /**
     * Formats a half (binary16) as Python's reference writes it ({@code str()} of a numpy
     * {@code float16}), with the rules of {@link #formatFloat32(float)} (positional when
     * {@code 1e-4 <= |v| < 1e3}).
     *
     * @param h the half's bit pattern
     * @return the text, e.g. {@code 0.1}, {@code 999.5}, {@code 6.55e+04}, {@code 6e-08}
     */
    public static String formatFloat16(short h) {
        double v = halfToDouble(h);
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0.0) {
            return (h & 0x8000) != 0 ? "-0.0" : "0.0";
        }
        BigDecimal d = shortest(new BigDecimal(v), 5, c -> {
            try {
                return parseHalf(c.toString()) == h;
            } catch (OverflowException e) {
                return false;
            }
        });
        return pythonStyle(d, Math.abs(v), 1e3);
    }

    /**
     * Returns the decimal with the fewest significant digits for which {@code roundTrips} holds,
     * the one nearest {@code exact} among those of that length (ties: round-half-even's choice).
     */
    private static BigDecimal shortest(BigDecimal exact, int maxDigits,
            java.util.function.Predicate<BigDecimal> roundTrips) {
        for (int p = 1; p <= maxDigits; p++) {
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR,
                RoundingMode.CEILING}) {
                BigDecimal c = exact.round(new MathContext(p, mode));
                if (roundTrips.test(c) && (best == null
                        || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = c;
                }
            }
            if (best != null) {
                return best;
            }
        }
        return exact;
    }

    /**
     * Python's layout of a shortest decimal (numpy 2 Dragon4 / CPython {@code repr}): positional
     * with at least one fractional digit when {@code 1e-4 <= abs < maxPositional} (numpy 2.3+:
     * 1e3 for float16, 1e6 for float32; 1e16 for float64 as CPython), else
     * {@code d[.ddd]e(+|-)XX} with at least two exponent digits.
     */
    private static String pythonStyle(BigDecimal d, double abs, double maxPositional) {
        BigDecimal u = d.stripTrailingZeros();
        String digits = u.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - u.scale();
        StringBuilder b = new StringBuilder(d.signum() < 0 ? "-" : "");
        if (abs >= 1e-4 && abs < maxPositional) {
            if (exp < 0) {
                b.append("0.").append("0".repeat(-exp - 1)).append(digits);
            } else if (exp >= digits.length() - 1) {
                b.append(digits).append("0".repeat(exp - (digits.length() - 1))).append(".0");
            } else {
                b.append(digits, 0, exp + 1).append('.').append(digits, exp + 1, digits.length());
            }
            return b.toString();
        }
        b.append(digits.charAt(0));
        if (digits.length() > 1) {
            b.append('.').append(digits, 1, digits.length());
        }
        int e = Math.abs(exp);
        return b.append('e').append(exp < 0 ? '-' : '+').append(e < 10 ? "0" : "").append(e).toString();
    }

    /** Java/Jackson style: plain in [1e-3, 1e7), else d.dddE[-]n. */
    private static String formatDecimal(BigDecimal d) {
        BigDecimal a = d.abs();
        if (a.compareTo(new BigDecimal("0.001")) >= 0 && a.compareTo(BigDecimal.TEN.pow(7)) < 0) {
            String s = d.stripTrailingZeros().toPlainString();
            return s.indexOf('.') < 0 ? s + ".0" : s;
        }
        BigDecimal u = d.stripTrailingZeros();
        String digits = u.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - u.scale();
        String mant = digits.length() == 1 ? digits + ".0" : digits.charAt(0) + "." + digits.substring(1);
        return (d.signum() < 0 ? "-" : "") + mant + "E" + exp;
    }

    private static Double special(String text) {
        switch (text) {
            case "NaN":
                return Double.NaN;
            case "Infinity":
                return Double.POSITIVE_INFINITY;
            case "-Infinity":
                return Double.NEGATIVE_INFINITY;
            default:
                return null;
        }
    }

    /** Compares |exact(text)| with |mid|; 0 when the text cannot be read exactly. */
    private static int compareMagnitude(String text, double mid) {
        BigDecimal x = exact(text);
        return x == null ? 0 : x.abs().compareTo(new BigDecimal(Math.abs(mid)));
    }

    private static BigDecimal exact(String text) {
        try {
            return new BigDecimal(text);
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }
}
