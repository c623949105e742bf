package serving

import (
	"sort"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfspb/config"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/encoding/prototext"
)

// ParseModelServerConfig reads TensorFlow Serving's --model_config_file: a
// tensorflow.serving.ModelServerConfig in protobuf text format (prototext on the generated
// config.ModelServerConfig), such as
//
//	model_config_list {
//	  config { name: "linear" base_path: "/models/linear" model_platform: "tensorflow"
//	           model_version_policy { latest { num_versions: 2 } }
//	           version_labels { key: "stable" value: 7 } }
//	}
//
// and returns its models (ModelConfigs). A relative base_path is taken from the current
// folder, as TF Serving takes it. Every error is INVALID_ARGUMENT naming what is wrong.
func ParseModelServerConfig(text []byte) ([]ModelConfig, error) {
	var c config.ModelServerConfig
	if err := (prototext.UnmarshalOptions{}).Unmarshal(text, &c); err != nil {
		return nil, status.New(status.InvalidArgument, "not a tensorflow.serving.ModelServerConfig in text format: %v", err)
	}
	return ModelConfigs(&c)
}

// ModelConfigs turns a ModelServerConfig into the Manager's models, checking it as TF Serving
// does: only model_config_list (custom_model_config is refused), every model with a name (no
// "/" or ":", given once) and a base_path, model_platform empty or "tensorflow", a
// model_version_policy of latest (num_versions, default 1), all, or specific (its versions),
// and version labels pointing at positive versions; logging_config is not supported.
func ModelConfigs(c *config.ModelServerConfig) ([]ModelConfig, error) {
	bad := func(format string, args ...any) ([]ModelConfig, error) {
		return nil, status.New(status.InvalidArgument, format, args...)
	}
	if c.GetCustomModelConfig() != nil {
		return bad("custom_model_config is not supported: give model_config_list")
	}
	var out []ModelConfig
	seen := map[string]bool{}
	for i, mc := range c.GetModelConfigList().GetConfig() {
		name := mc.GetName()
		switch {
		case !ValidModelName(name):
			return bad("model_config_list config %d: invalid name %q: expected a model name without / or :", i, status.Bound(name))
		case seen[name]:
			return bad("model_config_list: model %s is configured twice", status.Bound(name))
		case mc.GetBasePath() == "":
			return bad("model %s has no base_path", status.Bound(name))
		case mc.GetModelPlatform() != "" && mc.GetModelPlatform() != "tensorflow":
			return bad("model %s: model_platform %q is not supported: expected tensorflow", status.Bound(name), status.Bound(mc.GetModelPlatform()))
		case mc.GetLoggingConfig() != nil:
			return bad("model %s: logging_config is not supported", status.Bound(name))
		}
		seen[name] = true
		dir, err := pathtext.Absolute(mc.GetBasePath())
		if err != nil {
			return bad("model %s: base_path %s: %v", status.Bound(name), status.Bound(mc.GetBasePath()), err)
		}
		m := ModelConfig{Name: name, Dir: dir, Policy: VersionPolicy{Kind: PolicyLatest}, Labels: map[string]int64{}}
		vp := mc.GetModelVersionPolicy()
		switch {
		case vp.GetAll() != nil:
			m.Policy.Kind = PolicyAll
		case vp.GetSpecific() != nil:
			versions := vp.GetSpecific().GetVersions()
			if len(versions) == 0 {
				return bad("model %s: model_version_policy specific lists no versions", status.Bound(name))
			}
			for _, n := range versions {
				if n <= 0 {
					return bad("model %s: model_version_policy specific version %d: expected a positive version", status.Bound(name), n)
				}
			}
			m.Policy = VersionPolicy{Kind: PolicySpecific, Versions: append([]int64(nil), versions...)}
			sort.Slice(m.Policy.Versions, func(a, b int) bool { return m.Policy.Versions[a] < m.Policy.Versions[b] })
		case vp.GetLatest() != nil:
			m.Policy.NumVersions = int(vp.GetLatest().GetNumVersions())
		}
		for label, n := range mc.GetVersionLabels() {
			if !validSegment(label) || n <= 0 {
				return bad("model %s: version_labels %q -> %d: expected a label without / or : and a positive version", status.Bound(name), status.Bound(label), n)
			}
			m.Labels[label] = n
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return bad("model_config_list has no config: expected at least one model")
	}
	return out, nil
}
