package training

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// ManifestFile is the name of a version's manifest.
const ManifestFile = "manifest.json"

// Section is the manifest's training section: what the model provides for training.
type Section struct {
	// TrainSignature is the key of the signature that applies one training step.
	TrainSignature string
	// VariablesSignature is the key of the signature that outputs every variable.
	VariablesSignature string
	// LearningRateInput is the train signature's DT_FLOAT scalar input for the rate.
	LearningRateInput string
	// LossOutput is the train signature's DT_FLOAT scalar output: the batch's loss.
	LossOutput string
	// StepOutput is the DT_INT64 scalar output of both signatures: the steps applied.
	StepOutput string
	// Columns are the CSV columns, each a DT_FLOAT [-1] input of the train signature.
	Columns []string
	// FrozenConstants maps a signature key to (variable name -> Const node name) of its
	// frozen GraphDef.
	FrozenConstants map[string]map[string]string
}

// FrozenGraph is a signature's frozen entry in the manifest.
type FrozenGraph struct {
	// Key is the signature key.
	Key string
	// Graph and GraphText are the binary and text GraphDef paths, relative to the version
	// folder with "/" ("frozen/serving_default.pb"); GraphText may be "".
	Graph, GraphText string
}

// Manifest is a version's manifest.json as train reads it and writes the new version's
// (tests/CONTRACT.md, "manifest.json": JSON read and written by encoding/json, compared
// parsed, so member order and white space carry no meaning).
type Manifest struct {
	// Doc holds every top-level member as its JSON text, so that members train does not
	// change are written back exactly (numbers included).
	Doc map[string]json.RawMessage
	// Training is the parsed training section.
	Training *Section
	// Frozen lists the signatures with a frozen GraphDef, sorted by key.
	Frozen []FrozenGraph
	// training holds the training section's members as JSON text, for [Manifest.SetRun].
	training map[string]json.RawMessage
}

// ReadManifest reads <versionDir>/manifest.json (encoding/json) and its training section.
// Errors (*Error): no manifest, a file that is not UTF-8 JSON text holding an object, no
// training section, or a section without the names the contract requires (each a non-empty
// string, columns a non-empty list of them, frozen_constants an object of objects of node
// names).
func ReadManifest(versionDir string) (*Manifest, error) {
	path := pathtext.Join(versionDir, ManifestFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, status.New(status.FailedPrecondition, "%s has no manifest.json; train needs the manifest's training section", versionDir)
	}
	if err == nil && !utf8.Valid(data) {
		err = errors.New("it is not UTF-8 text")
	}
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read %s: %v", path, err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(data, &m.Doc); err != nil || m.Doc == nil {
		if err == nil {
			err = errors.New("the manifest is not a JSON object")
		}
		return nil, status.New(status.FailedPrecondition, "cannot read %s: %v", path, err)
	}
	if json.Unmarshal(m.Doc["training"], &m.training) != nil || m.training == nil {
		return nil, status.New(status.FailedPrecondition, "%s has no training section in manifest.json; train needs a model exported with a train signature (such as affine)", versionDir)
	}
	if m.Training, err = parseSection(m.training); err != nil {
		return nil, status.New(status.FailedPrecondition, "%s: the training section %v", path, err)
	}
	var signatures map[string]struct {
		Frozen json.RawMessage `json:"frozen"`
	}
	if json.Unmarshal(m.Doc["signatures"], &signatures) != nil {
		signatures = nil // not an object: no frozen graphs
	}
	for key, sig := range signatures {
		var frozen map[string]json.RawMessage
		if json.Unmarshal(sig.Frozen, &frozen) != nil || len(frozen) == 0 {
			continue
		}
		graph := stringMember(frozen, "graph")
		if graph == "" {
			return nil, status.New(status.FailedPrecondition, "%s: signature %s has a frozen entry without a graph path", path, restjson.Quote(key))
		}
		m.Frozen = append(m.Frozen, FrozenGraph{Key: key, Graph: graph, GraphText: stringMember(frozen, "graph_text")})
	}
	sort.Slice(m.Frozen, func(i, j int) bool { return m.Frozen[i].Key < m.Frozen[j].Key })
	return m, nil
}

// stringMember returns the member key of a JSON object if it is a string, else "".
func stringMember(obj map[string]json.RawMessage, key string) string {
	var s string
	if json.Unmarshal(obj[key], &s) != nil {
		return ""
	}
	return s
}

func parseSection(v map[string]json.RawMessage) (*Section, error) {
	s := &Section{FrozenConstants: map[string]map[string]string{}}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"train_signature", &s.TrainSignature},
		{"variables_signature", &s.VariablesSignature},
		{"learning_rate_input", &s.LearningRateInput},
		{"loss_output", &s.LossOutput},
		{"step_output", &s.StepOutput},
	} {
		if *f.dst = stringMember(v, f.key); *f.dst == "" {
			return nil, status.New(status.FailedPrecondition, "has no %s (a non-empty string)", f.key)
		}
	}
	var cols []json.RawMessage
	if json.Unmarshal(v["columns"], &cols) != nil || len(cols) == 0 {
		return nil, status.New(status.FailedPrecondition, "has no columns (a non-empty list of input names)")
	}
	for _, c := range cols {
		var name string
		if json.Unmarshal(c, &name) != nil || name == "" {
			return nil, status.New(status.FailedPrecondition, "columns must be non-empty strings")
		}
		s.Columns = append(s.Columns, name)
	}
	if fc, ok := v["frozen_constants"]; ok && string(fc) != "null" {
		var bySignature map[string]json.RawMessage
		if json.Unmarshal(fc, &bySignature) != nil || bySignature == nil {
			return nil, status.New(status.FailedPrecondition, "frozen_constants must be an object")
		}
		for key, entry := range bySignature {
			var raw map[string]json.RawMessage
			if json.Unmarshal(entry, &raw) != nil || raw == nil {
				return nil, status.New(status.FailedPrecondition, "frozen_constants of %s must be an object", restjson.Quote(key))
			}
			names := map[string]string{}
			for variable, node := range raw {
				var name string
				if string(node) == "null" || json.Unmarshal(node, &name) != nil {
					return nil, status.New(status.FailedPrecondition, "frozen_constants of %s: %s must name a node", restjson.Quote(key), restjson.Quote(variable))
				}
				names[variable] = name
			}
			s.FrozenConstants[key] = names
		}
	}
	return s, nil
}

// Run is the manifest's training.run entry: how a trained version was made.
type Run struct {
	// Language is the trainer ("go").
	Language string `json:"language"`
	// TensorFlowVersion is TF_Version() of the trainer.
	TensorFlowVersion string `json:"tensorflow_version"`
	// SourceVersion is the version trained from.
	SourceVersion int64 `json:"source_version"`
	// Steps is --steps.
	Steps int64 `json:"steps"`
	// GlobalStep is the step count at the end.
	GlobalStep int64 `json:"global_step"`
	// BatchSize is --batch-size.
	BatchSize int64 `json:"batch_size"`
	// LearningRate is the float32 fed to the model, written as on stdout
	// ([restjson.FormatFloat]).
	LearningRate string `json:"learning_rate"`
	// ResumedFrom is the restored checkpoint's file name ("ckpt-500"), or nil (null).
	ResumedFrom *string `json:"resumed_from"`
	// FinalLoss is the last step's loss, written as on stdout.
	FinalLoss string `json:"final_loss"`
	// Data describes the data files.
	Data []DataFile `json:"data"`
}

// Set replaces the top-level member key (or adds it) with v as encoding/json writes it.
func (m *Manifest) Set(key string, v any) error {
	text, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m.Doc[key] = text
	return nil
}

// SetRun sets the training section's run member, the section's other members unchanged.
func (m *Manifest) SetRun(run *Run) error {
	text, err := json.Marshal(run)
	if err != nil {
		return err
	}
	m.training["run"] = text
	return m.Set("training", m.training)
}

// Encode returns the manifest as JSON text (json.MarshalIndent, two spaces) with a final
// newline.
func (m *Manifest) Encode() ([]byte, error) {
	text, err := json.MarshalIndent(m.Doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(text, '\n'), nil
}

// FileEntry is one entry of the manifest's files: a file's hex SHA-256 and size.
type FileEntry struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// FileHashes returns the manifest's files of the folder dir: every regular file under it
// except manifest.json, keyed by its path relative to dir with "/" separators. Errors are
// those of walking the folder and reading its files.
func FileHashes(dir string) (map[string]FileEntry, error) {
	files := map[string]FileEntry{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() || rel == ManifestFile {
			return nil
		}
		entry, err := hashFile(path)
		if err != nil {
			return err
		}
		files[rel] = entry
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// hashFile returns the hex SHA-256 and the size of a file.
func hashFile(path string) (FileEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileEntry{}, err
	}
	return FileEntry{SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}, nil
}
