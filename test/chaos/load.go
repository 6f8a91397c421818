package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// The run's HandlerTypes: one without retries, one with two retries and a 1 s backoff.
const (
	EchoType  = "chaos-echo"
	RetryType = "chaos-retry"
	// Retries is RetryType's retry limit.
	Retries = 2
	// Customers is how many customer namespaces (ch00…) the load spreads over.
	Customers = 8
	// Width is the fan-out of the 10-operation DAG: split → Width workers → join.
	Width = 8
)

// Insights are the run's queues, small capacities so that admission is contended.
var Insights = []struct {
	Name      string
	Algorithm popv1.SchedulingAlgorithm
	Capacity  int32
}{{"fifo", popv1.FIFO, 3}, {"fair", popv1.Fairness, 4}, {"prio", popv1.Priority, 3}}

// Capacities maps each Insight (namespace/name) to its capacity.
func Capacities() map[string]int {
	out := map[string]int{}
	for _, i := range Insights {
		out[OperatorNamespace+"/"+i.Name] = int(i.Capacity)
	}
	return out
}

// Customer is customer i's namespace.
func Customer(i int) string { return fmt.Sprintf("ch%02d", i%Customers) }

// Seed creates the namespaces, HandlerTypes and Insights.
func Seed(ctx context.Context, c client.Client) error {
	objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}}}
	for i := range Customers {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Customer(i),
			Labels: map[string]string{popv1.CustomerLabel: Customer(i)}}})
	}
	objs = append(objs, builders.MakeHandlerType(EchoType, OperatorNamespace, "chaos/echo:1").Obj())
	retry := builders.MakeHandlerType(RetryType, OperatorNamespace, "chaos/echo:1").Obj()
	retry.Spec.Retries = &popv1.RetrySpec{Limit: Retries, Backoff: &popv1.BackoffSpec{Initial: &metav1.Duration{Duration: time.Second},
		Factor: 1, Max: &metav1.Duration{Duration: time.Second}}}
	objs = append(objs, retry)
	for _, in := range Insights {
		w := builders.MakeInsight(in.Name, OperatorNamespace).Algorithm(in.Algorithm).Capacity(in.Capacity)
		if in.Algorithm == popv1.Fairness {
			w = w.Weight(Customer(0), 3)
		}
		objs = append(objs, w.Obj())
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Kinds of Agenda in the mix, with their share (per 20) and what they must end as.
var kinds = []struct {
	name  string
	share int
	want  popv1.AgendaPhase
}{
	{"single", 8, popv1.PhaseSucceeded},    // one operation
	{"dag10", 5, popv1.PhaseSucceeded},     // split → 8 → join
	{"retried", 3, popv1.PhaseSucceeded},   // two failing attempts, the third succeeds
	{"exhausted", 2, popv1.PhaseFailed},    // every attempt fails: 3 attempts, then Failed
	{"cancelled", 2, popv1.PhaseCancelled}, // its Pod runs until the Agenda is cancelled
}

// KindOf is the kind of Agenda i.
func KindOf(i int) (string, popv1.AgendaPhase) {
	k := (i * 7) % 20 // spreads kinds over the sequence
	for _, x := range kinds {
		if k < x.share {
			return x.name, x.want
		}
		k -= x.share
	}
	panic("unreachable")
}

func chaosPayload(i int, b Behaviour, extra map[string]any) map[string]any {
	p := map[string]any{"i": i, "chaos": b}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// BuildAgenda is Agenda i of the mix and what the auditor must see become of it.
func BuildAgenda(i int, rnd *rand.Rand) (*popv1.Agenda, Expected) {
	kind, want := KindOf(i)
	name := fmt.Sprintf("%s-%05d", kind, i)
	w := builders.MakeAgenda(name, Customer(i))
	run := func() Behaviour { return Behaviour{RunMs: 50 + rnd.IntN(400)} }
	x := Expected{Key: Customer(i) + "/" + name, Kind: kind, Want: want, MaxAttempts: map[string]int{}}
	switch kind {
	case "dag10":
		w.Op("split", EchoType, chaosPayload(i, run(), map[string]any{"n": Width}))
		parts := make([]string, Width)
		for k := range Width {
			op := fmt.Sprintf("w%d", k)
			w.Op(op, EchoType, chaosPayload(k, run(), map[string]any{"from": "@<split.out::/n>"}))
			parts[k] = "@<" + op + ".out>"
			x.MaxAttempts[op] = 1
		}
		w.Op("join", EchoType, chaosPayload(i, run(), map[string]any{"parts": parts}))
		x.MaxAttempts["split"], x.MaxAttempts["join"] = 1, 1
	case "retried", "exhausted":
		b := run()
		b.FailAttempts = Retries
		if kind == "exhausted" {
			b.FailAttempts = 99
		}
		w.Op("main", RetryType, chaosPayload(i, b, nil))
		x.MaxAttempts["main"] = Retries + 1
	case "cancelled":
		w.Op("main", EchoType, chaosPayload(i, Behaviour{Hold: true}, nil))
		x.MaxAttempts["main"] = 1
	default:
		w.Op("main", EchoType, chaosPayload(i, run(), nil))
		x.MaxAttempts["main"] = 1
	}
	ag := w.Obj()
	in := Insights[i%len(Insights)]
	ag.Spec.Insight = OperatorNamespace + "/" + in.Name
	if in.Algorithm == popv1.Priority {
		ag.Spec.Priority = int32(rnd.IntN(10))
	}
	return ag, x
}

// Loader creates the mix at a steady rate and cancels the "cancelled" kind a while after
// creating it. Every call is retried until it succeeds: the run's faults make calls fail
// (an unreachable webhook refuses creates, a restarting API server refuses everything).
type Loader struct {
	C   client.Client
	Log func(string, ...any)

	mu       sync.Mutex
	expected []Expected
	refused  int // calls that failed and were retried
	created  []time.Time
	wg       sync.WaitGroup
	next     int
	rnd      *rand.Rand
}

// NewLoader returns a loader writing through c.
func NewLoader(c client.Client, seed uint64) *Loader {
	return &Loader{C: c, rnd: rand.New(rand.NewPCG(seed, 15))}
}

// Submit creates n more Agendas over the duration d (evenly spread), returning when the last
// create returned.
func (l *Loader) Submit(ctx context.Context, n int, d time.Duration) {
	gap := d / time.Duration(max(n, 1))
	for range n {
		l.mu.Lock()
		i := l.next
		l.next++
		ag, x := BuildAgenda(i, l.rnd)
		delay := time.Duration(1000+l.rnd.IntN(3000)) * time.Millisecond
		l.mu.Unlock()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if !l.retry(ctx, func() error { return l.create(ctx, ag) }) {
				return
			}
			l.mu.Lock()
			l.expected = append(l.expected, x)
			l.created = append(l.created, time.Now())
			l.mu.Unlock()
			if x.Kind == "cancelled" {
				sleep(ctx, delay)
				l.retry(ctx, func() error { return l.cancel(ctx, ag) })
			}
		}()
		sleep(ctx, gap)
	}
}

// Wait waits for every create and cancel in flight.
func (l *Loader) Wait() { l.wg.Wait() }

// Expected is every Agenda created so far.
func (l *Loader) Expected() []Expected {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Expected(nil), l.expected...)
}

// Refused is how many calls failed and were retried.
func (l *Loader) Refused() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

func (l *Loader) create(ctx context.Context, ag *popv1.Agenda) error {
	err := l.C.Create(ctx, ag.DeepCopy())
	if apierrors.IsAlreadyExists(err) {
		return nil // an earlier try went through though its answer was lost
	}
	return err
}

func (l *Loader) cancel(ctx context.Context, ag *popv1.Agenda) error {
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"cancel":true}}`))
	return l.C.Patch(ctx, &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Namespace: ag.Namespace, Name: ag.Name}}, patch)
}

// retry calls f until it succeeds or ctx ends (false).
func (l *Loader) retry(ctx context.Context, f func() error) bool {
	for ctx.Err() == nil {
		if f() == nil {
			return true
		}
		l.mu.Lock()
		l.refused++
		l.mu.Unlock()
		sleep(ctx, time.Duration(200+rand.IntN(300))*time.Millisecond)
	}
	return false
}

// FirstCreateAfter is when the first create that returned after t returned (zero if none).
func (l *Loader) FirstCreateAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, c := range l.created {
		if c.After(t) && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	return first
}

func splitKey(key string) (string, string) {
	for i := range key {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

func getAgenda(ctx context.Context, c client.Client, ns, name string) (*popv1.Agenda, error) {
	var ag popv1.Agenda
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ag)
	return &ag, err
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
