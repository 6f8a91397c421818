// Command popchaos is POP's chaos run (`make chaos`, issue 15): envtest, the manager binary as
// real child processes, a kubelet stand-in and a mixed load, with SIGKILLs, leader kills, a
// kube-apiserver restart and a webhook outage, judged by an auditor reading the API server's
// watches; then (-mode all, the default) the AWS bridge under faults: its own envtest, manager
// and SQS / DynamoDB emulators, SIGKILLs and emulator restarts, and a bridge auditor. It prints
// the auditors' tables, writes them to -out (each mode its own part, keeping the other's), and
// exits 1 when it found a fault.
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
	mode := flag.String("mode", "all", "core (managers, leaders, API server, webhook), bridge (the AWS bridge, item 4) or all (core, then bridge)")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	o := opts{size: *size, out: *out, bin: *manager, seed: *seed, keep: *keep, understate: *understate, mode: *mode}
	ok, err := o.run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "popchaos:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

type opts struct {
	size, out, bin, mode string
	seed                 uint64
	keep                 bool
	understate           int
}

func (o opts) run() (bool, error) {
	sz, found := chaos.Sizes[o.size]
	bsz, bfound := chaos.BridgeSizes[o.size]
	if !found || !bfound {
		return false, fmt.Errorf("unknown -size %q: short, mid or full", o.size)
	}
	if o.mode != "all" && o.mode != "core" && o.mode != "bridge" {
		return false, fmt.Errorf("unknown -mode %q: core, bridge or all", o.mode)
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
	logf("popchaos -mode %s -size %s -seed %d; scratch folder %s", o.mode, o.size, o.seed, dir)
	prebuilt := o.bin
	if o.bin == "" {
		logf("building the manager")
		if o.bin, err = chaos.BuildManager(ctx, dir); err != nil {
			return false, err
		}
	}
	var core, bridgePart bytes.Buffer
	okCore, runErr := o.runCore(ctx, &core, filepath.Join(dir, "core"), sz, prebuilt, logf)
	okBridge := true
	if runErr == nil {
		okBridge, runErr = o.runBridge(ctx, &bridgePart, filepath.Join(dir, "bridge"), bsz, prebuilt, logf)
	}
	ok := okCore && okBridge
	keep := o.keep || runErr != nil // the processes' logs explain a failed run
	if !keep {
		defer func() { _ = os.RemoveAll(dir) }()
	} else {
		logf("kept %s", dir)
	}
	if runErr != nil {
		return false, runErr
	}
	return ok, o.write(core.String(), bridgePart.String(), logf)
}

func (o opts) runCore(ctx context.Context, buf *bytes.Buffer, dir string, sz chaos.Size, prebuilt string, logf func(string, ...any)) (bool, error) {
	if o.mode == "bridge" {
		return true, nil
	}
	r := &chaos.Run{Size: sz, Dir: dir, Bin: o.bin, Log: logf, Seed: o.seed, Prebuilt: prebuilt, Understate: o.understate}
	if err := runIn(r.Dir, func() error { return r.Execute(ctx) }); err != nil {
		return false, err
	}
	chaos.Preamble(buf, sz)
	header(buf, o, "core", r.Started, prebuilt)
	r.Markdown(buf)
	fmt.Print(buf.String())
	if len(r.Leftover) == 0 {
		logf("every manager process it started has ended")
	}
	return r.OK(), nil
}

func (o opts) runBridge(ctx context.Context, buf *bytes.Buffer, dir string, sz chaos.BridgeSize, prebuilt string, logf func(string, ...any)) (bool, error) {
	if o.mode == "core" {
		return true, nil
	}
	b := &chaos.BridgeRun{Name: o.size, Size: sz, Dir: dir, Bin: o.bin, Log: logf, Seed: o.seed}
	if err := runIn(b.Dir, func() error { return b.Execute(ctx) }); err != nil {
		return false, err
	}
	chaos.BridgePreamble(buf, o.size, sz)
	header(buf, o, "bridge", b.Started, prebuilt)
	b.Markdown(buf)
	fmt.Print(buf.String())
	if len(b.Leftover) == 0 {
		logf("every manager and emulator process it started has ended")
	}
	return b.OK(), nil
}

func runIn(dir string, f func() error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return f()
}

// write puts the report into -out: the parts this run made, the old file's other part kept.
func (o opts) write(core, bridgePart string, logf func(string, ...any)) error {
	if o.out == "" {
		return nil
	}
	old, err := os.ReadFile(o.out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out, []byte(merge(string(old), core, bridgePart)), 0o644); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	return nil
}

func header(buf *bytes.Buffer, o opts, mode string, started time.Time, prebuilt string) {
	fmt.Fprintf(buf, "## popchaos -mode %s -size %s\n\n", mode, o.size)
	manager := "the manager built from this tree"
	if prebuilt != "" {
		manager = "the manager binary " + prebuilt
	}
	fmt.Fprintf(buf, "Command: `go run ./test/chaos/cmd/popchaos -mode %s -size %s -seed %d` (part of `make chaos CHAOS_SIZE=%s`), commit %s, %s; %s, %d CPUs; %s, run took %s.\n\n",
		mode, o.size, o.seed, o.size, commit(), manager, runtime.Version(), runtime.NumCPU(), started.UTC().Format(time.RFC3339), time.Since(started).Round(time.Second))
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
