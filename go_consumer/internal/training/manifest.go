package training

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
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

// Manifest is a version's manifest.json, kept as an ordered JSON tree so that writing it
// back keeps every entry (known or not) in its place, as the Python reference does.
type Manifest struct {
	// Doc is the manifest's top-level JSON object.
	Doc *tfjson.Value
	// Training is the parsed training section.
	Training *Section
	// Frozen lists the signatures with a frozen GraphDef, in manifest order.
	Frozen []FrozenGraph
}

// ReadManifest reads <versionDir>/manifest.json and its training section. Errors (*Error):
// no manifest, invalid JSON, no training section, or a section without the names the
// contract requires.
func ReadManifest(versionDir string) (*Manifest, error) {
	path := filepath.Join(versionDir, ManifestFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, errorf("%s has no manifest.json; train needs the manifest's training section", versionDir)
	}
	if err != nil {
		return nil, errorf("cannot read %s: %v", path, err)
	}
	doc, err := tfjson.Parse(data)
	if err != nil {
		return nil, errorf("cannot read %s: %v", path, err)
	}
	if doc.Kind != tfjson.KindObject {
		return nil, errorf("cannot read %s: the manifest is not a JSON object", path)
	}
	m := &Manifest{Doc: doc}
	training := doc.Member("training")
	if training == nil || training.Kind != tfjson.KindObject {
		return nil, errorf("%s has no training section in manifest.json; train needs a model exported with a train signature (such as affine)", versionDir)
	}
	if m.Training, err = parseSection(training); err != nil {
		return nil, errorf("%s: the training section %v", path, err)
	}
	if sigs := doc.Member("signatures"); sigs != nil && sigs.Kind == tfjson.KindObject {
		for i, key := range sigs.Keys {
			frozen := sigs.Items[i].Member("frozen")
			if frozen == nil || frozen.Kind != tfjson.KindObject || len(frozen.Keys) == 0 {
				continue
			}
			graph := stringMember(frozen, "graph")
			if graph == "" {
				return nil, errorf("%s: signature %s has a frozen entry without a graph path", path, tfjson.Quote(key))
			}
			m.Frozen = append(m.Frozen, FrozenGraph{Key: key, Graph: graph, GraphText: stringMember(frozen, "graph_text")})
		}
	}
	return m, nil
}

func stringMember(v *tfjson.Value, key string) string {
	if m := v.Member(key); m != nil && m.Kind == tfjson.KindString {
		return m.Text
	}
	return ""
}

func parseSection(v *tfjson.Value) (*Section, error) {
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
			return nil, errorf("has no %s (a non-empty string)", f.key)
		}
	}
	cols := v.Member("columns")
	if cols == nil || cols.Kind != tfjson.KindArray || len(cols.Items) == 0 {
		return nil, errorf("has no columns (a non-empty list of input names)")
	}
	for _, c := range cols.Items {
		if c.Kind != tfjson.KindString || c.Text == "" {
			return nil, errorf("columns must be non-empty strings")
		}
		s.Columns = append(s.Columns, c.Text)
	}
	if fc := v.Member("frozen_constants"); fc != nil && fc.Kind != tfjson.KindNull {
		if fc.Kind != tfjson.KindObject {
			return nil, errorf("frozen_constants must be an object")
		}
		for i, key := range fc.Keys {
			entry := fc.Items[i]
			if entry.Kind != tfjson.KindObject {
				return nil, errorf("frozen_constants of %s must be an object", tfjson.Quote(key))
			}
			names := map[string]string{}
			for j, variable := range entry.Keys {
				if entry.Items[j].Kind != tfjson.KindString {
					return nil, errorf("frozen_constants of %s: %s must name a node", tfjson.Quote(key), tfjson.Quote(variable))
				}
				names[variable] = entry.Items[j].Text
			}
			s.FrozenConstants[key] = names
		}
	}
	return s, nil
}

// Run is the manifest's training.run entry: how a trained version was made.
type Run struct {
	// Language is the trainer ("go").
	Language string
	// TensorFlowVersion is TF_Version() of the trainer.
	TensorFlowVersion string
	// SourceVersion is the version trained from.
	SourceVersion int64
	// Steps is --steps; GlobalStep the step count at the end; BatchSize is --batch-size.
	Steps, GlobalStep, BatchSize int64
	// LearningRate and FinalLoss are float32 text as on stdout ([FormatFloat]).
	LearningRate, FinalLoss string
	// ResumedFrom is the restored checkpoint's file name ("ckpt-500"), or "" (null).
	ResumedFrom string
	// Data describes the data files.
	Data []DataFile
}

// Value returns the run as a JSON object with the reference's key order.
func (r *Run) Value() tfjson.Value {
	resumed := NullValue()
	if r.ResumedFrom != "" {
		resumed = StringValue(r.ResumedFrom)
	}
	data := make([]tfjson.Value, len(r.Data))
	for i, f := range r.Data {
		data[i] = ObjectValue(
			Member{"file", StringValue(f.Name)},
			Member{"sha256", StringValue(f.SHA256)},
			Member{"rows", IntValue(int64(f.Rows))},
		)
	}
	return ObjectValue(
		Member{"language", StringValue(r.Language)},
		Member{"tensorflow_version", StringValue(r.TensorFlowVersion)},
		Member{"source_version", IntValue(r.SourceVersion)},
		Member{"steps", IntValue(r.Steps)},
		Member{"global_step", IntValue(r.GlobalStep)},
		Member{"batch_size", IntValue(r.BatchSize)},
		Member{"learning_rate", StringValue(r.LearningRate)},
		Member{"resumed_from", resumed},
		Member{"final_loss", StringValue(r.FinalLoss)},
		Member{"data", ArrayValue(data...)},
	)
}

// Member is one key and value of a JSON object built with [ObjectValue].
type Member struct {
	Key   string
	Value tfjson.Value
}

// ObjectValue returns a JSON object with the members in the order given.
func ObjectValue(members ...Member) tfjson.Value {
	v := tfjson.Value{Kind: tfjson.KindObject, Keys: []string{}, Items: []tfjson.Value{}}
	for _, m := range members {
		Set(&v, m.Key, m.Value)
	}
	return v
}

// ArrayValue returns a JSON array of the items.
func ArrayValue(items ...tfjson.Value) tfjson.Value {
	return tfjson.Value{Kind: tfjson.KindArray, Items: append([]tfjson.Value{}, items...)}
}

// StringValue returns a JSON string.
func StringValue(s string) tfjson.Value { return tfjson.Value{Kind: tfjson.KindString, Text: s} }

// IntValue returns a JSON integer.
func IntValue(n int64) tfjson.Value {
	return tfjson.Value{Kind: tfjson.KindNumber, Text: strconv.FormatInt(n, 10)}
}

// NullValue returns JSON null.
func NullValue() tfjson.Value { return tfjson.Value{Kind: tfjson.KindNull} }

// Set sets the member key of a JSON object as a Python dict assignment does: in place if the
// key exists, appended otherwise.
func Set(obj *tfjson.Value, key string, v tfjson.Value) {
	for i, k := range obj.Keys {
		if k == key {
			obj.Items[i] = v
			return
		}
	}
	obj.Keys = append(obj.Keys, key)
	obj.Items = append(obj.Items, v)
}

// FileHashes returns {relative path: {"sha256", "bytes"}} for every regular file under dir
// except manifest.json, paths with "/", ordered as Python sorts pathlib paths (component by
// component), as the reference writes the manifest's files.
func FileHashes(dir string) (tfjson.Value, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && rel != ManifestFile {
			paths = append(paths, rel)
		}
		return nil
	})
	if err != nil {
		return tfjson.Value{}, err
	}
	sort.Slice(paths, func(i, j int) bool { return lessParts(paths[i], paths[j]) })
	files := ObjectValue()
	for _, rel := range paths {
		sum, size, err := hashFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return tfjson.Value{}, err
		}
		Set(&files, rel, ObjectValue(Member{"sha256", StringValue(sum)}, Member{"bytes", IntValue(size)}))
	}
	return files, nil
}

// lessParts orders "/"-separated paths by their components, as pathlib does.
func lessParts(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

// hashFile returns the hex SHA-256 and the size of a file.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// EncodeJSON writes a JSON value as Python's json.dumps(value, indent=2) does, plus a final
// "\n": members and items one per line, indented by two spaces per level, ", " never
// used, "{}" and "[]" when empty, strings with every non-ASCII or control character
// escaped (ensure_ascii). Numbers are written with the literal text they hold.
func EncodeJSON(v *tfjson.Value) []byte {
	b := appendJSON(nil, v, 0)
	return append(b, '\n')
}

func appendJSON(b []byte, v *tfjson.Value, level int) []byte {
	switch v.Kind {
	case tfjson.KindNull:
		return append(b, "null"...)
	case tfjson.KindBool:
		return strconv.AppendBool(b, v.Bool)
	case tfjson.KindNumber:
		return append(b, v.Text...)
	case tfjson.KindString:
		return appendPyString(b, v.Text)
	}
	open, end := byte('['), byte(']')
	if v.Kind == tfjson.KindObject {
		open, end = '{', '}'
	}
	if len(v.Items) == 0 {
		return append(b, open, end)
	}
	b = append(b, open)
	for i := range v.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = append(b, strings.Repeat("  ", level+1)...)
		if v.Kind == tfjson.KindObject {
			b = appendPyString(b, v.Keys[i])
			b = append(b, ": "...)
		}
		b = appendJSON(b, &v.Items[i], level+1)
	}
	b = append(b, '\n')
	b = append(b, strings.Repeat("  ", level)...)
	return append(b, end)
}

// appendPyString writes s as Python's json module does with ensure_ascii=True.
func appendPyString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		default:
			units := []uint16{uint16(r)}
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				units = []uint16{uint16(hi), uint16(lo)}
			}
			for _, u := range units {
				b = append(b, '\\', 'u', hex[u>>12], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
			}
		}
	}
	return append(b, '"')
}
