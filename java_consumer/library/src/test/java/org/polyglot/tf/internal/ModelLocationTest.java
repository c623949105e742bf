package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model folder / version folder resolution. */
class ModelLocationTest {

    @TempDir
    Path temp;

    private Path version(String name, boolean complete) throws IOException {
        Path d = Files.createDirectories(temp.resolve("m").resolve(name));
        if (complete) {
            Files.write(d.resolve("saved_model.pb"), new byte[0]);
        }
        return d;
    }

    @Test
    void picksTheHighestCompleteIntegerVersion() throws IOException {
        version("1", true);
        version("2", true);
        version("10", true);
        version("11", false);
        version(".tmp-12-345", true);
        version("0", true);
        version("v13", true);
        ModelLocation loc = ModelLocation.resolve(temp.resolve("m").toString(), null);
        assertEquals(BigInteger.TEN, loc.version());
        assertEquals(temp.resolve("m/10"), loc.dir());
        assertEquals(BigInteger.TWO, ModelLocation.resolve(temp.resolve("m").toString(), 2L).version());
        String msg = assertThrows(StatusException.class,
                () -> ModelLocation.resolve(temp.resolve("m").toString(), 11L)).getMessage();
        assertTrue(msg.contains("11") && msg.contains("1, 2, 10"), msg);
    }

    @Test
    void leadingZerosNameTheVersionOfTheirValueAndTheFewestWin() throws IOException {
        version("007", true);
        version("0003", true);
        version("03", true);
        version("3", false);
        version("00", true);
        String m = temp.resolve("m").toString();
        ModelLocation latest = ModelLocation.resolve(m, null);
        assertEquals(BigInteger.valueOf(7), latest.version());
        assertEquals(temp.resolve("m/007"), latest.dir(), "loaded from the folder of that exact name");
        ModelLocation three = ModelLocation.resolve(m, 3L);
        assertEquals(temp.resolve("m/03"), three.dir(), "03 sorts after 0003; 3 is incomplete");
        version("3", true);
        assertEquals(temp.resolve("m/3"), ModelLocation.resolve(m, 3L).dir(), "the canonical spelling when present");
        assertEquals(BigInteger.valueOf(7), ModelLocation.resolve(temp.resolve("m/007").toString(), 7L).version());
        StatusException e = assertThrows(StatusException.class, () -> ModelLocation.resolve(m, 5L));
        assertEquals("version 5 not found in " + m + "; available versions: 3, 7", e.getMessage());
        assertEquals(Code.NOT_FOUND, e.code());
    }

    @Test
    void acceptsAVersionFolder() throws IOException {
        Path v = version("3", true);
        assertEquals(BigInteger.valueOf(3), ModelLocation.resolve(v.toString(), null).version());
        assertEquals(BigInteger.valueOf(3), ModelLocation.resolve(v.toString(), 3L).version());
        StatusException e = assertThrows(StatusException.class, () -> ModelLocation.resolve(v.toString(), 4L));
        assertEquals("--version 4 does not match the version folder " + v, e.getMessage());
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        Path odd = version("export", true);
        assertNull(ModelLocation.resolve(odd.toString(), null).version());
    }

    @Test
    void refusals() throws IOException {
        String missing = temp.resolve("does-not-exist").toString();
        StatusException e = assertThrows(StatusException.class, () -> ModelLocation.resolve(missing, null));
        assertEquals("model path " + missing + " does not exist; expected a model folder or a version folder",
                e.getMessage());
        assertEquals(Code.NOT_FOUND, e.code());
        Path empty = Files.createDirectories(temp.resolve("empty"));
        e = assertThrows(StatusException.class, () -> ModelLocation.resolve(empty.toString(), null));
        assertEquals(empty + " is not a model: expected saved_model.pb in it or in an integer version subfolder",
                e.getMessage());
        assertEquals(Code.NOT_FOUND, e.code());
        Path file = Files.write(temp.resolve("file"), new byte[0]);
        e = assertThrows(StatusException.class, () -> ModelLocation.resolve(file.toString(), null));
        assertEquals("model path " + file + " is not a folder; expected a model folder or a version folder",
                e.getMessage());
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        e = assertThrows(StatusException.class, () -> ModelLocation.resolve(empty.toString(), 0L));
        assertEquals(Code.INVALID_ARGUMENT, e.code());
    }

    @Test
    void absoluteByConcatenationNeverCleaned() {
        String cwd = System.getProperty("user.dir");
        assertEquals(cwd + "/./a/./b/", ModelLocation.absolute("./a/./b/"));
        assertEquals(cwd + "/a/../b", ModelLocation.absolute("a/../b"));
        assertEquals("/x//y/", ModelLocation.absolute("/x//y/"));
        assertEquals("a/b", ModelLocation.join("a", "b"));
        assertEquals("a/b", ModelLocation.join("a/", "b"));
        assertEquals("a//b", ModelLocation.join("a//", "b"));
        assertEquals("/m/linear", ModelLocation.parent("/m/linear/3/"));
        assertEquals("/m//linear", ModelLocation.parent("/m//linear/3"));
        assertEquals("/", ModelLocation.parent("/3"));
    }

    @Test
    void theVersionFolderIsWrittenAsGiven() throws IOException {
        version("4", true);
        String given = temp + "/./m//";
        ModelLocation loc = ModelLocation.resolve(given, null);
        assertEquals(given + "4", loc.shown());
        assertEquals(temp.resolve("m/4"), loc.dir().normalize());
        String noSlash = temp + "/./m";
        assertEquals(noSlash + "/4", ModelLocation.resolve(noSlash, 4L).shown());
        String versionFolder = temp + "//m/4/";
        ModelLocation direct = ModelLocation.resolve(versionFolder, 4L);
        assertEquals(versionFolder, direct.shown());
        assertEquals(BigInteger.valueOf(4), direct.version());
        String msg = assertThrows(StatusException.class, () -> ModelLocation.resolve(given, 9L)).getMessage();
        assertEquals("version 9 not found in " + given + "; available versions: 4", msg);
        msg = assertThrows(StatusException.class, () -> ModelLocation.resolve(temp + "/./nothing/", null)).getMessage();
        assertEquals("model path " + temp + "/./nothing/ does not exist; expected a model folder or a version folder",
                msg);
    }
}
