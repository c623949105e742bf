package org.polyglot.tf.api;

import org.polyglot.tf.internal.DType;

/** The tensor element types the library reads and writes, TensorFlow's {@code DataType}s. */
public enum DataType {
    /** {@code DT_FLOAT}: IEEE 754 binary32. */
    FLOAT,
    /** {@code DT_DOUBLE}: IEEE 754 binary64. */
    DOUBLE,
    /** {@code DT_INT32}. */
    INT32,
    /** {@code DT_UINT8}. */
    UINT8,
    /** {@code DT_INT16}. */
    INT16,
    /** {@code DT_INT8}. */
    INT8,
    /** {@code DT_STRING}: byte strings, read and written as {@code byte[]}. */
    STRING,
    /** {@code DT_INT64}. */
    INT64,
    /** {@code DT_BOOL}: one byte per element, 0 or 1. */
    BOOL,
    /** {@code DT_UINT16}. */
    UINT16,
    /** {@code DT_HALF}: IEEE 754 binary16, as its 16 bits. */
    HALF,
    /** {@code DT_UINT32}. */
    UINT32,
    /** {@code DT_UINT64}. */
    UINT64;

    /**
     * Returns TensorFlow's name of the type.
     *
     * @return e.g. {@code DT_FLOAT}
     */
    public String tfName() {
        return internal().tfName();
    }

    /**
     * Returns the bytes of one element.
     *
     * @return 1, 2, 4 or 8; 0 for {@link #STRING}
     */
    public int byteSize() {
        return internal().byteSize();
    }

    DType internal() {
        return DType.valueOf(name());
    }

    static DataType of(DType d) {
        return valueOf(d.name());
    }
}
