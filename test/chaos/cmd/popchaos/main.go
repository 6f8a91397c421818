// Command popchaos is POP's chaos run (`make chaos`, issue 15): envtest, the manager binary as
// real child processes, a kubelet stand-in and a mixed load, with SIGKILLs, leader kills, a
// kube-apiserver restart and a webhook outage, judged by an auditor reading the API server's
// watches. It prints the auditor's tables, writes them to -out, and exits 1 when it found a fault.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pop-operator/pop/test/chaos"
	"github.com/pop-operator/pop/test/framework"
)

func main() {
	size := flag.String("size", "full", "run size: short (CI, a few minutes), mid or full (issue 15's)")
	out := flag.String("out", "", "Markdown file for the report (default: none)")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the load and the fault moments")
	keep := flag.Bool("keep", false, "keep the scratch folder (manager logs)")
	manager := flag.String("manager", "", "a manager binary to run instead of building ./cmd/manager from this tree")
	understate := flag.Int("understate-capacity", 0, "self-test of the auditor: tell it each Insight's capacity less this (1 must fail the run)")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	ok, err := run(*size, *out, *manager, *seed, *keep, *understate)
	if err != nil {
		fmt.Fprintln(os.Stderr, "popchaos:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(size, out, bin string, seed uint64, keep bool, understate int) (bool, error) {
	sz, found := chaos.Sizes[size]
	if !found {
		return false, fmt.Errorf("unknown -size %q: short, mid or full", size)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	dir, err := os.MkdirTemp("", "popchaos-")
	if err != nil {
		return false, err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	logf("popchaos -size %s -seed %d; scratch folder %s", size, seed, dir)
	prebuilt := bin
	if bin == "" {
		logf("building the manager")
		if bin, err = chaos.BuildManager(ctx, dir); err != nil {
			return false, err
		}
	}
	r := &chaos.Run{Size: sz, Dir: dir, Bin: bin, Log: logf, Seed: seed, Prebuilt: prebuilt, Understate: understate}
	runErr := r.Execute(ctx)
	if runErr != nil && !keep {
		keep = true // the managers' logs explain a failed run
	}
	if !keep {
		defer func() { _ = os.RemoveAll(dir) }()
	} else {
		logf("kept %s", dir)
	}
	if runErr != nil {
		return false, runErr
	}
	var buf bytes.Buffer
	header(&buf, r, size, seed)
	r.Markdown(&buf)
	fmt.Print(buf.String())
	if out != "" {
		var doc bytes.Buffer
		chaos.Preamble(&doc, sz)
		doc.Write(buf.Bytes())
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(out, doc.Bytes(), 0o644); err != nil {
			return false, err
		}
		logf("wrote %s", out)
	}
	if len(r.Leftover) == 0 {
		logf("every manager process it started has ended")
	}
	return r.OK(), nil
}

func header(buf *bytes.Buffer, r *chaos.Run, size string, seed uint64) {
	fmt.Fprintf(buf, "## popchaos -size %s\n\n", size)
	manager := "the manager built from this tree"
	if r.Prebuilt != "" {
		manager = "the manager binary " + r.Prebuilt
	}
	fmt.Fprintf(buf, "Command: `make chaos CHAOS_SIZE=%s` (seed %d), commit %s, %s; %s, %d CPUs; %s, run took %s.\n\n",
		size, seed, commit(), manager, runtime.Version(), runtime.NumCPU(), r.Started.UTC().Format(time.RFC3339), time.Since(r.Started).Round(time.Second))
}

func commit() string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = filepath.Clean(framework.RepoRoot())
	b, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
