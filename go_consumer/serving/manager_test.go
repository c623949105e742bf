package serving

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
)

// fakeModels is a base path of version folders and a Loader that needs no TensorFlow: a
// folder holding a file "broken" fails to load; every close is recorded.
type fakeModels struct {
	t    *testing.T
	base string

	mu     sync.Mutex
	loads  []string
	closed []string
}

func newFakeModels(t *testing.T) *fakeModels {
	return &fakeModels{t: t, base: t.TempDir()}
}

// add creates base/name/<version>/saved_model.pb, staged then renamed as the producer does.
func (f *fakeModels) add(name, version string, broken bool) {
	f.t.Helper()
	dir := filepath.Join(f.base, name)
	tmp := filepath.Join(dir, ".tmp-"+version)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, model.SavedModelFile), []byte("x"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if broken {
		if err := os.WriteFile(filepath.Join(tmp, "broken"), nil, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, version)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeModels) load(dir string) (*Servable, error) {
	f.mu.Lock()
	f.loads = append(f.loads, dir)
	f.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "broken")); err == nil {
		return nil, status.New(status.FailedPrecondition, "broken: SHA-256 does not match manifest.json")
	}
	rel, _ := filepath.Rel(f.base, dir)
	return &Servable{
		SignatureDefs: []byte(`{}`),
		Close: func() error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.closed = append(f.closed, rel)
			return nil
		},
	}, nil
}

func (f *fakeModels) closedList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.closed, ",")
}

func (f *fakeModels) manager(policy Policy, versions ...int64) *Manager {
	return NewManager(Options{BasePath: f.base, Policy: policy, Versions: versions, Load: f.load})
}

func statusText(t *testing.T, m *Manager, name string) string {
	t.Helper()
	st, err := m.Status(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, s := range st {
		p := formatVersion(s.Version) + ":" + string(s.State)
		if s.ErrorCode != "OK" {
			p += ":" + s.ErrorCode
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func acquireVersion(t *testing.T, m *Manager, name string, number int64) *Handle {
	t.Helper()
	h, err := m.Acquire(name, number)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLatestTakesOverAndFailuresNeverReplace(t *testing.T) {
	f := newFakeModels(t)
	f.add("linear", "1", false)
	f.add("linear", "2", false)
	m := f.manager(PolicyLatest)
	m.Poll()
	if got := statusText(t, m, "linear"); got != "2:AVAILABLE" {
		t.Fatalf("status %q, want only version 2 available", got)
	}

	// A request holds version 2 while version 3 takes over.
	old := acquireVersion(t, m, "linear", 0)
	if old.Version != 2 {
		t.Fatalf("default version %d, want 2", old.Version)
	}
	f.add("linear", "3", false)
	m.Poll()
	if got := statusText(t, m, "linear"); got != "3:AVAILABLE 2:UNLOADING" {
		t.Fatalf("status %q after version 3 appeared", got)
	}
	if h := acquireVersion(t, m, "linear", 0); h.Version != 3 {
		t.Fatalf("default version %d, want 3", h.Version)
	} else {
		h.Release()
	}
	if _, err := m.Acquire("linear", 2); err == nil {
		t.Fatal("a retired version was handed to a new request")
	}
	if c := f.closedList(); c != "" {
		t.Fatalf("closed %q while a request still held it", c)
	}
	old.Release()
	old.Release() // a second release is a no-op
	if c := f.closedList(); c != "linear/2" {
		t.Fatalf("closed %q, want linear/2 once its last request released it", c)
	}
	if got := statusText(t, m, "linear"); got != "3:AVAILABLE 2:END" {
		t.Fatalf("status %q", got)
	}

	// A broken version 4 is reported and version 3 keeps serving; it is not tried again
	// until its folder changes.
	f.add("linear", "4", true)
	m.Poll()
	m.Poll()
	if got := statusText(t, m, "linear"); got != "4:END:INVALID_ARGUMENT 3:AVAILABLE 2:END" {
		t.Fatalf("status %q after a broken version", got)
	}
	st, _ := m.Status("linear", 4)
	if len(st) != 1 || !strings.Contains(st[0].ErrorMessage, "SHA-256") {
		t.Fatalf("status of version 4: %+v", st)
	}
	loads := 0
	for _, l := range f.loads {
		if strings.HasSuffix(l, "/4") {
			loads++
		}
	}
	if loads != 1 {
		t.Fatalf("version 4 loaded %d times, want once", loads)
	}
	if h := acquireVersion(t, m, "linear", 0); h.Version != 3 {
		t.Fatalf("default version %d, want 3", h.Version)
	} else {
		h.Release()
	}

	// A good version 5 takes over from 3 despite the broken 4.
	f.add("linear", "5", false)
	m.Poll()
	if got := statusText(t, m, "linear"); got != "5:AVAILABLE 4:END:INVALID_ARGUMENT 3:END 2:END" {
		t.Fatalf("status %q", got)
	}
	m.Close()
	if c := f.closedList(); c != "linear/2,linear/3,linear/5" {
		t.Fatalf("closed %q", c)
	}
}

func TestLatestFallsBackAtStart(t *testing.T) {
	f := newFakeModels(t)
	f.add("sine", "1", false)
	f.add("sine", "2", true)
	m := f.manager(PolicyLatest)
	m.Poll()
	if got := statusText(t, m, "sine"); got != "2:END:INVALID_ARGUMENT 1:AVAILABLE" {
		t.Fatalf("status %q", got)
	}
	m.Close()
}

func TestAllAndSpecificPolicies(t *testing.T) {
	f := newFakeModels(t)
	for _, v := range []string{"1", "2", "3"} {
		f.add("m", v, false)
	}
	all := f.manager(PolicyAll)
	all.Poll()
	if got := statusText(t, all, "m"); got != "3:AVAILABLE 2:AVAILABLE 1:AVAILABLE" {
		t.Fatalf("all: %q", got)
	}
	if h := acquireVersion(t, all, "m", 1); h.Version != 1 {
		t.Fatal("version 1 not served")
	} else {
		h.Release()
	}
	// A version folder that disappears is unloaded.
	if err := os.RemoveAll(filepath.Join(f.base, "m", "2")); err != nil {
		t.Fatal(err)
	}
	all.Poll()
	if got := statusText(t, all, "m"); got != "3:AVAILABLE 2:END 1:AVAILABLE" {
		t.Fatalf("all after removing 2: %q", got)
	}
	all.Close()

	specific := f.manager(PolicySpecific, 1, 7)
	specific.Poll()
	if got := statusText(t, specific, "m"); got != "1:AVAILABLE" {
		t.Fatalf("specific: %q", got)
	}
	if h := acquireVersion(t, specific, "m", 0); h.Version != 1 {
		t.Fatalf("default version %d, want 1", h.Version)
	} else {
		h.Release()
	}
	specific.Close()
}

func TestNotFound(t *testing.T) {
	f := newFakeModels(t)
	f.add("linear", "1", false)
	m := f.manager(PolicyLatest)
	m.Poll()
	defer m.Close()
	for _, c := range []struct {
		name    string
		version int64
		want    string
	}{
		{"nope", 0, "Servable not found for request: Latest(nope)"},
		{"linear", 9, "Servable not found for request: Specific(linear, 9)"},
	} {
		_, err := m.Acquire(c.name, c.version)
		if status.CodeOf(err) != status.NotFound || err.Error() != c.want {
			t.Errorf("Acquire(%s, %d) = %v, want %q", c.name, c.version, err, c.want)
		}
	}
	if _, err := m.Status("linear", 9); status.CodeOf(err) != status.NotFound || err.Error() != "Could not find version 9 of model linear" {
		t.Errorf("Status(linear, 9) = %v", err)
	}
	if _, err := m.Status("nope", 0); status.CodeOf(err) != status.NotFound {
		t.Errorf("Status(nope) = %v", err)
	}
}

func TestDiscoverModels(t *testing.T) {
	f := newFakeModels(t)
	f.add("b", "1", false)
	f.add("a", "3", false)
	for _, dir := range []string{"empty", ".hidden/1", "no:colon/1"} {
		if err := os.MkdirAll(filepath.Join(f.base, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(f.base, ".hidden", "1", model.SavedModelFile), nil, 0o644)
	os.WriteFile(filepath.Join(f.base, "no:colon", "1", model.SavedModelFile), nil, 0o644)
	os.WriteFile(filepath.Join(f.base, "README.md"), nil, 0o644)
	if got := strings.Join(DiscoverModels(f.base), ","); got != "a,b" {
		t.Fatalf("DiscoverModels = %q, want a,b", got)
	}
	// A model folder that appears later is served from the next poll.
	m := f.manager(PolicyLatest)
	m.Poll()
	f.add("c", "2", false)
	m.Poll()
	if got := strings.Join(m.Models(), ","); got != "a,b,c" {
		t.Fatalf("Models = %q", got)
	}
	m.Close()
}

func TestParseVersionsAndPolicy(t *testing.T) {
	if v, ok := ParseVersions("1, 2,30"); !ok || len(v) != 3 || v[2] != 30 {
		t.Fatalf("ParseVersions = %v %v", v, ok)
	}
	for _, bad := range []string{"", "0", "1,,2", "x", "-1"} {
		if _, ok := ParseVersions(bad); ok {
			t.Errorf("ParseVersions(%q) accepted", bad)
		}
	}
	if _, ok := ParsePolicy("newest"); ok {
		t.Error("ParsePolicy accepted newest")
	}
}
