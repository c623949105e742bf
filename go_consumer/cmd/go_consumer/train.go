package main

// train: the training loop of tests/CONTRACT.md ("Training"), run through the SavedModel's
// own signatures and saver_def with the TensorFlow C library. The parts that need no
// TensorFlow (flags, data, batches, checkpoint state, frozen rewrite, manifest text) are in
// internal/training; the Python reference is python_producer/reference/training.py.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/training"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// trainLanguage is the training.run.language of the versions this consumer publishes.
const trainLanguage = "go"

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train")
	mf := addModelFlags(fs)
	mf.addVerificationFlag() // the source version is verified before it is loaded
	data := fs.String("data", "", "a CSV file or a folder of *.csv files")
	opts := training.Options{}
	fs.Int64Var(&opts.Steps, "steps", 0, "training steps to run")
	fs.Int64Var(&opts.BatchSize, "batch-size", training.DefaultBatchSize, "rows per step")
	fs.StringVar(&opts.LearningRate, "learning-rate", training.DefaultLearningRate, "learning rate, a decimal literal (fed as float32)")
	fs.Int64Var(&opts.CheckpointEvery, "checkpoint-every", 0, "save a checkpoint every K steps (0: only at the end)")
	fs.StringVar(&opts.CheckpointDir, "checkpoint-dir", "", "checkpoint folder (default <model folder>/checkpoints)")
	fs.BoolVar(&opts.Resume, "resume", false, "restore the latest checkpoint of the checkpoint folder first")
	fs.Int64Var(&opts.LogEvery, "log-every", training.DefaultLogEvery, "print the loss every L steps")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mf.path == "" {
		return usagef("train needs --model PATH --data PATH --steps N")
	}
	if *data == "" {
		return usagef("train --model needs --data")
	}
	if !isSet(fs, "steps") {
		return usagef("train --model needs --steps")
	}
	if err := opts.Check(); err != nil {
		return err
	}
	info, err := mf.load(model.FormatSavedModel, false)
	if err != nil {
		return err
	}
	t, err := prepareTraining(info, *data, &opts)
	if err != nil {
		return err
	}
	// Training runs the train and variables signatures (the saver's ops are not roots).
	if err := mf.checkOps(info, model.FormatSavedModel, t.trainPlan.Key, t.varsPlan.Key); err != nil {
		return err
	}
	return t.run(stdout, stderr)
}

// trainer is one train run, checked and ready: the model version, its training section and
// signatures, the data and the checkpoint folder.
type trainer struct {
	info      *model.Info
	manifest  *training.Manifest
	section   *training.Section
	data      *training.Data
	opts      *training.Options
	rate      float32 // opts.Rate()
	ckptDir   string  // absolute
	ckptShown string  // as messages write it: --checkpoint-dir as given, or <model folder>/checkpoints
	resumeAt  string  // the checkpoint prefix to restore, or ""
	trainPlan *model.Plan
	varsPlan  *model.Plan
}

// prepareTraining does every check that needs no TensorFlow session: the version folder,
// the manifest's training section against the SignatureDefs, the data, the checkpoint
// folder's state. Refusals are *status.Error values with the contract's codes.
func prepareTraining(info *model.Info, dataPath string, opts *training.Options) (*trainer, error) {
	if !info.HasVersion {
		return nil, status.New(status.InvalidArgument, "train publishes the next version beside %s, so it needs a version folder named by its number", info.Dir)
	}
	man, err := training.ReadManifest(info.Dir)
	if err != nil {
		return nil, err
	}
	t := &trainer{info: info, manifest: man, section: man.Training, opts: opts}
	if t.rate, err = opts.Rate(); err != nil {
		return nil, err
	}
	if t.data, err = training.ReadData(dataPath, t.section.Columns); err != nil {
		return nil, err
	}
	if err := t.plan(); err != nil {
		return nil, err
	}
	t.ckptShown = opts.CheckpointDir
	if t.ckptShown == "" {
		t.ckptShown = pathtext.Join(pathtext.Parent(info.Dir), "checkpoints")
	}
	if t.ckptDir, err = pathtext.Absolute(t.ckptShown); err != nil {
		return nil, status.New(status.InvalidArgument, "--checkpoint-dir %s: %v", t.ckptShown, err)
	}
	latest, err := training.LatestCheckpoint(t.ckptDir)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Resume && latest == "":
		return nil, status.New(status.NotFound, "--resume: no checkpoint to resume in %s", t.ckptShown)
	case opts.Resume:
		t.resumeAt = latest
	case latest != "":
		return nil, status.New(status.FailedPrecondition, "%s holds checkpoints of an earlier run; pass --resume to continue it or --checkpoint-dir for a new run", t.ckptShown)
	}
	return t, nil
}

// plan checks the training section against the "serve" SignatureDefs: the train signature
// takes exactly the columns (DT_FLOAT) and the learning rate (DT_FLOAT) and outputs the
// loss (DT_FLOAT) and the step (DT_INT64); the variables signature takes nothing and outputs
// the step.
func (t *trainer) plan() error {
	s := t.section
	var err error
	if t.trainPlan, err = t.info.Plan(s.TrainSignature, model.FormatSavedModel); err != nil {
		return status.New(status.FailedPrecondition, "the training section's train_signature: %v", err)
	}
	if t.varsPlan, err = t.info.Plan(s.VariablesSignature, model.FormatSavedModel); err != nil {
		return status.New(status.FailedPrecondition, "the training section's variables_signature: %v", err)
	}
	want := map[string]bool{s.LearningRateInput: true}
	for _, c := range s.Columns {
		want[c] = true
	}
	if len(want) != len(s.Columns)+1 {
		return status.New(status.FailedPrecondition, "the training section's columns and learning_rate_input must be distinct names")
	}
	for alias := range t.trainPlan.Inputs {
		if !want[alias] {
			return status.New(status.FailedPrecondition, "train signature %s has the input %s, which is neither a column nor the learning rate", restjson.Quote(s.TrainSignature), restjson.Quote(alias))
		}
	}
	check := func(specs map[string]tensor.Spec, sig, what, alias string, dt tensor.DType, rank int) error {
		spec, ok := specs[alias]
		if !ok {
			return status.New(status.FailedPrecondition, "signature %s has no %s %s, which the training section names", restjson.Quote(sig), what, restjson.Quote(alias))
		}
		if spec.DType != dt || (!spec.UnknownRank && len(spec.Shape) != rank) {
			return status.New(status.FailedPrecondition, "signature %s %s %s must be %s of rank %d", restjson.Quote(sig), what, spec.Describe(), dt, rank)
		}
		return nil
	}
	for _, c := range s.Columns {
		if err := check(t.trainPlan.Inputs, s.TrainSignature, "input", c, tensor.Float, 1); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		specs map[string]tensor.Spec
		sig   string
		what  string
		alias string
		dtype tensor.DType
	}{
		{t.trainPlan.Inputs, s.TrainSignature, "input", s.LearningRateInput, tensor.Float},
		{t.trainPlan.Outputs, s.TrainSignature, "output", s.LossOutput, tensor.Float},
		{t.trainPlan.Outputs, s.TrainSignature, "output", s.StepOutput, tensor.Int64},
		{t.varsPlan.Outputs, s.VariablesSignature, "output", s.StepOutput, tensor.Int64},
	} {
		if err := check(c.specs, c.sig, c.what, c.alias, c.dtype, 0); err != nil {
			return err
		}
	}
	if len(t.varsPlan.Inputs) != 0 {
		return status.New(status.FailedPrecondition, "variables signature %s must take no inputs", restjson.Quote(s.VariablesSignature))
	}
	return nil
}

// run loads the SavedModel, restores or starts, trains, checkpoints, prints the stdout lines
// and publishes the next version.
func (t *trainer) run(stdout, stderr io.Writer) error {
	if err := os.MkdirAll(t.ckptDir, 0o755); err != nil {
		return status.New(status.InvalidArgument, "cannot create the checkpoint folder %s: %v", t.ckptShown, err)
	}
	runner, err := model.NewRunner(t.info, model.FormatSavedModel, model.Options{})
	if err != nil {
		return err
	}
	defer runner.Close()
	var resumedFrom *string
	if t.resumeAt != "" {
		if err := runner.Restore(t.resumeAt); err != nil {
			return err
		}
		name := filepath.Base(t.resumeAt)
		resumedFrom = &name
	}
	vars, err := runner.Run(t.varsPlan, map[string]*tensor.Tensor{})
	if err != nil {
		return err
	}
	globalStep, err := scalarInt64(vars, t.section.StepOutput)
	if err != nil {
		return err
	}

	s, opts := t.section, t.opts
	rate := &tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{t.rate}}
	loss := float32(math.NaN())
	savedAt := int64(-1)
	started := time.Now()
	for range opts.Steps {
		batch := t.data.Batch(training.BatchIndices(globalStep, opts.BatchSize, t.data.Rows))
		feeds := map[string]*tensor.Tensor{s.LearningRateInput: rate}
		for c, name := range s.Columns {
			feeds[name] = &tensor.Tensor{DType: tensor.Float, Shape: []int64{opts.BatchSize}, Data: batch[c]}
		}
		out, err := runner.Run(t.trainPlan, feeds)
		if err != nil {
			return err
		}
		if loss, err = scalarFloat32(out, s.LossOutput); err != nil {
			return err
		}
		if globalStep, err = scalarInt64(out, s.StepOutput); err != nil {
			return err
		}
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			return status.New(status.Internal, "training diverged at step %d: the loss is %s; lower --learning-rate", globalStep, restjson.FormatFloat(float64(loss), 32))
		}
		if globalStep%opts.LogEvery == 0 {
			if _, err := fmt.Fprintf(stdout, "step: %d, loss: %s\n", globalStep, restjson.FormatFloat(float64(loss), 32)); err != nil {
				return err
			}
		}
		if opts.CheckpointEvery > 0 && globalStep%opts.CheckpointEvery == 0 {
			if err := saveCheckpoint(runner, t.ckptDir, globalStep); err != nil {
				return err
			}
			savedAt = globalStep
		}
	}
	elapsed := time.Since(started).Seconds()
	if savedAt != globalStep {
		if err := saveCheckpoint(runner, t.ckptDir, globalStep); err != nil {
			return err
		}
	}
	final, err := runner.Run(t.varsPlan, map[string]*tensor.Tensor{})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(final))
	for name := range final {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + ": " + training.FormatValue(final[name])
	}
	if _, err := fmt.Fprintf(stdout, "final: %s\n", strings.Join(parts, ", ")); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "trained %d steps in %.3f s (%.1f steps/s)\n", opts.Steps, elapsed, float64(opts.Steps)/max(elapsed, 1e-9))

	run := &training.Run{
		Language:          trainLanguage,
		TensorFlowVersion: model.TFVersion(),
		SourceVersion:     t.info.Version,
		Steps:             opts.Steps,
		GlobalStep:        globalStep,
		BatchSize:         opts.BatchSize,
		LearningRate:      restjson.FormatFloat(float64(t.rate), 32),
		ResumedFrom:       resumedFrom,
		FinalLoss:         restjson.FormatFloat(float64(loss), 32),
		Data:              t.data.Files,
	}
	path, err := t.export(runner, final, run)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %s\n", path)
	return nil
}

// saveCheckpoint writes <dir>/ckpt-<step> through the saver_def and updates the state file
// (keeping the newest checkpoints).
func saveCheckpoint(runner *model.Runner, dir string, globalStep int64) error {
	name := training.CheckpointName(globalStep)
	if err := runner.Save(pathtext.Join(dir, name)); err != nil {
		return err
	}
	return training.RecordCheckpoint(dir, name)
}

// scalarFloat32 returns the DT_FLOAT scalar output alias.
func scalarFloat32(out map[string]*tensor.Tensor, alias string) (float32, error) {
	if t := out[alias]; t != nil {
		if v, ok := t.Data.([]float32); ok && len(v) == 1 {
			return v[0], nil
		}
	}
	return 0, status.New(status.Internal, "output %s is not a DT_FLOAT scalar", restjson.Quote(alias))
}

// scalarInt64 returns the DT_INT64 scalar output alias.
func scalarInt64(out map[string]*tensor.Tensor, alias string) (int64, error) {
	if t := out[alias]; t != nil {
		if v, ok := t.Data.([]int64); ok && len(v) == 1 {
			return v[0], nil
		}
	}
	return 0, status.New(status.Internal, "output %s is not a DT_INT64 scalar", restjson.Quote(alias))
}

// export publishes <model folder>/<highest complete version + 1>/ (tests/CONTRACT.md, "The
// new model version"), staged in .tmp-<version>-<pid>/ and renamed into place when complete;
// the staging folder is removed on failure. It returns the new version folder, written as
// "Paths in messages" says (the model folder of the --model text, joined with the name).
func (t *trainer) export(runner *model.Runner, final map[string]*tensor.Tensor, run *training.Run) (path string, err error) {
	src := t.info.Dir
	root := pathtext.Parent(src)
	versions, _ := model.CompleteVersions(root)
	version := int64(1)
	if len(versions) > 0 {
		version = versions[len(versions)-1] + 1
	}
	staging := pathtext.Join(root, fmt.Sprintf(".tmp-%d-%d", version, os.Getpid()))
	target := pathtext.Join(root, strconv.FormatInt(version, 10))
	if err := os.RemoveAll(staging); err != nil {
		return "", err
	}
	if err := os.Mkdir(staging, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the staging folder %s: %v", staging, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()

	if err := copyFile(filepath.Join(src, model.SavedModelFile), filepath.Join(staging, model.SavedModelFile)); err != nil {
		return "", err
	}
	if st, err := os.Stat(filepath.Join(src, "assets")); err == nil && st.IsDir() {
		if err := copyTree(filepath.Join(src, "assets"), filepath.Join(staging, "assets")); err != nil {
			return "", err
		}
	}
	if err := os.Mkdir(filepath.Join(staging, "variables"), 0o755); err != nil {
		return "", err
	}
	if err := runner.Save(filepath.Join(staging, "variables", "variables")); err != nil {
		return "", err
	}
	for _, f := range t.manifest.Frozen {
		if err := writeFrozen(src, staging, f, t.section.FrozenConstants[f.Key], final); err != nil {
			return "", err
		}
	}
	ckpt := filepath.Join(staging, "checkpoint")
	if err := os.Mkdir(ckpt, 0o755); err != nil {
		return "", err
	}
	if err := saveCheckpoint(runner, ckpt, run.GlobalStep); err != nil {
		return "", err
	}
	if err := writeGolden(filepath.Join(src, "golden"), staging); err != nil {
		return "", err
	}

	files, err := training.FileHashes(staging)
	if err != nil {
		return "", fmt.Errorf("cannot hash the files of %s: %v", staging, err)
	}
	man := t.manifest
	err = man.SetRun(run)
	for _, member := range []struct {
		key   string
		value any
	}{
		{"version", version},
		{"tensorflow_version", model.TFVersion()},
		{"created", time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		{"files", files},
	} {
		if err == nil {
			err = man.Set(member.key, member.value)
		}
	}
	var text []byte
	if err == nil {
		text, err = man.Encode()
	}
	if err != nil {
		return "", fmt.Errorf("cannot write the manifest of %s: %v", staging, err)
	}
	if err := os.WriteFile(filepath.Join(staging, training.ManifestFile), text, 0o644); err != nil {
		return "", err
	}
	if err := fsyncTree(staging); err != nil {
		return "", err
	}
	if _, err := os.Lstat(target); err == nil {
		return "", fmt.Errorf("%s appeared while exporting; not overwriting it", target)
	}
	if err := os.Rename(staging, target); err != nil {
		return "", fmt.Errorf("cannot publish %s: %v", target, err)
	}
	if err := fsyncPath(root); err != nil {
		return "", err
	}
	return target, nil
}

// writeFrozen writes a signature's frozen GraphDef with the trained values in its variable
// constants, as binary (f.Graph) and text (f.GraphText).
func writeFrozen(src, staging string, f training.FrozenGraph, constants map[string]string, values map[string]*tensor.Tensor) error {
	def, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f.Graph)))
	if err != nil {
		return status.New(status.FailedPrecondition, "cannot read the frozen graph of signature %s: %v", restjson.Quote(f.Key), err)
	}
	graph, err := training.FrozenWithValues(def, constants, values)
	if err != nil {
		return err
	}
	if err := writeFileMkdir(filepath.Join(staging, filepath.FromSlash(f.Graph)), graph); err != nil {
		return err
	}
	if f.GraphText == "" {
		return nil
	}
	text, err := training.GraphText(graph)
	if err != nil {
		return err
	}
	return writeFileMkdir(filepath.Join(staging, filepath.FromSlash(f.GraphText)), text)
}

// writeGolden copies each <case>.request.json of the source golden folder (if there is one)
// and writes <case>.response.json: predict's answer (format saved_model, the default
// signature unless the request names one) on the staged version, as predict writes it.
func writeGolden(srcGolden, staging string) error {
	st, err := os.Stat(srcGolden)
	if err != nil || !st.IsDir() {
		return nil
	}
	entries, err := os.ReadDir(srcGolden)
	if err != nil {
		return fmt.Errorf("cannot list %s: %v", srcGolden, err)
	}
	const suffix = ".request.json"
	requests := map[string]string{}
	var cases []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), suffix) || e.Name() == suffix {
			continue
		}
		body, err := os.ReadFile(filepath.Join(srcGolden, e.Name()))
		if err != nil {
			return fmt.Errorf("cannot read the golden request %s: %v", e.Name(), err)
		}
		c := strings.TrimSuffix(e.Name(), suffix)
		requests[c] = strings.TrimRight(string(body), "\n")
		cases = append(cases, c)
	}
	sort.Strings(cases)
	golden := filepath.Join(staging, "golden")
	if err := os.Mkdir(golden, 0o755); err != nil {
		return err
	}
	info, err := model.ReadInfo(staging)
	if err != nil {
		return err
	}
	open, closeRunner := lazyRunner(info, model.FormatSavedModel)
	defer closeRunner()
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(golden, c+suffix), []byte(requests[c]+"\n"), 0o644); err != nil {
			return err
		}
		resp, err := handle(info, open, []byte(requests[c]), model.DefaultSignature, model.FormatSavedModel)
		if err != nil {
			return fmt.Errorf("golden case %s: %w", c, err)
		}
		if err := os.WriteFile(filepath.Join(golden, c+".response.json"), append(resp, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeFileMkdir(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// copyFile copies a regular file's bytes and permission bits.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies a folder recursively (the contents of symbolic links, as shutil.copytree
// does by default).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 {
				return copyTree(path, target)
			}
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(path, target)
	})
}

// fsyncTree flushes every file and folder under root to disk.
func fsyncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return fsyncPath(path)
	})
}

func fsyncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("cannot sync %s: %v", path, err)
	}
	return nil
}
