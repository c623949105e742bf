package org.polyglot.tf.internal;

/**
 * Bounded echoes (tests/CONTRACT.md, "Errors"): every value a message quotes from the request, the
 * command line or the model (signature keys, aliases, model names, number literals, flag values,
 * version strings, paths) is cut to its first {@value #MAX_CODE_POINTS} Unicode code points
 * followed by {@code ... (N characters)}, N its full length in code points, before it is quoted,
 * so that no message is longer than a few kilobytes whatever the input.
 */
public final class Echo {

    /** The most code points of a value a message quotes in full. */
    public static final int MAX_CODE_POINTS = 200;

    private Echo() {
    }

    /**
     * Bounds a value for a message.
     *
     * @param value the value as given (may hold unpaired surrogates, counted as one code point
     *     each)
     * @return {@code value} when it has at most {@value #MAX_CODE_POINTS} code points, else its
     *     first {@value #MAX_CODE_POINTS} followed by {@code ... (N characters)}
     */
    public static String bound(String value) {
        if (value.length() <= MAX_CODE_POINTS) {
            return value;
        }
        int n = value.codePointCount(0, value.length());
        if (n <= MAX_CODE_POINTS) {
            return value;
        }
        return value.substring(0, value.offsetByCodePoints(0, MAX_CODE_POINTS)) + "... (" + n + " characters)";
    }

    /**
     * Bounds any value's text for a message.
     *
     * @param value the value ({@code null} is written {@code null})
     * @return {@link #bound(String)} of {@code String.valueOf(value)}
     */
    public static String bound(Object value) {
        return bound(String.valueOf(value));
    }

    /**
     * Bounds the command-line arguments a message written by another library (picocli) quotes:
     * every argument, and every {@code --flag=value} value, longer than
     * {@value #MAX_CODE_POINTS} code points is replaced in the message by its bounded form.
     *
     * @param message the message
     * @param args the command line
     * @return the message with long arguments bounded
     */
    public static String boundArguments(String message, String[] args) {
        java.util.List<String> values = new java.util.ArrayList<>();
        for (String a : args) {
            values.add(a);
            int eq = a.indexOf('=');
            if (eq >= 0) {
                values.add(a.substring(eq + 1));
            }
        }
        values.sort(java.util.Comparator.comparingInt(String::length).reversed());
        String m = String.valueOf(message);
        for (String v : values) {
            String b = bound(v);
            if (!b.equals(v)) {
                m = m.replace(v, b);
            }
        }
        return m;
    }

    /**
     * Bounds each of several values and joins them with {@code ", "}.
     *
     * @param values the values
     * @return the bounded values, comma-separated
     */
    public static String list(Iterable<String> values) {
        StringBuilder b = new StringBuilder();
        for (String v : values) {
            b.append(b.length() == 0 ? "" : ", ").append(bound(v));
        }
        return b.toString();
    }

    /**
     * Bounds a value and quotes it in double quotes.
     *
     * @param value the value
     * @return {@code "<bounded value>"}
     */
    public static String quoted(Object value) {
        return "\"" + bound(value) + "\"";
    }

    /**
     * Bounds a value and quotes it in single quotes.
     *
     * @param value the value
     * @return {@code '<bounded value>'}
     */
    public static String quotedSingle(Object value) {
        return "'" + bound(value) + "'";
    }
}
