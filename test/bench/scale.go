package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Background keeps n single-op Agendas running, each Pod running runMin–runMax, replacing
// every one that finishes, until the returned stop is called (which waits for the rest).
func (r *Runner) Background(ctx context.Context, phase string, n int, runMin, runMax time.Duration) (stop func() error, err error) {
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: int32(2 * n)}); err != nil {
		return nil, err
	}
	r.Sim.SetMode(phase, Mode{RunMin: runMin, RunMax: runMax})
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n, func(i int) *popv1.Agenda { return SingleOp(phase, i) }); err != nil {
		return nil, err
	}
	if err := r.Obs.WaitFor(ctx, phase, "pods", n, timeout(n)); err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	created := n
	wg.Add(1)
	go func() {
		defer wg.Done()
		for bctx.Err() == nil {
			if deficit := n - (created - r.Obs.Count(phase, "succeeded")); deficit > 0 {
				if err := CreateAll(bctx, r.Env.Client, r.Obs, created, deficit, func(i int) *popv1.Agenda { return SingleOp(phase, i) }); err != nil {
					return
				}
				created += deficit
			}
			waitCtx(bctx, 100*time.Millisecond)
		}
	}()
	return func() error {
		cancel()
		wg.Wait()
		r.Sim.Hurry(phase)
		if err := r.Obs.WaitFor(ctx, phase, "succeeded", created, timeout(created)); err != nil {
			return err
		}
		return r.cleanup(ctx, phase)
	}, nil
}

// Loaded measures the latencies while n Agendas run in the background.
func (r *Runner) Loaded(ctx context.Context) error {
	n := r.Sizes.Running
	r.Log("phase load: starting %d background Agendas", n)
	stop, err := r.Background(ctx, "bg", n, 30*time.Second, 90*time.Second)
	if err != nil {
		return err
	}
	p := r.begin("load", fmt.Sprintf("the idle measures again with %d Agendas running (single-op, each Pod running 30–90 s, replaced as they finish)", n))
	start := time.Now()
	running := func() int { return r.Obs.Count("bg", "admitted") - r.Obs.Count("bg", "succeeded") }
	minRunning := running()
	lat, err := r.Probes(ctx, "load", r.Sizes.Probes)
	if err != nil {
		return err
	}
	minRunning = min(minRunning, running())
	chain, err := r.Chain(ctx, "loadchain", r.Sizes.Chain)
	if err != nil {
		return err
	}
	minRunning = min(minRunning, running())
	lat["freedToAdmitted"] = chain
	p.Latencies, p.Agendas, p.Operations = lat, r.Sizes.Probes, 10
	p.Figures["backgroundRunningAtLeast"] = float64(minRunning)
	p.Figures["backgroundFinished"] = float64(r.Obs.Count("bg", "succeeded"))
	p.Seconds = time.Since(start).Seconds()
	r.end(p)
	return stop()
}

// Memory queues n 10-op Agendas in a paused Insight and records the manager's RSS and a heap
// profile with them all cached.
func (r *Runner) Memory(ctx context.Context) error {
	n := r.Sizes.Cached10
	phase := "mem"
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: 1, Paused: true}); err != nil {
		return err
	}
	p := r.begin(phase, fmt.Sprintf("%d 10-op Agendas accepted and queued (paused Insight): the manager's memory with them cached", n))
	start := time.Now()
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n, func(i int) *popv1.Agenda { return FanOut(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "queued", n, timeout(n)); err != nil {
		return err
	}
	waitCtx(ctx, 5*time.Second)
	p.Seconds = time.Since(start).Seconds()
	p.PerSecond = float64(n) / p.Seconds
	rss, _ := r.Mgr.RSS()
	p.Figures["rssMB"] = float64(rss) / (1 << 20)
	if err := r.Mgr.HeapProfile(filepath.Join(r.Dir, "profiles", "mem.heap.pprof")); err != nil {
		r.Log("  heap profile: %v", err)
	}
	p.Agendas, p.Operations = n, 10
	r.end(p)
	return r.cleanup(ctx, phase)
}

// Pending fills an Insight of capacity slots with n single-op Agendas whose Pods are held,
// then measures, with n-slots pending: the manager's idle CPU, capacity freed → next
// Admitted (one held Pod released at a time) and capacity raised → next Admitted (an
// Insight change, which makes the scheduler rebuild its view of every Agenda).
func (r *Runner) Pending(ctx context.Context) error {
	n, slots := r.Sizes.Pending, 10
	phase := "pend"
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: int32(slots)}); err != nil {
		return err
	}
	r.Sim.SetMode(phase, Mode{Hold: true})
	fill := r.begin("pendfill", fmt.Sprintf("%d single-op Agendas created into an Insight of capacity %d (accepted and queued)", n, slots))
	start := time.Now()
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, n, func(i int) *popv1.Agenda { return SingleOp(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "admitted", slots, timeout(4*n)); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "queued", n-slots, timeout(4*n)); err != nil {
		return err
	}
	fill.Seconds = time.Since(start).Seconds()
	fill.PerSecond = float64(n) / fill.Seconds
	fill.Agendas, fill.Operations = n, 1
	r.end(fill)
	waitCtx(ctx, 5*time.Second)

	p := r.begin(phase, fmt.Sprintf("the scheduler with %d Agendas pending behind %d running", n-slots, slots))
	start = time.Now()
	cpu0 := r.Mgr.CPUSeconds()
	waitCtx(ctx, 20*time.Second)
	p.Figures["idleCPUSecondsPerSecond"] = (r.Mgr.CPUSeconds() - cpu0) / 20
	rss, _ := r.Mgr.RSS()
	p.Figures["rssMB"] = float64(rss) / (1 << 20)
	freed, err := r.freeSlots(ctx, phase)
	if err != nil {
		return err
	}
	raised, err := r.raiseCapacity(ctx, phase, slots)
	if err != nil {
		return err
	}
	p.Latencies["freedToAdmitted"] = freed
	p.Latencies["capacityRaisedToAdmitted"] = raised
	p.Agendas, p.Operations = n, 1
	p.Seconds = time.Since(start).Seconds()
	r.end(p)
	return nil
}

func (r *Runner) freeSlots(ctx context.Context, phase string) (Latency, error) {
	var out []time.Duration
	for range r.Sizes.Slots {
		before := r.Obs.Count(phase, "admitted")
		names := r.Sim.Release(phase, 1, false)
		if len(names) == 0 {
			return Latency{}, fmt.Errorf("no held Pod to release in %s", phase)
		}
		agenda := strings.TrimSuffix(names[0], "-main-1")
		if err := r.Obs.WaitFor(ctx, phase, "admitted", before+1, time.Minute); err != nil {
			return Latency{}, err
		}
		adm := r.Obs.Admissions(phase)
		out = append(out, adm[before].At.Sub(r.Obs.Agenda(agenda).Succeeded))
		waitCtx(ctx, 200*time.Millisecond)
	}
	return Summarise(out), nil
}

func (r *Runner) raiseCapacity(ctx context.Context, phase string, slots int) (Latency, error) {
	var out []time.Duration
	for k := range 5 {
		before := r.Obs.Count(phase, "admitted")
		start := time.Now()
		if err := PatchInsight(ctx, r.Env.Client, phase, func(s *popv1.InsightSpec) { c := int32(slots + k + 1); s.Capacity = &c }); err != nil {
			return Latency{}, err
		}
		if err := r.Obs.WaitFor(ctx, phase, "admitted", before+1, 2*time.Minute); err != nil {
			return Latency{}, err
		}
		out = append(out, r.Obs.Admissions(phase)[before].At.Sub(start))
		waitCtx(ctx, 2*time.Second)
	}
	return Summarise(out), nil
}
