// Command popbench is POP's end-to-end benchmark (`make bench`, issue 13): it starts envtest,
// measures the API server's write ceiling, then runs the manager binary as its own process
// against it, with a simulated kubelet in this process, and writes results.json, results.md
// and PNG plots into -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/bench"
)

func main() {
	size := flag.String("size", "full", "benchmark size: small (CI, a few minutes) or full (issue 13's sizes)")
	out := flag.String("out", "", "folder for results.json, results.md, plots and profiles (default: a temporary folder)")
	only := flag.String("phases", "", "comma-separated phases to run (idle,tp1,tp10,drain,load,mem,pend,large); all when empty")
	keep := flag.Bool("keep", false, "keep the scratch folder (audit log, manager logs, raw profiles)")
	drains := flag.String("drains", "", "comma-separated backlog sizes of the drain phase, in place of the size's (e.g. 1000)")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard()) // the bench's own informers; its progress goes to stderr
	if err := run(*size, *out, *only, *drains, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "popbench:", err)
		os.Exit(1)
	}
}

func run(size, out, only, drains string, keep bool) error {
	sizes, err := sizesFor(size, drains)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	scratch, out, cleanup, err := scratchFolder(out, keep)
	if err != nil {
		return err
	}
	defer cleanup()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	want := func(phase string) bool { return only == "" || strings.Contains(","+only+",", ","+phase+",") }

	r := &bench.Runner{Dir: scratch, Sizes: sizes, Log: logf}
	r.Result = bench.Result{Command: command(size), Size: size, Started: time.Now(), Commit: commit(), Machine: machine()}
	logf("scratch folder %s; building the manager", scratch)
	bin, err := bench.BuildManager(ctx, scratch)
	if err != nil {
		return err
	}
	if r.Env, err = bench.StartEnv(scratch); err != nil {
		return err
	}
	defer func() { _ = r.Env.Stop() }()
	if err := r.Env.Seed(ctx); err != nil {
		return err
	}
	if want("ceiling") || want("tp1") || want("tp10") {
		if err := r.Ceilings(ctx); err != nil {
			return err
		}
	}
	r.Sim = bench.NewSim(ctx, r.Env.Client, 32)
	r.Obs = bench.NewObserver(r.Sim.OnPod)
	r.Sim.Obs = r.Obs
	if err := r.Obs.Start(ctx, r.Env); err != nil {
		return err
	}
	r.Bin = bin
	if err := r.StartManager(ctx); err != nil {
		return err
	}
	phases(ctx, r, want)
	if r.Mgr == nil { // a phase failed between a stop and a start
		if err := r.StartManager(ctx); err != nil {
			return err
		}
	}
	return finish(r, out, logf)
}

// sizesFor is the named size, with its drains replaced by -drains when given.
func sizesFor(size, drains string) (bench.Sizes, error) {
	sizes, err := bench.SizesFor(size)
	if err != nil || drains == "" {
		return sizes, err
	}
	sizes.Drains, err = parseSizes(drains)
	return sizes, err
}

// parseSizes reads a comma-separated list of positive counts.
func parseSizes(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-drains: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// scratchFolder makes the run's working folder; it is removed at the end unless kept, or
// unless the results are written into it (no -out).
func scratchFolder(out string, keep bool) (scratch, outDir string, cleanup func(), err error) {
	scratch, err = os.MkdirTemp("", "popbench-")
	if err != nil {
		return "", "", nil, err
	}
	if out == "" {
		out, keep = filepath.Join(scratch, "out"), true
	}
	cleanup = func() {}
	if !keep {
		cleanup = func() { _ = os.RemoveAll(scratch) }
	}
	return scratch, out, cleanup, nil
}

// phases runs the wanted phases in order; one that fails is noted in the results and the
// next ones still run, so that a long run keeps what it measured.
func phases(ctx context.Context, r *bench.Runner, want func(string) bool) {
	s := r.Sizes
	steps := []struct {
		name string
		run  func() error
	}{
		{"idle", func() error { return r.Idle(ctx) }},
		{"tp1", func() error {
			return repeat(s.Repeats, "tp1", func(p string) error { return r.Throughput(ctx, p, "single-op", s.Single, bench.SingleOp) })
		}},
		{"tp10", func() error {
			return repeat(s.Repeats, "tp10", func(p string) error { return r.Throughput(ctx, p, "10-op", s.Fan, bench.FanOut) })
		}},
		{"drain", func() error {
			for _, n := range s.Drains {
				for _, algo := range []popv1.SchedulingAlgorithm{popv1.FIFO, popv1.Fairness} {
					if err := r.Drain(ctx, algo, n); err != nil {
						return err
					}
				}
			}
			return nil
		}},
		{"load", func() error { return r.Loaded(ctx) }},
		{"mem", func() error { return r.Memory(ctx) }},
		{"pend", func() error { return r.Pending(ctx) }},
		{"large", func() error { return r.Large(ctx, s.Name == "full") }},
	}
	for _, st := range steps {
		if !want(st.name) {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if err := st.run(); err != nil {
			r.Log("phase %s failed: %v", st.name, err)
			r.Result.Notes = append(r.Result.Notes, fmt.Sprintf("Phase %s failed: %v.", st.name, err))
		}
	}
}

// repeat runs a phase k times, named base, base+"r2", base+"r3"…
func repeat(k int, base string, run func(string) error) error {
	for i := range k {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%sr%d", base, i+1)
		}
		if err := run(name); err != nil {
			return err
		}
	}
	return nil
}

// finish stops the manager, reads the audit log and writes the results.
func finish(r *bench.Runner, out string, logf func(string, ...any)) error {
	res := &r.Result
	rss, _ := r.Mgr.RSS()
	cpu, peak := r.ManagerTotals()
	res.Manager = map[string]float64{"cpuSeconds": cpu, "peakRSSMB": peak / (1 << 20), "finalRSSMB": float64(rss) / (1 << 20)}
	r.StopManager()
	res.ByMethod = r.RequestsByMethod()
	logf("reading the audit log")
	byPhase, err := bench.ReadAudit(r.Env.AuditLog, r.Obs.NameOfUID)
	if err != nil {
		return err
	}
	for _, p := range res.Phases {
		p.Requests = byPhase[p.Name]
	}
	res.ProfileTops()
	if err := res.Write(out, r.Dir); err != nil {
		return err
	}
	fmt.Println(res.Markdown())
	logf("results in %s", out)
	return nil
}

func command(size string) string {
	subset := false // a subset is not what make bench runs: name the real command
	flag.Visit(func(f *flag.Flag) { subset = subset || f.Name == "phases" || f.Name == "drains" })
	if subset {
		return "go run ./test/bench/cmd/popbench " + strings.Join(os.Args[1:], " ")
	}
	if size == "full" {
		return "make bench"
	}
	return "make bench BENCH_SIZE=" + size
}

func commit() string {
	raw, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(raw))
}

func machine() string {
	model := ""
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
