package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Json;

/** {@code run-cases} (tests/CONTRACT.md, "Case runner"): one JSON answer per case line. */
class CaseRunnerTest {

    private static List<String> answer(String input) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = CaseRunner.serve(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), out);
        assertEquals(0, status);
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    private static String decoded(Json.Obj answer, String key) {
        return new String(Base64.getDecoder().decode(((Json.Str) answer.get(key)).value()), StandardCharsets.UTF_8);
    }

    @Test
    void answersEachCaseWithItsStatusAndStreams() throws IOException {
        String stdin = Base64.getEncoder().encodeToString("{}".getBytes(StandardCharsets.UTF_8));
        List<String> lines = answer("{\"argv\": [\"predict\", \"--no-such-flag\"], \"stdin\": \"" + stdin + "\"}\n"
                + "\n"
                + "{\"argv\": [\"serve\"]}\n"
                + "[1]\n"
                + "{\"argv\": [\"inspect\"], \"more\": 1}\n");
        assertEquals(4, lines.size(), lines.toString());
        Json.Obj refused = (Json.Obj) Json.parse(lines.get(0).getBytes(StandardCharsets.UTF_8));
        assertEquals("2", ((Json.Num) refused.get("status")).text());
        assertEquals(new Json.Str("INVALID_ARGUMENT"), refused.get("code"), "picocli's parameter errors");
        assertEquals(List.of("status", "code", "stdout", "stderr"), List.copyOf(refused.members().keySet()));
        assertEquals("", decoded(refused, "stdout"));
        String err = decoded(refused, "stderr");
        assertTrue(err.startsWith("java_consumer: error: ") && err.endsWith("\n") && err.indexOf('\n') == err.length() - 1,
                err);
        Json.Obj serve = (Json.Obj) Json.parse(lines.get(1).getBytes(StandardCharsets.UTF_8));
        assertEquals("java_consumer: error: serve cannot run as a case; start the program\n", decoded(serve, "stderr"));
        assertEquals("2", ((Json.Num) serve.get("status")).text());
        assertEquals(new Json.Str("INVALID_ARGUMENT"), serve.get("code"));
        assertTrue(lines.get(2).startsWith("{\"error\":"), lines.get(2));
        assertTrue(lines.get(3).contains("unknown case field \\\"more\\\""), lines.get(3));
    }

    @Test
    void answersTheCodeOfEachOutcome(@TempDir Path temp) throws IOException {
        String missing = temp.resolve("does-not-exist").toString();
        Path empty = Files.createDirectories(temp.resolve("empty"));
        List<String> lines = answer("{\"argv\": [\"inspect\", \"--model\", \"" + missing + "\"]}\n"
                + "{\"argv\": [\"inspect\", \"--model\", \"" + empty + "\", \"--version\", \"0\"]}\n"
                + "{\"argv\": [\"--help\"]}\n");
        assertEquals(3, lines.size(), lines.toString());
        Json.Obj notFound = (Json.Obj) Json.parse(lines.get(0).getBytes(StandardCharsets.UTF_8));
        assertEquals(new Json.Str("NOT_FOUND"), notFound.get("code"));
        assertEquals(String.valueOf(Code.NOT_FOUND.exitStatus()), ((Json.Num) notFound.get("status")).text());
        assertEquals("java_consumer: error: model path " + missing + " does not exist; expected a model folder or a "
                + "version folder\n", decoded(notFound, "stderr"));
        Json.Obj invalid = (Json.Obj) Json.parse(lines.get(1).getBytes(StandardCharsets.UTF_8));
        assertEquals(new Json.Str("INVALID_ARGUMENT"), invalid.get("code"));
        Json.Obj ok = (Json.Obj) Json.parse(lines.get(2).getBytes(StandardCharsets.UTF_8));
        assertEquals(new Json.Str("OK"), ok.get("code"));
        assertEquals("0", ((Json.Num) ok.get("status")).text());
        assertTrue(decoded(ok, "stdout").contains("predict"), decoded(ok, "stdout"));
    }
}
