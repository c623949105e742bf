package org.polyglot.tf.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.tensorflow.proto.SaverDef;

/**
 * The {@code train} command (tests/CONTRACT.md, "Training"): runs a SavedModel's train signature
 * in a loop over CSV data through the C API session, checkpoints through the SavedModel's
 * {@code saver_def}, and publishes the trained variables as the model's next version.
 *
 * <p>Given the same model version, data and options every language ends with the same variable
 * bits and prints the same stdout bytes: {@code step: <global_step>, loss: <loss>} every
 * {@code logEvery} steps and one {@code final: <name>: <value>, ...} line, numbers as
 * tests/CONTRACT.md, "Numbers in text", writes them in the value's dtype ({@link Numbers}). The
 * throughput and the exported folder go to stderr. Paths in messages are written as given
 * (tests/CONTRACT.md, "Paths in messages"; {@link ModelLocation#shown()}).
 */
public final class Trainer {

    /** The {@code language} of the manifest's {@code training.run}. */
    public static final String LANGUAGE = "java";

    /** The signature key whose predictions the golden responses hold by default. */
    private static final String GOLDEN_SIGNATURE = SignatureSpec.DEFAULT_KEY;

    /**
     * The command's options.
     *
     * @param steps training steps to run in this invocation (at least 1)
     * @param batchSize rows per step (at least 1)
     * @param learningRate the {@code --learning-rate} text as given: a decimal literal
     *     (tests/CONTRACT.md, "Decimal numbers in text input") rounded once to the float32 fed to
     *     the model
     * @param checkpointEvery save a checkpoint whenever {@code global_step} is a multiple of this
     *     (0: only at the end)
     * @param checkpointDir the checkpoint folder, or {@code null} for
     *     {@code <model folder>/checkpoints}
     * @param resume restore the newest checkpoint of the checkpoint folder first
     * @param logEvery print a {@code step:} line whenever {@code global_step} is a multiple of this
     * @param skipVerification load the source version without checking it against its
     *     {@code manifest.json} ({@link ManifestVerifier})
     * @param allowedOps ops accepted by {@code --allow-op} although the train or variables
     *     signature can reach them ({@link OpScanner})
     */
    public record Options(long steps, int batchSize, String learningRate, long checkpointEvery, String checkpointDir,
            boolean resume, long logEvery, boolean skipVerification, Set<String> allowedOps) {

        /**
         * Copies the allowed ops.
         *
         * @param steps training steps to run in this invocation (at least 1)
         * @param batchSize rows per step (at least 1)
         * @param learningRate the {@code --learning-rate} text
         * @param checkpointEvery save a checkpoint every this many steps (0: only at the end)
         * @param checkpointDir the checkpoint folder, or {@code null} for the default
         * @param resume restore the newest checkpoint first
         * @param logEvery print a {@code step:} line every this many steps
         * @param skipVerification load the source version without checking it
         * @param allowedOps ops accepted by {@code --allow-op} ({@code null}: none)
         */
        public Options {
            allowedOps = allowedOps == null ? Set.of() : Set.copyOf(allowedOps);
        }

        /**
         * The options of a run that allows no unsafe op.
         *
         * @param steps training steps to run in this invocation (at least 1)
         * @param batchSize rows per step (at least 1)
         * @param learningRate the {@code --learning-rate} text
         * @param checkpointEvery save a checkpoint every this many steps (0: only at the end)
         * @param checkpointDir the checkpoint folder, or {@code null} for the default
         * @param resume restore the newest checkpoint first
         * @param logEvery print a {@code step:} line every this many steps
         * @param skipVerification load the source version without checking it
         */
        public Options(long steps, int batchSize, String learningRate, long checkpointEvery, String checkpointDir,
                boolean resume, long logEvery, boolean skipVerification) {
            this(steps, batchSize, learningRate, checkpointEvery, checkpointDir, resume, logEvery, skipVerification,
                    Set.of());
        }

        /**
         * The options of a run that verifies the source version.
         *
         * @param steps training steps to run in this invocation (at least 1)
         * @param batchSize rows per step (at least 1)
         * @param learningRate the {@code --learning-rate} text
         * @param checkpointEvery save a checkpoint every this many steps (0: only at the end)
         * @param checkpointDir the checkpoint folder, or {@code null} for the default
         * @param resume restore the newest checkpoint first
         * @param logEvery print a {@code step:} line every this many steps
         */
        public Options(long steps, int batchSize, String learningRate, long checkpointEvery, String checkpointDir,
                boolean resume, long logEvery) {
            this(steps, batchSize, learningRate, checkpointEvery, checkpointDir, resume, logEvery, false, Set.of());
        }

        /**
         * Checks every option's range, in the order of tests/CONTRACT.md's list: {@code --steps},
         * {@code --batch-size}, {@code --learning-rate} (a decimal literal, {@link
         * Numbers#parseDecimalFloat32}, whose float32 is finite and &gt; 0; the refusal echoes the
         * text as given, bounded), {@code --checkpoint-every}, {@code --log-every}.
         *
         * @return the learning rate as float32
         * @throws StatusException naming the first option out of range
         */
        public float check() {
            if (steps < 1) {
                throw StatusException.invalidArgument("--steps must be at least 1, got " + steps);
            }
            if (batchSize < 1) {
                throw StatusException.invalidArgument("--batch-size must be at least 1, got " + batchSize);
            }
            float rate;
            try {
                rate = Numbers.parseDecimalFloat32(learningRate == null ? "" : learningRate);
            } catch (NumberFormatException e) {
                rate = Float.NaN;
            }
            if (!(Float.isFinite(rate) && rate > 0)) {
                throw StatusException.invalidArgument("--learning-rate must be a finite number > 0 in float32, got "
                        + Echo.bound(learningRate));
            }
            if (checkpointEvery < 0) {
                throw StatusException.invalidArgument("--checkpoint-every must be 0 or more, got " + checkpointEvery);
            }
            if (logEvery < 1) {
                throw StatusException.invalidArgument("--log-every must be at least 1, got " + logEvery);
            }
            return rate;
        }
    }

    private Trainer() {
    }

    /**
     * Runs the training loop on a model version and publishes the result as the next version.
     *
     * @param model the {@code --model} path as given (model folder or version folder)
     * @param version the {@code --version}, or {@code null}
     * @param data the {@code --data} path as given (CSV file or folder of CSV files)
     * @param options the other options
     * @param out standard output ({@code step:} and {@code final:} lines)
     * @param err standard error (throughput and {@code exported} lines)
     * @return the new version folder
     * @throws StatusException a refusal for bad options, data, model (a version folder not
     *     named by its number, files that do not match its manifest, no or a bad training section,
     *     an unsafe op the train or variables signature can reach) or checkpoint folder; a failure
     *     when TensorFlow fails, the loss stops being finite ({@code training diverged at step
     *     ...}) or the version cannot be written
     */
    public static Path train(String model, Long version, String data, Options options, PrintStream out,
            PrintStream err) {
        float rate = options.check();
        ModelLocation loc = ModelLocation.resolve(model, version);
        Path dir = loc.dir();
        String shown = loc.shown();
        String modelShown = ModelLocation.parent(shown);
        if (loc.version() == null) {
            throw StatusException.invalidArgument("train publishes the next version beside " + shown + ", so it needs a "
                    + "version folder named by its number");
        }
        if (!options.skipVerification()) {
            ManifestVerifier.verify(dir, shown);
        }
        Json.Obj manifest = readManifest(dir, shown);
        if (!(manifest.get("training") instanceof Json.Obj trainingJson)) {
            throw StatusException.failedPrecondition(shown + " has no training section in manifest.json; train needs a model "
                    + "exported with a train signature (such as affine)");
        }
        SavedModelInfo info = SavedModelInfo.read(dir, shown);
        TrainingSection section = TrainingSection.parse(trainingJson, info.serving().signatures(),
                ModelLocation.join(shown, Manifest.FILE_NAME));
        OpScanner.checkSavedModel(dir, shown, List.of(section.trainSignature().key(),
                section.variablesSignature().key()), false, options.allowedOps());
        SaverDef saverDef = Saver.saverDef(dir, shown);
        Map<String, byte[]> frozenGraphs = readFrozenGraphs(dir, shown, manifest, section);
        TrainingData rows = TrainingData.read(data, section.columns());
        CheckpointDir checkpoints = checkpointDir(options.checkpointDir() == null
                ? ModelLocation.join(modelShown, "checkpoints") : options.checkpointDir());
        Path resumeFrom = null;
        String resumedFrom = null;
        if (options.resume()) {
            CheckpointDir.State state = checkpoints.readState();
            if (state == null) {
                throw StatusException.notFound("--resume: no checkpoint to resume in " + checkpoints.shown());
            }
            resumeFrom = checkpoints.resolve(state.modelCheckpointPath());
            resumedFrom = CheckpointDir.fileName(state.modelCheckpointPath());
            if (!Files.isRegularFile(Path.of(resumeFrom + ".index"))) {
                throw StatusException.notFound("--resume: " + checkpoints.shown(CheckpointDir.STATE_FILE)
                        + " names the checkpoint " + checkpoints.shown(state.modelCheckpointPath())
                        + ", which has no .index file");
            }
        } else if (Files.exists(checkpoints.stateFile())) {
            throw StatusException.failedPrecondition(checkpoints.shown() + " holds checkpoints of an earlier run; pass --resume "
                    + "to continue it or --checkpoint-dir for a new run");
        }

        try (TfSession session = TfSession.loadSavedModel(dir, shown, SessionConfig.contract())) {
            Saver saver = new Saver(session, saverDef);
            if (resumeFrom != null) {
                saver.restore(resumeFrom);
            }
            try {
                Files.createDirectories(checkpoints.dir());
            } catch (IOException e) {
                throw StatusException.internal("cannot create the checkpoint folder " + checkpoints.shown() + ": "
                        + e.getMessage());
            }
            Loop loop = new Loop(session, section, rows, rate);
            long globalStep = loop.variables().get(section.stepOutput()).data().getLong(0);
            float loss = Float.NaN;
            Long savedAt = null;
            long started = System.nanoTime();
            for (long s = 0; s < options.steps(); s++) {
                float[] lossOut = new float[1];
                globalStep = loop.step(globalStep, options.batchSize(), lossOut);
                loss = lossOut[0];
                if (!Float.isFinite(loss)) {
                    throw StatusException.internal("training diverged at step " + globalStep + ": the loss is "
                            + Numbers.format(loss) + "; lower --learning-rate");
                }
                if (Math.floorMod(globalStep, options.logEvery()) == 0) {
                    out.println("step: " + globalStep + ", loss: " + Numbers.format(loss));
                }
                if (options.checkpointEvery() > 0 && Math.floorMod(globalStep, options.checkpointEvery()) == 0) {
                    checkpoints.save(saver, globalStep);
                    savedAt = globalStep;
                }
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            if (savedAt == null || savedAt != globalStep) {
                checkpoints.save(saver, globalStep);
            }
            Map<String, HostTensor> values = loop.variables();
            StringJoiner fin = new StringJoiner(", ", "final: ", "");
            values.forEach((name, value) -> fin.add(name + ": " + formatValue(value)));
            out.println(fin);
            out.flush();
            err.println(String.format(Locale.ROOT, "trained %d steps in %.3f s (%.1f steps/s)", options.steps(),
                    elapsed, options.steps() / elapsed));
            err.flush();

            Map<String, Json.Value> run = new LinkedHashMap<>();
            run.put("language", new Json.Str(LANGUAGE));
            run.put("tensorflow_version", new Json.Str(TfSession.runtimeVersion()));
            run.put("source_version", new Json.Num(loc.version().toString(), true));
            run.put("steps", integer(options.steps()));
            run.put("global_step", integer(globalStep));
            run.put("batch_size", integer(options.batchSize()));
            run.put("learning_rate", new Json.Str(Numbers.format(rate)));
            run.put("resumed_from", resumedFrom == null ? new Json.Null() : new Json.Str(resumedFrom));
            run.put("final_loss", new Json.Str(Numbers.format(loss)));
            List<Json.Value> files = new ArrayList<>();
            for (TrainingData.FileInfo f : rows.files()) {
                Map<String, Json.Value> m = new LinkedHashMap<>();
                m.put("file", new Json.Str(f.file()));
                m.put("sha256", new Json.Str(f.sha256()));
                m.put("rows", integer(f.rows()));
                files.add(new Json.Obj(m));
            }
            run.put("data", new Json.Arr(files));
            VersionWriter writer = new VersionWriter(dir.getParent(), modelShown);
            Path exported = export(dir, shown, writer, manifest, trainingJson, section, frozenGraphs, saver, values,
                    globalStep, new Json.Obj(run));
            err.println("exported " + writer.finalShown());
            err.flush();
            return exported;
        }
    }

    /** The session-side half of the loop: the train step and the variables read-back. */
    private static final class Loop {
        private final TfSession session;
        private final TrainingData rows;
        private final List<String> trainInputs = new ArrayList<>();
        private final List<String> trainOutputs;
        private final HostTensor rate;
        private final List<String> variableNames = new ArrayList<>();
        private final List<String> variableTensors = new ArrayList<>();

        Loop(TfSession session, TrainingSection section, TrainingData rows, float learningRate) {
            this.session = session;
            this.rows = rows;
            for (String c : section.columns()) {
                trainInputs.add(section.trainSignature().inputs().get(c).tensorName());
            }
            trainInputs.add(section.trainSignature().inputs().get(section.learningRateInput()).tensorName());
            trainOutputs = List.of(section.trainSignature().outputs().get(section.lossOutput()).tensorName(),
                    section.trainSignature().outputs().get(section.stepOutput()).tensorName());
            ByteBuffer b = HostTensor.allocate(DType.FLOAT, new long[0]);
            b.putFloat(0, learningRate);
            rate = HostTensor.numeric(DType.FLOAT, new long[0], b);
            section.variablesSignature().outputs().forEach((alias, spec) -> {
                variableNames.add(alias);
                variableTensors.add(spec.tensorName());
            });
        }

        /** Runs one train step from {@code globalStep}; stores the loss; returns the new step. */
        long step(long globalStep, int batchSize, float[] loss) {
            int[] idx = TrainingData.batchIndices(globalStep, batchSize, rows.rows());
            List<HostTensor> feeds = new ArrayList<>(trainInputs.size());
            for (int c = 0; c < rows.columns().size(); c++) {
                feeds.add(rows.batch(c, idx));
            }
            feeds.add(rate);
            List<HostTensor> result = session.run(trainInputs, feeds, trainOutputs);
            HostTensor l = result.get(0);
            HostTensor s = result.get(1);
            if (l.dtype() != DType.FLOAT || l.size() != 1 || s.dtype() != DType.INT64 || s.size() != 1) {
                throw StatusException.internal("the train signature returned " + l + " and " + s
                        + " instead of a DT_FLOAT loss and a DT_INT64 step");
            }
            loss[0] = l.data().getFloat(0);
            return s.data().getLong(0);
        }

        /** Fetches every output of the variables signature, sorted by name. */
        Map<String, HostTensor> variables() {
            List<HostTensor> got = session.run(List.of(), List.of(), variableTensors);
            Map<String, HostTensor> m = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
            for (int i = 0; i < got.size(); i++) {
                m.put(variableNames.get(i), got.get(i));
            }
            if (m.values().stream().anyMatch(t -> t.dtype() == DType.STRING)) {
                throw StatusException.internal("the variables signature returned a DT_STRING value");
            }
            return m;
        }
    }

    /**
     * Formats a variable's value for the {@code final:} line (tests/CONTRACT.md, "Training"): its
     * elements as "Numbers in text" writes them in the value's dtype
     * ({@link Numbers#format(DType, ByteBuffer, int)}: booleans {@code true}/{@code false}), a
     * scalar bare and any other rank as {@code [a, b, ...]}, row-major.
     *
     * @param t the value (numeric or boolean)
     * @return the text
     * @throws IllegalArgumentException for a {@code DT_STRING} value
     */
    public static String formatValue(HostTensor t) {
        List<String> items = new ArrayList<>();
        ByteBuffer d = t.data();
        for (int i = 0; i < t.size(); i++) {
            items.add(Numbers.format(t.dtype(), d, i));
        }
        return t.rank() == 0 ? items.get(0) : "[" + String.join(", ", items) + "]";
    }

    private static Json.Num integer(long v) {
        return new Json.Num(Long.toString(v), true);
    }

    /**
     * The checkpoint folder, named in messages as {@code shown} (the {@code --checkpoint-dir} text
     * as given, or the model folder's text and {@code /checkpoints}).
     */
    private static CheckpointDir checkpointDir(String shown) {
        try {
            return new CheckpointDir(Paths.get(shown).toAbsolutePath(), shown);
        } catch (java.nio.file.InvalidPathException e) {
            throw StatusException.invalidArgument("invalid --checkpoint-dir " + Echo.quotedSingle(shown) + ": " + e.getMessage());
        }
    }

    /** Reads manifest.json as a JSON tree (every member kept, in order). */
    private static Json.Obj readManifest(Path dir, String shown) {
        Path path = dir.resolve(Manifest.FILE_NAME);
        String f = ModelLocation.join(shown, Manifest.FILE_NAME);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw StatusException.failedPrecondition(shown + " has no manifest.json; train needs the manifest's training section");
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read " + f + ": " + e.getMessage());
        }
        Json.Value v;
        try {
            v = Json.parse(bytes);
        } catch (StatusException e) {
            throw StatusException.failedPrecondition("cannot read " + f + ": " + e.getMessage());
        }
        if (!(v instanceof Json.Obj o)) {
            throw StatusException.failedPrecondition("cannot read " + f + ": the top level is not an object");
        }
        return o;
    }

    /**
     * Reads the frozen graph of every signature with a {@code frozen} entry and checks that its
     * {@code frozen_constants} fit, before any training.
     *
     * @return signature key -&gt; graph bytes, in manifest order
     */
    private static Map<String, byte[]> readFrozenGraphs(Path dir, String shown, Json.Obj manifest,
            TrainingSection section) {
        Map<String, byte[]> graphs = new LinkedHashMap<>();
        Manifest signatures = Manifest.readIfPresent(dir, shown);
        if (!(manifest.get("signatures") instanceof Json.Obj sigs)) {
            return graphs;
        }
        for (String key : sigs.members().keySet()) {
            String rel = signatures.frozenGraph(key);
            if (rel == null) {
                continue;
            }
            frozenText(sigs, key);
            Path file = dir.resolve(rel);
            String named = ModelLocation.join(shown, rel);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw StatusException.failedPrecondition("cannot read frozen graph " + Echo.quotedSingle(named) + ": " + e.getMessage());
            }
            FrozenGraphs.check(bytes, section.frozenConstants().getOrDefault(key, Map.of()),
                    section.variableDtypes(), named);
            graphs.put(key, bytes);
        }
        return graphs;
    }

    /** The {@code frozen.graph_text} path of a signature. */
    private static String frozenText(Json.Obj sigs, String key) {
        if (sigs.get(key) instanceof Json.Obj s && s.get("frozen") instanceof Json.Obj f
                && f.get("graph_text") instanceof Json.Str t) {
            return t.value();
        }
        throw StatusException.failedPrecondition("manifest.json: signatures[" + Echo.quotedSingle(key) + "].frozen has no graph_text path");
    }

    /**
     * Writes the next version from the trained session (tests/CONTRACT.md, "The new model
     * version") into the writer's staging folder and publishes it.
     */
    private static Path export(Path source, String sourceShown, VersionWriter writer, Json.Obj manifest, Json.Obj trainingJson,
            TrainingSection section, Map<String, byte[]> frozenGraphs, Saver saver, Map<String, HostTensor> values,
            long globalStep, Json.Obj run) {
        Path staging = writer.staging();
        boolean done = false;
        try {
            Files.copy(source.resolve(ModelLocation.SAVED_MODEL_PB), staging.resolve(ModelLocation.SAVED_MODEL_PB));
            if (Files.isDirectory(source.resolve("assets"))) {
                VersionWriter.copyTree(source.resolve("assets"), staging.resolve("assets"));
            }
            Files.createDirectories(staging.resolve("variables"));
            saver.write(staging.resolve("variables").resolve("variables"));
            Json.Obj sigs = (Json.Obj) manifest.get("signatures");
            Manifest signatures = Manifest.readIfPresent(source, sourceShown);
            for (Map.Entry<String, byte[]> g : frozenGraphs.entrySet()) {
                String key = g.getKey();
                String graphRel = signatures.frozenGraph(key);
                Path graph = staging.resolve(graphRel);
                Path text = staging.resolve(frozenText(sigs, key));
                String named = ModelLocation.join(writer.stagingShown(), graphRel);
                byte[] bytes = FrozenGraphs.withValues(g.getValue(), section.frozenConstants().getOrDefault(key,
                        Map.of()), values, named);
                Files.createDirectories(graph.getParent());
                Files.write(graph, bytes);
                Files.createDirectories(text.getParent());
                Files.write(text, FrozenGraphs.text(bytes, named).getBytes(StandardCharsets.UTF_8));
            }
            Files.createDirectories(staging.resolve("checkpoint"));
            new CheckpointDir(staging.resolve("checkpoint"), ModelLocation.join(writer.stagingShown(), "checkpoint"))
                    .save(saver, globalStep);
            writeGolden(source.resolve("golden"), ModelLocation.join(sourceShown, "golden"), staging,
                    writer.stagingShown(), writer.version());
            Map<String, Json.Value> training = new LinkedHashMap<>(trainingJson.members());
            training.put("run", run);
            Map<String, Json.Value> m = new LinkedHashMap<>(manifest.members());
            m.put("training", new Json.Obj(training));
            Path published = writer.publish(m, TfSession.runtimeVersion());
            done = true;
            return published;
        } catch (IOException e) {
            throw StatusException.internal("cannot write the new version in " + writer.stagingShown() + ": "
                    + e.getMessage());
        } finally {
            if (!done) {
                writer.abandon();
            }
        }
    }

    /**
     * Copies each {@code <case>.request.json} of the source's golden folder (line breaks
     * normalised to {@code \n}, one final newline) and writes {@code <case>.response.json}: the
     * answer of {@link Model#predict} (format saved_model) on the staged version, as
     * {@code predict} writes it.
     */
    private static void writeGolden(Path golden, String goldenShown, Path staging, String stagingShown,
            BigInteger version) throws IOException {
        if (!Files.isDirectory(golden)) {
            return;
        }
        TreeMap<String, String> requests = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
        try (Stream<Path> files = Files.list(golden)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".request.json") && !name.startsWith(".")) {
                    String text = utf8(p, ModelLocation.join(goldenShown, name)).replace("\r\n", "\n").replace('\r', '\n');
                    int end = text.length();
                    while (end > 0 && text.charAt(end - 1) == '\n') {
                        end--;
                    }
                    requests.put(name.substring(0, name.length() - ".request.json".length()), text.substring(0, end));
                }
            }
        }
        Path out = staging.resolve("golden");
        Files.createDirectories(out);
        try (Model model = new Model(new ModelLocation(staging, version, stagingShown), Model.Format.SAVED_MODEL)) {
            for (Map.Entry<String, String> e : requests.entrySet()) {
                byte[] body = e.getValue().getBytes(StandardCharsets.UTF_8);
                Files.write(out.resolve(e.getKey() + ".request.json"), (e.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
                String response = model.predict(body, GOLDEN_SIGNATURE);
                Files.write(out.resolve(e.getKey() + ".response.json"), (response + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static String utf8(Path p, String shown) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(p))).toString();
        } catch (CharacterCodingException e) {
            throw StatusException.internal("golden request " + shown + " is not UTF-8 text");
        }
    }
}
