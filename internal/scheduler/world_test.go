package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// world stands in for the API server and the informer cache in unit tests: objects live in
// memory and are deep-copied on read, as the informer cache does; every write is recorded;
// watch events wait in a list until deliver, so a test decides when the cache catches up.
type world struct {
	// mu serialises the API server's side (writes arrive from the scheduler's write
	// goroutines) with the cache's reads and the event list.
	mu       sync.Mutex
	t        testing.TB
	clock    *clocktesting.FakeClock
	agendas  map[types.NamespacedName]*popv1.Agenda
	insights map[types.NamespacedName]*popv1.Insight
	spaces   map[string]*corev1.Namespace
	rv       int
	events   []func()
	onAgenda toolscache.ResourceEventHandler
	onInsght toolscache.ResourceEventHandler

	// refuse, when set, answers an admission write in place of the API server.
	refuse func(types.NamespacedName) error
	// positionWrites counts the writes carrying a queue position, per Agenda.
	positionWrites map[types.NamespacedName]int
	// attempts counts admission writes, accepted or refused, per Agenda.
	attempts map[types.NamespacedName]int
	// admitted is every accepted admission, in order.
	admitted []types.NamespacedName
	// running counts admitted, unfinished Agendas per Insight key.
	running map[string]int
	// overCapacity records each accepted admission that left its Insight with more
	// admitted, unfinished Agendas than its capacity: checked at every write, not sampled.
	overCapacity []string
	// agendaLists and agendaGets count the scheduler's reads of Agendas, insightWrites
	// its Insight status writes.
	agendaLists, agendaGets, insightWrites int
	// writes is the scheduler's AdmissionWrites: 1 (one write at a time) unless a test
	// sets more, so that the world's order of accepted admissions is the order of the
	// decisions; pipeline_test.go runs several at once.
	writes int
	// latency delays every Agenda status write, outside the lock: a round trip.
	latency time.Duration
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newWorld(t testing.TB) *world {
	return &world{
		t: t, clock: clocktesting.NewFakeClock(t0),
		agendas:        map[types.NamespacedName]*popv1.Agenda{},
		insights:       map[types.NamespacedName]*popv1.Insight{},
		spaces:         map[string]*corev1.Namespace{},
		attempts:       map[types.NamespacedName]int{},
		positionWrites: map[types.NamespacedName]int{},
		running:        map[string]int{},
		writes:         1,
	}
}

// scheduler returns a Scheduler reading and writing this world, its queues rebuilt as
// Start does after its cache synced.
func (w *world) scheduler() *Scheduler {
	s := New(Options{Client: worldClient{w: w}, Cache: worldCache{w: w}, Clock: w.clock,
		OperatorNamespace: "pop-system", Log: logr.Discard(), AdmissionWrites: w.writes})
	w.onAgenda = s.handlerFor(&popv1.Agenda{})
	w.onInsght = s.handlerFor(&popv1.Insight{})
	w.events = nil // a new informer lists afresh; the rebuild reads everything
	s.marks.all()
	return s
}

// settle delivers events and runs cycles, as Start's loop does on every wake, until
// nothing is left to do.
func (w *world) settle(s *Scheduler) {
	w.t.Helper()
	for range 1000 {
		w.deliver()
		select { // what Start's loop waits on
		case <-s.marks.wake:
		default:
		}
		s.cycle(context.Background())
		if len(s.marks.wake) == 0 && len(w.events) == 0 {
			return
		}
	}
	attempts := 0
	for _, n := range w.attempts {
		attempts += n
	}
	w.t.Fatalf("the scheduler never settled: 1000 cycles in a row woke it again (%d admission attempts)", attempts)
}

func (w *world) deliver() {
	w.mu.Lock()
	evs := w.events
	w.events = nil
	w.mu.Unlock()
	for _, ev := range evs {
		ev()
	}
}

func (w *world) nextRV() string {
	w.rv++
	return fmt.Sprint(w.rv)
}

// addNamespace creates a namespace of a customer.
func (w *world) addNamespace(name, customer string) {
	w.spaces[name] = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{popv1.CustomerLabel: customer}}}
}

// addInsight creates an Insight.
func (w *world) addInsight(ins *popv1.Insight) {
	ins = ins.DeepCopy()
	ins.Generation, ins.ResourceVersion, ins.UID = 1, w.nextRV(), types.UID("uid-"+ins.Name+"-"+w.nextRV())
	w.insights[client.ObjectKeyFromObject(ins)] = ins
	w.emit(w.onInsght, nil, ins)
}

// updateInsight changes an Insight's spec (a new generation).
func (w *world) updateInsight(key types.NamespacedName, mutate func(*popv1.InsightSpec)) {
	old := w.insights[key]
	ins := old.DeepCopy()
	mutate(&ins.Spec)
	ins.Generation++
	ins.ResourceVersion = w.nextRV()
	w.insights[key] = ins
	w.emit(w.onInsght, old, ins)
}

// deleteInsight deletes an Insight.
func (w *world) deleteInsight(key types.NamespacedName) {
	old := w.insights[key]
	delete(w.insights, key)
	w.emit(w.onInsght, old, nil)
}

// addAgenda creates an Agenda already accepted by the Agenda controller, created at
// t0 plus n seconds.
func (w *world) addAgenda(name, ns string, n int) types.NamespacedName {
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
		CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(n) * time.Second))}}
	ag.Spec.Operations = []popv1.Operation{{Name: "op", Type: "echo"}}
	ag.Generation, ag.ResourceVersion, ag.UID = 1, w.nextRV(), types.UID(fmt.Sprintf("uid-%s-%s-%d", ns, name, w.rv))
	meta.SetStatusCondition(&ag.Status.Conditions, metav1.Condition{Type: popv1.AgendaAccepted,
		Status: metav1.ConditionTrue, Reason: "Valid", LastTransitionTime: metav1.NewTime(t0)})
	key := client.ObjectKeyFromObject(ag)
	w.agendas[key] = ag
	w.track(nil, ag)
	w.emit(w.onAgenda, nil, ag)
	return key
}

// setAgendaStatus changes an Agenda's status as another writer would.
func (w *world) setAgendaStatus(key types.NamespacedName, mutate func(*popv1.AgendaStatus)) {
	old := w.agendas[key]
	ag := old.DeepCopy()
	mutate(&ag.Status)
	ag.ResourceVersion = w.nextRV()
	w.agendas[key] = ag
	w.track(old, ag)
	w.emit(w.onAgenda, old, ag)
}

// finish marks an Agenda Succeeded, as the Agenda controller does.
func (w *world) finish(key types.NamespacedName) {
	w.setAgendaStatus(key, func(st *popv1.AgendaStatus) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: popv1.AgendaSucceeded,
			Status: metav1.ConditionTrue, Reason: "Succeeded", LastTransitionTime: metav1.NewTime(t0)})
	})
}

func (w *world) deleteAgenda(key types.NamespacedName) {
	old := w.agendas[key]
	delete(w.agendas, key)
	w.track(old, nil)
	w.emit(w.onAgenda, old, nil)
}

func (w *world) emit(h toolscache.ResourceEventHandler, old, cur client.Object) {
	if h == nil {
		return
	}
	switch {
	case old == nil:
		w.events = append(w.events, func() { h.OnAdd(cur, false) })
	case cur == nil:
		w.events = append(w.events, func() { h.OnDelete(old) })
	default:
		w.events = append(w.events, func() { h.OnUpdate(old, cur) })
	}
}

// runningIn counts the admitted, unfinished Agendas of an Insight, as the API server holds
// them; kept up to date on every write (a walk per admission would dominate benchmarks).
func (w *world) runningIn(insightKey string) int { return w.running[insightKey] }

// track updates running for one Agenda going from old to cur (nil: absent).
func (w *world) track(old, cur *popv1.Agenda) {
	if k, ok := runningKey(old); ok {
		w.running[k]--
	}
	if k, ok := runningKey(cur); ok {
		w.running[k]++
	}
}

func runningKey(ag *popv1.Agenda) (string, bool) {
	if ag == nil {
		return "", false
	}
	c := ag.Status.Conditions
	return ag.Status.Insight, meta.IsStatusConditionTrue(c, popv1.AgendaAdmitted) &&
		!meta.IsStatusConditionTrue(c, popv1.AgendaSucceeded) && !meta.IsStatusConditionTrue(c, popv1.AgendaFailed)
}

// isAdmitted tells whether the API server holds the Agenda as admitted.
func (w *world) isAdmitted(key types.NamespacedName) bool {
	ag, ok := w.agendas[key]
	return ok && meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted)
}

// worldCache is the informer cache over a world. Only reads are used by a cycle.
type worldCache struct {
	cache.Cache
	w *world
}

func (c worldCache) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	var found bool
	switch o := obj.(type) {
	case *popv1.Agenda:
		c.w.agendaGets++
		var ag *popv1.Agenda
		if ag, found = c.w.agendas[key]; found {
			ag.DeepCopyInto(o)
		}
	case *popv1.Insight:
		var ins *popv1.Insight
		if ins, found = c.w.insights[key]; found {
			ins.DeepCopyInto(o)
		}
	case *corev1.Namespace:
		var ns *corev1.Namespace
		if ns, found = c.w.spaces[key.Name]; found {
			ns.DeepCopyInto(o)
		}
	default:
		return fmt.Errorf("world: no %T", obj)
	}
	if !found {
		return apierrors.NewNotFound(schema.GroupResource{}, key.String())
	}
	return nil
}

func (c worldCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	switch l := list.(type) {
	case *popv1.AgendaList:
		c.w.agendaLists++
		l.Items = l.Items[:0]
		for _, ag := range c.w.agendas {
			l.Items = append(l.Items, *ag.DeepCopy())
		}
	case *popv1.InsightList:
		l.Items = l.Items[:0]
		for _, ins := range c.w.insights {
			l.Items = append(l.Items, *ins.DeepCopy())
		}
	default:
		return fmt.Errorf("world: no list %T", list)
	}
	return nil
}

// worldClient is the API server's side of a world: status writes only.
type worldClient struct {
	client.Client
	w *world
}

func (c worldClient) Status() client.SubResourceWriter { return worldStatus{w: c.w} }

type worldStatus struct {
	client.SubResourceWriter
	w *world
}

func (c worldStatus) Patch(_ context.Context, obj client.Object, p client.Patch, _ ...client.SubResourcePatchOption) error {
	if _, ok := obj.(*popv1.Agenda); ok && c.w.latency > 0 {
		time.Sleep(c.w.latency)
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	switch o := obj.(type) {
	case *popv1.Agenda:
		body, err := p.Data(obj)
		if err != nil {
			return err
		}
		return c.w.applyAgendaStatus(client.ObjectKeyFromObject(o), body)
	case *popv1.Insight:
		return c.w.patchInsightStatus(o)
	}
	return fmt.Errorf("world: cannot patch %T", obj)
}

func (c worldStatus) Create(context.Context, client.Object, client.Object, ...client.SubResourceCreateOption) error {
	return fmt.Errorf("world: status create")
}

func (c worldStatus) Update(context.Context, client.Object, ...client.SubResourceUpdateOption) error {
	return fmt.Errorf("world: status update")
}

// applyAgendaStatus merges the scheduler's server-side apply into the Agenda's status.
func (w *world) applyAgendaStatus(key types.NamespacedName, body []byte) error {
	var in agendaStatusApply
	if err := json.Unmarshal(body, &in); err != nil {
		return err
	}
	cur, ok := w.agendas[key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Group: "pop.dev", Resource: "agendas"}, key.Name)
	}
	admission := in.Status.AdmissionTime != nil
	if admission {
		w.attempts[key]++
		if w.refuse != nil {
			if err := w.refuse(key); err != nil {
				return err
			}
		}
	}
	if in.Metadata.ResourceVersion != "" && in.Metadata.ResourceVersion != cur.ResourceVersion {
		return apierrors.NewConflict(schema.GroupResource{Group: "pop.dev", Resource: "agendas"}, key.Name,
			fmt.Errorf("the object has been modified"))
	}
	if in.Status.QueuePosition != nil {
		w.positionWrites[key]++
	}
	w.setAgendaStatus(key, func(st *popv1.AgendaStatus) {
		if in.Status.Insight != "" {
			st.Insight = in.Status.Insight
		}
		// The scheduler alone owns these: an apply without them removes them.
		st.QueuePosition, st.PositionTime, st.EstimatedAdmissionTime = in.Status.QueuePosition, in.Status.PositionTime, in.Status.EstimatedAdmissionTime
		if admission {
			st.AdmissionTime = in.Status.AdmissionTime
		}
		for _, c := range in.Status.Conditions {
			meta.SetStatusCondition(&st.Conditions, c)
		}
	})
	if admission {
		w.admitted = append(w.admitted, key)
		ins := w.insights[types.NamespacedName(parseInsightKey(in.Status.Insight))]
		capacity := 0
		if ins != nil {
			capacity = int(ins.Spec.CapacityOrDefault())
		}
		if n := w.runningIn(in.Status.Insight); n > capacity {
			w.overCapacity = append(w.overCapacity, fmt.Sprintf("%s admitted %s: %d running, capacity %d", in.Status.Insight, key, n, capacity))
		}
	}
	return nil
}

func (w *world) patchInsightStatus(patched *popv1.Insight) error {
	key := client.ObjectKeyFromObject(patched)
	old, ok := w.insights[key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Group: "pop.dev", Resource: "insights"}, key.Name)
	}
	w.insightWrites++
	ins := old.DeepCopy()
	ins.Status = *patched.Status.DeepCopy()
	ins.ResourceVersion = w.nextRV()
	w.insights[key] = ins
	ins.DeepCopyInto(patched)
	w.emit(w.onInsght, old, ins)
	return nil
}
