package org.polyglot.tf.internal;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small immutable JSON tree that keeps every number as its literal text, read and written with
 * Jackson's streaming API.
 *
 * <p>Keeping the literal text is what lets the request decoder round a decimal literal directly
 * to the width of the tensor's dtype (never through another width), keep int64 and uint64 values
 * exact, and keep the sign of {@code -0.0}. The reader accepts the bare tokens {@code NaN},
 * {@code Infinity} and {@code -Infinity} (as Python's {@code json} module does) and nothing else
 * outside standard JSON. The writer writes numbers as the text it is given
 * ({@link JsonGenerator#writeNumber(String)}): floating values are formatted by {@link Numbers}
 * (tests/CONTRACT.md, "Numbers in text"), never by Jackson's own double writer.
 */
public final class Json {

    /** Deepest nesting accepted (Jackson's default; Python's json stops near 1000 too). */
    public static final int MAX_DEPTH = 1000;

    /** The longest number literal a body may hold (tests/CONTRACT.md, "Limits"). */
    public static final int MAX_NUMBER_CHARS = 100_000;

    private static final Set<String> NON_FINITE_TOKENS = Set.of("NaN", "Infinity", "-Infinity");

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE) // MAX_NUMBER_CHARS is checked in read()
                    .maxNestingDepth(MAX_DEPTH)
                    .build())
            // Jackson quotes at most this much of a bad token (bounded echoes, tests/CONTRACT.md, "Errors").
            .errorReportConfiguration(ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(Echo.MAX_CODE_POINTS)
                    .build())
            .build();

    private Json() {
    }

    /** A JSON value. */
    public sealed interface Value permits Obj, Arr, Str, Num, Bool, Null {
        /**
         * Returns the JSON type name used in error messages.
         *
         * @return "object", "list", "string", "number", "boolean" or "null"
         */
        String typeName();
    }

    /**
     * A JSON object; member order is preserved, a repeated key keeps its last value (as Python's
     * {@code json} module and Go's {@code encoding/json} do).
     *
     * @param members the members in document order
     */
    public record Obj(Map<String, Value> members) implements Value {
        /**
         * Wraps an unmodifiable view of {@code members}.
         *
         * @param members the members in document order
         */
        public Obj {
            members = Collections.unmodifiableMap(members);
        }

        /**
         * Returns the member named {@code key}.
         *
         * @param key the member name
         * @return the value, or {@code null} when absent (a JSON {@code null} is {@link Null})
         */
        public Value get(String key) {
            return members.get(key);
        }

        /**
         * Tells whether this object is TF Serving's binary-string form {@code {"b64": "..."}}: a
         * single member named {@code b64} (whose value should be a base64 string).
         *
         * @return true for the base64 form
         */
        public boolean isBase64() {
            return members.size() == 1 && members.containsKey("b64");
        }

        @Override
        public String typeName() {
            return isBase64() ? "{\"b64\": ...} object" : "object";
        }
    }

    /**
     * A JSON array.
     *
     * @param items the elements
     */
    public record Arr(List<Value> items) implements Value {
        /**
         * Wraps an unmodifiable view of {@code items}.
         *
         * @param items the elements
         */
        public Arr {
            items = Collections.unmodifiableList(items);
        }

        /**
         * Returns the number of elements.
         *
         * @return the length of the list
         */
        public int size() {
            return items.size();
        }

        /**
         * Returns element {@code i}.
         *
         * @param i the index
         * @return the element
         */
        public Value get(int i) {
            return items.get(i);
        }

        @Override
        public String typeName() {
            return "list";
        }
    }

    /**
     * A JSON string.
     *
     * @param value the decoded string (may contain unpaired surrogates from {@code \\u} escapes)
     */
    public record Str(String value) implements Value {
        @Override
        public String typeName() {
            return "string";
        }
    }

    /**
     * A JSON number as written in the document.
     *
     * @param text the literal text, or {@code NaN}, {@code Infinity}, {@code -Infinity}
     * @param integral true when the literal has neither fraction nor exponent (and is finite)
     */
    public record Num(String text, boolean integral) implements Value {
        /**
         * Tells whether this is one of the bare tokens {@code NaN}, {@code Infinity},
         * {@code -Infinity}.
         *
         * @return true for a non-finite token
         */
        public boolean nonFinite() {
            return NON_FINITE_TOKENS.contains(text);
        }

        @Override
        public String typeName() {
            return "number";
        }
    }

    /**
     * A JSON boolean.
     *
     * @param value the value
     */
    public record Bool(boolean value) implements Value {
        @Override
        public String typeName() {
            return "boolean";
        }
    }

    /** The JSON {@code null}. */
    public record Null() implements Value {
        @Override
        public String typeName() {
            return "null";
        }
    }

    private static final Null NULL = new Null();

    /**
     * Parses one JSON document. Leading and trailing whitespace is allowed; anything else after
     * the value is an error.
     *
     * @param body the document, UTF-8 (Jackson also detects UTF-16/32 by their byte patterns)
     * @return the value
     * @throws StatusException when the body is empty or not valid JSON
     */
    public static Value parse(byte[] body) {
        checkRaw(body);
        try (JsonParser p = FACTORY.createParser(body)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw StatusException.invalidArgument("invalid JSON: the request body is empty");
            }
            Value v = read(p, first);
            JsonToken extra = p.nextToken();
            if (extra != null) {
                throw StatusException.invalidArgument("invalid JSON: unexpected data after the top-level value at "
                        + location(p));
            }
            return v;
        } catch (StreamConstraintsException e) {
            // Not reached after checkRaw (same limit), kept so that the message never depends on it.
            if (String.valueOf(e.getOriginalMessage()).contains("nesting depth")) {
                throw StatusException.invalidArgument(tooDeepMessage() + " (" + jacksonMessage(e) + ")");
            }
            throw StatusException.invalidArgument("invalid JSON: " + jacksonMessage(e));
        } catch (IOException e) {
            throw StatusException.invalidArgument("invalid JSON: " + jacksonMessage(e));
        } catch (StackOverflowError e) {
            throw StatusException.invalidArgument(tooDeepMessage());
        }
    }

    private static String tooDeepMessage() {
        return "invalid JSON: nesting deeper than " + MAX_DEPTH + " levels";
    }

    /**
     * Checks the raw bytes of a body before any JSON parsing (tests/CONTRACT.md, "Limits"): they
     * must be valid UTF-8 (RFC 8259 &sect;8.1; overlong forms, UTF-8-encoded surrogates and bytes
     * that start no sequence are refused, as is a byte order mark, which Python's and Go's parsers
     * refuse too), and arrays and objects must nest at most {@link #MAX_DEPTH} deep (the top-level
     * value is level 1), found by one pass over the bytes without recursion.
     *
     * <p>Doing this before Jackson also pins the encoding to UTF-8: Jackson would otherwise skip a
     * byte order mark and detect UTF-16/32 from NUL bytes among the first four (NUL is valid
     * UTF-8 but never valid JSON outside a string, nor unescaped inside one).
     *
     * @param body the request body
     * @throws StatusException naming the byte offset of the first problem
     */
    public static void checkRaw(byte[] body) {
        checkUtf8(body);
        if (body.length >= 3 && (body[0] & 0xff) == 0xef && (body[1] & 0xff) == 0xbb && (body[2] & 0xff) == 0xbf) {
            throw StatusException.invalidArgument("invalid JSON: unexpected byte order mark (U+FEFF) at byte offset 0");
        }
        for (int i = 0; i < Math.min(4, body.length); i++) {
            if (body[i] == 0) {
                throw StatusException.invalidArgument("invalid JSON: unexpected NUL byte at byte offset " + i
                        + " (the body must be UTF-8)");
            }
        }
        checkDepth(body);
    }

    /** Refuses bytes that are not well-formed UTF-8, with the offset of the first bad sequence. */
    private static void checkUtf8(byte[] body) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        CharBuffer out = CharBuffer.allocate(Math.min(body.length + 1, 8192));
        while (true) {
            CoderResult r = dec.decode(in, out, true);
            if (r.isOverflow()) {
                out.clear();
                continue;
            }
            if (r.isError()) {
                int at = in.position();
                StringBuilder seq = new StringBuilder();
                for (int i = at; i < Math.min(at + Math.max(r.length(), 1), body.length); i++) {
                    seq.append(seq.length() == 0 ? "" : " ").append(String.format("0x%02x", body[i] & 0xff));
                }
                String what = at + r.length() >= body.length && r.length() > 0 && isLead(body[at])
                        ? "truncated sequence" : "invalid byte sequence";
                throw StatusException.invalidArgument("invalid JSON: body is not valid UTF-8 (" + what + " " + seq
                        + " at byte offset " + at + ")");
            }
            break;
        }
    }

    private static boolean isLead(byte b) {
        int x = b & 0xff;
        return x >= 0xc2 && x <= 0xf4;
    }

    /**
     * Refuses arrays and objects nested deeper than {@link #MAX_DEPTH}: counts brackets outside
     * strings (string contents and escapes skipped), which is exact for valid JSON.
     */
    private static void checkDepth(byte[] body) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < body.length; i++) {
            byte b = body[i];
            if (inString) {
                if (b == '\\') {
                    i++;
                } else if (b == '"') {
                    inString = false;
                }
                continue;
            }
            switch (b) {
                case '"' -> inString = true;
                case '[', '{' -> {
                    if (++depth > MAX_DEPTH) {
                        throw StatusException.invalidArgument(tooDeepMessage() + " (the '" + (char) b + "' at byte offset "
                                + i + " opens level " + depth + ")");
                    }
                }
                case ']', '}' -> depth = Math.max(depth - 1, 0);
                default -> {
                }
            }
        }
    }

    private static Value read(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                Map<String, Value> members = new LinkedHashMap<>();
                JsonToken k;
                while ((k = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String name = checkSurrogates(p.currentName());
                    members.remove(name);
                    members.put(name, read(p, p.nextToken()));
                }
                if (k != JsonToken.END_OBJECT) {
                    throw StatusException.invalidArgument("invalid JSON: unterminated object");
                }
                return new Obj(members);
            }
            case START_ARRAY: {
                List<Value> items = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (e == null) {
                        throw StatusException.invalidArgument("invalid JSON: unterminated list");
                    }
                    items.add(read(p, e));
                }
                return new Arr(items);
            }
            case VALUE_STRING:
                return new Str(checkSurrogates(p.getText()));
            case VALUE_NUMBER_INT:
                return new Num(numberText(p), true);
            case VALUE_NUMBER_FLOAT: {
                String text = numberText(p);
                boolean token = !text.isEmpty() && !Character.isDigit(text.charAt(text.length() - 1));
                if (token && !NON_FINITE_TOKENS.contains(text)) {
                    throw StatusException.invalidArgument("invalid JSON: " + Echo.quotedSingle(text) + " at " + location(p)
                            + " (only NaN, Infinity and -Infinity are accepted)");
                }
                return new Num(text, false);
            }
            case VALUE_TRUE:
                return new Bool(true);
            case VALUE_FALSE:
                return new Bool(false);
            case VALUE_NULL:
                return NULL;
            default:
                throw StatusException.invalidArgument("invalid JSON: unexpected " + t + " at " + location(p));
        }
    }

    /**
     * Returns the current number token's literal, refusing one longer than
     * {@link #MAX_NUMBER_CHARS} (tests/CONTRACT.md, "Limits").
     *
     * @param p the parser, at a number token
     * @return the literal
     * @throws IOException when the parser cannot read the token
     */
    private static String numberText(JsonParser p) throws IOException {
        String text = p.getText();
        if (text.length() > MAX_NUMBER_CHARS) {
            throw StatusException.invalidArgument("invalid JSON: a number literal of " + text.length()
                    + " characters is longer than the limit of " + MAX_NUMBER_CHARS);
        }
        return text;
    }

    /**
     * Refuses a decoded string holding an unpaired surrogate (tests/CONTRACT.md, "Limits"): the
     * body is valid UTF-8, so such a char can only come from a {@code \\u} escape of
     * U+D800-U+DFFF that is not a high surrogate followed at once by a low one.
     *
     * @param s a decoded key or string value
     * @return {@code s}
     * @throws StatusException naming the first unpaired surrogate as {@code \\uXXXX}
     */
    static String checkSurrogates(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw StatusException.invalidArgument(String.format("invalid JSON: a string holds a lone surrogate escape "
                        + "\\u%04X; a \\u escape of U+D800-U+DFFF must be a high surrogate followed by a low one",
                        (int) c));
            }
        }
        return s;
    }

    private static String location(JsonParser p) {
        var loc = p.currentLocation();
        return "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    /** Jackson's first message line plus its location, without the source excerpt. */
    private static String jacksonMessage(IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe) {
            String msg = jpe.getOriginalMessage()
                    .replaceAll("\\[Source: [^;\\]]*; ", "[")
                    .replace("(or 'NaN'/'+INF'/'-INF')", "(or NaN, Infinity, -Infinity)");
            var loc = jpe.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            return oneLine(msg) + where;
        }
        return oneLine(String.valueOf(e.getMessage()));
    }

    /**
     * Folds a possibly multi-line message into one line.
     *
     * @param s the message
     * @return the message with every run of whitespace containing a line break replaced by a
     *     single space, trimmed
     */
    public static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    /**
     * Opens a generator configured for the consumer's output: compact, UTF-8, NaN and the
     * infinities (written as number text from {@link Numbers}) left bare, not quoted.
     *
     * @param out the destination (not closed when the generator is closed)
     * @return the generator
     * @throws IOException if Jackson fails to create it
     */
    public static JsonGenerator generator(OutputStream out) throws IOException {
        JsonGenerator g = FACTORY.createGenerator(out);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        return g;
    }

    /**
     * Opens a generator writing characters, configured like {@link #generator(OutputStream)}.
     *
     * @param out the destination (not closed when the generator is closed)
     * @return the generator
     * @throws IOException if Jackson fails to create it
     */
    public static JsonGenerator generator(Writer out) throws IOException {
        JsonGenerator g = FACTORY.createGenerator(out);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        return g;
    }

    /**
     * Writes a value with a generator: objects with their members in order, numbers as their
     * literal text ({@link Num#text()}, so a number read from a document is written back as it
     * was), strings escaped by Jackson.
     *
     * @param g the generator
     * @param v the value
     * @throws IOException from the generator
     */
    public static void write(JsonGenerator g, Value v) throws IOException {
        if (v instanceof Obj o) {
            g.writeStartObject();
            for (Map.Entry<String, Value> e : o.members().entrySet()) {
                g.writeFieldName(e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof Arr a) {
            g.writeStartArray();
            for (Value x : a.items()) {
                write(g, x);
            }
            g.writeEndArray();
        } else if (v instanceof Str s) {
            g.writeString(s.value());
        } else if (v instanceof Num n) {
            g.writeNumber(n.text());
        } else if (v instanceof Bool b) {
            g.writeBoolean(b.value());
        } else {
            g.writeNull();
        }
    }

    /**
     * Writes a value as compact JSON text on one line (numbers keep their literal text).
     *
     * @param v the value
     * @return the text, without a final newline
     */
    public static String compact(Value v) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = generator(w)) {
            write(g, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /**
     * Writes a value as indented JSON (Jackson's default pretty printer), the form of
     * {@code manifest.json}. Member order and white space carry no meaning there
     * (tests/CONTRACT.md, "manifest.json": manifests are compared as parsed JSON).
     *
     * @param v the value
     * @return the text, without a final newline
     */
    public static String pretty(Value v) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = generator(w)) {
            g.setPrettyPrinter(new DefaultPrettyPrinter());
            write(g, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /**
     * Writes {@code {"error": message}} (TF Serving's error body) as one compact line without the
     * newline.
     *
     * @param message the message
     * @return the JSON text
     */
    public static String errorBody(String message) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = generator(w)) {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }
}
