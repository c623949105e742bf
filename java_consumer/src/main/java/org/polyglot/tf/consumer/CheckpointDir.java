package org.polyglot.tf.consumer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A folder of training checkpoints {@code ckpt-<global_step>} and its state file
 * {@code checkpoint} (text {@code CheckpointState}, as {@code tf.train.CheckpointManager} and
 * {@code tf.compat.v1.train.update_checkpoint_state} write it), see tests/CONTRACT.md,
 * "Training".
 *
 * <p>After each save the state file is rewritten atomically: one line
 * {@code model_checkpoint_path: "ckpt-<step>"}, then one line
 * {@code all_model_checkpoint_paths: "<name>"} per kept checkpoint, oldest first, names relative
 * to the folder. The newest {@link #KEEP} checkpoints are kept; the files of older ones
 * ({@code <name>.*}) are deleted.
 */
public final class CheckpointDir {

    /** Checkpoints kept in a folder (as {@code tf.train.CheckpointManager(max_to_keep=5)}). */
    public static final int KEEP = 5;

    /** The checkpoint name prefix: {@code ckpt-<global_step>}. */
    public static final String PREFIX = "ckpt";

    /** The state file's name inside the folder. */
    public static final String STATE_FILE = "checkpoint";

    private final Path dir;

    /**
     * Writes a checkpoint's files for a prefix (the SavedModel's saver, or a stand-in in tests).
     */
    @FunctionalInterface
    public interface Writer {
        /**
         * Writes {@code <prefix>.index} and {@code <prefix>.data-*}.
         *
         * @param prefix the checkpoint prefix; its folder exists
         */
        void write(Path prefix);
    }

    /**
     * The parsed state file.
     *
     * @param modelCheckpointPath the newest checkpoint's prefix as written (relative to the
     *     folder unless absolute)
     * @param allModelCheckpointPaths every kept checkpoint's prefix as written, oldest first
     */
    public record State(String modelCheckpointPath, List<String> allModelCheckpointPaths) {
        /**
         * Makes an unmodifiable copy of the list.
         *
         * @param modelCheckpointPath the newest prefix
         * @param allModelCheckpointPaths the kept prefixes
         */
        public State {
            allModelCheckpointPaths = List.copyOf(allModelCheckpointPaths);
        }
    }

    /**
     * Wraps a checkpoint folder (nothing is read or created yet).
     *
     * @param dir the folder (absolute)
     */
    public CheckpointDir(Path dir) {
        this.dir = dir;
    }

    /**
     * Returns the folder.
     *
     * @return the folder
     */
    public Path dir() {
        return dir;
    }

    /**
     * Returns the state file's path, {@code <dir>/checkpoint}.
     *
     * @return the path
     */
    public Path stateFile() {
        return dir.resolve(STATE_FILE);
    }

    /**
     * Reads the state file.
     *
     * @return the state, or {@code null} when the folder has no state file
     * @throws ConsumerException (refusal) when the file cannot be read, is not a text
     *     {@code CheckpointState}, or names no {@code model_checkpoint_path}
     */
    public State readState() {
        Path f = stateFile();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw ConsumerException.refusal("cannot read the checkpoint state file " + f + ": " + e.getMessage());
        }
        State s;
        try {
            s = parseState(new String(bytes, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw ConsumerException.refusal("the checkpoint state file " + f + " is malformed: " + e.getMessage());
        }
        if (s.modelCheckpointPath().isEmpty()) {
            throw ConsumerException.refusal("the checkpoint state file " + f + " names no model_checkpoint_path");
        }
        return s;
    }

    /**
     * Returns the prefix of the newest checkpoint, as {@code tf.train.latest_checkpoint} finds
     * it: the state file's {@code model_checkpoint_path}, relative to the folder unless absolute.
     *
     * @return the prefix, or {@code null} when the folder has no state file
     * @throws ConsumerException (refusal) when the state file is malformed
     */
    public Path latestPrefix() {
        State s = readState();
        if (s == null) {
            return null;
        }
        Path p = Paths.get(s.modelCheckpointPath());
        return p.isAbsolute() ? p : dir.resolve(p);
    }

    /**
     * Saves {@code <dir>/ckpt-<globalStep>} with {@code writer}, then rewrites the state file,
     * keeping the newest {@link #KEEP} checkpoints and deleting the files of older ones. The
     * folder is created when missing.
     *
     * @param writer writes the checkpoint files for a prefix
     * @param globalStep the step count the checkpoint holds
     * @return the prefix written
     * @throws ConsumerException a failure when the folder or state file cannot be written, a
     *     refusal when an existing state file is malformed
     */
    public Path save(Writer writer, long globalStep) {
        String name = PREFIX + "-" + globalStep;
        Path prefix = dir.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw ConsumerException.failure("cannot create the checkpoint folder " + dir + ": " + e.getMessage());
        }
        writer.write(prefix);
        State earlier = readState();
        List<String> kept = new ArrayList<>();
        if (earlier != null) {
            for (String p : earlier.allModelCheckpointPaths()) {
                String n = fileName(p);
                if (!n.equals(name)) {
                    kept.add(n);
                }
            }
        }
        kept.add(name);
        int drop = Math.max(0, kept.size() - KEEP);
        for (String old : kept.subList(0, drop)) {
            deleteFiles(old);
        }
        kept = new ArrayList<>(kept.subList(drop, kept.size()));
        writeState(name, kept);
        return prefix;
    }

    /** Deletes {@code <dir>/<name>.*}. */
    private void deleteFiles(String name) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.getFileName().toString().startsWith(name + ".")) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw ConsumerException.failure("cannot delete the old checkpoint " + dir.resolve(name) + ": "
                    + e.getMessage());
        }
    }

    /** Writes the state file through a temporary file renamed into place. */
    private void writeState(String latest, List<String> all) {
        Path f = stateFile();
        Path tmp = dir.resolve(STATE_FILE + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.write(tmp, stateText(latest, all).getBytes(StandardCharsets.UTF_8));
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the first error is the one reported
            }
            throw ConsumerException.failure("cannot write the checkpoint state file " + f + ": " + e.getMessage());
        }
    }

    /** The last component of a prefix as written in the state file (Python's {@code Path(p).name}). */
    private static String fileName(String p) {
        try {
            Path n = Paths.get(p).getFileName();
            return n == null ? p : n.toString();
        } catch (java.nio.file.InvalidPathException e) {
            return p;
        }
    }

    /**
     * Formats a state file as Python's {@code text_format.MessageToString} writes the
     * {@code CheckpointState} (strings as C-escaped UTF-8, non-ASCII bytes in octal).
     *
     * @param latest {@code model_checkpoint_path}
     * @param all {@code all_model_checkpoint_paths}, oldest first
     * @return the text, one field per line, each ending with a newline
     */
    static String stateText(String latest, List<String> all) {
        StringBuilder b = new StringBuilder();
        b.append("model_checkpoint_path: \"").append(cEscape(latest)).append("\"\n");
        for (String p : all) {
            b.append("all_model_checkpoint_paths: \"").append(cEscape(p)).append("\"\n");
        }
        return b.toString();
    }

    /** Python protobuf's {@code text_encoding.CEscape(utf8 bytes, as_utf8=False)}. */
    private static String cEscape(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            switch (c) {
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '"' -> b.append("\\\"");
                case '\'' -> b.append("\\'");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 32 || c >= 127) {
                        b.append(String.format("\\%03o", c));
                    } else {
                        b.append((char) c);
                    }
                }
            }
        }
        return b.toString();
    }

    /**
     * Parses a text-format {@code CheckpointState}: the string fields
     * {@code model_checkpoint_path} and (repeated) {@code all_model_checkpoint_paths}; the
     * numeric {@code all_model_checkpoint_timestamps} and {@code last_preserved_timestamp} are
     * accepted and ignored; {@code #} comments and whitespace are skipped.
     *
     * @param text the file's text
     * @return the state ({@code modelCheckpointPath} is {@code ""} when absent)
     * @throws IllegalArgumentException naming the first thing that is not such a message
     */
    static State parseState(String text) {
        StateParser p = new StateParser(text);
        String latest = "";
        List<String> all = new ArrayList<>();
        while (p.skipSpace()) {
            String field = p.identifier();
            p.skipSpace();
            p.expect(':');
            p.skipSpace();
            switch (field) {
                case "model_checkpoint_path" -> latest = p.string();
                case "all_model_checkpoint_paths" -> all.add(p.string());
                case "all_model_checkpoint_timestamps", "last_preserved_timestamp" -> p.number();
                default -> throw new IllegalArgumentException("unknown field " + Echo.quotedSingle(field));
            }
            p.skipSpace();
            p.optional(';', ',');
        }
        return new State(latest, all);
    }

    /** A tokenizer for the few text-format forms a CheckpointState uses. */
    private static final class StateParser {
        private final String s;
        private int i;

        StateParser(String s) {
            this.s = s;
        }

        /** Skips whitespace and comments; returns whether anything is left. */
        boolean skipSpace() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '#') {
                    while (i < s.length() && s.charAt(i) != '\n') {
                        i++;
                    }
                } else if (Character.isWhitespace(c)) {
                    i++;
                } else {
                    return true;
                }
            }
            return false;
        }

        String identifier() {
            int start = i;
            while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
                i++;
            }
            if (start == i) {
                throw new IllegalArgumentException("expected a field name at offset " + i);
            }
            return s.substring(start, i);
        }

        void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c) {
                throw new IllegalArgumentException("expected " + Echo.quotedSingle(c) + " at offset " + i);
            }
            i++;
        }

        void optional(char... cs) {
            if (i < s.length()) {
                for (char c : cs) {
                    if (s.charAt(i) == c) {
                        i++;
                        return;
                    }
                }
            }
        }

        void number() {
            int start = i;
            while (i < s.length() && "+-.0123456789eEinfaINFA".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            if (start == i) {
                throw new IllegalArgumentException("expected a number at offset " + i);
            }
        }

        /** One or more adjacent quoted strings, C-unescaped and decoded as UTF-8. */
        String string() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            boolean any = false;
            while (i < s.length() && (s.charAt(i) == '"' || s.charAt(i) == '\'')) {
                any = true;
                char quote = s.charAt(i++);
                while (true) {
                    if (i >= s.length() || s.charAt(i) == '\n') {
                        throw new IllegalArgumentException("unterminated string");
                    }
                    char c = s.charAt(i++);
                    if (c == quote) {
                        break;
                    }
                    if (c != '\\') {
                        out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                        continue;
                    }
                    if (i >= s.length()) {
                        throw new IllegalArgumentException("unterminated escape");
                    }
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> out.write('\n');
                        case 't' -> out.write('\t');
                        case 'r' -> out.write('\r');
                        case 'a' -> out.write(7);
                        case 'b' -> out.write('\b');
                        case 'f' -> out.write('\f');
                        case 'v' -> out.write(11);
                        case '\\', '\'', '"', '?' -> out.write(e);
                        case 'x' -> {
                            int start = i;
                            while (i < s.length() && i - start < 2 && Character.digit(s.charAt(i), 16) >= 0) {
                                i++;
                            }
                            if (start == i) {
                                throw new IllegalArgumentException("bad \\x escape");
                            }
                            out.write(Integer.parseInt(s.substring(start, i), 16));
                        }
                        default -> {
                            if (e < '0' || e > '7') {
                                throw new IllegalArgumentException("bad escape \\" + e);
                            }
                            int start = i - 1;
                            while (i < s.length() && i - start < 3 && s.charAt(i) >= '0' && s.charAt(i) <= '7') {
                                i++;
                            }
                            out.write(Integer.parseInt(s.substring(start, i), 8) & 0xff);
                        }
                    }
                }
                skipSpace();
            }
            if (!any) {
                throw new IllegalArgumentException("expected a string at offset " + i);
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(out.toByteArray())).toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("a path is not valid UTF-8");
            }
        }
    }
}
