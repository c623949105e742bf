package org.polyglot.tf.internal;

import com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;
import com.fasterxml.jackson.core.io.schubfach.FloatToDecimal;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Numbers as text, both ways, for every dtype the consumer carries.
 *
 * <p>Writing ({@link #format(double)}, {@link #format(float)}, {@link #formatHalf(short)},
 * {@link #format(DType, ByteBuffer, int)}): tests/CONTRACT.md, "Numbers in text", for every number
 * the consumer writes (JSON responses, {@code train}'s stdout and manifest, {@code classify}'s
 * probability). The digits are the shortest decimal that reads back to the value in its own dtype,
 * the nearest such one: Raffaello Giulietti's Schubfach for float64 and float32 (Jackson's
 * {@code schubfach.DoubleToDecimal} / {@code FloatToDecimal}, the algorithm of Java 19's
 * {@code Double.toString}; Java 17's own {@code toString} is not always shortest), a digit search
 * for binary16. They are laid out as ECMAScript's {@code Number::toString} lays out its digits,
 * with {@code .0} after a whole number; NaN and the infinities are the bare tokens {@code NaN},
 * {@code Infinity}, {@code -Infinity}, and {@code -0.0} keeps its sign.
 *
 * <p>Reading JSON number literals ({@link #parseDouble}, {@link #parseFloat}, {@link #parseHalf}):
 * tests/CONTRACT.md, "Values": the literal is first rounded to double
 * ({@link Double#parseDouble}); narrowing that double to float or half gives the correctly rounded
 * result except when the double lies exactly halfway between two neighbours of the narrow type
 * (double rounding), which is detected and decided on the exact decimal value with
 * {@link BigDecimal}. All roundings are round-half-to-even. A finite literal whose rounded value
 * overflows the dtype is an error.
 *
 * <p>Reading decimal literals of text that is not JSON ({@link #parseDecimalFloat32}):
 * tests/CONTRACT.md, "Decimal numbers in text input".
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

    // ----------------------------------------------------------------------------------------
    // Numbers in text (tests/CONTRACT.md, "Numbers in text")

    /**
     * Writes a float64 as tests/CONTRACT.md, "Numbers in text", says: the shortest decimal that
     * reads back to {@code v} as a double (the nearest such one), in ECMAScript's
     * {@code Number::toString} layout with {@code .0} after a whole number.
     *
     * @param v the value
     * @return e.g. {@code 0.1}, {@code 100.0}, {@code 1e+21}, {@code 5e-324}, {@code -0.0},
     *     {@code NaN}, {@code -Infinity}
     */
    public static String format(double v) {
        String special = special(v);
        if (special != null) {
            return special;
        }
        return layout(v < 0, shortest(DoubleToDecimal.toString(v), v,
                c -> Double.doubleToRawLongBits(Double.parseDouble(c)) == Double.doubleToRawLongBits(v)));
    }

    /**
     * Writes a float32 as tests/CONTRACT.md, "Numbers in text", says: the shortest decimal that
     * reads back to {@code f} as a float32 (the nearest such one; not the float64 digits of the
     * same value), in ECMAScript's {@code Number::toString} layout with {@code .0} after a whole
     * number.
     *
     * @param f the value
     * @return e.g. {@code 0.1}, {@code 3.0}, {@code 999999.94}, {@code 0.000027862932},
     *     {@code 1e-7}, {@code 3.4028235e+38}, {@code 1e-45}
     */
    public static String format(float f) {
        String special = special(f);
        if (special != null) {
            return special;
        }
        return layout(f < 0, shortest(FloatToDecimal.toString(f), f,
                c -> Float.floatToRawIntBits(Float.parseFloat(c)) == Float.floatToRawIntBits(f)));
    }

    /**
     * Writes a half (IEEE binary16) as tests/CONTRACT.md, "Numbers in text", says: the shortest
     * decimal that reads back to it as a half ({@link #parseHalf}, round-half-even), the nearest
     * such one, in ECMAScript's {@code Number::toString} layout with {@code .0} after a whole
     * number. No library computes binary16 digits, so they are searched: for 1, 2, ... digits,
     * the decimals just below and above the exact value.
     *
     * @param h the half's bit pattern
     * @return e.g. {@code 0.1}, {@code 65500.0}, {@code 6e-8}, {@code -2.5}, {@code -0.0}
     */
    public static String formatHalf(short h) {
        double v = halfToDouble(h);
        String special = special(v);
        if (special != null) {
            return special;
        }
        BigDecimal exact = new BigDecimal(v);
        for (int p = 1; p <= 5; p++) {
            BigDecimal best = nearestRoundTrip(exact, p, c -> {
                try {
                    return parseHalf(c) == h;
                } catch (OverflowException e) {
                    return false;
                }
            });
            if (best != null) {
                return layout(v < 0, Decimal.of(best));
            }
        }
        throw new IllegalStateException("no 5-digit decimal reads back to half 0x" + Integer.toHexString(h & 0xffff));
    }

    /**
     * Writes element {@code i} of a numeric tensor buffer as tests/CONTRACT.md, "Numbers in text",
     * says: floating dtypes by {@link #format(double)}, {@link #format(float)} and
     * {@link #formatHalf(short)} (the digits of the element's own dtype), integers in decimal
     * (unsigned ones never negative), {@code DT_BOOL} as {@code true} / {@code false}.
     *
     * @param dtype the tensor's dtype (not {@link DType#STRING})
     * @param data the little-endian element buffer
     * @param i the element index
     * @return the text
     * @throws IllegalArgumentException for {@link DType#STRING}
     */
    public static String format(DType dtype, ByteBuffer data, int i) {
        return switch (dtype) {
            case FLOAT -> format(data.getFloat(i * 4));
            case DOUBLE -> format(data.getDouble(i * 8));
            case HALF -> formatHalf(data.getShort(i * 2));
            case INT8 -> Byte.toString(data.get(i));
            case INT16 -> Short.toString(data.getShort(i * 2));
            case INT32 -> Integer.toString(data.getInt(i * 4));
            case INT64 -> Long.toString(data.getLong(i * 8));
            case UINT8 -> Integer.toString(data.get(i) & 0xff);
            case UINT16 -> Integer.toString(data.getShort(i * 2) & 0xffff);
            case UINT32 -> Long.toString(data.getInt(i * 4) & 0xffff_ffffL);
            case UINT64 -> Long.toUnsignedString(data.getLong(i * 8));
            case BOOL -> data.get(i) != 0 ? "true" : "false";
            case STRING -> throw new IllegalArgumentException("DT_STRING has no number text");
        };
    }

    /** The text of NaN, the infinities and the zeros; {@code null} for any other value. */
    private static String special(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0.0) {
            return Double.doubleToRawLongBits(v) < 0 ? "-0.0" : "0.0";
        }
        return null;
    }

    /**
     * A positive decimal {@code 0.d1d2...dk × 10^n}: {@code digits} ({@code k} of them, the first
     * and last not zero) and {@code n}, the contract's {@code s} and {@code n}.
     */
    private record Decimal(String digits, int n) {

        /** The digits and exponent of a Schubfach string ({@code 123.45}, {@code 1.0E-7}, {@code -0.001}). */
        static Decimal parse(String text) {
            String t = text.startsWith("-") ? text.substring(1) : text;
            int e = t.indexOf('E');
            int exponent = e < 0 ? 0 : Integer.parseInt(t.substring(e + 1));
            String mantissa = e < 0 ? t : t.substring(0, e);
            int dot = mantissa.indexOf('.');
            String whole = dot < 0 ? mantissa : mantissa.substring(0, dot);
            String digits = whole + (dot < 0 ? "" : mantissa.substring(dot + 1));
            int n = whole.length() + exponent;
            int first = 0;
            while (digits.charAt(first) == '0') {
                first++;
                n--;
            }
            int last = digits.length();
            while (digits.charAt(last - 1) == '0') {
                last--;
            }
            return new Decimal(digits.substring(first, last), n);
        }

        /** The digits and exponent of a non-zero BigDecimal's magnitude. */
        static Decimal of(BigDecimal d) {
            BigDecimal u = d.abs().stripTrailingZeros();
            String digits = u.unscaledValue().toString();
            return new Decimal(digits, digits.length() - u.scale());
        }

        /** The magnitude as a literal that {@link Double#parseDouble} and {@link Float#parseFloat} read. */
        String literal() {
            return digits + "E" + (n - digits.length());
        }
    }

    /**
     * The shortest decimal that reads back to a value, from its Schubfach string. Schubfach (as
     * Java 19's {@code Double.toString} specifies it) writes at least two digits: when a single
     * digit reads back too, it writes the two-digit decimal nearest the value instead (4.9E-324,
     * where the shortest is 5e-324). So a two-digit answer {@code d.x} is checked against the
     * one-digit decimals on either side of it, {@code d} and {@code d + 1}, which are also those on
     * either side of the value (it lies within half a unit of {@code x} from {@code d.x}).
     *
     * @param schubfach {@code DoubleToDecimal.toString} / {@code FloatToDecimal.toString} of the value
     * @param value the value (a float widened to double exactly)
     * @param readsBack whether a decimal literal reads back to the value in its dtype
     */
    private static Decimal shortest(String schubfach, double value, Predicate<String> readsBack) {
        Decimal d = Decimal.parse(schubfach);
        if (d.digits().length() != 2) {
            return d;
        }
        int first = d.digits().charAt(0) - '0';
        Decimal below = new Decimal(Integer.toString(first), d.n());
        Decimal above = first == 9 ? new Decimal("1", d.n() + 1) : new Decimal(Integer.toString(first + 1), d.n());
        boolean belowReadsBack = readsBack.test(below.literal());
        boolean aboveReadsBack = readsBack.test(above.literal());
        if (belowReadsBack && aboveReadsBack) {
            // Both one-digit neighbours read back (a wide rounding interval, among subnormals):
            // the nearer, the even one on a tie.
            BigDecimal exact = new BigDecimal(value).abs();
            int c = exact.subtract(new BigDecimal(below.literal())).compareTo(new BigDecimal(above.literal()).subtract(exact));
            return c < 0 || (c == 0 && first % 2 == 0) ? below : above;
        }
        return belowReadsBack ? below : aboveReadsBack ? above : d;
    }

    /**
     * Among the decimals of {@code digits} significant digits just below and just above
     * {@code exact}, the one nearest it that reads back (the round-half-even neighbour on a tie),
     * or {@code null} when neither does.
     */
    private static BigDecimal nearestRoundTrip(BigDecimal exact, int digits, Predicate<String> readsBack) {
        BigDecimal best = null;
        for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR, RoundingMode.CEILING}) {
            BigDecimal c = exact.round(new MathContext(digits, mode));
            if (readsBack.test(c.toString()) && (best == null
                    || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                best = c;
            }
        }
        return best;
    }

    /**
     * Lays out {@code s × 10^(n−k)} as ECMAScript's {@code Number::toString} does (ECMA-262,
     * "Number::toString", the steps for {@code k}, {@code n}, {@code s}), except that a whole
     * number keeps a {@code .0} (tests/CONTRACT.md, "Numbers in text").
     */
    private static String layout(boolean negative, Decimal d) {
        String s = d.digits();
        int k = s.length();
        int n = d.n();
        StringBuilder b = new StringBuilder(negative ? "-" : "");
        if (k <= n && n <= 21) {
            b.append(s).append("0".repeat(n - k)).append(".0");
        } else if (0 < n && n <= 21) {
            b.append(s, 0, n).append('.').append(s, n, k);
        } else if (-6 < n && n <= 0) {
            b.append("0.").append("0".repeat(-n)).append(s);
        } else {
            b.append(s.charAt(0));
            if (k > 1) {
                b.append('.').append(s, 1, k);
            }
            b.append('e').append(n - 1 >= 0 ? '+' : '-').append(Math.abs(n - 1));
        }
        return b.toString();
    }

    // ----------------------------------------------------------------------------------------
    // Decimal numbers in text input (tests/CONTRACT.md, "Decimal numbers in text input")

    /**
     * A decimal literal of text that is not JSON, exactly the contract's pattern
     * {@code [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?}: no white space, {@code _},
     * hexadecimal, {@code inf}/{@code nan} words or type suffix ({@code f}, {@code d}), ASCII
     * digits only.
     */
    private static final Pattern DECIMAL_LITERAL = Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    /**
     * Reads a decimal literal of a CSV field or a flag (tests/CONTRACT.md, "Decimal numbers in
     * text input"): the text must match the contract's pattern; it is then rounded once,
     * correctly (round-half-even), to float32 by {@link Float#parseFloat}, which reads the whole
     * decimal (not through a double).
     *
     * @param text the text, exactly as given (not trimmed)
     * @return the float32; {@code ±Infinity} when the literal is beyond float32's range (a caller
     *     that needs a finite value refuses it); a signed zero when it is below half the smallest
     *     subnormal
     * @throws NumberFormatException when the text does not match the pattern
     */
    public static float parseDecimalFloat32(String text) {
        if (!DECIMAL_LITERAL.matcher(text).matches()) {
            throw new NumberFormatException("not a decimal literal: " + Echo.bound(text));
        }
        return Float.parseFloat(text);
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
