package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// LargeHandlerType keeps outputs up to 4 KiB, the bound, for the large phase.
const LargeHandlerType = "bench-large"

// pad4K is a JSON string of 4,000 bytes: echoed by the simulator, every large Agenda's output
// is about 4 KiB.
var pad4K = strings.Repeat("x", 3998)

// LargeShape is one Agenda of the large phase.
type LargeShape struct {
	Name  string
	Ops   int // operations in the whole list (a fan-out counts its own entry)
	Build func(name, ns string) *popv1.Agenda
}

// LargeShapes are issue 14's shapes at the run's size: fan-outs of growing width (the
// bytes per operation must stay flat), a chain and a random DAG.
func LargeShapes(full bool) []LargeShape {
	widths, chain, random := []int{10, 100, 1000}, 200, 200
	if full {
		widths, chain, random = []int{10, 100, 1000, 10000}, 1000, 1000
	}
	var out []LargeShape
	for _, n := range widths {
		out = append(out, LargeShape{Name: fmt.Sprintf("fan%d", n), Ops: n + 1, Build: func(name, ns string) *popv1.Agenda {
			return builders.MakeAgenda(name, ns).Op("encode", LargeHandlerType, map[string]any{"i": "@<item>", "pad": pad4K}).
				ForEach(make([]any, n)).Obj()
		}})
	}
	out = append(out, LargeShape{Name: fmt.Sprintf("chain%d", chain), Ops: chain, Build: func(name, ns string) *popv1.Agenda {
		w := builders.MakeAgenda(name, ns).Op("step-0", LargeHandlerType, pad4K)
		for i := 1; i < chain; i++ {
			w.Op(fmt.Sprintf("step-%d", i), LargeHandlerType, fmt.Sprintf("@<step-%d.out>", i-1))
		}
		return w.Obj()
	}})
	out = append(out, LargeShape{Name: fmt.Sprintf("dag%d", random), Ops: random, Build: func(name, ns string) *popv1.Agenda {
		return randomDAG(name, ns, random)
	}})
	return out
}

// randomDAG is n operations, each after 1 to 3 earlier ones picked at random (seeded: every
// run has the same graph), its payload the first one's output.
func randomDAG(name, ns string, n int) *popv1.Agenda {
	rng := rand.New(rand.NewPCG(14, uint64(n)))
	w := builders.MakeAgenda(name, ns).Op("op-0", LargeHandlerType, pad4K)
	for i := 1; i < n; i++ {
		first := rng.IntN(i)
		w.Op(fmt.Sprintf("op-%d", i), LargeHandlerType, fmt.Sprintf("@<op-%d.out>", first))
		for range rng.IntN(3) {
			if d := rng.IntN(i); d != first {
				w.DependsOn(fmt.Sprintf("op-%d", d))
			}
		}
	}
	ag := w.Obj()
	for i := range ag.Spec.Operations { // DependsOn may repeat a name
		ag.Spec.Operations[i].DependsOn = unique(ag.Spec.Operations[i].DependsOn)
	}
	return ag
}

func unique(s []string) []string {
	seen, out := map[string]bool{}, s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v], out = true, append(out, v)
		}
	}
	return out
}

// Large runs issue 14's shapes one at a time, 4 KiB outputs on every operation, and records
// per Agenda: time from creation to Succeeded, bytes etcd received per operation, the largest
// Agenda and OperationShard versions stored, and the manager's RSS.
func (r *Runner) Large(ctx context.Context, full bool) error {
	ht := builders.MakeHandlerType(LargeHandlerType, OperatorNamespace, "bench/echo:1").Outputs(popv1.OutputTerminationMessage, 4096).Obj()
	if err := r.Env.Client.Create(ctx, ht); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	for _, sh := range LargeShapes(full) {
		if err := r.large(ctx, sh); err != nil {
			return fmt.Errorf("%s: %w", sh.Name, err)
		}
	}
	return nil
}

func (r *Runner) large(ctx context.Context, sh LargeShape) error {
	phase := "lg" + sh.Name
	p := r.begin(phase, fmt.Sprintf("one Agenda, %s, %d operations, 4 KiB outputs", sh.Name, sh.Ops))
	if err := CreateInsight(ctx, r.Env.Client, phase, InsightSpec{Algorithm: popv1.FIFO, Capacity: 1}); err != nil {
		return err
	}
	ns := CustomerNamespace(0)
	sizes, err := watchSizes(ctx, r.Env, ns, phase)
	if err != nil {
		return err
	}
	etcd0, err := etcdReceivedBytes(r.Env)
	if err != nil {
		return err
	}
	ag := sh.Build(AgendaName(phase, 0), ns)
	ag.Labels = map[string]string{PhaseLabel: phase}
	ag.Spec.Insight = OperatorNamespace + "/" + phase
	start := time.Now()
	if err := CreateAll(ctx, r.Env.Client, r.Obs, 0, 1, func(int) *popv1.Agenda { return ag }); err != nil {
		return err
	}
	if err := r.Obs.WaitFor(ctx, phase, "succeeded", 1, timeout(sh.Ops*20)); err != nil {
		return err
	}
	p.Seconds = r.Obs.Agenda(ag.Name).Succeeded.Sub(start).Seconds()
	etcd1, err := etcdReceivedBytes(r.Env)
	if err != nil {
		return err
	}
	agendaMax, shardMax, shardCount := sizes.stop()
	rss, _ := r.Mgr.RSS()
	p.Agendas, p.Operations = 1, sh.Ops
	p.Figures["secondsToSucceeded"] = p.Seconds
	p.Figures["millisecondsPerOperation"] = p.Seconds * 1000 / float64(sh.Ops)
	p.Figures["etcdBytesPerOperation"] = (etcd1 - etcd0) / float64(sh.Ops)
	p.Figures["largestAgendaBytes"] = float64(agendaMax)
	p.Figures["largestShardBytes"] = float64(shardMax)
	p.Figures["shardVersions"] = float64(shardCount)
	p.Figures["rssMB"] = float64(rss) / (1 << 20)
	r.end(p)
	return r.cleanup(ctx, phase)
}

// etcdReceivedBytes is what etcd received from its clients (the API server) so far: its
// etcd_network_client_grpc_received_bytes_total, which is every write's bytes (and the
// reads' small requests).
func etcdReceivedBytes(e *Env) (float64, error) {
	u := e.Env.ControlPlane.Etcd.URL
	if u == nil {
		return 0, fmt.Errorf("etcd's URL is unknown")
	}
	resp, err := http.Get(u.String() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "etcd_network_client_grpc_received_bytes_total") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return 0, fmt.Errorf("etcd's metrics have no etcd_network_client_grpc_received_bytes_total")
	}
	return sum, sc.Err()
}

// sizeWatch records the largest Agenda and OperationShard versions stored in a namespace,
// of the phase's Agenda only: a new watch first lists what earlier phases left there (the
// garbage collector that would delete their shards does not run on envtest).
type sizeWatch struct {
	mu                sync.Mutex
	phase             string
	agenda, shard, nS int
	cancel            context.CancelFunc
	wg                sync.WaitGroup
}

func watchSizes(ctx context.Context, e *Env, ns, phase string) (*sizeWatch, error) {
	wc, err := client.NewWithWatch(e.Config, client.Options{Scheme: e.Client.Scheme()})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	s := &sizeWatch{cancel: cancel, phase: phase}
	for _, list := range []client.ObjectList{&popv1.AgendaList{}, &popv1.OperationShardList{}} {
		w, err := wc.Watch(wctx, list, client.InNamespace(ns))
		if err != nil {
			cancel()
			return nil, err
		}
		s.wg.Add(1)
		go s.follow(w)
	}
	return s, nil
}

func (s *sizeWatch) follow(w watch.Interface) {
	defer s.wg.Done()
	for ev := range w.ResultChan() {
		if ev.Type != watch.Added && ev.Type != watch.Modified {
			continue
		}
		b, err := json.Marshal(ev.Object)
		if err != nil {
			continue
		}
		s.mu.Lock()
		switch o := ev.Object.(type) {
		case *popv1.Agenda:
			if PhaseOf(o.Name) == s.phase {
				s.agenda = max(s.agenda, len(b))
			}
		case *popv1.OperationShard:
			if PhaseOf(o.Agenda) == s.phase {
				s.shard, s.nS = max(s.shard, len(b)), s.nS+1
			}
		}
		s.mu.Unlock()
	}
}

// stop ends the watches: the largest Agenda, the largest shard and the shard versions seen.
func (s *sizeWatch) stop() (agenda, shard, shards int) {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agenda, s.shard, s.nS
}
