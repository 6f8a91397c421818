package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sizes are the benchmark's sizes; Small fits CI, Full is what issue 13 asks for.
type Sizes struct {
	Name                string `json:"name"`
	Ceiling1, Ceiling10 int    `json:"-"`
	Single, Fan         int    `json:"-"`
	Probes, Chain       int    `json:"-"`
	Drains              []int  `json:"-"`
	Running             int    `json:"-"`
	// BgRunMin and BgRunMax bound the background Pods' run time, BgWarm how long the
	// background runs before the loaded latencies are taken.
	BgRunMin, BgRunMax, BgWarm time.Duration `json:"-"`
	// FillAbove is the backlog above which the bench writes queued Agendas itself
	// (QueueByFill) instead of having the manager queue them: the full run stays near an
	// hour, and the small one takes the same paths.
	FillAbove      int `json:"-"`
	Cached10       int `json:"-"`
	Pending, Slots int `json:"-"`
	Repeats        int `json:"-"`
}

// SizesFor returns the named sizes: "small" (CI, a few minutes) or "full".
func SizesFor(name string) (Sizes, error) {
	switch name {
	case "small":
		return Sizes{Name: name, Ceiling1: 200, Ceiling10: 40, Single: 200, Fan: 40, Probes: 10, Chain: 10,
			Drains: []int{200}, Running: 200, Cached10: 200, Pending: 1000, Slots: 10, Repeats: 1,
			BgRunMin: 10 * time.Second, BgRunMax: 30 * time.Second, BgWarm: 20 * time.Second, FillAbove: 100}, nil
	case "full":
		return Sizes{Name: name, Ceiling1: 1000, Ceiling10: 200, Single: 1000, Fan: 200, Probes: 30, Chain: 50,
			Drains: []int{1000, 10000}, Running: 1000, Cached10: 10000, Pending: 100000, Slots: 30, Repeats: 3,
			BgRunMin: 30 * time.Second, BgRunMax: 90 * time.Second, BgWarm: 60 * time.Second, FillAbove: 2000}, nil
	}
	return Sizes{}, fmt.Errorf("unknown size %q: small or full", name)
}

// Runner holds what every phase uses.
type Runner struct {
	Env   *Env
	Obs   *Observer
	Sim   *Sim
	Mgr   *Manager
	Dir   string // scratch: audit log, manager log, profiles
	Sizes Sizes
	Log   func(format string, args ...any)
	// Bin is the manager binary; earlier is what managers stopped so far used.
	Bin     string
	earlier struct {
		cpu, hwm float64
		byMethod map[string]float64
	}

	Result Result
}

// Phase is one measured step's figures.
type Phase struct {
	Name        string             `json:"name"`
	What        string             `json:"what"`
	Agendas     int                `json:"agendas"`
	Operations  int                `json:"operationsPerAgenda"`
	Seconds     float64            `json:"seconds"`
	PerSecond   float64            `json:"perSecond,omitempty"`
	Figures     map[string]float64 `json:"figures,omitempty"`
	Latencies   map[string]Latency `json:"latencies,omitempty"`
	CPUSeconds  float64            `json:"managerCPUSeconds"`
	PeakRSS     int64              `json:"managerPeakRSSBytes"`
	BenchCPU    float64            `json:"benchCPUSeconds"`
	LoadAvg     string             `json:"loadAverageAtStart"`
	Series      []float64          `json:"perSecondSeries,omitempty"`
	Requests    *Requests          `json:"managerRequests,omitempty"`
	ProfileTop  string             `json:"profileTop,omitempty"`
	ProfilePath string             `json:"-"`

	cpu0, bench0 float64
}

// Result is the whole run.
type Result struct {
	Command  string             `json:"command"`
	Size     string             `json:"size"`
	Started  time.Time          `json:"started"`
	Commit   string             `json:"commit"`
	Machine  string             `json:"machine"`
	Ceilings []Ceiling          `json:"ceilings"`
	Phases   []*Phase           `json:"phases"`
	Manager  map[string]float64 `json:"manager"`
	ByMethod map[string]float64 `json:"managerClientRequestsByMethod"`
	Notes    []string           `json:"notes,omitempty"`
}

// begin opens a phase: CPU counters, RSS window, CPU profile.
func (r *Runner) begin(name, what string) *Phase {
	r.Log("phase %s: %s", name, what)
	p := &Phase{Name: name, What: what, LoadAvg: loadAvg(), Figures: map[string]float64{}, Latencies: map[string]Latency{}}
	if r.Mgr != nil {
		p.cpu0 = r.Mgr.CPUSeconds()
		r.Mgr.ResetPeak()
		if err := r.Mgr.StartCPUProfile(); err != nil {
			r.Log("  CPU profile not started: %v", err)
		}
	}
	p.bench0 = cpuSeconds(os.Getpid())
	return p
}

// end closes a phase and records it.
func (r *Runner) end(p *Phase) {
	if r.Mgr != nil {
		p.CPUSeconds = r.Mgr.CPUSeconds() - p.cpu0
		p.PeakRSS = r.Mgr.PeakSinceReset()
		path := filepath.Join(r.Dir, "profiles", p.Name+".pprof")
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		if err := r.Mgr.StopCPUProfile(path); err == nil {
			p.ProfilePath = path
		}
	}
	p.BenchCPU = cpuSeconds(os.Getpid()) - p.bench0
	r.Result.Phases = append(r.Result.Phases, p)
	r.Log("  %s done in %.1fs: %s", p.Name, p.Seconds, brief(p))
}

func brief(p *Phase) string {
	var b strings.Builder
	if p.PerSecond > 0 {
		fmt.Fprintf(&b, "%.1f/s ", p.PerSecond)
	}
	for k, v := range p.Figures {
		fmt.Fprintf(&b, "%s=%.3g ", k, v)
	}
	for k, l := range p.Latencies {
		fmt.Fprintf(&b, "%s p50/p99=%.0f/%.0fms ", k, l.P50, l.P99)
	}
	fmt.Fprintf(&b, "cpu=%.1fs rss=%dMB", p.CPUSeconds, p.PeakRSS>>20)
	return b.String()
}

func loadAvg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// waitCtx sleeps d unless ctx ends.
func waitCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// StartManager starts the manager binary against the control plane.
func (r *Runner) StartManager(ctx context.Context) error {
	m, err := StartManager(ctx, r.Bin, r.Env.ManagerKubecfg, r.Dir)
	if err != nil {
		return err
	}
	r.Mgr = m
	r.Log("manager running (pid %d, log %s)", m.Pid(), m.Log)
	return nil
}

// StopManager stops it, keeping its CPU time and peak RSS for the run's totals.
func (r *Runner) StopManager() {
	if r.Mgr == nil {
		return
	}
	_, hwm := r.Mgr.RSS()
	if by, err := r.Mgr.RequestsByMethod(); err == nil {
		if r.earlier.byMethod == nil {
			r.earlier.byMethod = map[string]float64{}
		}
		for k, v := range by {
			r.earlier.byMethod[k] += v
		}
	}
	r.earlier.cpu += r.Mgr.CPUSeconds()
	r.earlier.hwm = max(r.earlier.hwm, float64(hwm))
	r.Mgr.Stop()
	r.Mgr = nil
}

// RequestsByMethod are the client requests of every manager process stopped so far.
func (r *Runner) RequestsByMethod() map[string]float64 { return r.earlier.byMethod }

// ManagerTotals are the CPU seconds and peak RSS of every manager process of the run.
func (r *Runner) ManagerTotals() (cpu, peakRSS float64) {
	cpu, peakRSS = r.earlier.cpu, r.earlier.hwm
	if r.Mgr != nil {
		_, hwm := r.Mgr.RSS()
		cpu += r.Mgr.CPUSeconds()
		peakRSS = max(peakRSS, float64(hwm))
	}
	return cpu, peakRSS
}
