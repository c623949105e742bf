package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// Defaults of soak's --predictions and --load-cycles, and the warm-up counts of its two
// phases (CONTRACT.md, "Memory soak").
const (
	defaultSoakPredictions = 100000
	defaultSoakLoadCycles  = 200
	soakWarmupPredictions  = 1000
	soakWarmupLoadCycles   = 10
)

// soakReport is soak's JSON line, its fields in the contract's order.
type soakReport struct {
	Runtime            string   `json:"runtime"`
	TensorFlowVersion  string   `json:"tensorflow_version"`
	Model              string   `json:"model"`
	Signature          string   `json:"signature"`
	Format             string   `json:"format"`
	Predictions        int64    `json:"predictions"`
	PredictionsRSSKiB  [2]int64 `json:"predictions_rss_kib"`
	PredictionsSeconds float64  `json:"predictions_seconds"`
	LoadCycles         int64    `json:"load_cycles"`
	LoadCyclesRSSKiB   [2]int64 `json:"load_cycles_rss_kib"`
	LoadCyclesSeconds  float64  `json:"load_cycles_seconds"`
}

// soakVersion is one opened version: what predict has after loading it.
type soakVersion struct {
	info   *model.Info
	runner *model.Runner
	open   func() (*model.Runner, error)
}

// cmdSoak measures whether the predict path or opening and closing a version leaks
// (CONTRACT.md, "Memory soak"). The request is read once. Phase 1 opens the version as
// predict does (verification, unsafe-op check, session), answers the request 1000 times as
// a warm-up, reads the resident set size, answers it --predictions more times, reads it
// again and closes the version. Phase 2 opens, answers once and closes the version 10
// times, reads the resident set size, does it --load-cycles more times and reads it again.
// Every answer is the whole predict path (handle: parse, decode, run, encode), the response
// dropped. A request the model refuses is refused by the first answer, before any loop.
func cmdSoak(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("soak")
	mf := addRunFlags(fs, model.DefaultSignature)
	input := fs.String("input", "-", "request file, - for stdin")
	predictionsText := fs.String("predictions", strconv.Itoa(defaultSoakPredictions), "predictions to measure")
	cyclesText := fs.String("load-cycles", strconv.Itoa(defaultSoakLoadCycles), "open/answer/close cycles to measure")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	predictions, err := positiveFlag(fs, "predictions", *predictionsText)
	if err != nil {
		return err
	}
	cycles, err := positiveFlag(fs, "load-cycles", *cyclesText)
	if err != nil {
		return err
	}
	format, err := model.ParseFormat(*mf.format)
	if err != nil {
		return err
	}
	body, err := readInput(*input, stdin, defaultMaxRequestBytes)
	if err != nil {
		return err
	}
	signature := *mf.signature
	if req, err := restjson.ParseRequest(body); err == nil && req.SignatureName != "" {
		signature = req.SignatureName
	}

	// openVersion opens the version exactly as predict does.
	openVersion := func() (*soakVersion, error) {
		info, _, err := mf.loadRun(true)
		if err != nil {
			return nil, err
		}
		runner, err := model.NewRunner(info, format, model.Options{})
		if err != nil {
			return nil, err
		}
		return &soakVersion{info: info, runner: runner, open: func() (*model.Runner, error) { return runner, nil }}, nil
	}
	answer := func(v *soakVersion, times int64) error {
		for i := int64(0); i < times; i++ {
			if _, err := handle(v.info, v.open, body, *mf.signature, format); err != nil {
				return err
			}
		}
		return nil
	}
	cycle := func(times int64) error {
		for i := int64(0); i < times; i++ {
			v, err := openVersion()
			if err != nil {
				return err
			}
			err = answer(v, 1)
			v.runner.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}

	v, err := openVersion()
	if err != nil {
		return err
	}
	report := soakReport{
		Runtime:           "go",
		TensorFlowVersion: model.TFVersion(),
		Model:             v.info.Dir,
		Signature:         signature,
		Format:            string(format),
		Predictions:       predictions,
		LoadCycles:        cycles,
	}
	err = func() error {
		defer v.runner.Close()
		if err := answer(v, soakWarmupPredictions); err != nil {
			return err
		}
		if report.PredictionsRSSKiB[0], err = residentKiB(); err != nil {
			return err
		}
		start := time.Now()
		if err := answer(v, predictions); err != nil {
			return err
		}
		report.PredictionsSeconds = time.Since(start).Seconds()
		report.PredictionsRSSKiB[1], err = residentKiB()
		return err
	}()
	if err != nil {
		return err
	}
	v = nil

	if err := cycle(soakWarmupLoadCycles); err != nil {
		return err
	}
	if report.LoadCyclesRSSKiB[0], err = residentKiB(); err != nil {
		return err
	}
	start := time.Now()
	if err := cycle(cycles); err != nil {
		return err
	}
	report.LoadCyclesSeconds = time.Since(start).Seconds()
	if report.LoadCyclesRSSKiB[1], err = residentKiB(); err != nil {
		return err
	}

	line, err := json.Marshal(report)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(line, '\n'))
	return err
}

// positiveFlag parses the value of --name as a positive integer.
func positiveFlag(fs *flag.FlagSet, name, text string) (int64, error) {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("%s: invalid --%s %q: expected a positive integer", fs.Name(), name, status.Bound(text))
	}
	return n, nil
}

// residentKiB returns the process's resident set size (VmRSS of /proc/self/status, in KiB)
// right after collecting garbage. The collection runs twice, with the finalizers of the
// first run in between (the consumer frees its C memory itself, but a library it links may
// free some in finalizers), so that neither Go garbage nor C memory held only by garbage is
// counted.
func residentKiB() (int64, error) {
	runtime.GC()
	waitFinalizers()
	runtime.GC()
	debug.FreeOSMemory()
	model.TrimNativeHeap()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("cannot read the resident set size: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			fields := bytes.Fields(rest)
			if len(fields) == 2 && string(fields[1]) == "kB" {
				if n, err := strconv.ParseInt(string(fields[0]), 10, 64); err == nil {
					return n, nil
				}
			}
			break
		}
	}
	return 0, fmt.Errorf("cannot read the resident set size: no VmRSS line in /proc/self/status")
}

// waitFinalizers waits (at most a second per round) until the finalizers queued by the
// last collection have run. Finalizers run on one goroutine, batch after batch; a sentinel
// queued by a later collection is in the same batch as the earlier ones or a later one, so
// once a second sentinel, queued after the first has run, runs too, every finalizer queued
// before the first has run.
func waitFinalizers() {
	for round := 0; round < 2; round++ {
		done := make(chan struct{})
		sentinel := &finalizerSentinel{}
		runtime.SetFinalizer(sentinel, func(*finalizerSentinel) { close(done) })
		sentinel = nil
		runtime.GC()
		select {
		case <-done:
		case <-time.After(time.Second):
			return
		}
	}
}

// finalizerSentinel holds a pointer, so that it is never one of the runtime's tiny
// allocations (whose finalizers may never run).
type finalizerSentinel struct {
	p   *int
	pad [48]byte
}
