package org.polyglot.tf.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.Properties;

/**
 * The data files every consumer shares, read from the classpath: Maven copies
 * {@code tests/cases/messages.json} (the error codes and the message catalog, tests/CONTRACT.md,
 * "Errors") and {@code tests/cases/unsafe_ops.json} (tests/CONTRACT.md, "Unsafe ops") into the
 * jar beside this class (pom.xml {@code <resources>}), so the jar needs no repository at run time.
 * They are parsed with the project's Jackson-based {@link Json} reader.
 */
public final class SharedData {

    /** The resource name of the error codes and message catalog. */
    public static final String MESSAGES = "messages.json";

    /** The resource name of the unsafe-op lists. */
    public static final String UNSAFE_OPS = "unsafe_ops.json";

    private SharedData() {
    }

    /**
     * Returns where a shared data file is on the classpath.
     *
     * @param name {@link #MESSAGES} or {@link #UNSAFE_OPS}
     * @return its URL (inside the jar when the program runs from it)
     * @throws IllegalStateException when the build did not pack it
     */
    static URL url(String name) {
        URL u = SharedData.class.getResource(name);
        if (u == null) {
            throw new IllegalStateException(name + " is not on the classpath next to " + SharedData.class.getName()
                    + "; the Maven build copies it from tests/cases/");
        }
        return u;
    }

    /**
     * Reads and parses a shared data file.
     *
     * @param name {@link #MESSAGES} or {@link #UNSAFE_OPS}
     * @return its top-level object
     * @throws IllegalStateException when it is missing or is not a JSON object (a broken build)
     */
    static Json.Obj read(String name) {
        byte[] bytes;
        try (InputStream in = url(name).openStream()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the resource " + name, e);
        }
        Json.Value v;
        try {
            v = Json.parse(bytes);
        } catch (StatusException e) {
            throw new IllegalStateException("the resource " + name + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!(v instanceof Json.Obj o)) {
            throw new IllegalStateException("the resource " + name + " is not a JSON object");
        }
        return o;
    }

    /**
     * Returns a member that must be an object.
     *
     * @param o the object
     * @param key the member's name
     * @param where the file, for the message
     * @return the member
     * @throws IllegalStateException when it is absent or not an object
     */
    static Json.Obj object(Json.Obj o, String key, String where) {
        if (o.get(key) instanceof Json.Obj m) {
            return m;
        }
        throw new IllegalStateException(where + ": \"" + key + "\" is not an object");
    }

    /**
     * Returns a member that must be a string.
     *
     * @param o the object
     * @param key the member's name
     * @param where the file, for the message
     * @return the string
     * @throws IllegalStateException when it is absent or not a string
     */
    static String string(Json.Obj o, String key, String where) {
        if (o.get(key) instanceof Json.Str s) {
            return s.value();
        }
        throw new IllegalStateException(where + ": \"" + key + "\" is not a string");
    }

    /**
     * Returns a value that must be a JSON integer within {@code int}.
     *
     * @param v the value
     * @param where the file and member, for the message
     * @return the number
     * @throws IllegalStateException when it is not such an integer
     */
    static int integer(Json.Value v, String where) {
        if (v instanceof Json.Num n && n.integral()) {
            try {
                return Integer.parseInt(n.text());
            } catch (NumberFormatException e) {
                // falls through
            }
        }
        throw new IllegalStateException(where + " is not an integer");
    }

    /**
     * Returns a member that must be a list of strings.
     *
     * @param o the object
     * @param key the member's name
     * @param where the file, for the message
     * @return the strings, in the file's order
     * @throws IllegalStateException when it is absent or not a list of strings
     */
    static java.util.List<String> strings(Json.Obj o, String key, String where) {
        if (!(o.get(key) instanceof Json.Arr a)) {
            throw new IllegalStateException(where + ": \"" + key + "\" is not a list");
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        for (Json.Value v : a.items()) {
            if (!(v instanceof Json.Str s)) {
                throw new IllegalStateException(where + ": \"" + key + "\" holds a value that is not a string");
            }
            out.add(s.value());
        }
        return java.util.List.copyOf(out);
    }

    /**
     * Returns the consumer's version (the Maven project version, from the jar's {@code version.properties}).
     *
     * @return e.g. {@code 0.1.0}
     */
    public static String consumerVersion() {
        Properties p = new Properties();
        try (InputStream s = SharedData.class.getResourceAsStream("version.properties")) {
            if (s != null) {
                p.load(s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version", "unknown");
    }
}
