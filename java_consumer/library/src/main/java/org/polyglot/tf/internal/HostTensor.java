package org.polyglot.tf.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor held in Java memory, in the layout TensorFlow uses: row-major, numeric elements packed
 * little-endian in one flat buffer ({@link DType#byteSize()} bytes each), string elements as byte
 * arrays.
 *
 * <p>Instances are created by the JSON decoder (request inputs) and from TensorFlow output
 * tensors, and are treated as immutable once built.
 */
public final class HostTensor {

    private final DType dtype;
    private final long[] shape;
    private final long size;
    private final ByteBuffer data;
    private final byte[][] strings;

    private HostTensor(DType dtype, long[] shape, ByteBuffer data, byte[][] strings) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.size = numElements(shape);
        this.data = data;
        this.strings = strings;
    }

    /**
     * Wraps a numeric buffer.
     *
     * @param dtype any dtype but {@link DType#STRING}
     * @param shape the dims (all &gt;= 0)
     * @param data {@code numElements(shape) * dtype.byteSize()} bytes from position 0; its byte
     *     order is set to little-endian
     * @return the tensor
     * @throws IllegalArgumentException when the buffer size does not match the shape
     */
    public static HostTensor numeric(DType dtype, long[] shape, ByteBuffer data) {
        if (dtype == DType.STRING) {
            throw new IllegalArgumentException("DT_STRING needs byte strings");
        }
        long n = numElements(shape);
        if (data.capacity() != n * dtype.byteSize()) {
            throw new IllegalArgumentException("buffer of " + data.capacity() + " bytes for " + n + " "
                    + dtype.tfName() + " elements");
        }
        return new HostTensor(dtype, shape, data.order(ByteOrder.LITTLE_ENDIAN), null);
    }

    /**
     * Wraps byte strings as a {@link DType#STRING} tensor.
     *
     * @param shape the dims
     * @param strings one byte array per element, row-major
     * @return the tensor
     * @throws IllegalArgumentException when the element count does not match the shape
     */
    public static HostTensor strings(long[] shape, byte[][] strings) {
        if (strings.length != numElements(shape)) {
            throw new IllegalArgumentException(strings.length + " strings for shape " + Arrays.toString(shape));
        }
        return new HostTensor(DType.STRING, shape, null, strings);
    }

    /**
     * Allocates a zeroed little-endian buffer for a numeric tensor.
     *
     * @param dtype the dtype (not STRING)
     * @param shape the dims
     * @return the buffer, of exactly the tensor's byte size
     * @throws StatusException when the tensor would exceed 2 GiB
     */
    public static ByteBuffer allocate(DType dtype, long[] shape) {
        long bytes = numElements(shape) * dtype.byteSize();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw StatusException.resourceExhausted("a " + dtype.tfName() + " tensor of shape " + Arrays.toString(shape)
                    + " is too large");
        }
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Multiplies the dims.
     *
     * @param shape the dims
     * @return the element count (1 for a scalar)
     */
    public static long numElements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Returns the dtype.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * Returns a copy of the dims.
     *
     * @return the shape
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the rank.
     *
     * @return the number of dims
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Returns dim {@code i}.
     *
     * @param i the dim index
     * @return its size
     */
    public long dim(int i) {
        return shape[i];
    }

    /**
     * Returns the element count.
     *
     * @return the product of the dims
     */
    public long size() {
        return size;
    }

    /**
     * Returns the numeric data (little-endian, position 0); do not modify.
     *
     * @return the buffer, or {@code null} for a string tensor
     */
    public ByteBuffer data() {
        return data;
    }

    /**
     * Returns the string elements; do not modify.
     *
     * @return the byte strings, or {@code null} for a numeric tensor
     */
    public byte[][] strings() {
        return strings;
    }

    @Override
    public String toString() {
        return "HostTensor[" + dtype.tfName() + " " + Arrays.toString(shape) + "]";
    }
}
