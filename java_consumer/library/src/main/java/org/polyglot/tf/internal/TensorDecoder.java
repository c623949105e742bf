package org.polyglot.tf.internal;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Decodes one JSON value (nested lists, rank = nesting depth; a scalar is a bare value) into a
 * {@link HostTensor} of the dtype and shape a {@link TensorSpec} asks for.
 *
 * <p>Checks, in this order, and before anything reaches TensorFlow: the lists are rectangular
 * (else a "ragged" error), the rank equals the signature's (when known), every known dim matches,
 * and every element is a value of the dtype: a JSON number or {@code NaN}/{@code Infinity}/
 * {@code -Infinity} for floating dtypes (rounded directly to the dtype, overflow is an error); an
 * integer literal (no fraction, no exponent) within range for integer dtypes, exact for 64 bits;
 * {@code true}/{@code false} for {@code DT_BOOL}; a string (its UTF-8 bytes) or
 * {@code {"b64": "<standard base64>"}} for {@code DT_STRING}. Every error is a refusal whose
 * message names the input alias and describes the spec.
 */
public final class TensorDecoder {

    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    private final TensorSpec spec;
    private final DType dtype;
    private final boolean rows;
    private ByteBuffer buf;
    private byte[][] strings;
    private int next;

    private TensorDecoder(TensorSpec spec, DType dtype, boolean rows) {
        this.spec = spec;
        this.dtype = dtype;
        this.rows = rows;
    }

    /**
     * Decodes a value against a spec.
     *
     * @param value the JSON value; for the row format, the list of the instances' values (the
     *     instances stacked on a new leading dim)
     * @param spec the signature's input spec
     * @param rows true when {@code value} is the stack of row-format instances (for messages)
     * @return the tensor, of dtype {@code spec.dtype()} and a shape compatible with
     *     {@code spec.shape()}
     * @throws StatusException when the value does not fit the spec
     */
    public static HostTensor decode(Json.Value value, TensorSpec spec, boolean rows) {
        DType dtype = spec.dtype();
        if (dtype == null) {
            throw StatusException.failedPrecondition("input " + Echo.quotedSingle(spec.alias()) + " has dtype " + spec.dtypeName()
                    + ", which java_consumer cannot feed from JSON; signature input " + spec.describe());
        }
        return new TensorDecoder(spec, dtype, rows).run(value);
    }

    private HostTensor run(Json.Value value) {
        List<Long> dimList = new ArrayList<>();
        for (Json.Value v = value; v instanceof Json.Arr a; v = a.get(0)) {
            dimList.add((long) a.size());
            if (a.size() == 0) {
                break;
            }
        }
        long[] shape = dimList.stream().mapToLong(Long::longValue).toArray();
        long n;
        try {
            n = HostTensor.numElements(shape);
        } catch (ArithmeticException e) {
            throw refuse("is too large");
        }
        if (dtype == DType.STRING) {
            if (n > Integer.MAX_VALUE - 8) {
                throw refuse("is too large");
            }
            strings = new byte[(int) n][];
        } else {
            buf = HostTensor.allocate(dtype, shape);
        }
        // One depth-first pass in document order: the first problem found is the one reported,
        // whether it is raggedness or an element of the wrong type.
        fill(value, shape, 0, new StringBuilder());
        if (spec.rankKnown() && spec.shape().length != shape.length) {
            throw refuse("has rank " + shape.length + " (" + shapeOfValue(shape) + ") but the signature expects rank "
                    + spec.shape().length);
        }
        if (spec.rankKnown()) {
            for (int i = 0; i < shape.length; i++) {
                long want = spec.shape()[i];
                if (want >= 0 && want != shape[i]) {
                    throw refuse("has size " + shape[i] + " in dimension " + i + " (" + shapeOfValue(shape)
                            + ") but the signature fixes that dimension to " + want);
                }
            }
        }
        return dtype == DType.STRING ? HostTensor.strings(shape, strings) : HostTensor.numeric(dtype, shape, buf);
    }

    private void fill(Json.Value v, long[] shape, int depth, StringBuilder path) {
        if (depth < shape.length) {
            if (!(v instanceof Json.Arr a)) {
                throw ragged(path, "is a " + v.typeName() + " where a list of " + shape[depth] + " is expected");
            }
            if (a.size() != shape[depth]) {
                throw ragged(path, "has length " + a.size() + " where " + shape[depth] + " is expected");
            }
            int len = path.length();
            for (int i = 0; i < a.size(); i++) {
                path.append('[').append(i).append(']');
                fill(a.get(i), shape, depth + 1, path);
                path.setLength(len);
            }
            return;
        }
        if (v instanceof Json.Arr) {
            throw ragged(path, "is a list where " + (depth == 0 ? "a value is" : "values are") + " expected");
        }
        int i = next++;
        switch (dtype) {
            case FLOAT, DOUBLE, HALF -> putFloating(v, i, path);
            case BOOL -> {
                if (!(v instanceof Json.Bool b)) {
                    throw badElement(v, path, "true or false");
                }
                buf.put(i, (byte) (b.value() ? 1 : 0));
            }
            case STRING -> strings[i] = stringBytes(v, path);
            default -> putInteger(v, i, path);
        }
    }

    private void putFloating(Json.Value v, int i, StringBuilder path) {
        if (!(v instanceof Json.Num num)) {
            throw badElement(v, path, "numbers (or NaN, Infinity, -Infinity)");
        }
        try {
            switch (dtype) {
                case FLOAT -> buf.putFloat(i * 4, Numbers.parseFloat(num.text()));
                case DOUBLE -> buf.putDouble(i * 8, Numbers.parseDouble(num.text()));
                default -> buf.putShort(i * 2, Numbers.parseHalf(num.text()));
            }
        } catch (Numbers.OverflowException e) {
            throw refuse("has " + Echo.bound(num.text()) + at(path) + ", which overflows " + dtype.tfName());
        } catch (NumberFormatException e) {
            throw badElement(v, path, "numbers");
        }
    }

    private void putInteger(Json.Value v, int i, StringBuilder path) {
        if (!(v instanceof Json.Num num) || !num.integral()) {
            throw badElement(v, path, "integers (no fraction, no exponent)");
        }
        String text = num.text();
        long x;
        BigInteger big = null;
        if (text.length() <= 18) {
            x = Long.parseLong(text);
        } else if (text.length() - (text.startsWith("-") ? 1 : 0) > 20) {
            // More digits than any 64-bit value (JSON has no leading zeros): out of range, unconverted.
            throw outOfRange(text, path);
        } else {
            big = new BigInteger(text);
            x = big.longValue();
        }
        BigInteger min = dtype.minValue();
        BigInteger max = dtype.maxValue();
        boolean inRange;
        if (big != null) {
            inRange = big.compareTo(min) >= 0 && big.compareTo(max) <= 0;
        } else {
            inRange = (min.compareTo(LONG_MIN) <= 0 || x >= min.longValue())
                    && (max.compareTo(LONG_MAX) >= 0 || x <= max.longValue());
        }
        if (!inRange) {
            throw outOfRange(text, path);
        }
        switch (dtype.byteSize()) {
            case 1 -> buf.put(i, (byte) x);
            case 2 -> buf.putShort(i * 2, (short) x);
            case 4 -> buf.putInt(i * 4, (int) x);
            default -> buf.putLong(i * 8, x);
        }
    }

    private StatusException outOfRange(String literal, StringBuilder path) {
        return refuse("has " + Echo.bound(literal) + at(path) + ", which is out of range for " + dtype.tfName() + " ["
                + dtype.minValue() + ", " + dtype.maxValue() + "]");
    }

    private byte[] stringBytes(Json.Value v, StringBuilder path) {
        if (v instanceof Json.Str s) {
            try {
                ByteBuffer b = StandardCharsets.UTF_8.newEncoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .encode(CharBuffer.wrap(s.value()));
                return Arrays.copyOf(b.array(), b.limit());
            } catch (CharacterCodingException e) {
                throw refuse("has a string" + at(path) + " that is not valid Unicode (unpaired surrogate escape)");
            }
        }
        if (v instanceof Json.Obj o && o.isBase64()) {
            if (!(o.get("b64") instanceof Json.Str str)) {
                throw refuse("has a {\"b64\": ...} object" + at(path) + " whose value is a " + o.get("b64").typeName()
                        + ", not a base64 string");
            }
            String b64 = str.value();
            try {
                if (b64.length() % 4 != 0) {
                    throw new IllegalArgumentException("length " + b64.length() + " is not a multiple of 4 (padding)");
                }
                return Base64.getDecoder().decode(b64);
            } catch (IllegalArgumentException e) {
                throw refuse("has invalid standard base64" + at(path) + ": " + e.getMessage());
            }
        }
        throw badElement(v, path, "strings or {\"b64\": ...} objects");
    }

    private String at(StringBuilder path) {
        if (path.length() == 0) {
            return "";
        }
        return " at " + (rows ? "instances" : "") + path;
    }

    private static String shapeOfValue(long[] shape) {
        if (shape.length > 8) {
            return "the value's shape is (" + shape[0] + ", " + shape[1] + ", " + shape[2] + ", ..., "
                    + shape[shape.length - 1] + ")";
        }
        return "the value's shape is " + TensorSpec.formatShape(shape);
    }

    private StatusException ragged(StringBuilder path, String what) {
        String where = path.length() == 0 ? "the value" : "the element at " + path;
        String hint = rows ? " (all instances must have the same shape)" : "";
        return refuse("is ragged: nested lists must be rectangular, but " + where + " " + what + hint);
    }

    private StatusException badElement(Json.Value v, StringBuilder path, String wanted) {
        return refuse("needs " + dtype.tfName() + " values, i.e. " + wanted + ", but got " + describeValue(v) + at(path));
    }

    private StatusException refuse(String what) {
        return StatusException.invalidArgument("input " + Echo.quotedSingle(spec.alias()) + " " + what + "; signature input "
                + spec.describe());
    }

    /**
     * Describes a JSON value briefly for messages.
     *
     * @param v the value
     * @return e.g. {@code string "abc"}, {@code number 1.5}, {@code null}
     */
    static String describeValue(Json.Value v) {
        if (v instanceof Json.Str s) {
            return "string " + Echo.quoted(s.value());
        }
        if (v instanceof Json.Num n) {
            return "number " + Echo.bound(n.text());
        }
        if (v instanceof Json.Bool b) {
            return "boolean " + b.value();
        }
        return v.typeName();
    }
}
