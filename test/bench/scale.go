package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

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
		return r.cleanup(ctx, phase)
	}, nil
}

// Loaded measures the latencies while n Agendas run in the background.
func (r *Runner) Loaded(ctx context.Context) error {
	n := r.Sizes.Running
	r.Log("phase load: starting %d background Agendas", n)
	s := r.Sizes
	stop, err := r.Background(ctx, "bg", n, s.BgRunMin, s.BgRunMax)
	if err != nil {
		return err
	}
	r.Log("phase load: letting the background run %s", s.BgWarm)
	waitCtx(ctx, s.BgWarm)
	p := r.begin("load", fmt.Sprintf("the idle measures again with %d Agendas running (single-op, each Pod running %s–%s, replaced as they finish; measured after %s)",
		n, s.BgRunMin, s.BgRunMax, s.BgWarm))
	start := time.Now()
	bgDone0 := r.Obs.Count("bg", "succeeded")
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
	p.Figures["backgroundFinishedDuringMeasure"] = float64(r.Obs.Count("bg", "succeeded") - bgDone0)
	p.Seconds = time.Since(start).Seconds()
	r.end(p)
	return stop()
}

// Memory queues n 10-op Agendas in a paused Insight and records the manager's RSS and a heap
// profile with them all cached.
func (r *Runner) Memory(ctx context.Context) error {
	n, phase := r.Sizes.Cached10, "mem"
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: 1, Paused: true}); err != nil {
		return err
	}
	start := time.Now()
	how := "queued through the manager"
	if n > r.Sizes.FillAbove {
		how = "queued by the bench, manager restarted"
	}
	if err := r.Queue(ctx, phase, n, FanOut); err != nil {
		return err
	}
	p := r.begin(phase, fmt.Sprintf("%d 10-op Agendas accepted and queued (paused Insight; %s): the manager's memory with them cached", n, how))
	waitCtx(ctx, 5*time.Second)
	p.Seconds = time.Since(start).Seconds()
	rss, _ := r.Mgr.RSS()
	p.Figures["rssMB"] = float64(rss) / (1 << 20)
	if err := r.Mgr.HeapProfile(filepath.Join(r.Dir, "profiles", "mem.heap.pprof")); err != nil {
		r.Log("  heap profile: %v", err)
	}
	p.Agendas, p.Operations = n, 10
	r.end(p)
	return r.cleanup(ctx, phase)
}

// Pending measures the scheduler with n Agendas in etcd, slots of them admitted (their Pods
// held) and the rest queued. Filling etcd through the manager costs its writes for every
// Agenda (docs/benchmarks.md counts them, and how long 100,000 take), so only the first
// slots+1 go through it; the manager is then stopped, the rest created by the bench with
// the very status the manager gave the queued one (Accepted, Queued), and the manager
// started again — so the phase also measures a manager start with n Agendas to rebuild.
// Then, with n-slots pending: idle CPU, capacity freed → next Admitted (one held Pod released
// at a time) and capacity raised → next Admitted (an Insight change, after which the
// scheduler re-reads every Agenda).
func (r *Runner) Pending(ctx context.Context) error {
	n, slots, phase := r.Sizes.Pending, 10, "pend"
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: int32(slots)}); err != nil {
		return err
	}
	// Running: these Pods are held for the whole fill, longer than a pendingTimeout.
	r.Sim.SetMode(phase, Mode{Hold: true, Running: true})
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, slots+1, func(i int) *popv1.Agenda { return SingleOp(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "admitted", slots, time.Minute); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "queued", 1, time.Minute); err != nil {
		return err
	}
	waitCtx(ctx, 2*time.Second)
	tmpl, err := r.waitingTemplate(ctx, phase)
	if err != nil {
		return err
	}
	r.StopManager()
	if err := r.fill(ctx, phase, SingleOp, slots+1, n-slots-1, tmpl.Status); err != nil {
		return err
	}
	if err := r.restart(ctx, phase, n, n-slots, "pendstart"); err != nil {
		return err
	}
	p := r.begin(phase, fmt.Sprintf("the scheduler with %d Agendas pending behind %d running", n-slots, slots))
	start := time.Now()
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

// waitingTemplate reads a queued, not admitted Agenda of the phase: the status the manager
// gives such an Agenda.
func (r *Runner) waitingTemplate(ctx context.Context, phase string) (*popv1.Agenda, error) {
	name, ok := r.Obs.Waiting(phase)
	if !ok {
		return nil, fmt.Errorf("phase %s: no queued Agenda to copy the status of", phase)
	}
	var list popv1.AgendaList
	if err := r.Env.Client.List(ctx, &list, client.MatchingLabels{PhaseLabel: phase}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Name == name {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("phase %s: Agenda %s not found", phase, name)
}

// fill creates Agendas first..first+n-1 of the phase with the given status, manager stopped.
func (r *Runner) fill(ctx context.Context, phase string, build func(string, int) *popv1.Agenda, first, n int, st popv1.AgendaStatus) error {
	p := &Phase{Name: phase + "fill", What: fmt.Sprintf("%d queued Agendas written by the bench (create + status), manager stopped", n),
		LoadAvg: loadAvg(), Agendas: n, Operations: len(build(phase, 0).Spec.Operations)}
	r.Log("phase %s: %s", p.Name, p.What)
	start := time.Now()
	err := CreateAllThen(ctx, r.Env.Client, r.Obs, first, n, func(i int) *popv1.Agenda { return build(phase, i) },
		func(ag *popv1.Agenda) error {
			before := ag.DeepCopy()
			ag.Status = *st.DeepCopy()
			return r.Env.Client.Status().Patch(ctx, ag, client.MergeFrom(before))
		})
	if err != nil {
		return err
	}
	p.Seconds = time.Since(start).Seconds()
	p.PerSecond = float64(n) / p.Seconds
	r.Result.Phases = append(r.Result.Phases, p)
	r.Log("  %s done in %.1fs: %.0f/s", p.Name, p.Seconds, p.PerSecond)
	return nil
}

// restart starts the manager again and measures how long it takes to be ready, to show the
// whole queue (pending) in the Insight's status, and to go quiet (CPU under 5 % of a core
// for 3 s); record names the phase it records, none when empty.
func (r *Runner) restart(ctx context.Context, phase string, n, pending int, record string) error {
	start := time.Now()
	if err := r.StartManager(ctx); err != nil {
		return err
	}
	p := r.begin(record, fmt.Sprintf("manager start with %d Agendas in etcd (%d pending)", n, pending))
	p.cpu0 = 0 // the whole process life
	p.Figures["readySeconds"] = time.Since(start).Seconds()
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		var ins popv1.Insight
		if err := r.Env.Client.Get(ctx, client.ObjectKey{Namespace: OperatorNamespace, Name: phase}, &ins); err == nil &&
			int(ins.Status.Pending) >= pending {
			break
		}
		waitCtx(ctx, 200*time.Millisecond)
	}
	p.Figures["queueInStatusSeconds"] = time.Since(start).Seconds()
	quiet, last := 0, r.Mgr.CPUSeconds()
	for quiet < 3 && time.Now().Before(deadline) {
		waitCtx(ctx, time.Second)
		now := r.Mgr.CPUSeconds()
		if now-last < 0.05 {
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
	p.Seconds = time.Since(start).Seconds()
	p.Figures["quietSeconds"] = p.Seconds
	p.Agendas, p.Operations = n, 1
	if record != "" {
		r.end(p)
	} else if r.Mgr != nil {
		_ = r.Mgr.StopCPUProfile(filepath.Join(r.Dir, "profiles", "start-"+phase+".pprof"))
	}
	return nil
}

// QueueByFill queues n Agendas of a phase (build) in its paused Insight: the first through
// the manager, whose status is the template; the rest written by the bench with the manager
// stopped, which is then started again and left to go quiet.
func (r *Runner) QueueByFill(ctx context.Context, phase string, n int, build func(string, int) *popv1.Agenda) error {
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, 1, func(i int) *popv1.Agenda { return build(phase, i) }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "queued", 1, time.Minute); err != nil {
		return err
	}
	waitCtx(ctx, 2*time.Second)
	tmpl, err := r.waitingTemplate(ctx, phase)
	if err != nil {
		return err
	}
	r.StopManager()
	if err := r.fill(ctx, phase, build, 1, n-1, tmpl.Status); err != nil {
		return err
	}
	return r.restart(ctx, phase, n, n, "")
}

func (r *Runner) freeSlots(ctx context.Context, phase string) (Latency, error) {
	var out []time.Duration
	for range r.Sizes.Slots {
		before := r.Obs.Count(phase, "admitted")
		names := r.Sim.Release(phase, 1, false)
		if len(names) == 0 {
			return Latency{}, fmt.Errorf("no held Pod to release in %s", phase)
		}
		agenda := names[0]
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
