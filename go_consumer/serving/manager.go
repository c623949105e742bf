// Package serving is a TensorFlow Serving compatible model server to mount in a program of
// one's own (the serve command is one): a [Manager] keeps the versions of every model under
// a base path loaded according to a version policy (latest, all, specific), loads new ones
// and retires old ones while it runs ([Manager.Poll]); [Server] is an http.Handler for the
// REST API (/v1/models/NAME[/versions/V][:predict|/metadata]) and [GRPC.Register] puts the
// gRPC PredictionService and ModelService on a *grpc.Server. Both answer predictions through
// one path, [Servable.Run] (the version's session, or its [Batcher] when batching is on), and
// derive HTTP and gRPC statuses from the errors' canonical codes only at the edge.
package serving

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
)

// Policy is a TensorFlow Serving version policy: which complete versions of a model are
// served.
type Policy string

// The version policies of --model-version-policy.
const (
	// PolicyLatest serves the highest version that loads; a new higher version that loads
	// takes over, and one that fails to load never replaces a working one.
	PolicyLatest Policy = "latest"
	// PolicyAll serves every complete version.
	PolicyAll Policy = "all"
	// PolicySpecific serves the versions listed in Options.Versions that exist.
	PolicySpecific Policy = "specific"
)

// VersionPolicy is one model's version policy, TensorFlow Serving's ServableVersionPolicy
// (config/file_system_storage_path_source.proto).
type VersionPolicy struct {
	// Kind is latest, all or specific.
	Kind Policy
	// Versions are specific's versions.
	Versions []int64
	// NumVersions is latest's num_versions: how many of the highest versions that load are
	// served (0 means 1, TF Serving's default).
	NumVersions int
}

// ModelConfig is one model of a Manager's explicit list (TensorFlow Serving's ModelConfig of a
// --model_config_file): its name, the folder of its version folders, its version policy and
// its version labels.
type ModelConfig struct {
	Name   string
	Dir    string // absolute
	Policy VersionPolicy
	// Labels map a version label (such as "stable") to a version number.
	Labels map[string]int64
}

// ParsePolicy validates a --model-version-policy value.
func ParsePolicy(s string) (Policy, bool) {
	switch p := Policy(s); p {
	case PolicyLatest, PolicyAll, PolicySpecific:
		return p, true
	}
	return "", false
}

// State is a version's state as TensorFlow Serving's GetModelStatus reports it.
type State string

// The states a version goes through. A version that failed to load is END with an error.
const (
	StateLoading   State = "LOADING"
	StateAvailable State = "AVAILABLE"
	StateUnloading State = "UNLOADING"
	StateEnd       State = "END"
)

// Servable is one loaded model version: what a request runs.
type Servable struct {
	// Info describes the version (its folder, signatures and manifest).
	Info *model.Info
	// Runner runs its signatures (a SavedModel session ready for concurrent runs); nil in
	// tests that never predict.
	Runner *model.Runner
	// SignatureDefs is the JSON object of the "serve" MetaGraphDef's signature_def map (see
	// SignatureDefsJSON), for the metadata endpoint.
	SignatureDefs []byte
	// Close releases the version (closes Runner); called once, after the last request
	// that uses the version has finished.
	Close func() error
	// Batcher merges concurrent requests into one run of Runner (nil: batching is off).
	Batcher *Batcher
}

// PredictJSON answers one REST predict request body (tests/CONTRACT.md, "Predict") with its
// response body, as the predict command does: [PredictJSON] with the version's signatures
// and s.Run. note (may be nil) receives how the session run was made up. Errors are
// *status.Error values (INVALID_ARGUMENT for the request, NOT_FOUND for an unknown
// signature, INTERNAL when TensorFlow fails).
func (s *Servable) PredictJSON(body []byte, note *RunNote) ([]byte, error) {
	run := func(plan *model.Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
		return s.Run(plan, inputs, note)
	}
	outputs, req, err := PredictJSON(s.Info, model.FormatSavedModel, body, model.DefaultSignature, run)
	if err != nil {
		return nil, err
	}
	return restjson.EncodeResponse(outputs, req.RowFormat)
}

// PredictJSON is the REST predict path every command and the server share: it parses a
// request body (restjson.ParseRequest), resolves its signature (the request's
// signature_name, else defaultKey) in format, decodes the inputs against that signature's
// specs and only then calls run, returning the output tensors by alias with the parsed
// request (whose RowFormat selects the response layout).
func PredictJSON(info *model.Info, format model.Format, body []byte, defaultKey string, run RunFunc) (map[string]*tensor.Tensor, *restjson.Request, error) {
	req, err := restjson.ParseRequest(body)
	if err != nil {
		return nil, nil, err
	}
	key := defaultKey
	if req.SignatureName != "" { // an empty signature_name means the default, as in the reference
		key = req.SignatureName
	}
	plan, err := info.Plan(key, format)
	if err != nil {
		return nil, nil, err
	}
	inputs, err := restjson.DecodeInputs(req, plan.Inputs, plan.Key)
	if err != nil {
		return nil, nil, err
	}
	outputs, err := run(plan, inputs)
	if err != nil {
		return nil, nil, err
	}
	return outputs, req, nil
}

// Run runs a plan for one request: through the Batcher when batching is on, else on the
// Runner. note (may be nil) receives how the session run was made up.
func (s *Servable) Run(plan *model.Plan, inputs map[string]*tensor.Tensor, note *RunNote) (map[string]*tensor.Tensor, error) {
	if note != nil {
		start := time.Now()
		defer func() { note.Runtime = time.Since(start) }()
	}
	if s.Runner == nil {
		return nil, status.New(status.Internal, "the version has no runner")
	}
	if s.Batcher != nil {
		return s.Batcher.Run(plan, inputs, note)
	}
	return s.Runner.Run(plan, inputs)
}

// Loader loads the version folder dir (absolute) into a Servable, or refuses it.
type Loader func(dir string) (*Servable, error)

// NewLoader returns the Loader of the serve command: like predict, it verifies the folder
// against its manifest.json (unless skipVerification), reads its signatures, refuses any
// unsafe op reachable from the signatures a request may name (unless allowOps lists it)
// and only then loads the SavedModel into a TensorFlow session.
func NewLoader(skipVerification bool, allowOps []string) Loader {
	allowed := append([]string(nil), allowOps...)
	return func(dir string) (*Servable, error) {
		m, err := model.Open(dir, model.Options{SkipVerification: skipVerification, AllowOps: allowed})
		if err != nil {
			return nil, err
		}
		defs, err := SignatureDefsJSON(dir)
		if err != nil {
			m.Close()
			return nil, err
		}
		return &Servable{Info: m.Info(), Runner: m.Runner(), SignatureDefs: defs, Close: m.Close}, nil
	}
}

// Options configures a Manager.
type Options struct {
	// BasePath is the folder holding one folder per model (absolute).
	BasePath string
	// ModelNames, when not empty, are the only models served (folders under BasePath);
	// otherwise every folder under BasePath with a complete version is a model, including
	// folders that appear later.
	ModelNames []string
	// Policy is the version policy; Versions its versions for PolicySpecific.
	Policy   Policy
	Versions []int64
	// Models, when not empty, is the explicit list of models served instead of BasePath's
	// (a --model_config_file), each with its own folder, policy and labels; Reconfigure
	// replaces it.
	Models []ModelConfig
	// AllowUnavailableLabels lets a new version label point at a version that is not
	// available yet (--allow_version_labels_for_unavailable_models); moving an existing label
	// still needs the version available.
	AllowUnavailableLabels bool
	// Load loads one version folder.
	Load Loader
	// Logf writes one line of the server's log (nil: no log).
	Logf func(format string, args ...any)
	// Batching, when not nil, runs the merged requests of every loaded version (serve
	// --enable-batching): each version gets a Batcher, closed with the version.
	Batching *Scheduler
	// Metrics, when not nil, records every load attempt (Metrics.Load).
	Metrics *Metrics
}

// Manager keeps the models' versions loaded according to the policy. Poll brings the
// loaded versions in line with the folders on disk; Acquire hands a loaded version to a
// request, and a version that is retired (replaced or gone) is closed only once every
// request that acquired it has released it.
type Manager struct {
	opts Options

	mu     sync.Mutex
	models map[string]*servedModel
	// pollMu serializes Poll: versions are loaded one at a time, outside mu.
	pollMu sync.Mutex
	closed bool
}

type servedModel struct {
	name, dir string
	policy    VersionPolicy
	versions  map[int64]*version
	// labels map version labels to version numbers (ModelConfig.Labels once checked).
	labels map[string]int64
	// everAvailable is set once a version of the model has been AVAILABLE (Ready).
	everAvailable bool
}

// version is one version of a model the manager has seen; all fields are guarded by
// Manager.mu.
type version struct {
	number int64
	dir    string
	// stamp identifies the folder's contents when it was last loaded, so that a version
	// that failed is tried again only when its folder changes.
	stamp    string
	state    State
	err      error
	servable *Servable
	refs     int
	retired  bool
	done     chan struct{} // closed once the servable is closed
}

// NewManager returns a Manager serving nothing yet; call Poll to load.
func NewManager(opts Options) *Manager {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &Manager{opts: opts, models: map[string]*servedModel{}}
}

// Handle is a loaded version acquired by a request; Release it when done.
type Handle struct {
	// Model and Version name what is served.
	Model   string
	Version int64
	// Servable is the loaded version.
	Servable *Servable

	m    *Manager
	v    *version
	once sync.Once
}

// Release gives the version back; the last release of a retired version closes it.
func (h *Handle) Release() {
	h.once.Do(func() { h.m.release(h.v) })
}

// Acquire returns the loaded version number of model name (version 0: the highest
// available one), holding it until Release. A missing model or version is a
// NOT_FOUND *status.Error, worded as TensorFlow Serving words it.
func (m *Manager) Acquire(name string, number int64) (*Handle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := m.models[name]
	var v *version
	if sm != nil {
		if number == 0 {
			for _, n := range sm.sortedVersions() {
				if e := sm.versions[n]; e.state == StateAvailable {
					v = e // ascending order: the last one is the highest
				}
			}
		} else if e := sm.versions[number]; e != nil && e.state == StateAvailable {
			v = e
		}
	}
	if v == nil {
		if number == 0 {
			return nil, status.New(status.NotFound, "Servable not found for request: Latest(%s)", status.Bound(name))
		}
		return nil, status.New(status.NotFound, "Servable not found for request: Specific(%s, %d)", status.Bound(name), number)
	}
	v.refs++
	return &Handle{Model: name, Version: v.number, Servable: v.servable, m: m, v: v}, nil
}

func (m *Manager) release(v *version) {
	m.mu.Lock()
	v.refs--
	closeNow := v.refs == 0 && v.retired && v.servable != nil
	m.mu.Unlock()
	if closeNow {
		m.closeVersion(v)
	}
}

// VersionStatus is one entry of GetModelStatus's model_version_status.
type VersionStatus struct {
	Version int64
	State   State
	// ErrorCode is a canonical status code name ("OK", "INVALID_ARGUMENT", "UNKNOWN") and
	// ErrorMessage its message ("" when OK).
	ErrorCode, ErrorMessage string
}

// Status returns the status of every version of model name the manager has tracked,
// highest first (or of one version when number > 0), as GetModelStatus does.
func (m *Manager) Status(name string, number int64) ([]VersionStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := m.models[name]
	if sm == nil || len(sm.versions) == 0 {
		return nil, status.New(status.NotFound, "Could not find any versions of model %s", status.Bound(name))
	}
	var out []VersionStatus
	numbers := sm.sortedVersions()
	for i := len(numbers) - 1; i >= 0; i-- {
		v := sm.versions[numbers[i]]
		if number > 0 && v.number != number {
			continue
		}
		st := VersionStatus{Version: v.number, State: v.state, ErrorCode: "OK"}
		if v.err != nil {
			st.ErrorCode, st.ErrorMessage = errorCode(v.err), oneLine(v.err.Error())
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, status.New(status.NotFound, "Could not find version %d of model %s", number, status.Bound(name))
	}
	return out, nil
}

// errorCode names the status code of a load failure as the status endpoint reports it
// (tests/CONTRACT.md, "REST API": OK, INVALID_ARGUMENT or UNKNOWN): a refusal of the version
// (an *status.Error other than INTERNAL: verification, unsafe op, invalid model) is
// INVALID_ARGUMENT, anything else (TensorFlow failing to load it) UNKNOWN.
func errorCode(err error) string {
	if code := status.CodeOf(err); code != status.Internal {
		return string(status.InvalidArgument)
	}
	return "UNKNOWN"
}

// Models returns the names of the models the manager knows, sorted.
func (m *Manager) Models() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sortedModels()
}

// Available returns the available versions of model name, ascending, with their folders.
func (m *Manager) Available(name string) ([]int64, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := m.models[name]
	if sm == nil {
		return nil, nil
	}
	var numbers []int64
	var dirs []string
	for _, n := range sm.sortedVersions() {
		if v := sm.versions[n]; v.state == StateAvailable {
			numbers, dirs = append(numbers, n), append(dirs, v.dir)
		}
	}
	return numbers, dirs
}

// Unavailable returns nil when every model the manager knows has a version AVAILABLE, else
// an UNAVAILABLE error naming the first model without one (in name order) and why: the error
// of its highest version that failed to load, or that its folder holds no version the policy
// selects. The serve command refuses to start with it (tests/CONTRACT.md, "Health and
// start-up"); with no model at all it is an error too.
func (m *Manager) Unavailable() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.models) == 0 {
		return status.New(status.Unavailable, "no model is served")
	}
	for _, name := range m.sortedModels() {
		if err := m.models[name].unavailable(); err != nil {
			return err
		}
	}
	return nil
}

// Ready reports whether the manager is ready to answer (GET /readyz, tests/CONTRACT.md,
// "Health and start-up"): nil unless it is closed or a model that has had a version
// available has none now, which is an UNAVAILABLE error naming the first such model. A model
// that never loaded (a new folder whose versions all fail) does not make the manager unready:
// GET /v1/models and its status report it.
func (m *Manager) Ready() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return status.New(status.Unavailable, "the server is shutting down")
	}
	for _, name := range m.sortedModels() {
		if sm := m.models[name]; sm.everAvailable {
			if err := sm.unavailable(); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedModels returns the names of the models, sorted; m.mu must be held.
func (m *Manager) sortedModels() []string {
	names := make([]string, 0, len(m.models))
	for n := range m.models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unavailable is nil when the model has a version AVAILABLE, else why not; Manager.mu must
// be held.
func (sm *servedModel) unavailable() error {
	numbers := sm.sortedVersions()
	var failed *version
	for i := len(numbers) - 1; i >= 0; i-- {
		v := sm.versions[numbers[i]]
		if v.state == StateAvailable {
			return nil
		}
		if failed == nil && v.err != nil {
			failed = v
		}
	}
	if failed != nil {
		return status.New(status.Unavailable, "model %s has no version available: version %d failed to load: %s",
			status.Bound(sm.name), failed.number, oneLine(failed.err.Error()))
	}
	return status.New(status.Unavailable, "model %s has no version available: %s holds no version folder the policy %s selects",
		status.Bound(sm.name), sm.dir, sm.policy.Kind)
}

func (sm *servedModel) sortedVersions() []int64 {
	numbers := make([]int64, 0, len(sm.versions))
	for n := range sm.versions {
		numbers = append(numbers, n)
	}
	sort.Slice(numbers, func(i, j int) bool { return numbers[i] < numbers[j] })
	return numbers
}

// DiscoverModels lists the model folders under base: folders not starting with "." that
// hold at least one complete version, sorted by name.
func DiscoverModels(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !ValidModelName(name) {
			continue
		}
		if versions, _ := model.CompleteVersions(filepath.Join(base, name)); len(versions) > 0 {
			names = append(names, name)
		}
	}
	return names
}

// ValidModelName reports whether a name can be a model's: a folder name that is one REST
// path segment (not empty, ".", "..", and without "/" or ":").
func ValidModelName(name string) bool {
	return validSegment(name) && name != "." && name != ".."
}

// validSegment reports whether a name can be one segment of a REST path (a model name, a
// version label): not empty, without "/" or ":".
func validSegment(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/:")
}

// Poll brings every model in line with its folder: new versions are loaded (one at a
// time, while requests go on being answered by the loaded ones), versions the policy no
// longer wants are retired, and a version that fails to load is recorded (END with its
// error) without replacing anything. It returns once done; the serve command calls it at
// start and then every --poll-interval.
func (m *Manager) Poll() {
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	for _, c := range m.wanted() {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		sm := m.models[c.Name]
		if sm == nil {
			sm = &servedModel{name: c.Name, versions: map[int64]*version{}}
			m.models[c.Name] = sm
		}
		sm.dir, sm.policy = c.Dir, c.Policy
		m.mu.Unlock()
		m.pollModel(sm)
	}
}

// wanted returns the models to serve now: the explicit list (Options.Models, as
// Reconfigure last set it), else ModelNames or the models discovered under BasePath, each
// with Options.Policy.
func (m *Manager) wanted() []ModelConfig {
	m.mu.Lock()
	models := append([]ModelConfig(nil), m.opts.Models...)
	m.mu.Unlock()
	if len(models) > 0 {
		return models
	}
	names := m.opts.ModelNames
	if len(names) == 0 {
		names = DiscoverModels(m.opts.BasePath)
	}
	for _, name := range names {
		models = append(models, ModelConfig{Name: name, Dir: pathtext.Join(m.opts.BasePath, name),
			Policy: VersionPolicy{Kind: m.opts.Policy, Versions: m.opts.Versions}})
	}
	return models
}

// Reconfigure makes models the manager's explicit list (a --model_config_file read again, a
// ModelService.HandleReloadConfigRequest): it loads what the list adds, retires every version
// of a model the list leaves out (each is closed once its requests in flight have finished;
// the model is then unknown), and then sets every model's version labels. A label may only
// point at an AVAILABLE version, unless Options.AllowUnavailableLabels and the label is new
// (TensorFlow Serving's rule, g3doc/serving_config.md); a model with a label that breaks it
// keeps its previous labels, and the error (FAILED_PRECONDITION) names the first one.
func (m *Manager) Reconfigure(models []ModelConfig) error {
	m.mu.Lock()
	m.opts.Models = append([]ModelConfig(nil), models...)
	m.mu.Unlock()
	m.Poll()

	listed := map[string]ModelConfig{}
	for _, c := range models {
		listed[c.Name] = c
	}
	m.mu.Lock()
	var gone []*servedModel
	for name, sm := range m.models {
		if _, ok := listed[name]; !ok {
			gone = append(gone, sm)
			delete(m.models, name)
		}
	}
	m.mu.Unlock()
	for _, sm := range gone {
		m.opts.Logf("model %s: no longer in the model config; unloading", sm.name)
		m.retireExcept(sm, nil)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	var first error
	for _, c := range models {
		sm := m.models[c.Name]
		if sm == nil {
			continue
		}
		if err := sm.checkLabels(c.Labels, m.opts.AllowUnavailableLabels); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		sm.labels = map[string]int64{}
		for label, n := range c.Labels {
			sm.labels[label] = n
		}
	}
	return first
}

// checkLabels applies TensorFlow Serving's rule to a model's new labels (Manager.mu held).
func (sm *servedModel) checkLabels(labels map[string]int64, allowUnavailable bool) error {
	names := make([]string, 0, len(labels))
	for label := range labels {
		names = append(names, label)
	}
	sort.Strings(names)
	for _, label := range names {
		n := labels[label]
		if v := sm.versions[n]; v != nil && v.state == StateAvailable {
			continue
		}
		if _, had := sm.labels[label]; allowUnavailable && !had {
			continue
		}
		return status.New(status.FailedPrecondition,
			"Request to assign label %s to version %d of model %s, which is not currently available for inference",
			status.Bound(label), n, status.Bound(sm.name))
	}
	return nil
}

// LabelVersion returns the version a label of model name points at; NOT_FOUND for a model
// without that label, worded as TensorFlow Serving words it.
func (m *Manager) LabelVersion(name, label string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sm := m.models[name]; sm != nil {
		if n, ok := sm.labels[label]; ok {
			return n, nil
		}
	}
	return 0, status.New(status.NotFound, "Unrecognized servable version label: %s", status.Bound(label))
}

// pollModel applies the policy to one model.
func (m *Manager) pollModel(sm *servedModel) {
	if st, err := os.Stat(sm.dir); err != nil || !st.IsDir() {
		return // unreadable or gone: keep serving what is loaded
	}
	onDisk, folders := model.CompleteVersions(sm.dir)
	m.forgetVanishedFailures(sm, folders)

	desired := map[int64]bool{}
	policy := sm.policy
	switch policy.Kind {
	case PolicyAll, PolicySpecific:
		for _, n := range onDisk {
			if policy.Kind == PolicySpecific && !containsVersion(policy.Versions, n) {
				continue
			}
			if m.ensureLoaded(sm, n, folders[n]) {
				desired[n] = true
			}
		}
	default: // PolicyLatest: the num_versions highest versions that load
		want := max(policy.NumVersions, 1)
		for i := len(onDisk) - 1; i >= 0 && len(desired) < want; i-- {
			n := onDisk[i]
			if m.ensureLoaded(sm, n, folders[n]) {
				desired[n] = true
			}
		}
		if len(desired) == 0 {
			return // nothing loads: never retire a working version for that
		}
	}
	m.retireExcept(sm, desired)
}

// ensureLoaded loads version n unless it is available already or failed with its folder
// unchanged since; it reports whether the version is available.
func (m *Manager) ensureLoaded(sm *servedModel, n int64, folder string) bool {
	dir := pathtext.Join(sm.dir, folder)
	stamp := folderStamp(dir)
	m.mu.Lock()
	v := sm.versions[n]
	switch {
	case v != nil && v.state == StateAvailable:
		m.mu.Unlock()
		return true
	case v != nil && v.state != StateEnd:
		m.mu.Unlock()
		return false // loading or unloading
	case v != nil && v.err != nil && v.stamp == stamp:
		m.mu.Unlock()
		return false // failed, and nothing changed since
	}
	if v == nil {
		v = &version{number: n}
		sm.versions[n] = v
	}
	*v = version{number: n, dir: dir, stamp: stamp, state: StateLoading}
	m.mu.Unlock()

	servable, err := m.load(dir)

	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		v.state, v.err = StateEnd, err
		m.opts.Logf("model %s: version %d failed to load: %s", sm.name, n, oneLine(err.Error()))
		return false
	}
	if m.closed {
		v.state = StateEnd
		if servable.Close != nil {
			servable.Close()
		}
		return false
	}
	if m.opts.Batching != nil && servable.Runner != nil && servable.Batcher == nil {
		batcher := NewBatcher(m.opts.Batching, servable.Runner.Run, fmt.Sprintf("model %s version %d", sm.name, n))
		closeServable := servable.Close
		servable.Batcher = batcher
		servable.Close = func() error {
			batcher.Close() // its queued batches run first
			if closeServable != nil {
				return closeServable()
			}
			return nil
		}
	}
	v.state, v.servable, v.done = StateAvailable, servable, make(chan struct{})
	sm.everAvailable = true
	m.opts.Logf("model %s: version %d loaded from %s", sm.name, n, dir)
	return true
}

// load runs the loader, turning a panic into an error.
func (m *Manager) load(dir string) (s *Servable, err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("internal error: %v", r)
		}
		m.opts.Metrics.Load(dir, err, time.Since(start))
	}()
	return m.opts.Load(dir)
}

// retireExcept retires every available version of sm not in keep.
func (m *Manager) retireExcept(sm *servedModel, keep map[int64]bool) {
	var closeNow []*version
	m.mu.Lock()
	for n, v := range sm.versions {
		if v.state != StateAvailable || keep[n] {
			continue
		}
		v.state, v.retired = StateUnloading, true
		m.opts.Logf("model %s: version %d unloading", sm.name, n)
		if v.refs == 0 {
			closeNow = append(closeNow, v)
		}
	}
	m.mu.Unlock()
	for _, v := range closeNow {
		m.closeVersion(v)
	}
}

// forgetVanishedFailures drops versions that failed to load and whose folder is gone.
func (m *Manager) forgetVanishedFailures(sm *servedModel, folders map[int64]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n, v := range sm.versions {
		if _, ok := folders[n]; !ok && v.state == StateEnd && v.err != nil {
			delete(sm.versions, n)
		}
	}
}

// closeVersion closes a retired version's servable (outside mu) and marks it END.
func (m *Manager) closeVersion(v *version) {
	m.mu.Lock()
	s := v.servable
	v.servable = nil
	m.mu.Unlock()
	if s == nil {
		return
	}
	var err error
	if s.Close != nil {
		err = s.Close()
	}
	m.mu.Lock()
	v.state = StateEnd
	if err != nil {
		v.err = err
	}
	done := v.done
	m.mu.Unlock()
	close(done)
}

// Close stops polling, retires every version and waits until each is closed, that is
// until every request holding one has released it.
func (m *Manager) Close() {
	m.pollMu.Lock() // waits for a Poll in progress
	defer m.pollMu.Unlock()
	m.mu.Lock()
	m.closed = true
	var wait []chan struct{}
	var closeNow []*version
	for _, sm := range m.models {
		for _, v := range sm.versions {
			if v.state != StateAvailable && v.state != StateUnloading {
				continue
			}
			v.state, v.retired = StateUnloading, true
			if v.done != nil {
				wait = append(wait, v.done)
			}
			if v.refs == 0 && v.servable != nil {
				closeNow = append(closeNow, v)
			}
		}
	}
	m.mu.Unlock()
	for _, v := range closeNow {
		m.closeVersion(v)
	}
	for _, ch := range wait {
		<-ch
	}
}

// folderStamp identifies a version folder's contents cheaply: the modification times of
// the folder and of its saved_model.pb and manifest.json, and their sizes.
func folderStamp(dir string) string {
	var b strings.Builder
	for _, p := range []string{dir, filepath.Join(dir, model.SavedModelFile), filepath.Join(dir, model.ManifestFile)} {
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%d/%d;", st.ModTime().UnixNano(), st.Size())
		} else {
			b.WriteString("-;")
		}
	}
	return b.String()
}

func containsVersion(list []int64, n int64) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

// ParseVersions parses --versions: a comma-separated list of positive integers.
func ParseVersions(s string) ([]int64, bool) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		n, ok := model.ParseVersion(strings.TrimSpace(part))
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatVersion writes a version number as TensorFlow Serving's JSON does (an int64 as a
// string).
func formatVersion(n int64) string { return strconv.FormatInt(n, 10) }
