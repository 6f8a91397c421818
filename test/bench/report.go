package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Goal is one of issue 13's goals beside the run's figure.
type Goal struct {
	Goal   string `json:"goal"`
	Figure string `json:"figure"`
	Met    bool   `json:"met"`
}

func (r *Result) phase(name string) *Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Goals compares the run with the goals; a goal whose phase did not run is left out.
func (r *Result) Goals() []Goal {
	var out []Goal
	add := func(goal string, ok bool, format string, args ...any) {
		out = append(out, Goal{Goal: goal, Figure: fmt.Sprintf(format, args...), Met: ok})
	}
	r.throughputGoals(add)
	for _, p := range r.Phases {
		if isDrain(p.Name) {
			a := p.Figures["admissionsPerSecond"]
			add(fmt.Sprintf("admission ≥ 300/s draining %d pending (%s)", p.Agendas, algoOf(p.Name)), a >= 300, "%.0f/s", a)
		}
	}
	for _, p := range r.Phases {
		if p.Agendas == 1000 && isDrain(p.Name) {
			f := p.Figures["firstPodsPerSecond"]
			add(fmt.Sprintf("backlog of 1,000 → first Pods ≥ 250/s (%s)", algoOf(p.Name)), f >= 250, "%.0f/s", f)
		}
	}
	if p := r.phase("pend"); p != nil {
		l := p.Latencies["freedToAdmitted"]
		add(fmt.Sprintf("capacity freed → next Admitted p99 ≤ 100 ms, %d pending", p.Agendas), l.P99 <= 100, "p99 %.0f ms (p50 %.0f, n=%d)", l.P99, l.P50, l.N)
	}
	for _, s := range []struct {
		phase string
		limit float64
	}{{"idle", 50}, {"load", 250}} {
		if p := r.phase(s.phase); p != nil {
			l := p.Latencies["dependencyToPod"]
			add(fmt.Sprintf("dependency → dependent Pod p99 ≤ %.0f ms (%s)", s.limit, s.phase), l.P99 <= s.limit, "p99 %.0f ms (p50 %.0f, n=%d)", l.P99, l.P50, l.N)
		}
	}
	for _, name := range []string{"tp1", "tp10"} {
		if p := r.phase(name); p != nil && p.Requests != nil {
			per := float64(p.Requests.Writes) / float64(p.Agendas)
			budget := float64(2*p.Operations + 4)
			add(fmt.Sprintf("API writes ≤ 2/operation + 4/Agenda (%d-op: ≤ %.0f)", p.Operations, budget), per <= budget, "%.1f per Agenda", per)
		}
	}
	if p := r.phase("mem"); p != nil {
		mb := float64(p.PeakRSS) / (1 << 20)
		add(fmt.Sprintf("manager RSS ≤ 300 MB with %d × 10-op Agendas", p.Agendas), mb <= 300, "peak %.0f MB (%.0f MB once queued)", mb, p.Figures["rssMB"])
	}
	return out
}

// throughputGoals judges the single-op and 10-op rates against their ceilings.
func (r *Result) throughputGoals(add func(goal string, ok bool, format string, args ...any)) {
	for _, s := range []struct{ phase, shape string }{{"tp1", "single-op"}, {"tp10", "10-op"}} {
		runs := r.runs(s.phase)
		if len(runs) == 0 {
			continue
		}
		var rates, ratios []string
		var rv, qv []float64
		for _, p := range runs {
			rv, qv = append(rv, p.PerSecond), append(qv, p.Figures["ratioToCeiling"])
			rates, ratios = append(rates, fmt.Sprintf("%.1f", p.PerSecond)), append(ratios, fmt.Sprintf("%.2f", p.Figures["ratioToCeiling"]))
		}
		ratio := Median(qv)
		add(s.shape+" Agendas ≥ 0.5 × ceiling", ratio >= 0.5, "%.1f/s = %.2f × ceiling %.1f/s (median of %d: %s/s; ratios %s)",
			Median(rv), ratio, r.ceiling(s.shape), len(runs), strings.Join(rates, ", "), strings.Join(ratios, ", "))
	}
}

// runs are the repeated runs of a phase: base, base+"r2", base+"r3"…
func (r *Result) runs(base string) []*Phase {
	var out []*Phase
	for _, p := range r.Phases {
		if p.Name == base || (strings.HasPrefix(p.Name, base+"r") && len(p.Name) > len(base)+1) {
			out = append(out, p)
		}
	}
	return out
}

func (r *Result) ceiling(shape string) float64 {
	for _, c := range r.Ceilings {
		if c.Shape == shape {
			return c.PerSecond
		}
	}
	return 0
}

// isDrain tells a drain phase (dfifo1000, dfair10000) from its fill.
func isDrain(name string) bool {
	return (strings.HasPrefix(name, "dfifo") || strings.HasPrefix(name, "dfair")) && !strings.HasSuffix(name, "fill")
}

func algoOf(phase string) string {
	if strings.HasPrefix(phase, "dfair") {
		return "Fairness, 100 customers"
	}
	return "FIFO"
}

// Markdown renders the run's tables.
func (r *Result) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("Command: `%s` · size %s · %s · commit %s · started %s\n\n", r.Command, r.Size, r.Machine, r.Commit, r.Started.Format("2006-01-02 15:04 MST"))
	w("| goal (issue 13) | this run | met |\n| --- | --- | --- |\n")
	for _, g := range r.Goals() {
		w("| %s | %s | %s |\n", g.Goal, g.Figure, map[bool]string{true: "yes", false: "**no**"}[g.Met])
	}
	w("\n| API write ceiling (%d workers, no operator) | workflows | writes each | workflows/s | writes/s |\n| --- | --- | --- | --- | --- |\n", Workers)
	for _, c := range r.Ceilings {
		w("| %s | %d | %d | %.1f | %.0f |\n", c.Shape, c.Workflows, c.WritesEach, c.PerSecond, c.WritesPerSec)
	}
	r.phaseTables(w)
	r.requestTable(w)
	r.processNotes(w)
	return b.String()
}

// phaseTables writes each phase's rates, latencies and other figures.
func (r *Result) phaseTables(w func(string, ...any)) {
	w("\n| phase | what | Agendas × ops | seconds | rate /s | manager CPU s | CPU ms / Agenda | peak RSS MB | load avg at start |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range r.Phases {
		rate := "–"
		if p.PerSecond > 0 {
			rate = fmt.Sprintf("%.1f", p.PerSecond)
		}
		w("| %s | %s | %d × %d | %.1f | %s | %.1f | %.1f | %.0f | %s |\n", p.Name, p.What, p.Agendas, p.Operations, p.Seconds, rate,
			p.CPUSeconds, 1000*p.CPUSeconds/float64(max(p.Agendas, 1)), float64(p.PeakRSS)/(1<<20), p.LoadAvg)
	}
	w("\n| phase | latency | n | p50 ms | p90 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range r.Phases {
		for _, k := range sortedKeys(p.Latencies) {
			l := p.Latencies[k]
			w("| %s | %s | %d | %.1f | %.1f | %.1f | %.1f |\n", p.Name, k, l.N, l.P50, l.P90, l.P99, l.Max)
		}
	}
	w("\n| phase | other figures |\n| --- | --- |\n")
	for _, p := range r.Phases {
		if len(p.Figures) == 0 {
			continue
		}
		var parts []string
		for _, k := range sortedKeys(p.Figures) {
			parts = append(parts, fmt.Sprintf("%s %.3g", k, p.Figures[k]))
		}
		w("| %s | %s |\n", p.Name, strings.Join(parts, " · "))
	}
}

// requestTable writes the manager's API requests per Agenda, from the audit log.
func (r *Result) requestTable(w func(string, ...any)) {
	w("\nManager API requests per Agenda, by resource and verb, with the API server's median time for one (audit log of the manager's user; 409 = refused as stale):\n\n")
	w("| phase | writes / Agenda | writes / operation | reads / Agenda | 409s / Agenda | by resource and verb (per Agenda) |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, p := range r.Phases {
		if p.Requests == nil || p.Agendas == 0 {
			continue
		}
		n := float64(p.Agendas)
		var parts []string
		for _, k := range sortedKeys(p.Requests.ByKindVerb) {
			parts = append(parts, fmt.Sprintf("%s %.2f (%.0f ms)", k, float64(p.Requests.ByKindVerb[k])/n, p.Requests.ServerP50Ms[k]))
		}
		w("| %s | %.2f | %.2f | %.2f | %.2f | %s |\n", p.Name, float64(p.Requests.Writes)/n, float64(p.Requests.Writes)/n/float64(max(p.Operations, 1)),
			float64(p.Requests.Reads)/n, float64(p.Requests.Conflicts)/n, strings.Join(parts, " · "))
	}
}

// processNotes writes the client metrics cross-check, the manager process figures and notes.
func (r *Result) processNotes(w func(string, ...any)) {
	if len(r.ByMethod) > 0 {
		w("\nCross-check, the manager processes' own client metrics over the whole run (rest_client_requests_total by method, every phase and every manager process of the run):")
		for _, k := range sortedKeys(r.ByMethod) {
			w(" %s %.0f", k, r.ByMethod[k])
		}
		w(".\n")
	}
	if len(r.Manager) > 0 {
		w("\nManager process over the run:")
		for _, k := range sortedKeys(r.Manager) {
			w(" %s %.1f;", k, r.Manager[k])
		}
		w("\n")
	}
	for _, n := range r.Notes {
		w("\n%s\n", n)
	}
}

// ProfileTops fills each phase's ProfileTop from its CPU profile (go tool pprof -top).
func (r *Result) ProfileTops() {
	for _, p := range r.Phases {
		if p.ProfilePath == "" {
			continue
		}
		flat, err1 := exec.Command("go", "tool", "pprof", "-top", "-nodecount=15", p.ProfilePath).Output()
		cum, err2 := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=30", p.ProfilePath).Output()
		if err1 == nil && err2 == nil {
			p.ProfileTop = string(flat) + "\n--- by cumulative time ---\n" + string(cum)
		}
	}
}

// Write stores results.json, results.md, the profiles (CPU per phase, heap of the memory
// phase, found in scratch) with their tops, and the plots in dir.
func (r *Result) Write(dir, scratch string) error {
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o755); err != nil {
		return err
	}
	if _, err := Plots(r, dir); err != nil {
		return err
	}
	for _, p := range r.Phases { // the JSON keeps the samples of the small sets only
		for k, l := range p.Latencies {
			if l.N > 1000 {
				l.Samples = nil
				p.Latencies[k] = l
			}
		}
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	return r.saveProfiles(dir, scratch)
}

// saveProfiles copies each phase's CPU profile and its top, and the memory phase's heap
// profile, into the results.
func (r *Result) saveProfiles(dir, scratch string) error {
	for _, p := range r.Phases {
		if p.ProfileTop != "" {
			if err := os.WriteFile(filepath.Join(dir, "profiles", p.Name+".top.txt"), []byte(p.ProfileTop), 0o644); err != nil {
				return err
			}
		}
		if p.ProfilePath != "" {
			if raw, err := os.ReadFile(p.ProfilePath); err == nil {
				_ = os.WriteFile(filepath.Join(dir, "profiles", p.Name+".pprof"), raw, 0o644)
			}
		}
	}
	if raw, err := os.ReadFile(filepath.Join(scratch, "profiles", "mem.heap.pprof")); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "profiles", "mem.heap.pprof"), raw, 0o644)
		if top, err := exec.Command("go", "tool", "pprof", "-top", "-sample_index=inuse_space", "-nodecount=25",
			filepath.Join(dir, "profiles", "mem.heap.pprof")).Output(); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "profiles", "mem.heap.top.txt"), top, 0o644)
		}
	}
	return nil
}
