package org.polyglot.tf.api;

/**
 * One input or output of a signature: its name in the signature, the graph tensor it names, its
 * dtype and its shape.
 */
public final class TensorSpec {

    private final org.polyglot.tf.internal.TensorSpec spec;

    TensorSpec(org.polyglot.tf.internal.TensorSpec spec) {
        this.spec = spec;
    }

    org.polyglot.tf.internal.TensorSpec internal() {
        return spec;
    }

    /**
     * Returns the tensor's name in the signature, the key of {@link Signature#call(java.util.Map)}.
     *
     * @return e.g. {@code x}
     */
    public String name() {
        return spec.alias();
    }

    /**
     * Returns the graph tensor the name stands for.
     *
     * @return {@code op:index}, e.g. {@code serving_default_x:0}
     */
    public String tensorName() {
        return spec.tensorName();
    }

    /**
     * Returns the dtype.
     *
     * @return the dtype, or {@code null} when the model declares one this library does not
     *     support (see {@link #dtypeName()})
     */
    public DataType dataType() {
        return spec.dtype() == null ? null : DataType.of(spec.dtype());
    }

    /**
     * Returns TensorFlow's name of the declared dtype, supported or not.
     *
     * @return e.g. {@code DT_DOUBLE}
     */
    public String dtypeName() {
        return spec.dtypeName();
    }

    /**
     * Returns the declared shape.
     *
     * @return a copy of the dims, {@code -1} for a dim of any size; {@code null} when the rank is
     *     unknown
     */
    public long[] shape() {
        return spec.shape() == null ? null : spec.shape().clone();
    }

    /**
     * Describes the spec as the contract's messages do.
     *
     * @return e.g. {@code 'x' (DT_DOUBLE, shape (-1, 3))}
     */
    @Override
    public String toString() {
        return spec.describe();
    }
}
