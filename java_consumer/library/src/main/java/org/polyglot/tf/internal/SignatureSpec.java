package org.polyglot.tf.internal;

import java.util.Collections;
import java.util.Comparator;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A signature as the consumer runs it: inputs and outputs keyed by alias, sorted by alias (by
 * Unicode code point, as Python and Go sort strings).
 *
 * @param key the signature key (e.g. {@code serving_default})
 * @param methodName the SignatureDef's method name ({@code ""} when unset)
 * @param inputs the inputs by alias
 * @param outputs the outputs by alias
 */
public record SignatureSpec(String key, String methodName, SortedMap<String, TensorSpec> inputs,
        SortedMap<String, TensorSpec> outputs) {

    /**
     * The signature key a request without {@code signature_name} means (TensorFlow's
     * {@code tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY}).
     */
    public static final String DEFAULT_KEY = "serving_default";

    /** Orders strings by Unicode code point (not by UTF-16 unit, as {@link String#compareTo} does). */
    public static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    };

    /**
     * Makes unmodifiable copies of the maps, ordered by {@link #CODE_POINT_ORDER}.
     *
     * @param key the signature key
     * @param methodName the method name
     * @param inputs the inputs by alias
     * @param outputs the outputs by alias
     */
    public SignatureSpec {
        inputs = sorted(inputs);
        outputs = sorted(outputs);
    }

    private static SortedMap<String, TensorSpec> sorted(SortedMap<String, TensorSpec> m) {
        TreeMap<String, TensorSpec> t = new TreeMap<>(CODE_POINT_ORDER);
        t.putAll(m);
        return Collections.unmodifiableSortedMap(t);
    }

    /**
     * Creates an empty map with the alias ordering used by signatures.
     *
     * @return a new mutable map
     */
    public static SortedMap<String, TensorSpec> newSpecMap() {
        return new TreeMap<>(CODE_POINT_ORDER);
    }
}
