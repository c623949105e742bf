package org.polyglot.tf.internal;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.TextFormat;
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
 * {@code checkpoint} (tests/CONTRACT.md, "Training", "Checkpoints").
 *
 * <p>The state file is a {@code tensorflow.CheckpointState} message ({@link #CHECKPOINT_STATE})
 * in protobuf text format, written and read by protobuf-java's {@link TextFormat}, so its white
 * space and string escapes carry no meaning: after each save it is rewritten atomically with
 * {@code model_checkpoint_path} the new checkpoint's name and {@code all_model_checkpoint_paths}
 * every kept checkpoint, oldest first, names relative to the folder. The newest {@link #KEEP}
 * checkpoints are kept; the files of older ones ({@code <name>.*}) are deleted.
 *
 * <p>Messages name the folder as the user gave it ({@link #shown()}, tests/CONTRACT.md, "Paths in
 * messages").
 */
public final class CheckpointDir {

    /** Checkpoints kept in a folder (as {@code tf.train.CheckpointManager(max_to_keep=5)}). */
    public static final int KEEP = 5;

    /** The checkpoint name prefix: {@code ckpt-<global_step>}. */
    public static final String PREFIX = "ckpt";

    /** The state file's name inside the folder. */
    public static final String STATE_FILE = "checkpoint";

    /**
     * The {@code CheckpointState} message of TensorFlow's
     * {@code tensorflow/python/training/checkpoint_state.proto} (package {@code tensorflow},
     * proto3), which TensorFlow Java's jar does not carry, built here from its definition:
     *
     * <pre>
     * message CheckpointState {
     *   string model_checkpoint_path = 1;
     *   repeated string all_model_checkpoint_paths = 2;
     *   repeated double all_model_checkpoint_timestamps = 3;
     *   double last_preserved_timestamp = 4;
     * }
     * </pre>
     *
     * Messages of it are {@link DynamicMessage}s.
     */
    public static final Descriptor CHECKPOINT_STATE = checkpointStateDescriptor();

    private static final FieldDescriptor MODEL_CHECKPOINT_PATH =
            CHECKPOINT_STATE.findFieldByName("model_checkpoint_path");
    private static final FieldDescriptor ALL_MODEL_CHECKPOINT_PATHS =
            CHECKPOINT_STATE.findFieldByName("all_model_checkpoint_paths");

    private final Path dir;
    private final String shown;

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
     *     folder unless absolute); {@code ""} when the message has none
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
     * Wraps a checkpoint folder (nothing is read or created yet), named in messages by its path.
     *
     * @param dir the folder
     */
    public CheckpointDir(Path dir) {
        this(dir, dir.toString());
    }

    /**
     * Wraps a checkpoint folder (nothing is read or created yet).
     *
     * @param dir the folder, for file access
     * @param shown the folder as messages write it: {@code --checkpoint-dir} as given, or the
     *     model folder's text joined with {@code checkpoints}
     */
    public CheckpointDir(Path dir, String shown) {
        this.dir = dir;
        this.shown = shown;
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
     * Returns the folder as messages write it.
     *
     * @return the folder's text, as given
     */
    public String shown() {
        return shown;
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
     * Writes a path of the state file (or a checkpoint name) as messages do: an absolute one as it
     * is, a relative one joined with the folder's text ({@link ModelLocation#join}).
     *
     * @param name a name or path relative to the folder, or an absolute path
     * @return the text
     */
    public String shown(String name) {
        return name.startsWith("/") ? name : ModelLocation.join(shown, name);
    }

    /**
     * Reads the state file.
     *
     * @return the state, or {@code null} when the folder has no state file
     * @throws StatusException when the file cannot be read, is not a text-format
     *     {@code CheckpointState}, or names no {@code model_checkpoint_path}
     */
    public State readState() {
        String f = shown(STATE_FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(stateFile());
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read the checkpoint state file " + f + ": " + e.getMessage());
        }
        State s;
        try {
            s = parseState(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString());
        } catch (CharacterCodingException e) {
            throw StatusException.failedPrecondition("the checkpoint state file " + f + " is malformed: it is not UTF-8 text");
        } catch (IllegalArgumentException e) {
            throw StatusException.failedPrecondition("the checkpoint state file " + f + " is malformed: "
                    + Json.oneLine(e.getMessage()));
        }
        if (s.modelCheckpointPath().isEmpty()) {
            throw StatusException.failedPrecondition("the checkpoint state file " + f + " names no model_checkpoint_path");
        }
        return s;
    }

    /**
     * Returns the prefix of the newest checkpoint, as {@code tf.train.latest_checkpoint} finds
     * it: the state file's {@code model_checkpoint_path}, relative to the folder unless absolute.
     *
     * @return the prefix, or {@code null} when the folder has no state file
     * @throws StatusException when the state file is malformed
     */
    public Path latestPrefix() {
        State s = readState();
        if (s == null) {
            return null;
        }
        return resolve(s.modelCheckpointPath());
    }

    /**
     * Returns the checkpoint a path of the state file names: an absolute path as it is, a
     * relative one inside the folder.
     *
     * @param written a path as the state file holds it
     * @return the prefix
     */
    public Path resolve(String written) {
        Path p = Paths.get(written);
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
     * @throws StatusException a failure when the folder or state file cannot be written, a
     *     refusal when an existing state file is malformed
     */
    public Path save(Writer writer, long globalStep) {
        String name = PREFIX + "-" + globalStep;
        Path prefix = dir.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw StatusException.internal("cannot create the checkpoint folder " + shown + ": " + e.getMessage());
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
            throw StatusException.internal("cannot delete the old checkpoint " + shown(name) + ": " + e.getMessage());
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
            throw StatusException.internal("cannot write the checkpoint state file " + shown(STATE_FILE) + ": "
                    + e.getMessage());
        }
    }

    /**
     * Returns the last name of a path as the state file writes it: the text after its last
     * {@code /} (a trailing {@code /} is not a name).
     *
     * @param p the path's text
     * @return the name, e.g. {@code ckpt-500} for {@code /abs/ckpt-500}
     */
    static String fileName(String p) {
        String t = p;
        while (t.endsWith("/") && t.length() > 1) {
            t = t.substring(0, t.length() - 1);
        }
        return t.substring(t.lastIndexOf('/') + 1);
    }

    /**
     * Writes a state file: a {@code CheckpointState} with {@code model_checkpoint_path} and
     * {@code all_model_checkpoint_paths}, in protobuf text format ({@link TextFormat#printer()}).
     *
     * @param latest {@code model_checkpoint_path}
     * @param all {@code all_model_checkpoint_paths}, oldest first
     * @return the text
     */
    static String stateText(String latest, List<String> all) {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(CHECKPOINT_STATE);
        b.setField(MODEL_CHECKPOINT_PATH, latest);
        for (String p : all) {
            b.addRepeatedField(ALL_MODEL_CHECKPOINT_PATHS, p);
        }
        return TextFormat.printer().printToString(b.build());
    }

    /**
     * Reads a state file: a {@code CheckpointState} in protobuf text format
     * ({@link TextFormat#getParser()}; comments, either quote, adjacent strings, escapes and the
     * timestamp fields as protobuf accepts them).
     *
     * @param text the file's text
     * @return the state ({@code modelCheckpointPath} is {@code ""} when absent)
     * @throws IllegalArgumentException with protobuf's message when the text is no such message
     */
    public static State parseState(String text) {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(CHECKPOINT_STATE);
        try {
            TextFormat.getParser().merge(text, b);
        } catch (TextFormat.ParseException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        DynamicMessage m = b.build();
        List<String> all = new ArrayList<>();
        for (int i = 0; i < m.getRepeatedFieldCount(ALL_MODEL_CHECKPOINT_PATHS); i++) {
            all.add((String) m.getRepeatedField(ALL_MODEL_CHECKPOINT_PATHS, i));
        }
        return new State((String) m.getField(MODEL_CHECKPOINT_PATH), all);
    }

    /** Builds {@link #CHECKPOINT_STATE} from checkpoint_state.proto's definition. */
    private static Descriptor checkpointStateDescriptor() {
        DescriptorProto message = DescriptorProto.newBuilder()
                .setName("CheckpointState")
                .addField(field("model_checkpoint_path", 1, FieldDescriptorProto.Type.TYPE_STRING, false))
                .addField(field("all_model_checkpoint_paths", 2, FieldDescriptorProto.Type.TYPE_STRING, true))
                .addField(field("all_model_checkpoint_timestamps", 3, FieldDescriptorProto.Type.TYPE_DOUBLE, true))
                .addField(field("last_preserved_timestamp", 4, FieldDescriptorProto.Type.TYPE_DOUBLE, false))
                .build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder()
                .setName("tensorflow/python/training/checkpoint_state.proto")
                .setPackage("tensorflow")
                .setSyntax("proto3")
                .addMessageType(message)
                .build();
        try {
            return FileDescriptor.buildFrom(file, new FileDescriptor[0]).findMessageTypeByName("CheckpointState");
        } catch (DescriptorValidationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type,
            boolean repeated) {
        return FieldDescriptorProto.newBuilder()
                .setName(name)
                .setNumber(number)
                .setType(type)
                .setLabel(repeated ? FieldDescriptorProto.Label.LABEL_REPEATED : FieldDescriptorProto.Label.LABEL_OPTIONAL)
                .build();
    }
}
