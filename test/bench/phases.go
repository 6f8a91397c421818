package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// timeout for waits that depend on n Agendas: generous, since the figures are what counts.
func timeout(n int) time.Duration { return 2*time.Minute + time.Duration(n)*50*time.Millisecond }

// Ceilings measures the write ceiling of both shapes, Repeats times each, before the
// manager starts, and removes what it wrote.
func (r *Runner) Ceilings(ctx context.Context) error {
	shapes := []struct {
		name  string
		n     int
		build func(string, int) *popv1.Agenda
	}{{"single-op", r.Sizes.Ceiling1, SingleOp}, {"10-op", r.Sizes.Ceiling10, FanOut}}
	var phases []string
	for _, s := range shapes {
		var runs []Ceiling
		for k := range r.Sizes.Repeats {
			phase := fmt.Sprintf("ceil%d%c", len(s.build("x", 0).Spec.Operations), 'a'+k)
			phases = append(phases, phase)
			c, err := MeasureCeiling(ctx, r.Env.Client, s.name, s.n, func(i int) *popv1.Agenda { return s.build(phase, i) })
			if err != nil {
				return err
			}
			r.Log("ceiling %s run %d: %.1f workflows/s (%.0f writes/s)", s.name, k+1, c.PerSecond, c.WritesPerSec)
			runs = append(runs, c)
		}
		r.Result.Ceilings = append(r.Result.Ceilings, medianCeiling(runs))
	}
	return DeleteCeiling(ctx, r.Env.Client, phases...)
}

func medianCeiling(runs []Ceiling) Ceiling {
	var rates []float64
	for _, c := range runs {
		rates = append(rates, c.PerSecond)
	}
	m := runs[0]
	m.PerSecond = Median(rates)
	m.WritesPerSec = m.PerSecond * float64(m.WritesEach)
	m.Seconds = float64(m.Workflows) / m.PerSecond
	return m
}

// Ceiling returns the measured ceiling of a shape ("single-op" or "10-op").
func (r *Runner) Ceiling(shape string) float64 {
	for _, c := range r.Result.Ceilings {
		if c.Shape == shape {
			return c.PerSecond
		}
	}
	return 0
}

// Probes creates n FanOut Agendas one after another, each once the previous succeeded, and
// measures create → Admitted, dependency done → dependent Pod seen, last Pod done → Succeeded.
func (r *Runner) Probes(ctx context.Context, phase string, n int) (map[string]Latency, error) {
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: 1000}); err != nil {
		return nil, err
	}
	var admit, dep, done []time.Duration
	deps := Dependencies()
	for i := range n {
		ag := FanOut(phase, i)
		if err := createRetrying(ctx, r.Env.Client, ag); err != nil {
			return nil, err
		}
		r.Obs.Created(ag.Name, time.Now())
		deadline := time.Now().Add(time.Minute)
		for r.Obs.Agenda(ag.Name).Succeeded.IsZero() {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("probe %s did not succeed within a minute", ag.Name)
			}
			waitCtx(ctx, 2*time.Millisecond)
		}
		t := r.Obs.Agenda(ag.Name)
		admit = append(admit, t.Admitted.Sub(t.Created))
		var lastDone time.Time
		for op, on := range deps {
			pt := r.Obs.PodOf(ag.Name, op)
			if pt.Done.After(lastDone) {
				lastDone = pt.Done
			}
			if len(on) == 0 {
				continue
			}
			var ready time.Time
			for _, d := range on {
				if dt := r.Obs.PodOf(ag.Name, d).Done; dt.After(ready) {
					ready = dt
				}
			}
			dep = append(dep, pt.Seen.Sub(ready))
		}
		done = append(done, t.Succeeded.Sub(lastDone))
	}
	return map[string]Latency{"createToAdmitted": Summarise(admit), "dependencyToPod": Summarise(dep),
		"lastPodToSucceeded": Summarise(done)}, nil
}

// Chain queues n+1 single-op Agendas in an Insight of capacity 1 and measures each
// Succeeded (capacity freed) → the next Admitted.
func (r *Runner) Chain(ctx context.Context, phase string, n int) (Latency, error) {
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: 1}); err != nil {
		return Latency{}, err
	}
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n+1, func(i int) *popv1.Agenda { return SingleOp(phase, i) }); err != nil {
		return Latency{}, err
	}
	if err := r.Obs.WaitFor(ctx, phase, "succeeded", n+1, timeout(n*20)); err != nil {
		return Latency{}, err
	}
	adm, suc := r.Obs.Admissions(phase), r.Obs.Successes(phase)
	var freed []time.Duration
	for i := 0; i < n && i+1 < len(adm); i++ {
		freed = append(freed, adm[i+1].At.Sub(suc[i].At))
	}
	return Summarise(freed), nil
}

// Idle measures the latencies with nothing else running.
func (r *Runner) Idle(ctx context.Context) error {
	p := r.begin("idle", fmt.Sprintf("latencies with nothing else running: %d 10-op probes one at a time, a capacity-1 chain of %d", r.Sizes.Probes, r.Sizes.Chain))
	start := time.Now()
	lat, err := r.Probes(ctx, "idle", r.Sizes.Probes)
	if err != nil {
		return err
	}
	chain, err := r.Chain(ctx, "idlechain", r.Sizes.Chain)
	if err != nil {
		return err
	}
	lat["freedToAdmitted"] = chain
	p.Latencies, p.Agendas, p.Operations = lat, r.Sizes.Probes, 10
	p.Seconds = time.Since(start).Seconds()
	r.end(p)
	return nil
}

// Throughput runs n Agendas of a shape through the manager, created by Workers clients into
// an Insight that never fills, and measures create → Succeeded of them all.
func (r *Runner) Throughput(ctx context.Context, phase, shape string, n int, build func(string, int) *popv1.Agenda) error {
	ops := len(build(phase, 0).Spec.Operations)
	p := r.begin(phase, fmt.Sprintf("%d %s Agendas created by %d clients, run to Succeeded", n, shape, Workers))
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: int32(2 * n)}); err != nil {
		return err
	}
	start := time.Now()
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n, func(i int) *popv1.Agenda { return build(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "succeeded", n, timeout(n*ops)); err != nil {
		return err
	}
	suc := r.Obs.Successes(phase)
	last := suc[len(suc)-1].At
	p.Agendas, p.Operations = n, ops
	p.Seconds = last.Sub(start).Seconds()
	p.PerSecond = float64(n) / p.Seconds
	if c := r.Ceiling(shape); c > 0 {
		p.Figures["ratioToCeiling"] = p.PerSecond / c
	}
	p.Series = PerSecond(start, times(suc))
	var admit []time.Duration
	for i := range n {
		t := r.Obs.Agenda(AgendaName(phase, i))
		admit = append(admit, t.Admitted.Sub(t.Created))
	}
	p.Latencies["createToAdmitted"] = Summarise(admit)
	r.end(p)
	return nil
}

func times(evs []Event) []time.Time {
	out := make([]time.Time, len(evs))
	for i, e := range evs {
		out[i] = e.At
	}
	return out
}

// Drain queues n single-op Agendas in a paused Insight (capacity 2n), unpauses it and
// measures admissions/s and first Pods/s until all are admitted and have their Pod; the Pods
// are held meanwhile, then released and the phase cleaned away.
func (r *Runner) Drain(ctx context.Context, algo popv1.SchedulingAlgorithm, n int) error {
	phase := fmt.Sprintf("d%s%d", map[popv1.SchedulingAlgorithm]string{popv1.FIFO: "fifo", popv1.Fairness: "fair"}[algo], n)
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: algo, Capacity: int32(2 * n), Paused: true}); err != nil {
		return err
	}
	r.Sim.SetMode(phase, Mode{Hold: true})
	r.Log("phase %s: queueing %d Agendas", phase, n)
	how := "queued through the manager"
	if err := r.Queue(ctx, phase, n, SingleOp); err != nil {
		return err
	}
	if n > r.Sizes.FillAbove {
		how = "queued by the bench, manager restarted"
	}
	p := r.begin(phase, fmt.Sprintf("%d pending single-op Agendas (%s, %d customers, capacity %d; %s) drained after unpausing", n, algo, Customers, 2*n, how))
	start := time.Now()
	if err := PatchInsight(ctx, r.Env.Client, phase, func(s *popv1.InsightSpec) { s.Paused = false }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "admitted", n, timeout(n)); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "pods", n, timeout(n)); err != nil {
		return err
	}
	adm := r.Obs.Admissions(phase)
	var wait, toPod []time.Duration
	var lastPod time.Time
	for _, e := range adm {
		wait = append(wait, e.At.Sub(start))
		pt := r.Obs.PodOf(e.Name, "main")
		toPod = append(toPod, pt.Seen.Sub(start))
		if pt.Seen.After(lastPod) {
			lastPod = pt.Seen
		}
	}
	lastAdm := adm[len(adm)-1].At
	p.Agendas, p.Operations = n, 1
	p.Seconds = lastPod.Sub(start).Seconds()
	p.PerSecond = float64(n) / lastAdm.Sub(start).Seconds()
	p.Figures["admissionsPerSecond"] = p.PerSecond
	p.Figures["firstPodsPerSecond"] = float64(n) / lastPod.Sub(start).Seconds()
	if algo == popv1.Fairness {
		p.Figures["customersInFirstHundredAdmissions"] = float64(customersIn(adm, 100))
	}
	p.Latencies["unpauseToAdmitted"] = Summarise(wait)
	p.Latencies["unpauseToFirstPod"] = Summarise(toPod)
	p.Series = PerSecond(start, times(adm))
	r.end(p)
	return r.cleanup(ctx, phase)
}

func customersIn(adm []Event, k int) int {
	seen := map[string]bool{}
	for i := 0; i < k && i < len(adm); i++ {
		var idx int
		_, _ = fmt.Sscanf(adm[i].Name[len(adm[i].Name)-6:], "%d", &idx)
		seen[CustomerNamespace(idx)] = true
	}
	return len(seen)
}

// cleanup deletes a phase's Agendas and whatever Pods they left (envtest runs no garbage
// collector), so that the next phase starts from caches without them.
func (r *Runner) cleanup(ctx context.Context, phase string) error {
	if err := DeletePhase(ctx, r.Env.Client, phase); err != nil {
		return err
	}
	if err := DeletePods(ctx, r.Env.Client, phase); err != nil {
		return err
	}
	r.Obs.Forget(phase)
	r.Sim.Forget(phase)
	return nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Queue queues n Agendas of a phase in its paused Insight and lets the manager go quiet.
func (r *Runner) Queue(ctx context.Context, phase string, n int, build func(string, int) *popv1.Agenda) error {
	if n > r.Sizes.FillAbove {
		return r.QueueByFill(ctx, phase, n, build)
	}
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n, func(i int) *popv1.Agenda { return build(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "queued", n, timeout(4*n)); err != nil {
		return err
	}
	waitCtx(ctx, 3*time.Second) // let the manager finish what queueing started (Events)
	return nil
}
