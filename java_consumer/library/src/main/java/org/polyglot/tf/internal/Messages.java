package org.polyglot.tf.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The message catalog (tests/CONTRACT.md, "Errors"): the texts that more than one language
 * writes, defined once in {@code tests/cases/messages.json} ({@code "messages"}: id -> code,
 * template and, where the template names a command-line flag, the library's text) and read from
 * the jar's resource ({@link SharedData#MESSAGES}).
 *
 * <p>Each {@code {name}} of a template is replaced by its value, bounded as every echoed value is
 * ({@link Echo#bound(String)}: 200 code points, then {@code ... (N characters)}); the error gets
 * the message's own code.
 */
public final class Messages {

    /**
     * One message of the catalog.
     *
     * @param code its canonical code
     * @param template its text with {@code {name}} placeholders, as the command line and the
     *     servers write it
     * @param library the same message without the command-line flag, as the library's API gives
     *     it; the template when the catalog has no {@code library} text
     */
    public record Entry(Code code, String template, String library) {
    }

    private static final Map<String, Entry> CATALOG = load();

    private Messages() {
    }

    private static Map<String, Entry> load() {
        String where = SharedData.MESSAGES;
        Json.Obj messages = SharedData.object(SharedData.read(SharedData.MESSAGES), "messages", where);
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Map.Entry<String, Json.Value> e : messages.members().entrySet()) {
            String at = where + " messages." + e.getKey();
            if (!(e.getValue() instanceof Json.Obj o)) {
                throw new IllegalStateException(at + " is not an object");
            }
            String code = SharedData.string(o, "code", at);
            Code c;
            try {
                c = Code.valueOf(code);
            } catch (IllegalArgumentException x) {
                throw new IllegalStateException(at + ": unknown code " + code, x);
            }
            String template = SharedData.string(o, "template", at);
            String library = o.get("library") == null ? template : SharedData.string(o, "library", at);
            m.put(e.getKey(), new Entry(c, template, library));
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * Returns the whole catalog.
     *
     * @return message id -> entry, in the file's order
     */
    public static Map<String, Entry> catalog() {
        return CATALOG;
    }

    /**
     * Returns the catalog's entry for an id.
     *
     * @param id the message id, e.g. {@code signature_not_found}
     * @return its code and template
     * @throws IllegalArgumentException when the catalog has no such id (a bug of the caller)
     */
    public static Entry entry(String id) {
        Entry e = CATALOG.get(id);
        if (e == null) {
            throw new IllegalArgumentException("no message " + id + " in tests/cases/messages.json");
        }
        return e;
    }

    /**
     * Fills a message's template.
     *
     * @param id the message id
     * @param values placeholder name -> value as written (bounded here)
     * @return the text
     * @throws IllegalArgumentException when the id is unknown or a placeholder has no value (bugs
     *     of the caller, never of the input)
     */
    public static String text(String id, Map<String, String> values) {
        return fill(id, entry(id).template(), values);
    }

    private static String fill(String id, String template, Map<String, String> values) {
        StringBuilder b = new StringBuilder(template.length() + 64);
        int i = 0;
        while (i < template.length()) {
            int open = template.indexOf('{', i);
            int close = open < 0 ? -1 : template.indexOf('}', open);
            if (open < 0 || close < 0) {
                b.append(template, i, template.length());
                break;
            }
            String name = template.substring(open + 1, close);
            String value = values.get(name);
            if (value == null) {
                throw new IllegalArgumentException("message " + id + " has no value for {" + name + "}");
            }
            b.append(template, i, open).append(Echo.bound(value));
            i = close + 1;
        }
        return b.toString();
    }

    /**
     * Returns the catalog's message as an error with the message's code, carrying both its
     * template's text ({@link StatusException#getMessage()}) and its library text
     * ({@link StatusException#libraryMessage()}).
     *
     * @param id the message id, e.g. {@code model_path_missing}
     * @param values placeholder name -> value as written (each bounded by {@link Echo#bound(String)})
     * @return the error
     * @throws IllegalArgumentException when the id is unknown or a placeholder has no value
     */
    public static StatusException error(String id, Map<String, String> values) {
        Entry e = entry(id);
        return new StatusException(e.code(), fill(id, e.template(), values), fill(id, e.library(), values), null);
    }
}
