// Command loadgen sends a fixed number of TensorFlow Serving predict requests to a server,
// from a fixed number of concurrent clients, and reports what came back as one JSON object
// (tests/CONTRACT.md, "Load test"). It is the client side of `make bench`'s load test
// (tests/harness/loadtest.py), used against go_consumer serve and the Python baseline server
// alike, so the two are measured by the same client.
//
// The requests come from a plan file written by the harness, so that every request is built
// once, in Python, with TensorFlow's own tools:
//
//	{"well_formed": [{"rest": "<JSON body>", "grpc": "<base64 PredictRequest>"}, ...],
//	 "malformed":   [{"rest": "<JSON body>", "grpc": "<base64 PredictRequest>"}, ...]}
//
// Request i (0-based) is malformed when (i+1) * fraction crosses an integer, so exactly
// floor(requests * fraction) of them are, spread evenly; the others cycle through the
// well-formed ones. A well-formed request must be answered 200 / OK, and with the same answer
// every time (the first answer of each is reported, for the harness to check against the
// Python reference); a malformed one must be answered 400 / INVALID_ARGUMENT.
//
// Exit status: 0 after the run (whatever the answers were: the harness judges them), 2 on a
// bad flag or plan.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfspb/apis"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// planItem is one request in both protocols' forms.
type planItem struct {
	REST string `json:"rest"`
	GRPC string `json:"grpc"` // base64 of a serialized tensorflow.serving.PredictRequest
}

type plan struct {
	WellFormed []planItem `json:"well_formed"`
	Malformed  []planItem `json:"malformed"`
}

// request is one prepared request: the REST body or the gRPC message.
type request struct {
	body []byte
	msg  *apis.PredictRequest
}

// Latency is a summary of the well-formed requests' latencies, in microseconds.
type Latency struct {
	Median float64 `json:"median"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
}

// Report is loadgen's JSON output.
type Report struct {
	Protocol    string   `json:"protocol"`
	Address     string   `json:"address"`
	Model       string   `json:"model"`
	Requests    int      `json:"requests"`
	Concurrency int      `json:"concurrency"`
	WellFormed  int      `json:"well_formed"`
	Malformed   int      `json:"malformed"`
	OK          int64    `json:"ok"`          // well-formed, answered 200 / OK with the usual answer
	Failed      int64    `json:"failed"`      // well-formed, answered anything else
	Refused     int64    `json:"refused"`     // malformed, answered 400 / INVALID_ARGUMENT
	Unexpected  int64    `json:"unexpected"`  // malformed, answered anything else
	Errors      []string `json:"errors"`      // the first few failures, one line each
	WallSeconds float64  `json:"wall_s"`      // from the first request sent to the last answer
	RPS         float64  `json:"rps"`         // requests (all of them) per second of wall time
	LatencyUS   Latency  `json:"latency_us"`  // over the well-formed requests
	Answers     []string `json:"answers"`     // first answer of each well-formed plan item
	AnswerKind  string   `json:"answer_kind"` // "rest_body" or "grpc_base64"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	protocol := fs.String("protocol", "grpc", "rest or grpc")
	address := fs.String("address", "", "the server's HOST:PORT (required)")
	model := fs.String("model", "", "model name (required)")
	planPath := fs.String("plan", "", "plan file (required; format in the package comment)")
	requests := fs.Int("requests", 2000, "number of requests to send, malformed ones included")
	concurrency := fs.Int("concurrency", 8, "number of clients sending at once")
	fraction := fs.Float64("malformed-fraction", 0.05, "share of malformed requests, 0 to 1")
	warmup := fs.Int("warmup", 0, "well-formed requests sent (one at a time) before timing")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of each request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "error: "+format+"\n", a...)
		return 2
	}
	switch {
	case *protocol != "rest" && *protocol != "grpc":
		return fail("--protocol %q: expected rest or grpc", *protocol)
	case *address == "" || *model == "" || *planPath == "":
		return fail("--address, --model and --plan are required")
	case *requests < 1:
		return fail("--requests %d: expected at least 1", *requests)
	case *concurrency < 1:
		return fail("--concurrency %d: expected at least 1", *concurrency)
	case !(*fraction >= 0 && *fraction < 1):
		return fail("--malformed-fraction %v: expected a number in [0, 1)", *fraction)
	case *warmup < 0:
		return fail("--warmup %d: expected 0 or more", *warmup)
	}
	good, bad, err := readPlan(*planPath, *protocol)
	if err != nil {
		return fail("%v", err)
	}
	if len(bad) == 0 && *fraction > 0 {
		return fail("%s has no malformed requests but --malformed-fraction is %v", *planPath, *fraction)
	}
	var send func(ctx context.Context, r request) (answer []byte, ok bool, refused bool, why string)
	if *protocol == "rest" {
		send = restSender(*address, *model, *concurrency)
	} else {
		conn, err := grpc.NewClient(*address,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			return fail("cannot dial %s: %v", *address, err)
		}
		defer conn.Close()
		send = grpcSender(apis.NewPredictionServiceClient(conn))
	}
	rep := load(send, good, bad, *requests, *concurrency, *fraction, *warmup, *timeout)
	rep.Protocol, rep.Address, rep.Model = *protocol, *address, *model
	rep.AnswerKind = map[string]string{"rest": "rest_body", "grpc": "grpc_base64"}[*protocol]
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}

// readPlan reads the plan's requests in the form of one protocol.
func readPlan(path, protocol string) (good, bad []request, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read --plan: %v", err)
	}
	var p plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("--plan %s is not a plan: %v", path, err)
	}
	if len(p.WellFormed) == 0 {
		return nil, nil, fmt.Errorf("--plan %s has no well_formed requests", path)
	}
	convert := func(items []planItem) ([]request, error) {
		out := make([]request, len(items))
		for i, it := range items {
			if protocol == "rest" {
				out[i].body = []byte(it.REST)
				continue
			}
			b, err := base64.StdEncoding.DecodeString(it.GRPC)
			if err != nil {
				return nil, fmt.Errorf("--plan %s: item %d: grpc is not base64: %v", path, i, err)
			}
			out[i].msg = &apis.PredictRequest{}
			if err := proto.Unmarshal(b, out[i].msg); err != nil {
				return nil, fmt.Errorf("--plan %s: item %d: grpc is not a PredictRequest: %v", path, i, err)
			}
		}
		return out, nil
	}
	if good, err = convert(p.WellFormed); err != nil {
		return nil, nil, err
	}
	if bad, err = convert(p.Malformed); err != nil {
		return nil, nil, err
	}
	return good, bad, nil
}

// restSender posts bodies to /v1/models/MODEL:predict over keep-alive connections.
func restSender(address, model string, concurrency int) func(context.Context, request) ([]byte, bool, bool, string) {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, DisableCompression: true,
	}}
	url := "http://" + address + "/v1/models/" + model + ":predict"
	return func(ctx context.Context, r request) ([]byte, bool, bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
		if err != nil {
			return nil, false, false, err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, false, false, err.Error()
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, false, false, err.Error()
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return body, true, false, ""
		case http.StatusBadRequest:
			return nil, false, true, fmt.Sprintf("HTTP 400 %s", bytes.TrimSpace(body))
		default:
			return nil, false, false, fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
		}
	}
}

// grpcSender calls PredictionService/Predict on one shared connection.
func grpcSender(client apis.PredictionServiceClient) func(context.Context, request) ([]byte, bool, bool, string) {
	return func(ctx context.Context, r request) ([]byte, bool, bool, string) {
		resp, err := client.Predict(ctx, r.msg)
		if err == nil {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
			if err != nil {
				return nil, false, false, err.Error()
			}
			return b, true, false, ""
		}
		st := status.Convert(err)
		why := fmt.Sprintf("%s: %s", st.Code(), st.Message())
		return nil, false, st.Code() == codes.InvalidArgument, why
	}
}

// load sends the requests and tallies the answers.
func load(send func(context.Context, request) ([]byte, bool, bool, string), good, bad []request,
	n, concurrency int, fraction float64, warmup int, timeout time.Duration) Report {
	rep := Report{Requests: n, Concurrency: concurrency, Answers: make([]string, len(good))}
	first := make([][]byte, len(good))
	var mu sync.Mutex
	note := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(rep.Errors) < 10 {
			rep.Errors = append(rep.Errors, fmt.Sprintf(format, a...))
		}
	}
	call := func(r request) ([]byte, bool, bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return send(ctx, r)
	}
	for i := 0; i < warmup; i++ {
		call(good[i%len(good)])
	}
	malformed := func(i int) bool {
		return math.Floor(float64(i+1)*fraction) > math.Floor(float64(i)*fraction)
	}
	latencies := make([]float64, n) // µs; -1 for malformed
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if malformed(i) {
					latencies[i] = -1
					_, ok, refused, why := call(bad[i%len(bad)])
					if refused {
						atomic.AddInt64(&rep.Refused, 1)
					} else {
						atomic.AddInt64(&rep.Unexpected, 1)
						if ok {
							why = "answered OK"
						}
						note("malformed request %d: %s", i, why)
					}
					continue
				}
				k := i % len(good)
				t0 := time.Now()
				answer, ok, _, why := call(good[k])
				latencies[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
				if !ok {
					atomic.AddInt64(&rep.Failed, 1)
					note("well-formed request %d: %s", i, why)
					continue
				}
				mu.Lock()
				if first[k] == nil {
					first[k] = answer
				}
				same := bytes.Equal(first[k], answer)
				mu.Unlock()
				if !same {
					atomic.AddInt64(&rep.Failed, 1)
					note("well-formed request %d: answer differs from the first answer to the same request", i)
					continue
				}
				atomic.AddInt64(&rep.OK, 1)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	rep.WallSeconds = wall.Seconds()
	rep.RPS = float64(n) / wall.Seconds()
	var lat []float64
	for _, l := range latencies {
		if l >= 0 {
			lat = append(lat, l)
		}
	}
	rep.WellFormed = len(lat)
	rep.Malformed = n - len(lat)
	sort.Float64s(lat)
	if len(lat) > 0 {
		rep.LatencyUS = Latency{Median: quantile(lat, 0.5), P99: quantile(lat, 0.99), Max: lat[len(lat)-1]}
	}
	for k, a := range first {
		if a == nil {
			continue
		}
		if good[k].msg == nil {
			rep.Answers[k] = string(a)
		} else {
			rep.Answers[k] = base64.StdEncoding.EncodeToString(a)
		}
	}
	if rep.Errors == nil {
		rep.Errors = []string{}
	}
	return rep
}

// quantile returns the q-quantile of sorted values, interpolating linearly between the two
// nearest ranks (numpy's default "linear" method).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
