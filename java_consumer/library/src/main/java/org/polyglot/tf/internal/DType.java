package org.polyglot.tf.internal;

import java.math.BigInteger;

/**
 * The TensorFlow dtypes the consumer can carry between JSON and tensors.
 *
 * <p>{@link #code()} is the {@code DataType} enum value, which is also the C API's
 * {@code TF_DataType} value; {@link #tfName()} is the enum name used in SignatureDefs, manifests
 * and messages ({@code DT_DOUBLE}). Numeric elements are stored little-endian, {@link #byteSize()}
 * bytes each; {@link #STRING} elements are byte strings (TF_TString in the tensor).
 */
public enum DType {
    /** 32-bit IEEE float. */
    FLOAT(1, "DT_FLOAT", 4),
    /** 64-bit IEEE float. */
    DOUBLE(2, "DT_DOUBLE", 8),
    /** Signed 32-bit integer. */
    INT32(3, "DT_INT32", 4),
    /** Unsigned 8-bit integer. */
    UINT8(4, "DT_UINT8", 1),
    /** Signed 16-bit integer. */
    INT16(5, "DT_INT16", 2),
    /** Signed 8-bit integer. */
    INT8(6, "DT_INT8", 1),
    /** Byte string. */
    STRING(7, "DT_STRING", 0),
    /** Signed 64-bit integer. */
    INT64(9, "DT_INT64", 8),
    /** Boolean, one byte (0 or 1). */
    BOOL(10, "DT_BOOL", 1),
    /** Unsigned 16-bit integer. */
    UINT16(17, "DT_UINT16", 2),
    /** 16-bit IEEE float (binary16). */
    HALF(19, "DT_HALF", 2),
    /** Unsigned 32-bit integer. */
    UINT32(22, "DT_UINT32", 4),
    /** Unsigned 64-bit integer. */
    UINT64(23, "DT_UINT64", 8);

    private final int code;
    private final String tfName;
    private final int byteSize;

    DType(int code, String tfName, int byteSize) {
        this.code = code;
        this.tfName = tfName;
        this.byteSize = byteSize;
    }

    /**
     * Returns the {@code DataType} / {@code TF_DataType} number.
     *
     * @return the code
     */
    public int code() {
        return code;
    }

    /**
     * Returns the {@code DataType} enum name, e.g. {@code DT_DOUBLE}.
     *
     * @return the name
     */
    public String tfName() {
        return tfName;
    }

    /**
     * Returns the size of one element in bytes; 0 for {@link #STRING}.
     *
     * @return the element size
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Tells whether the dtype is a floating-point type (HALF, FLOAT, DOUBLE).
     *
     * @return true for floating types
     */
    public boolean isFloating() {
        return this == HALF || this == FLOAT || this == DOUBLE;
    }

    /**
     * Tells whether the dtype is a (signed or unsigned) integer type.
     *
     * @return true for integer types
     */
    public boolean isInteger() {
        return minValue() != null;
    }

    /**
     * Returns the smallest value of an integer dtype.
     *
     * @return the minimum, or {@code null} when the dtype is not an integer type
     */
    public BigInteger minValue() {
        return switch (this) {
            case INT8 -> BigInteger.valueOf(Byte.MIN_VALUE);
            case INT16 -> BigInteger.valueOf(Short.MIN_VALUE);
            case INT32 -> BigInteger.valueOf(Integer.MIN_VALUE);
            case INT64 -> BigInteger.valueOf(Long.MIN_VALUE);
            case UINT8, UINT16, UINT32, UINT64 -> BigInteger.ZERO;
            default -> null;
        };
    }

    /**
     * Returns the largest value of an integer dtype.
     *
     * @return the maximum, or {@code null} when the dtype is not an integer type
     */
    public BigInteger maxValue() {
        return switch (this) {
            case INT8 -> BigInteger.valueOf(Byte.MAX_VALUE);
            case INT16 -> BigInteger.valueOf(Short.MAX_VALUE);
            case INT32 -> BigInteger.valueOf(Integer.MAX_VALUE);
            case INT64 -> BigInteger.valueOf(Long.MAX_VALUE);
            case UINT8 -> BigInteger.valueOf(0xFF);
            case UINT16 -> BigInteger.valueOf(0xFFFF);
            case UINT32 -> BigInteger.valueOf(0xFFFF_FFFFL);
            case UINT64 -> BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
            default -> null;
        };
    }

    /**
     * Finds the dtype with the given {@code DataType} / {@code TF_DataType} number.
     *
     * @param code the number
     * @return the dtype, or {@code null} when the consumer does not support it
     */
    public static DType fromCode(int code) {
        for (DType d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        return null;
    }

    /**
     * Finds the dtype with the given enum name.
     *
     * @param tfName a name such as {@code DT_FLOAT}
     * @return the dtype, or {@code null} when unknown or unsupported
     */
    public static DType fromName(String tfName) {
        for (DType d : values()) {
            if (d.tfName.equals(tfName)) {
                return d;
            }
        }
        return null;
    }
}
