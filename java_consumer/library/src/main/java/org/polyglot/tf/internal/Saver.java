package org.polyglot.tf.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SaverDef;

/**
 * Saves and restores a loaded SavedModel's variables through the SavedModel's own
 * {@code saver_def} (from the MetaGraphDef of tags {@code {"serve"}}), as tests/CONTRACT.md
 * ("Training") prescribes: the checkpoint prefix is fed as a scalar {@code DT_STRING} to
 * {@code filename_tensor_name}; saving fetches {@code save_tensor_name}, restoring runs the
 * operation {@code restore_op_name}.
 *
 * <p>The checkpoint keys are the object-graph keys
 * ({@code <variable>/.ATTRIBUTES/VARIABLE_VALUE}), so checkpoints written here are read by
 * Python's {@code tf.train.Checkpoint} and by the other consumers, and theirs are read here.
 */
public final class Saver implements CheckpointDir.Writer {

    private final TfSession session;
    private final SaverDef def;

    /**
     * Wraps a session on a SavedModel and that model's saver.
     *
     * @param session the session loaded from the SavedModel (not closed by this class)
     * @param def the SavedModel's {@code saver_def} (see {@link #saverDef(Path, String)})
     */
    public Saver(TfSession session, SaverDef def) {
        this.session = session;
        this.def = def;
    }

    /**
     * Reads the {@code saver_def} of the MetaGraphDef with tags exactly {@code {"serve"}} from
     * {@code saved_model.pb} (pure Java, no native library), naming the folder in messages as
     * given (tests/CONTRACT.md, "Paths in messages").
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()})
     * @return the saver definition
     * @throws StatusException when the file is unreadable, has no such MetaGraphDef,
     *     or the saver names no filename tensor, save tensor or restore operation
     */
    public static SaverDef saverDef(Path versionDir, String shown) {
        SavedModel sm = SavedModelInfo.parseSavedModel(versionDir, shown);
        for (MetaGraphDef mg : sm.getMetaGraphsList()) {
            if (new HashSet<>(mg.getMetaInfoDef().getTagsList()).equals(SavedModelInfo.SERVE_TAGS)) {
                SaverDef d = mg.getSaverDef();
                if (d.getFilenameTensorName().isEmpty() || d.getSaveTensorName().isEmpty()
                        || d.getRestoreOpName().isEmpty()) {
                    throw StatusException.failedPrecondition("the SavedModel in " + Echo.quotedSingle(shown) + " has no usable saver_def "
                            + "(filename_tensor_name, save_tensor_name and restore_op_name are needed to save and "
                            + "restore its variables)");
                }
                return d;
            }
        }
        throw StatusException.failedPrecondition("the SavedModel in " + Echo.quotedSingle(shown)
                + " has no MetaGraphDef with tag-set {'serve'}");
    }

    /**
     * Writes the session's variables to a checkpoint ({@code <prefix>.index},
     * {@code <prefix>.data-00000-of-00001}); the prefix's folder is created first.
     *
     * @param prefix the checkpoint prefix
     * @throws StatusException (INTERNAL) when the folder cannot be created or TensorFlow fails
     */
    @Override
    public void write(Path prefix) {
        try {
            Files.createDirectories(prefix.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw StatusException.internal("cannot create the folder of checkpoint " + prefix + ": " + e.getMessage());
        }
        session.run(List.of(def.getFilenameTensorName()), List.of(prefixTensor(prefix)),
                List.of(def.getSaveTensorName()));
    }

    /**
     * Restores the session's variables from a checkpoint.
     *
     * @param prefix the checkpoint prefix
     * @throws StatusException (INTERNAL) when TensorFlow cannot restore it (missing files,
     *     missing keys, wrong dtypes or shapes)
     */
    public void restore(Path prefix) {
        session.run(List.of(def.getFilenameTensorName()), List.of(prefixTensor(prefix)), List.of(),
                List.of(def.getRestoreOpName()));
    }

    /** The prefix as a scalar DT_STRING tensor (UTF-8 bytes). */
    private static HostTensor prefixTensor(Path prefix) {
        return HostTensor.strings(new long[0], new byte[][] {prefix.toString().getBytes(StandardCharsets.UTF_8)});
    }
}
