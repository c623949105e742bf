package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.polyglot.tf.internal.TestSupport.utf8;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.TestSupport;

/** {@code soak} (tests/CONTRACT.md, "Memory soak"): flags, output and the refusals before the loop. */
class SoakTest {

    @ParameterizedTest
    @ValueSource(strings = {"--predictions=0", "--predictions=-1", "--load-cycles=0", "--predictions=abc"})
    void countsMustBePositive(String flag) {
        CliRuns.Run r = CliRuns.run(utf8("{}"), "soak", "--model", "no-such-model", flag);
        assertEquals(2, r.status(), r.stderr());
        String name = flag.substring(0, flag.indexOf('='));
        assertTrue(r.stderr().startsWith("java_consumer: error: ") && r.stderr().contains(name), r.stderr());
        assertEquals(1, r.stderr().split("\n").length, r.stderr());
    }

    @Test
    void jsonHasTheContractsFields() {
        var options = new Soak.Options("serving_default", Model.Format.FROZEN, 100, 2, Model.Safety.DEFAULT);
        var result = new Soak.Result("/abs/models/linear/1", "serving_default", 100, new long[] {51234, 51240},
                3_200_000_000L, 2, new long[] {52000, 52100}, 9_812_345_678L);
        Json.Obj o = (Json.Obj) Json.parse(utf8(Soak.json(result, options, "2.21.0")));
        assertEquals(List.of("runtime", "tensorflow_version", "model", "signature", "format", "predictions",
                "predictions_rss_kib", "predictions_seconds", "load_cycles", "load_cycles_rss_kib",
                "load_cycles_seconds"), List.copyOf(o.members().keySet()));
        assertEquals("java", ((Json.Str) o.get("runtime")).value());
        assertEquals("frozen", ((Json.Str) o.get("format")).value());
        assertEquals("/abs/models/linear/1", ((Json.Str) o.get("model")).value());
        assertEquals("3.2", ((Json.Num) o.get("predictions_seconds")).text());
        assertEquals("9.812", ((Json.Num) o.get("load_cycles_seconds")).text());
        assertEquals("52100", ((Json.Num) ((Json.Arr) o.get("load_cycles_rss_kib")).get(1)).text());
    }

    @Test
    void readsVmRss() {
        assumeTrue(Files.isReadable(Paths.get("/proc/self/status")), "no /proc/self/status");
        long kib = Soak.rssKib();
        assertTrue(kib > 1024, "VmRSS " + kib + " KiB");
    }

    @Test
    void refusedRequestIsRefusedBeforeTheLoop() {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run make models first");
        CliRuns.Run r = CliRuns.run(utf8("{\"instances\": [1.0]}"), "soak", "--model",
                TestSupport.LINEAR.toString());
        assertEquals(2, r.status(), r.stderr());
        assertTrue(r.stderr().contains("rank"), r.stderr());
        assertEquals("", r.stdout());
    }

    @Test
    void shortSoakOnLinear() {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run make models first");
        CliRuns.Run r = CliRuns.run(utf8("{\"signature_name\": \"serving_default\", \"instances\": [[1.0]]}"),
                "soak", "--model", TestSupport.LINEAR.toString(), "--predictions", "5", "--load-cycles", "2",
                "--signature", "nope");
        assertEquals(0, r.status(), r.stderr());
        Json.Obj o = (Json.Obj) Json.parse(utf8(r.stdout()));
        assertEquals("serving_default", ((Json.Str) o.get("signature")).value(), "the request's signature_name wins");
        assertEquals("5", ((Json.Num) o.get("predictions")).text());
        assertEquals("2", ((Json.Num) o.get("load_cycles")).text());
        assertEquals(2, ((Json.Arr) o.get("predictions_rss_kib")).size());
        assertTrue(((Json.Str) o.get("model")).value().startsWith(TestSupport.LINEAR.toString()));
    }
}
