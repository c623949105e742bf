package org.polyglot.tf.internal;

import java.util.Arrays;
import java.util.Collection;
import java.util.StringJoiner;

/**
 * One input or output of a signature: its alias, the graph tensor it names, its dtype and shape.
 *
 * @param alias the signature's key for the tensor (e.g. {@code x})
 * @param tensorName the graph tensor, {@code op:index} (e.g. {@code serving_default_x:0})
 * @param dtypeName the {@code DataType} enum name (e.g. {@code DT_DOUBLE}); may name a dtype the
 *     consumer does not support (then {@link #dtype()} is {@code null})
 * @param shape the dims, {@code -1} for an unknown dim; {@code null} for an unknown rank
 */
public record TensorSpec(String alias, String tensorName, String dtypeName, long[] shape) {

    /**
     * Returns the dtype.
     *
     * @return the dtype, or {@code null} when it is not one the consumer supports
     */
    public DType dtype() {
        return DType.fromName(dtypeName);
    }

    /**
     * Tells whether the rank is known.
     *
     * @return true when {@link #shape()} is not null
     */
    public boolean rankKnown() {
        return shape != null;
    }

    /**
     * Describes the spec for messages: {@code 'x' (DT_DOUBLE, shape (-1, -1))}.
     *
     * @return the description
     */
    public String describe() {
        return Echo.quotedSingle(alias) + " (" + dtypeName + ", shape " + formatShape(shape) + ")";
    }

    /**
     * Formats a shape the way {@code saved_model_cli show} does: {@code ()}, {@code (-1)},
     * {@code (-1, 3)}, or {@code unknown_rank} for {@code null}.
     *
     * @param shape the dims or {@code null}
     * @return the text
     */
    public static String formatShape(long[] shape) {
        if (shape == null) {
            return "unknown_rank";
        }
        StringJoiner j = new StringJoiner(", ", "(", ")");
        for (long d : shape) {
            j.add(Long.toString(d));
        }
        return j.toString();
    }

    /**
     * Describes several specs, comma-separated, for messages.
     *
     * @param specs the specs
     * @return e.g. {@code 'a' (DT_FLOAT, shape (-1, 3)), 'b' (DT_STRING, shape (-1))}
     */
    public static String describeAll(Collection<TensorSpec> specs) {
        if (specs.isEmpty()) {
            return "(none)";
        }
        StringJoiner j = new StringJoiner(", ");
        for (TensorSpec s : specs) {
            j.add(s.describe());
        }
        return j.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && alias.equals(t.alias) && tensorName.equals(t.tensorName)
                && dtypeName.equals(t.dtypeName) && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return (alias.hashCode() * 31 + tensorName.hashCode()) * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return describe() + " -> " + tensorName;
    }
}
