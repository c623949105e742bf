package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Messages;
import org.polyglot.tf.internal.RequestBody;
import org.polyglot.tf.internal.SavedModelInfo;
import org.polyglot.tf.internal.SharedData;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.tensorflow.proto.DataType;

/**
 * The error taxonomy (tests/CONTRACT.md, "Errors"): the code table and the message catalog come
 * from the resource packed beside the classes, and representative refusals carry the code the
 * contract's table gives them, with the exit status derived from it.
 */
class StatusCatalogTest {

    @TempDir
    Path temp;

    private static byte[] resource(String name) throws IOException {
        URL url = SharedData.class.getResource(name);
        assertNotNull(url, name + " is packed beside the classes");
        try (InputStream in = url.openStream()) {
            return in.readAllBytes();
        }
    }

    // ---- the table and the catalog, from the resource ----

    @Test
    void theCodeTableIsReadFromTheResource() throws IOException {
        Json.Obj codes = (Json.Obj) ((Json.Obj) Json.parse(resource(SharedData.MESSAGES))).get("codes");
        List<String> names = new ArrayList<>();
        for (Code c : Code.values()) {
            names.add(c.name());
        }
        assertEquals(List.copyOf(codes.members().keySet()), names, "the seven codes, in the table's order");
        for (Code c : Code.values()) {
            Json.Obj row = (Json.Obj) codes.get(c.name());
            assertEquals(new Code.Edges(number(row, "exit_status"), number(row, "http_status"), number(row, "grpc_code")),
                    c.edges(), c.name());
            assertEquals(c.edges().exitStatus(), c.exitStatus());
            assertEquals(c.edges().httpStatus(), c.httpStatus());
            assertEquals(c.edges().grpcCode(), c.grpcCode());
        }
        // The contract's table, spot-checked.
        assertEquals(new Code.Edges(2, 400, 3), Code.INVALID_ARGUMENT.edges());
        assertEquals(new Code.Edges(2, 404, 5), Code.NOT_FOUND.edges());
        assertEquals(new Code.Edges(2, 413, 8), Code.RESOURCE_EXHAUSTED.edges());
        assertEquals(new Code.Edges(1, 500, 13), Code.INTERNAL.edges());
    }

    private static int number(Json.Obj row, String key) {
        return Integer.parseInt(((Json.Num) row.get(key)).text());
    }

    @Test
    void theResourcesAreTheSharedFiles() throws IOException {
        for (String name : List.of(SharedData.MESSAGES, SharedData.UNSAFE_OPS)) {
            Path shared = TestSupport.REPO.resolve("tests/cases").resolve(name);
            assertArrayEquals(Files.readAllBytes(shared), resource(name),
                    name + ": the build packs the current tests/cases file (rebuild when it changes)");
        }
    }

    @Test
    void theCatalogIsReadFromTheResource() throws IOException {
        Json.Obj messages = (Json.Obj) ((Json.Obj) Json.parse(resource(SharedData.MESSAGES))).get("messages");
        assertEquals(List.copyOf(messages.members().keySet()), List.copyOf(Messages.catalog().keySet()));
        for (Map.Entry<String, Json.Value> e : messages.members().entrySet()) {
            Json.Obj m = (Json.Obj) e.getValue();
            Messages.Entry entry = Messages.entry(e.getKey());
            assertEquals(((Json.Str) m.get("code")).value(), entry.code().name(), e.getKey());
            assertEquals(((Json.Str) m.get("template")).value(), entry.template(), e.getKey());
            Json.Value library = m.get("library") != null ? m.get("library") : m.get("template");
            assertEquals(((Json.Str) library).value(), entry.library(), e.getKey());
            // A text that names a flag has a library text that names none.
            if (entry.template().contains("--")) {
                assertTrue(m.get("library") != null && !entry.library().contains("--"), e.getKey());
            }
        }
    }

    @Test
    void everyCatalogMessageIsWrittenByTheCode() throws IOException {
        StringBuilder sources = new StringBuilder();
        // The main sources of both modules: the library and this command line.
        try (Stream<Path> files = Files.walk(TestSupport.REPO.resolve("java_consumer"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.toString().endsWith(".java") && f.toString().contains("/src/main/java/")) {
                    sources.append(Files.readString(f));
                }
            }
        }
        for (String id : Messages.catalog().keySet()) {
            assertTrue(sources.indexOf("\"" + id + "\"") >= 0, id + " is used through Messages");
        }
    }

    @Test
    void aCatalogErrorCarriesItsLibraryText() {
        StatusException e = Messages.error("manifest_missing", Map.of("path", "/m/1"));
        assertEquals("/m/1 has no manifest.json to verify; pass --skip-verification to load an unverified model",
                e.getMessage());
        assertEquals("/m/1 has no manifest.json to verify; turn verification off to load an unverified model",
                e.libraryMessage());
        e = Messages.error("version_not_found", Map.of("version", "9", "path", "/m", "available", "1"));
        assertEquals(e.getMessage(), e.libraryMessage());
        assertEquals("a message", new StatusException(Code.INTERNAL, "a message").libraryMessage());
    }

    @Test
    void placeholdersAreFilledAndBounded() {
        StatusException e = Messages.error("version_not_found", Map.of("version", "9", "path", "/m", "available", "1, 2"));
        assertEquals("version 9 not found in /m; available versions: 1, 2", e.getMessage());
        assertEquals(Code.NOT_FOUND, e.code());
        String longPath = "/" + "p".repeat(999);
        e = Messages.error("model_path_missing", Map.of("path", longPath));
        assertEquals("model path /" + "p".repeat(199) + "... (1000 characters) does not exist; expected a model "
                + "folder or a version folder", e.getMessage());
        assertEquals(Code.RESOURCE_EXHAUSTED, Messages.error("request_too_large", Map.of("limit", "16")).code());
        assertEquals("request is larger than the limit of 16 bytes (--max-request-bytes)",
                RequestBody.tooLargeMessage(16));
        assertThrows(IllegalArgumentException.class, () -> Messages.error("no_such_message", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> Messages.error("version_not_found", Map.of("version", "9")),
                "a placeholder without a value is a bug of the caller");
    }

    @Test
    void aValueWithBracesIsWrittenAsItIs() {
        assertEquals("signature \"{signature}\" has no frozen graph; use --format saved_model",
                Messages.text("no_frozen_graph", Map.of("signature", "{signature}")));
    }

    // ---- representative refusals: the code, and the exit status it gives ----

    @Test
    void commandLineRefusalsCarryTheirCodes() throws IOException {
        String missing = temp.resolve("nothing").toString();
        CliRuns.assertOneLineRefusal(CliRuns.run(new byte[0], "inspect", "--model", missing),
                Code.NOT_FOUND, "model path " + missing + " does not exist; expected a model folder or a version folder");
        CliRuns.Run flag = CliRuns.run(new byte[0], "predict", "--no-such-flag");
        assertEquals("INVALID_ARGUMENT", flag.code());
        assertEquals(2, flag.status());
        CliRuns.Run format = CliRuns.run(new byte[0], "predict", "--model", missing, "--format", "onnx");
        assertEquals("INVALID_ARGUMENT", format.code(), format.stderr());

        Path v = BadInputsTest.writeSavedModel(temp.resolve("m"), BadInputsTest.identityModel(DataType.DT_FLOAT));
        CliRuns.assertOneLineRefusal(CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": 1}}"), "predict",
                "--model", v.toString()), Code.FAILED_PRECONDITION, v + " has no manifest.json to verify; pass "
                + "--skip-verification to load an unverified model");
        CliRuns.assertOneLineRefusal(CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": 1.5}}"), "predict",
                "--model", v.toString(), "--skip-verification", "--max-request-bytes", "8"), Code.RESOURCE_EXHAUSTED,
                "request is larger than the limit of 8 bytes (--max-request-bytes)");
        CliRuns.Run badValue = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": \"a\"}}"), "predict",
                "--model", v.toString(), "--skip-verification");
        assertEquals("INVALID_ARGUMENT", badValue.code(), badValue.stderr());
        CliRuns.Run sig = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": 1}}"), "predict", "--model",
                v.toString(), "--skip-verification", "--signature", "nope");
        CliRuns.assertOneLineRefusal(sig, Code.NOT_FOUND,
                "signature \"nope\" not found; available signatures: serving_default");
        CliRuns.Run ok = CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": 1.5}}"), "predict", "--model",
                v.toString(), "--skip-verification");
        assertEquals("OK", ok.code(), ok.stderr());
        assertEquals(0, ok.status());
    }

    @Test
    void anUnsafeOpIsAFailedPrecondition() throws IOException {
        org.tensorflow.proto.MetaGraphDef good = BadInputsTest.identityModel(DataType.DT_STRING);
        org.tensorflow.proto.GraphDef g = good.getGraphDef().toBuilder()
                .addNode(org.tensorflow.proto.NodeDef.newBuilder().setName("read").setOp("ReadFile").addInput("x:0"))
                .build();
        org.tensorflow.proto.SignatureDef sig = good.getSignatureDefOrThrow("serving_default");
        org.tensorflow.proto.MetaGraphDef unsafe = good.toBuilder().setGraphDef(g).putSignatureDef("serving_default",
                sig.toBuilder().putOutputs("y", sig.getOutputsOrThrow("y").toBuilder().setName("read:0").build())
                        .build()).build();
        Path v = BadInputsTest.writeSavedModel(temp.resolve("u"), unsafe);
        CliRuns.assertOneLineRefusal(CliRuns.run(TestSupport.utf8("{\"inputs\": {\"x\": \"f\"}}"), "predict",
                "--model", v.toString(), "--skip-verification"), Code.FAILED_PRECONDITION,
                "op ReadFile (node \"read\" in the graph) is not allowed: its file name (input 0) is not a path the "
                + "loader feeds inside the version folder; pass --allow-op ReadFile to accept it");
    }

    @Test
    void anInvalidDtypeIsAFailedPrecondition() throws IOException {
        org.tensorflow.proto.MetaGraphDef good = BadInputsTest.identityModel(DataType.DT_FLOAT);
        org.tensorflow.proto.SignatureDef sig = good.getSignatureDefOrThrow("serving_default");
        Path v = BadInputsTest.writeSavedModel(temp.resolve("d"), good.toBuilder().putSignatureDef("serving_default",
                sig.toBuilder().putInputs("x", sig.getInputsOrThrow("x").toBuilder().setDtypeValue(12345).build())
                        .build()).build());
        StatusException e = assertThrows(StatusException.class, () -> SavedModelInfo.read(v, v.toString()));
        assertEquals(Code.FAILED_PRECONDITION, e.code());
    }

    @Test
    void anErrorIsOneLineWithItsCode() {
        StatusException e = new StatusException(Code.INTERNAL, "a\n  b");
        assertEquals(Code.INTERNAL, e.code());
        assertEquals("a b", e.getMessage(), "one line");
        assertEquals(Code.NOT_FOUND, StatusException.notFound("x").code());
        assertEquals(Code.FAILED_PRECONDITION, StatusException.failedPrecondition("x").code());
        assertEquals(Code.RESOURCE_EXHAUSTED, StatusException.resourceExhausted("x").code());
        assertEquals(Code.INVALID_ARGUMENT, StatusException.invalidArgument("x").code());
    }
}
