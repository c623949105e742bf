package org.polyglot.tf.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import org.polyglot.tf.internal.HostTensor;

/**
 * A dense tensor in Java memory: a dtype, a shape and its elements in row-major order, numeric
 * elements in one little-endian buffer (copied in and out in bulk, never element by element),
 * strings as {@code byte[]}. Immutable; {@link #close()} releases it, after which reading it or
 * passing it to {@link Signature#call(java.util.Map)} is refused.
 */
public final class Tensor implements AutoCloseable {

    private final HostTensor host;
    private volatile boolean closed;

    Tensor(HostTensor host) {
        this.host = host;
    }

    HostTensor internal() {
        if (closed) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "tensor is closed");
        }
        return host;
    }

    private static long[] checkShape(long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                        "shape dims must be >= 0, not " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    private static ByteBuffer allocate(DataType dtype, long[] shape, long given) {
        long n = HostTensor.numElements(checkShape(shape));
        if (n != given) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "shape " + Arrays.toString(shape)
                    + " holds " + n + " elements, the data " + given);
        }
        return HostTensor.allocate(dtype.internal(), shape);
    }

    /**
     * Makes a numeric tensor of any dtype from its raw elements.
     *
     * @param dtype any dtype but {@link DataType#STRING}
     * @param shape the dims, each &gt;= 0 ({@code {}} for a scalar)
     * @param data the elements from its position to its limit, little-endian, row-major:
     *     {@code product(shape) * dtype.byteSize()} bytes; copied, the buffer is not changed
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     *     or the dtype is {@link DataType#STRING}
     */
    public static Tensor of(DataType dtype, long[] shape, ByteBuffer data) {
        if (dtype == DataType.STRING) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "DT_STRING tensors are made by ofStrings");
        }
        if (data.remaining() % dtype.byteSize() != 0) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                    data.remaining() + " bytes are not whole " + dtype.tfName() + " elements");
        }
        ByteBuffer b = allocate(dtype, shape, data.remaining() / dtype.byteSize());
        b.put(data.duplicate().order(ByteOrder.LITTLE_ENDIAN)).rewind();
        return new Tensor(HostTensor.numeric(dtype.internal(), shape, b));
    }

    /**
     * Makes a {@link DataType#FLOAT} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements from its position to its limit, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofFloats(long[] shape, FloatBuffer data) {
        ByteBuffer b = allocate(DataType.FLOAT, shape, data.remaining());
        b.asFloatBuffer().put(data.duplicate());
        return new Tensor(HostTensor.numeric(DataType.FLOAT.internal(), shape, b));
    }

    /**
     * Makes a {@link DataType#FLOAT} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofFloats(long[] shape, float... data) {
        return ofFloats(shape, FloatBuffer.wrap(data));
    }

    /**
     * Makes a {@link DataType#DOUBLE} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements from its position to its limit, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofDoubles(long[] shape, DoubleBuffer data) {
        ByteBuffer b = allocate(DataType.DOUBLE, shape, data.remaining());
        b.asDoubleBuffer().put(data.duplicate());
        return new Tensor(HostTensor.numeric(DataType.DOUBLE.internal(), shape, b));
    }

    /**
     * Makes a {@link DataType#DOUBLE} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofDoubles(long[] shape, double... data) {
        return ofDoubles(shape, DoubleBuffer.wrap(data));
    }

    /**
     * Makes a {@link DataType#INT32} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements from its position to its limit, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofInts(long[] shape, IntBuffer data) {
        ByteBuffer b = allocate(DataType.INT32, shape, data.remaining());
        b.asIntBuffer().put(data.duplicate());
        return new Tensor(HostTensor.numeric(DataType.INT32.internal(), shape, b));
    }

    /**
     * Makes a {@link DataType#INT32} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofInts(long[] shape, int... data) {
        return ofInts(shape, IntBuffer.wrap(data));
    }

    /**
     * Makes a {@link DataType#INT64} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements from its position to its limit, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofLongs(long[] shape, LongBuffer data) {
        ByteBuffer b = allocate(DataType.INT64, shape, data.remaining());
        b.asLongBuffer().put(data.duplicate());
        return new Tensor(HostTensor.numeric(DataType.INT64.internal(), shape, b));
    }

    /**
     * Makes a {@link DataType#INT64} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements, row-major; copied in bulk
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofLongs(long[] shape, long... data) {
        return ofLongs(shape, LongBuffer.wrap(data));
    }

    /**
     * Makes a {@link DataType#STRING} tensor.
     *
     * @param shape the dims, each &gt;= 0
     * @param data the elements, row-major, each any bytes; the array is copied, the byte arrays
     *     are not (do not change them while the tensor is in use)
     * @return the tensor
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} when the sizes disagree
     */
    public static Tensor ofStrings(long[] shape, byte[]... data) {
        long n = HostTensor.numElements(checkShape(shape));
        if (n != data.length) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "shape " + Arrays.toString(shape)
                    + " holds " + n + " elements, the data " + data.length);
        }
        return new Tensor(HostTensor.strings(shape, data.clone()));
    }

    /**
     * Returns the dtype.
     *
     * @return the dtype
     */
    public DataType dataType() {
        return DataType.of(internal().dtype());
    }

    /**
     * Returns the shape.
     *
     * @return a copy of the dims ({@code {}} for a scalar)
     */
    public long[] shape() {
        return internal().shape();
    }

    /**
     * Returns the number of elements.
     *
     * @return the product of the dims
     */
    public long size() {
        return internal().size();
    }

    /**
     * Returns the raw elements of a numeric tensor, without copying them.
     *
     * @return a read-only little-endian view, position 0, limit {@code size() * byteSize()}
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a
     *     {@link DataType#STRING} tensor or a closed one
     */
    public ByteBuffer asByteBuffer() {
        HostTensor h = internal();
        if (h.dtype() == org.polyglot.tf.internal.DType.STRING) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "a DT_STRING tensor has no byte buffer; use strings()");
        }
        ByteBuffer b = h.data().asReadOnlyBuffer();
        b.rewind();
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer view(DataType want) {
        if (dataType() != want) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                    "tensor is " + dataType().tfName() + ", not " + want.tfName());
        }
        return asByteBuffer();
    }

    /**
     * Returns the elements of a {@link DataType#FLOAT} tensor, without copying them.
     *
     * @return a read-only view, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public FloatBuffer asFloatBuffer() {
        return view(DataType.FLOAT).asFloatBuffer();
    }

    /**
     * Returns the elements of a {@link DataType#DOUBLE} tensor, without copying them.
     *
     * @return a read-only view, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public DoubleBuffer asDoubleBuffer() {
        return view(DataType.DOUBLE).asDoubleBuffer();
    }

    /**
     * Returns the elements of a {@link DataType#INT32} tensor, without copying them.
     *
     * @return a read-only view, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public IntBuffer asIntBuffer() {
        return view(DataType.INT32).asIntBuffer();
    }

    /**
     * Returns the elements of a {@link DataType#INT64} tensor, without copying them.
     *
     * @return a read-only view, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public LongBuffer asLongBuffer() {
        return view(DataType.INT64).asLongBuffer();
    }

    /**
     * Copies the elements of a {@link DataType#FLOAT} tensor into a new array, in bulk.
     *
     * @return the elements, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public float[] floats() {
        FloatBuffer b = asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Copies the elements of a {@link DataType#DOUBLE} tensor into a new array, in bulk.
     *
     * @return the elements, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public double[] doubles() {
        DoubleBuffer b = asDoubleBuffer();
        double[] out = new double[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Copies the elements of a {@link DataType#INT32} tensor into a new array, in bulk.
     *
     * @return the elements, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public int[] ints() {
        IntBuffer b = asIntBuffer();
        int[] out = new int[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Copies the elements of a {@link DataType#INT64} tensor into a new array, in bulk.
     *
     * @return the elements, row-major
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public long[] longs() {
        LongBuffer b = asLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Returns the elements of a {@link DataType#STRING} tensor.
     *
     * @return the elements, row-major, each a copy of its bytes
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for another dtype or a
     *     closed tensor
     */
    public byte[][] strings() {
        HostTensor h = internal();
        if (h.dtype() != org.polyglot.tf.internal.DType.STRING) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                    "tensor is " + h.dtype().tfName() + ", not DT_STRING");
        }
        byte[][] s = h.strings();
        byte[][] out = new byte[s.length][];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i].clone();
        }
        return out;
    }

    /** Releases the tensor; later reads are refused. Closing twice does nothing. */
    @Override
    public void close() {
        closed = true;
    }

    /**
     * Describes the tensor's dtype and shape.
     *
     * @return e.g. {@code Tensor(DT_FLOAT, [2, 3])}
     */
    @Override
    public String toString() {
        return "Tensor(" + host.dtype().tfName() + ", " + Arrays.toString(host.shape()) + ")" + (closed ? " closed" : "");
    }
}
