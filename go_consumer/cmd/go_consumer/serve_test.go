package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/serving"
)

func TestServeUsageErrors(t *testing.T) {
	base := t.TempDir()
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "m", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(base, "m", "1", model.SavedModelFile), nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--model-base-path DIR is required"},
		{[]string{"serve", "--model-base-path", filepath.Join(base, "nope")}, "is not a folder"},
		{[]string{"serve", "--model-base-path", empty}, "no model under --model-base-path"},
		{[]string{"serve", "--model-base-path", base, "--model-name", "x"}, "--model-name x:"},
		{[]string{"serve", "--model-base-path", base, "--model-name", "../m"}, `invalid --model-name "../m"`},
		{[]string{"serve", "--model-base-path", base, "--rest-port", "70000"}, `invalid --rest-port "70000"`},
		{[]string{"serve", "--model-base-path", base, "--model-version-policy", "newest"}, `invalid --model-version-policy "newest"`},
		{[]string{"serve", "--model-base-path", base, "--model-version-policy", "specific"}, "needs --versions"},
		{[]string{"serve", "--model-base-path", base, "--versions", "1"}, "--versions needs --model-version-policy specific"},
		{[]string{"serve", "--model-base-path", base, "--model-version-policy", "specific", "--versions", "1,x"}, `invalid --versions "1,x"`},
		{[]string{"serve", "--model-base-path", base, "--max-request-bytes", "0"}, `invalid --max-request-bytes "0"`},
		{[]string{"serve", "--model-base-path", base, "--request-timeout", "-1s"}, `invalid --request-timeout "-1s"`},
		{[]string{"serve", "--model-base-path", base, "--poll-interval", "soon"}, `invalid --poll-interval "soon"`},
		{[]string{"serve", "--model-base-path", base, "--grpc-port", "x"}, `invalid --grpc-port "x"`},
		{[]string{"serve", "--model-base-path", base, "--rest-port", "off", "--grpc-port", "off"}, "nothing to serve"},
		{[]string{"serve", "--model-base-path", base, "--max-batch-size", "8"}, "--max-batch-size needs --enable-batching"},
		{[]string{"serve", "--model-base-path", base, "--enable-batching", "--max-batch-size", "0"}, `invalid --max-batch-size "0"`},
		{[]string{"serve", "--model-base-path", base, "--enable-batching", "--num-batch-threads", "x"}, `invalid --num-batch-threads "x"`},
		{[]string{"serve", "--model-base-path", base, "--enable-batching", "--max-enqueued-batches", "-1"}, `invalid --max-enqueued-batches "-1"`},
		{[]string{"serve", "--model-base-path", base, "--enable-batching", "--batch-timeout-micros", "-5"}, `invalid --batch-timeout-micros "-5"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestServeUsageListsEveryFlag: the serve synopsis of --help names every flag serve accepts
// (the flag set lists them in its refusal of an unknown flag).
func TestServeUsageListsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "--nope"}, strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	_, list, ok := strings.Cut(strings.TrimSpace(stderr.String()), "; flags: ")
	if !ok {
		t.Fatalf("no flag list in %q", stderr.String())
	}
	start := strings.Index(usage, "go_consumer serve ")
	end := strings.Index(usage, "go_consumer version")
	synopsis := usage[start:end]
	for _, flag := range strings.Split(list, ", ") {
		if !strings.Contains(synopsis, "["+flag+" ") && !strings.Contains(synopsis, "["+flag+"]") &&
			!strings.Contains(synopsis, " "+flag+" ") {
			t.Errorf("serve accepts %s but its usage does not list it:\n%s", flag, synopsis)
		}
	}
}

// TestServeGoldenConcurrently serves models/linear and models/dtypes (DT_HALF inputs and
// strings) in-process with the serve command's loader and predict path, and answers every
// golden request of their served versions from 8 goroutines at once: each answer must be
// the golden one, bit for bit.
func TestServeGoldenConcurrently(t *testing.T) { testServeGoldenConcurrently(t, nil) }

// TestServeGoldenConcurrentlyBatched is the same with --enable-batching (a long batch
// timeout, so that concurrent requests are merged): the answers stay bit-identical.
func TestServeGoldenConcurrentlyBatched(t *testing.T) {
	sched := serving.NewScheduler(serving.BatchOptions{MaxBatchSize: 32, BatchTimeout: 5 * time.Millisecond, NumBatchThreads: 2, MaxEnqueuedBatches: 100})
	defer sched.Close()
	testServeGoldenConcurrently(t, sched)
}

func testServeGoldenConcurrently(t *testing.T, sched *serving.Scheduler) {
	linear := needLinear(t)
	dtypes, _ := filepath.Abs(filepath.Join(repoRoot, "models", "dtypes"))
	if _, err := os.Stat(dtypes); err != nil {
		t.Skip("models/dtypes is absent; run `make models` in the repository root")
	}
	base := t.TempDir()
	for name, dir := range map[string]string{"linear": linear, "dtypes": dtypes} {
		if err := os.Symlink(dir, filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
	}
	mgr := serving.NewManager(serving.Options{BasePath: base, Policy: serving.PolicyLatest, Load: serving.NewLoader(false, nil), Batching: sched})
	mgr.Poll()
	defer mgr.Close()
	srv := &serving.Server{Manager: mgr, MaxRequestBytes: serveDefaultMaxBytes, RequestTimeout: time.Minute}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	type golden struct{ path, request, response string }
	var cases []golden
	for _, name := range []string{"linear", "dtypes"} {
		_, dirs := mgr.Available(name)
		if len(dirs) != 1 {
			t.Fatalf("%s: available %v, want one version", name, dirs)
		}
		requests, _ := filepath.Glob(filepath.Join(dirs[0], "golden", "*.request.json"))
		for _, r := range requests {
			cases = append(cases, golden{"/v1/models/" + name + ":predict", r, strings.Replace(r, ".request.json", ".response.json", 1)})
		}
	}
	if len(cases) == 0 {
		t.Skip("no golden requests")
	}
	var wg sync.WaitGroup
	for worker := 0; worker < 8; worker++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for i := range cases {
				c := cases[(i+worker)%len(cases)]
				body, _ := os.ReadFile(c.request)
				want, _ := os.ReadFile(c.response)
				resp, err := http.Post(ts.URL+c.path, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: status %d %s", c.request, resp.StatusCode, got)
					continue
				}
				g, err1 := restjson.Parse(got)
				w, err2 := restjson.Parse(want)
				if err1 != nil || err2 != nil || !sameValue(g, w) {
					t.Errorf("%s: answer differs from the golden one:\n got %.300s\nwant %.300s", c.request, got, want)
				}
			}
		}(worker)
	}
	wg.Wait()
}
