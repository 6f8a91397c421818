package chaos

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
)

// Creations records, from the Agenda watch, every bridged Agenda by its customer and
// agendaId annotation: each UID seen (a second UID under one key is a second creation,
// whatever the final list shows), when it was first seen, and its last state.
type Creations struct {
	mu     sync.Mutex
	byKey  map[string]map[string]time.Time // customer/agendaId → UID → first seen
	last   map[string]AgendaState          // UID → last event
	times  []time.Time                     // first sighting of each UID, in stream order
	events int
}

// AgendaState is a bridged Agenda as its latest event showed it.
type AgendaState struct {
	Key, Namespace, Name string
	Phase                popv1.AgendaPhase
	RV                   string
	Deleted              bool
}

// NewCreations returns an empty record.
func NewCreations() *Creations {
	return &Creations{byKey: map[string]map[string]time.Time{}, last: map[string]AgendaState{}}
}

// BridgeKey is the key of a message or bridged Agenda: customer/agendaId.
func BridgeKey(customer, agendaID string) string { return customer + "/" + agendaID }

// Feed takes one Agenda event; the customer is the namespace's (the run's namespaces are
// named as their customers).
func (c *Creations) Feed(t watch.EventType, obj client.Object, at time.Time) {
	ag, ok := obj.(*popv1.Agenda)
	if !ok || ag.Labels[bridge.SourceLabel] != bridge.SourceSQS {
		return
	}
	key := BridgeKey(ag.Namespace, ag.Annotations[bridge.KeyAnnotation])
	uid := string(ag.UID)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	set := c.byKey[key]
	if set == nil {
		set = map[string]time.Time{}
		c.byKey[key] = set
	}
	if _, seen := set[uid]; !seen {
		set[uid] = at
		c.times = append(c.times, at)
	}
	c.last[uid] = AgendaState{Key: key, Namespace: ag.Namespace, Name: ag.Name, Phase: ag.Status.Phase, RV: ag.ResourceVersion,
		Deleted: t == watch.Deleted}
}

// FirstAfter is the first creation seen after t (zero when none yet).
func (c *Creations) FirstAfter(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range c.times {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// Snapshot copies the record: UIDs per key and the last state per UID.
func (c *Creations) Snapshot() (map[string][]string, map[string]AgendaState, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := map[string][]string{}
	for k, set := range c.byKey {
		for uid := range set {
			keys[k] = append(keys[k], uid)
		}
		sort.Strings(keys[k])
	}
	last := map[string]AgendaState{}
	for k, v := range c.last {
		last[k] = v
	}
	return keys, last, c.events
}

// DeadLetter is what the dead-letter queue held of one message body.
type DeadLetter struct {
	Reason, Detail, SourceID string
	Copies                   int
}

// MirrorRecord is what the table holds for one key ("" state: no record).
type MirrorRecord struct {
	State   string
	Version uint64
	Reason  string
}

// BridgeEvidence is everything the bridge auditor judges, gathered from its own watch, the
// dead-letter queue, the intake queue and the table.
type BridgeEvidence struct {
	Sent        []Message
	Agendas     map[string][]string    // key → UIDs created (from the watch)
	Last        map[string]AgendaState // UID → last state
	Final       map[string]AgendaState // key → the Agenda a final list shows
	DeadLetters map[string]DeadLetter  // body key → dead letter
	Records     map[string]MirrorRecord
	// Rejected maps a poison body key to the Rejected record found for it, if any.
	Rejected   map[string]MirrorRecord
	IntakeLeft int
}

// BridgeFindings are the bridge auditor's verdicts; any entry but DoubleDeadLetters fails.
type BridgeFindings struct {
	Sent, Valid, Poison, Agendas, DeadLettered int
	Missing                                    []string // a valid message without an Agenda
	Duplicated                                 []string // a key with more than one Agenda created
	Unexpected                                 []string // a bridged Agenda no valid message asked for
	Unfinished                                 []string // an Agenda not Succeeded
	ValidDeadLettered                          []string // a valid message in the dead-letter queue
	PoisonMissing                              []string // a poison message not in the dead-letter queue
	WrongReason                                []string // a poison message dead-lettered with another reason
	NoRejectedRecord                           []string // a poison message without its Rejected record
	MirrorDiffers                              []string // a record whose state or version is not its Agenda's
	DeadLetterUnknown                          []string // a dead letter of no message sent
	// DoubleDeadLetters counts messages dead-lettered twice (a kill between sending the dead
	// letter and deleting the message: SQS is at-least-once; documented, not a failure).
	DoubleDeadLetters int
	IntakeLeft        int
}

// OK is true when nothing is missing, duplicated, unexplained or out of step.
func (f BridgeFindings) OK() bool {
	for _, l := range [][]string{f.Missing, f.Duplicated, f.Unexpected, f.Unfinished, f.ValidDeadLettered, f.PoisonMissing,
		f.WrongReason, f.NoRejectedRecord, f.MirrorDiffers, f.DeadLetterUnknown} {
		if len(l) > 0 {
			return false
		}
	}
	return f.IntakeLeft == 0 && f.Sent == f.Agendas+f.DeadLettered
}

// CheckBridge judges the evidence: every valid message's Agenda created exactly once and
// Succeeded, its record's state and version the Agenda's; every poison message
// dead-lettered once at least, with its reason and a Rejected record; nothing else created
// or dead-lettered; the intake queue empty; sent = Agendas + dead letters.
func CheckBridge(ev BridgeEvidence) BridgeFindings {
	f := BridgeFindings{Sent: len(ev.Sent), IntakeLeft: ev.IntakeLeft}
	wanted := map[string]bool{}
	bodies := map[string]bool{}
	for _, m := range ev.Sent {
		bodies[BodyKey(m.Body)] = true
		if m.Poison == "" {
			f.Valid++
			wanted[BridgeKey(m.Customer, m.AgendaID)] = true
			checkValid(ev, m, &f)
		} else {
			f.Poison++
			checkPoison(ev, m, &f)
		}
	}
	for key, uids := range ev.Agendas {
		if !wanted[key] {
			f.Unexpected = append(f.Unexpected, fmt.Sprintf("%s (%d created)", key, len(uids)))
		}
	}
	for b, dl := range ev.DeadLetters {
		if !bodies[b] {
			f.DeadLetterUnknown = append(f.DeadLetterUnknown, fmt.Sprintf("body %s: %s", b, dl.Reason))
		}
	}
	sort.Strings(f.Unexpected)
	sort.Strings(f.DeadLetterUnknown)
	return f
}

func checkValid(ev BridgeEvidence, m Message, f *BridgeFindings) {
	key := BridgeKey(m.Customer, m.AgendaID)
	if dl, ok := ev.DeadLetters[BodyKey(m.Body)]; ok {
		f.ValidDeadLettered = append(f.ValidDeadLettered, fmt.Sprintf("%s: %s %s", key, dl.Reason, dl.Detail))
	}
	uids := ev.Agendas[key]
	switch {
	case len(uids) == 0:
		f.Missing = append(f.Missing, key)
		return
	case len(uids) > 1:
		f.Duplicated = append(f.Duplicated, fmt.Sprintf("%s: %d Agendas created (%v)", key, len(uids), uids))
	}
	f.Agendas++
	fin, ok := ev.Final[key]
	if !ok {
		f.Missing = append(f.Missing, key+" (created, gone from the final list)")
		return
	}
	if fin.Phase != popv1.PhaseSucceeded {
		f.Unfinished = append(f.Unfinished, fmt.Sprintf("%s: %q", key, fin.Phase))
	}
	rec := ev.Records[key]
	if rec.State != string(fin.Phase) || fmt.Sprint(rec.Version) != fin.RV {
		f.MirrorDiffers = append(f.MirrorDiffers, fmt.Sprintf("%s: record %q v%d, Agenda %q v%s", key, rec.State, rec.Version, fin.Phase, fin.RV))
	}
}

func checkPoison(ev BridgeEvidence, m Message, f *BridgeFindings) {
	b := BodyKey(m.Body)
	name := fmt.Sprintf("message %d (%s)", m.I, m.Poison)
	dl, ok := ev.DeadLetters[b]
	if !ok {
		f.PoisonMissing = append(f.PoisonMissing, name)
		return
	}
	f.DeadLettered++
	if dl.Copies > 1 {
		f.DoubleDeadLetters++
	}
	if dl.Reason != m.Reason {
		f.WrongReason = append(f.WrongReason, fmt.Sprintf("%s: %q (%s), want %q", name, dl.Reason, dl.Detail, m.Reason))
	}
	if r, ok := ev.Rejected[b]; !ok || r.State != bridge.StateRejected || r.Reason != m.Reason {
		f.NoRejectedRecord = append(f.NoRejectedRecord, fmt.Sprintf("%s: record %+v", name, r))
	}
}

// RejectedKeys are where a poison message's Rejected record may be: the partition of the
// customer it claims under its agendaId or its message id, or the unverified partition.
func RejectedKeys(m Message, sourceID string) [][2]string {
	keys := [][2]string{{bridge.UnverifiedCustomer, "message:" + sourceID}}
	if m.AgendaID != "" {
		keys = append(keys, [2]string{m.Customer, m.AgendaID})
	}
	return append(keys, [2]string{m.Customer, "message:" + sourceID})
}
