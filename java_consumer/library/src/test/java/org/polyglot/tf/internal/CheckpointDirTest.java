package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint folder: the state file as a CheckpointState message, pruning to the newest five, resume lookup. */
class CheckpointDirTest {

    @TempDir
    Path temp;

    /** Stands in for the SavedModel saver: writes the two files a checkpoint has. */
    private static final CheckpointDir.Writer FAKE = prefix -> {
        try {
            Files.writeString(Path.of(prefix + ".index"), "index");
            Files.writeString(Path.of(prefix + ".data-00000-of-00001"), "data");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    };

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The state file parsed by protobuf's own text-format parser. */
    private static DynamicMessage parsed(Path stateFile) throws IOException {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(CheckpointDir.CHECKPOINT_STATE);
        TextFormat.getParser().merge(Files.readString(stateFile), b);
        return b.build();
    }

    @Test
    void stateFileIsACheckpointStateInTextFormat() throws IOException {
        CheckpointDir d = new CheckpointDir(temp.resolve("ck"));
        assertNull(d.readState());
        assertNull(d.latestPrefix());
        assertEquals(temp.resolve("ck/ckpt-250"), d.save(FAKE, 250));
        d.save(FAKE, 500);
        DynamicMessage m = parsed(d.stateFile());
        Descriptor s = CheckpointDir.CHECKPOINT_STATE;
        assertEquals("tensorflow.CheckpointState", s.getFullName());
        assertEquals("tensorflow/python/training/checkpoint_state.proto", s.getFile().getName());
        assertEquals("ckpt-500", m.getField(s.findFieldByName("model_checkpoint_path")));
        assertEquals(List.of("ckpt-250", "ckpt-500"), m.getField(s.findFieldByName("all_model_checkpoint_paths")));
        assertEquals(0, m.getRepeatedFieldCount(s.findFieldByName("all_model_checkpoint_timestamps")));
        assertEquals(3, s.findFieldByName("all_model_checkpoint_timestamps").getNumber());
        assertEquals(4, s.findFieldByName("last_preserved_timestamp").getNumber());
        assertEquals(temp.resolve("ck/ckpt-500"), d.latestPrefix());
        assertEquals(List.of("checkpoint", "ckpt-250.data-00000-of-00001", "ckpt-250.index",
                "ckpt-500.data-00000-of-00001", "ckpt-500.index"), names(d.dir()));
    }

    @Test
    void keepsTheNewestFiveAndDeletesOlderFiles() throws IOException {
        CheckpointDir d = new CheckpointDir(temp);
        Files.writeString(temp.resolve("ckpt-10.index"), "not ckpt-1's");
        for (long step = 1; step <= 7; step++) {
            d.save(FAKE, step);
        }
        CheckpointDir.State s = d.readState();
        assertEquals("ckpt-7", s.modelCheckpointPath());
        assertEquals(List.of("ckpt-3", "ckpt-4", "ckpt-5", "ckpt-6", "ckpt-7"), s.allModelCheckpointPaths());
        assertFalse(Files.exists(temp.resolve("ckpt-1.index")));
        assertFalse(Files.exists(temp.resolve("ckpt-2.data-00000-of-00001")));
        assertTrue(Files.exists(temp.resolve("ckpt-3.index")));
        assertTrue(Files.exists(temp.resolve("ckpt-10.index")), "only <name>.* is deleted");
        assertEquals(12, names(temp).size());
    }

    @Test
    void savingTheSameStepAgainMovesItToTheEnd() {
        CheckpointDir d = new CheckpointDir(temp);
        d.save(FAKE, 1);
        d.save(FAKE, 2);
        d.save(FAKE, 1);
        assertEquals(List.of("ckpt-2", "ckpt-1"), d.readState().allModelCheckpointPaths());
    }

    @Test
    void readsStatesWrittenByOthers() throws IOException {
        CheckpointDir d = new CheckpointDir(temp);
        Files.writeString(d.stateFile(), "# written elsewhere\nmodel_checkpoint_path: '/abs/ckpt-9'\n"
                + "all_model_checkpoint_paths: \"/abs/ckpt-9\"\nall_model_checkpoint_timestamps: 1.7e9\n"
                + "last_preserved_timestamp: 1731000000.5\n");
        assertEquals(Path.of("/abs/ckpt-9"), d.latestPrefix());
        d.save(FAKE, 10);
        assertEquals(List.of("ckpt-9", "ckpt-10"), d.readState().allModelCheckpointPaths());

        CheckpointDir.State s = CheckpointDir.parseState("model_checkpoint_path: \"a\\\"b\\303\\251\\x41\" 'c'");
        assertEquals("a\"b\u00e9Ac", s.modelCheckpointPath());
        // Whatever protobuf writes, protobuf reads back.
        for (String odd : List.of("caf\u00e9\\\"", "tab\there\nline", "'quote'", "\ud83d\ude00")) {
            CheckpointDir.State back = CheckpointDir.parseState(CheckpointDir.stateText(odd, List.of(odd, "b")));
            assertEquals(new CheckpointDir.State(odd, List.of(odd, "b")), back);
        }
        // White space and field order carry no meaning.
        assertEquals(new CheckpointDir.State("x", List.of("w", "x")), CheckpointDir.parseState(
                "all_model_checkpoint_paths:'w'   all_model_checkpoint_paths : \"x\"\r\n\tmodel_checkpoint_path:\"x\""));
    }

    @Test
    void malformedStateFilesAreRefused() throws IOException {
        CheckpointDir d = new CheckpointDir(temp);
        for (String text : List.of("model_checkpoint_path: ckpt-1\n", "bogus: \"x\"\n", "model_checkpoint_path \"x\"",
                "all_model_checkpoint_paths: \"ckpt-1\"\n", "model_checkpoint_path: \"unterminated\n")) {
            Files.write(d.stateFile(), text.getBytes(StandardCharsets.UTF_8));
            StatusException e = assertThrows(StatusException.class, d::latestPrefix, text);
            assertEquals(Code.FAILED_PRECONDITION, e.code());
            assertTrue(e.getMessage().contains(d.stateFile().toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void messagesNameTheFolderAsGiven() throws IOException {
        String given = temp + "/./ck//";
        CheckpointDir d = new CheckpointDir(Path.of(given), given);
        d.save(FAKE, 1);
        assertEquals(given + "checkpoint", d.shown(CheckpointDir.STATE_FILE));
        assertEquals("/abs/ckpt-1", d.shown("/abs/ckpt-1"));
        Files.writeString(d.stateFile(), "bogus: 1\n");
        String m = assertThrows(StatusException.class, d::readState).getMessage();
        assertTrue(m.startsWith("the checkpoint state file " + given + "checkpoint is malformed: "), m);
        assertEquals("ckpt-9", CheckpointDir.fileName("/abs/ckpt-9"));
        assertEquals("ckpt-9", CheckpointDir.fileName("ckpt-9"));
    }
}
