package chaos

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// AgendaEvent is what the auditor keeps of one Agenda watch event.
type AgendaEvent struct {
	Type     watch.EventType
	RV       string
	At       time.Time
	Key      string // namespace/name
	UID      string
	Insight  string
	Admitted bool // the Admitted condition is True
	Phase    popv1.AgendaPhase
	Status   string // a digest of the status, to tell the manager's writes from others
	Attempts map[string]int32
}

// Terminal reports whether the Agenda has ended.
func (e AgendaEvent) Terminal() bool {
	return e.Phase == popv1.PhaseSucceeded || e.Phase == popv1.PhaseFailed || e.Phase == popv1.PhaseCancelled
}

// holdsCapacity: admitted and not yet ended, as the API server's stream says.
func (e AgendaEvent) holdsCapacity() bool {
	return e.Type != watch.Deleted && e.Admitted && !e.Terminal()
}

// NewAgendaEvent summarises an Agenda from a watch event.
func NewAgendaEvent(t watch.EventType, ag *popv1.Agenda, at time.Time) AgendaEvent {
	ev := AgendaEvent{Type: t, RV: ag.ResourceVersion, At: at, Key: ag.Namespace + "/" + ag.Name, UID: string(ag.UID),
		Insight: ag.Status.Insight, Phase: ag.Status.Phase, Attempts: map[string]int32{},
		Admitted: meta.IsStatusConditionTrue(ag.Status.Conditions, popv1.AgendaAdmitted)}
	digest := fmt.Sprintf("%s|%d|%s|%v", ag.Status.Phase, ag.Status.PercentComplete, ag.Status.Insight, ev.Admitted)
	for _, c := range ag.Status.Conditions {
		digest += "|" + c.Type + string(c.Status) + c.Reason
	}
	for _, o := range ag.Status.Operations {
		ev.Attempts[o.Name] = o.Attempts
		digest += fmt.Sprintf("|%s%s%d%s", o.Name, o.State, o.Attempts, o.Pod)
	}
	ev.Status = digest
	return ev
}

// PodEvent is a handler Pod the auditor saw created.
type PodEvent struct {
	UID, Name, AgendaUID, Agenda, Operation string
	Attempt                                 int
	At                                      time.Time
}

// Overshoot is a moment, in the API server's order, when an Insight had more admitted,
// unfinished Agendas than its capacity.
type Overshoot struct {
	Insight  string
	RV       string
	At       time.Time
	Admitted int
	Capacity int
}

// Ledger is the auditor's record, fed in watch order; it never asks the manager anything.
type Ledger struct {
	mu         sync.Mutex
	capacity   map[string]int
	last       map[string]AgendaEvent     // by Agenda key
	active     map[string]map[string]bool // insight → UIDs holding capacity
	peak       map[string]int             // insight → most admitted at once
	overshoots []Overshoot
	pods       map[string]bool     // Pod UIDs seen
	perAttempt map[string][]string // agendaUID/op/attempt → Pod names
	maxAttempt map[string]int      // agendaUID/op → highest attempt label
	work       []time.Time         // the manager's writes: Pods created, Agenda statuses changed
	gaps       map[string]int      // stream → relists after "resourceVersion too old"
	events     int
}

// NewLedger returns an empty ledger for Insights of the given capacities (by namespace/name).
func NewLedger(capacity map[string]int) *Ledger {
	return &Ledger{capacity: capacity, last: map[string]AgendaEvent{}, active: map[string]map[string]bool{},
		peak: map[string]int{}, pods: map[string]bool{}, perAttempt: map[string][]string{}, maxAttempt: map[string]int{},
		gaps: map[string]int{}}
}

// Agenda takes the next Agenda event of the stream.
func (l *Ledger) Agenda(ev AgendaEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	prev, seen := l.last[ev.Key]
	if seen && prev.UID == ev.UID && prev.Status != ev.Status && ev.Type == watch.Modified {
		l.work = append(l.work, ev.At)
	}
	l.last[ev.Key] = ev
	for ins, set := range l.active {
		if ins != ev.Insight {
			delete(set, ev.UID) // moved (never expected) or no insight any more
		}
	}
	if ev.Insight == "" {
		return
	}
	set := l.active[ev.Insight]
	if set == nil {
		set = map[string]bool{}
		l.active[ev.Insight] = set
	}
	if !ev.holdsCapacity() {
		delete(set, ev.UID)
		return
	}
	set[ev.UID] = true
	n := len(set)
	l.peak[ev.Insight] = max(l.peak[ev.Insight], n)
	if c, ok := l.capacity[ev.Insight]; ok && n > c {
		l.overshoots = append(l.overshoots, Overshoot{Insight: ev.Insight, RV: ev.RV, At: ev.At, Admitted: n, Capacity: c})
	}
}

// Pod takes a Pod event; only the first sight of each Pod UID counts (true).
func (l *Ledger) Pod(ev PodEvent) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pods[ev.UID] {
		return false
	}
	l.pods[ev.UID] = true
	l.work = append(l.work, ev.At)
	k := fmt.Sprintf("%s/%s/%d", ev.AgendaUID, ev.Operation, ev.Attempt)
	l.perAttempt[k] = append(l.perAttempt[k], ev.Name)
	op := ev.AgendaUID + "/" + ev.Operation
	l.maxAttempt[op] = max(l.maxAttempt[op], ev.Attempt)
	return true
}

// Gap records that a stream had to relist: events between may be missing.
func (l *Ledger) Gap(stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gaps[stream]++
}

// Last is the latest event of an Agenda.
func (l *Ledger) Last(key string) (AgendaEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev, ok := l.last[key]
	return ev, ok
}

// FirstWorkAfter is the first write of the manager the auditor saw after t (zero if none).
func (l *Ledger) FirstWorkAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.work), func(i int) bool { return l.work[i].After(t) })
	if i < len(l.work) {
		return l.work[i]
	}
	return time.Time{}
}

// Expected is what the load generator created and what must become of it.
type Expected struct {
	Key  string
	Kind string
	Want popv1.AgendaPhase
	// MaxAttempts is retries+1 per operation.
	MaxAttempts map[string]int
}

// Findings are the auditor's verdict.
type Findings struct {
	Agendas, Pods, Events int
	Lost, Stuck, Wrong    []string
	Duplicates            []string // agendaUID/op/attempt: pods
	OverAttempts          []string
	Overshoots            []Overshoot
	Peak                  map[string]int
	Capacity              map[string]int
	Gaps                  map[string]int
	ByKind                map[string]map[popv1.AgendaPhase]int
}

// OK is true when the auditor found nothing wrong.
func (f Findings) OK() bool {
	return len(f.Lost)+len(f.Stuck)+len(f.Wrong)+len(f.Duplicates)+len(f.OverAttempts)+len(f.Overshoots) == 0
}

// Check judges the ledger against what was created.
func (l *Ledger) Check(expected []Expected) Findings {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := Findings{Agendas: len(expected), Pods: len(l.pods), Events: l.events, Overshoots: append([]Overshoot(nil), l.overshoots...),
		Peak: map[string]int{}, Capacity: l.capacity, Gaps: map[string]int{}, ByKind: map[string]map[popv1.AgendaPhase]int{}}
	for k, v := range l.peak {
		f.Peak[k] = v
	}
	for k, v := range l.gaps {
		f.Gaps[k] = v
	}
	for _, x := range expected {
		l.checkOne(x, &f)
	}
	for k, pods := range l.perAttempt {
		if len(pods) > 1 {
			f.Duplicates = append(f.Duplicates, fmt.Sprintf("%s: %v", k, pods))
		}
	}
	sort.Strings(f.Duplicates)
	sort.Strings(f.OverAttempts)
	return f
}

func (l *Ledger) checkOne(x Expected, f *Findings) {
	ev, ok := l.last[x.Key]
	phase := ev.Phase
	switch {
	case !ok || ev.Type == watch.Deleted:
		f.Lost = append(f.Lost, x.Key)
		phase = "Lost"
	case !ev.Terminal():
		f.Stuck = append(f.Stuck, fmt.Sprintf("%s (%s, phase %q)", x.Key, x.Kind, ev.Phase))
		phase = "Stuck"
	case ev.Phase != x.Want:
		f.Wrong = append(f.Wrong, fmt.Sprintf("%s (%s): %s, want %s", x.Key, x.Kind, ev.Phase, x.Want))
	}
	if f.ByKind[x.Kind] == nil {
		f.ByKind[x.Kind] = map[popv1.AgendaPhase]int{}
	}
	f.ByKind[x.Kind][phase]++
	if !ok {
		return
	}
	for op, limit := range x.MaxAttempts {
		got := max(int(ev.Attempts[op]), l.maxAttempt[ev.UID+"/"+op])
		if got > limit {
			f.OverAttempts = append(f.OverAttempts, fmt.Sprintf("%s/%s: %d attempts, at most %d", x.Key, op, got, limit))
		}
	}
}
