package serving

import (
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

func TestParseModelServerConfig(t *testing.T) {
	models, err := ParseModelServerConfig([]byte(`model_config_list {
  config { name: "linear" base_path: "/m/linear" model_platform: "tensorflow"
           model_version_policy { latest { num_versions: 2 } }
           version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 2 } }
  config { name: "sine" base_path: "/m/sine" model_version_policy { specific { versions: 3 versions: 1 } } }
  config { name: "all" base_path: "/m/all" model_version_policy { all {} } }
}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 3 {
		t.Fatalf("%d models", len(models))
	}
	if m := models[0]; m.Name != "linear" || m.Dir != "/m/linear" || m.Policy.Kind != PolicyLatest || m.Policy.NumVersions != 2 ||
		m.Labels["stable"] != 1 || m.Labels["canary"] != 2 {
		t.Errorf("linear: %+v", m)
	}
	if m := models[1]; m.Policy.Kind != PolicySpecific || len(m.Policy.Versions) != 2 || m.Policy.Versions[0] != 1 {
		t.Errorf("sine: %+v", m)
	}
	if models[2].Policy.Kind != PolicyAll {
		t.Errorf("all: %+v", models[2])
	}
	for _, c := range []struct{ text, want string }{
		{`model_config_list {}`, "has no config"},
		{`model_config_list { config { name: "a" } }`, "model a has no base_path"},
		{`model_config_list { config { name: "a/b" base_path: "/x" } }`, "invalid name"},
		{`model_config_list { config { name: "a" base_path: "/x" } config { name: "a" base_path: "/y" } }`, "configured twice"},
		{`model_config_list { config { name: "a" base_path: "/x" model_platform: "onnx" } }`, "model_platform"},
		{`model_config_list { config { name: "a" base_path: "/x" model_version_policy { specific {} } } }`, "lists no versions"},
		{`model_config_list { config { name: "a" base_path: "/x" version_labels { key: "s" value: 0 } } }`, "positive version"},
		{`custom_model_config {}`, "custom_model_config is not supported"},
		{`model_config_list { config { nme: "a" } }`, "not a tensorflow.serving.ModelServerConfig"},
	} {
		_, err := ParseModelServerConfig([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("%s: %v, want %q", c.text, err, c.want)
		}
	}
}

// TestReconfigureLabelsAndNumVersions: latest { num_versions: 2 } serves the two highest
// versions; labels resolve only to available versions (unless allowed for new labels);
// models left out of a new config are unloaded.
func TestReconfigureLabelsAndNumVersions(t *testing.T) {
	f := newFakeModels(t)
	for _, v := range []string{"1", "2", "3"} {
		f.add("linear", v, false)
	}
	f.add("sine", "1", false)
	m := f.manager(PolicyLatest)
	defer m.Close()
	linear := ModelConfig{Name: "linear", Dir: f.base + "/linear", Policy: VersionPolicy{Kind: PolicyLatest, NumVersions: 2},
		Labels: map[string]int64{"stable": 2, "canary": 3}}
	sine := ModelConfig{Name: "sine", Dir: f.base + "/sine", Policy: VersionPolicy{Kind: PolicyLatest}}
	if err := m.Reconfigure([]ModelConfig{linear, sine}); err != nil {
		t.Fatal(err)
	}
	if got := statusText(t, m, "linear"); got != "3:AVAILABLE 2:AVAILABLE" {
		t.Errorf("linear: %s", got)
	}
	if n, err := m.LabelVersion("linear", "stable"); err != nil || n != 2 {
		t.Errorf("stable: %d %v", n, err)
	}
	if _, err := m.LabelVersion("linear", "nope"); err == nil || err.Error() != "Unrecognized servable version label: nope" {
		t.Errorf("unknown label: %v", err)
	}

	// Version 1 is not available: refused, the old labels stay.
	linear.Labels = map[string]int64{"stable": 1}
	err := m.Reconfigure([]ModelConfig{linear, sine})
	want := "Request to assign label stable to version 1 of model linear, which is not currently available for inference"
	if err == nil || err.Error() != want || status.CodeOf(err) != status.FailedPrecondition {
		t.Fatalf("label on an unavailable version: %v", err)
	}
	if n, _ := m.LabelVersion("linear", "stable"); n != 2 {
		t.Errorf("stable moved to %d", n)
	}
	// A new label may point at an unavailable version with AllowUnavailableLabels; a moved one
	// may not.
	m.opts.AllowUnavailableLabels = true
	linear.Labels = map[string]int64{"stable": 2, "old": 1}
	if err := m.Reconfigure([]ModelConfig{linear, sine}); err != nil {
		t.Fatalf("a new label with AllowUnavailableLabels: %v", err)
	}
	linear.Labels = map[string]int64{"stable": 1}
	if err := m.Reconfigure([]ModelConfig{linear, sine}); err == nil {
		t.Error("moving stable to an unavailable version was accepted")
	}

	// sine left out: unloaded and unknown.
	linear.Labels = map[string]int64{"stable": 2}
	if err := m.Reconfigure([]ModelConfig{linear}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire("sine", 0); err == nil {
		t.Error("sine is still served")
	}
	if !strings.Contains(f.closedList(), "sine/1") {
		t.Errorf("closed: %s", f.closedList())
	}
}

func TestParseBatchingParameters(t *testing.T) {
	base := DefaultBatchOptions()
	b, err := ParseBatchingParameters([]byte(`max_batch_size { value: 8 }
batch_timeout_micros { value: 0 }
num_batch_threads { value: 2 }
thread_pool_name { value: "pool" }`), base)
	if err != nil {
		t.Fatal(err)
	}
	if b.MaxBatchSize != 8 || b.BatchTimeout != 0 || b.NumBatchThreads != 2 || b.ThreadPoolName != "pool" ||
		b.MaxEnqueuedBatches != base.MaxEnqueuedBatches {
		t.Errorf("%+v", b)
	}
	for _, c := range []struct{ text, want string }{
		{`allowed_batch_sizes: 8`, "allowed_batch_sizes is not supported"},
		{`enable_large_batch_splitting { value: true }`, "enable_large_batch_splitting is not supported"},
		{`max_batch_size { value: 0 }`, "max_batch_size 0: expected a positive integer"},
		{`batch_timeout_micros { value: -1 }`, "batch_timeout_micros -1"},
		{`max_batch_size: 8`, "not a tensorflow.serving.BatchingParameters"},
	} {
		if _, err := ParseBatchingParameters([]byte(c.text), base); err == nil || !strings.Contains(err.Error(), c.want) ||
			status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("%s: %v, want %q", c.text, err, c.want)
		}
	}
}
