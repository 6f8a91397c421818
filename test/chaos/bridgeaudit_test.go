package chaos

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
)

// The poison messages must be refused for the reason the auditor expects, and the valid
// ones accepted: what bridge.Parse decides here, the intake decides in the run.
func TestBuildMessageMakesPoisonOfEachKindAndValidOtherwise(t *testing.T) {
	kinds := map[string]int{}
	bodies := map[string]bool{}
	for i := range 200 {
		m := BuildMessage("t", i)
		if bodies[m.Body] {
			t.Fatalf("message %d repeats a body", i)
		}
		bodies[m.Body] = true
		checkParsed(t, m)
		kinds[m.Poison]++
	}
	if len(kinds) != len(poisons)+1 || kinds[""] != 190 {
		t.Fatalf("kinds %v: want 5 %% poison over %d kinds", kinds, len(poisons))
	}
}

func checkParsed(t *testing.T, m Message) {
	t.Helper()
	sub, rej := bridge.Parse([]byte(m.Body), 262144)
	switch m.Poison {
	case "":
		if rej != nil {
			t.Fatalf("valid message %d refused: %v", m.I, rej)
		}
		if sub.CustomerID != m.Customer || sub.Key != m.AgendaID || m.Signature != bridge.Sign(SigningKeyOf(m.Customer), []byte(m.Body)) {
			t.Fatalf("message %d: %+v", m.I, sub)
		}
	case "not-json", "no-agenda-id", "invalid-agenda":
		if rej == nil || rej.Reason != m.Reason {
			t.Fatalf("poison %d (%s): got %v, want %s", m.I, m.Poison, rej, m.Reason)
		}
	case "unknown-customer", "bad-signature": // refused by the intake: no namespace / wrong key
		if rej != nil {
			t.Fatalf("poison %d (%s) must parse, to reach the intake's check: %v", m.I, m.Poison, rej)
		}
		if m.Poison == "bad-signature" && m.Signature == bridge.Sign(SigningKeyOf(m.Customer), []byte(m.Body)) {
			t.Fatalf("poison %d carries a valid signature", m.I)
		}
	}
}

func bridged(ns, key, uid, phase, rv string) *popv1.Agenda {
	return &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a-" + uid, UID: types.UID(uid), ResourceVersion: rv,
		Labels: map[string]string{bridge.SourceLabel: bridge.SourceSQS}, Annotations: map[string]string{bridge.KeyAnnotation: key}},
		Status: popv1.AgendaStatus{Phase: popv1.AgendaPhase(phase)}}
}

// clean is the evidence of a run where everything went right: 40 messages, 2 poison.
func clean() BridgeEvidence {
	c := NewCreations()
	ev := BridgeEvidence{Final: map[string]AgendaState{}, DeadLetters: map[string]DeadLetter{}, Records: map[string]MirrorRecord{},
		Rejected: map[string]MirrorRecord{}}
	for i := range 40 {
		m := BuildMessage("t", i)
		ev.Sent = append(ev.Sent, m)
		if m.Poison != "" {
			ev.DeadLetters[BodyKey(m.Body)] = DeadLetter{Reason: m.Reason, Copies: 1}
			ev.Rejected[BodyKey(m.Body)] = MirrorRecord{State: bridge.StateRejected, Reason: m.Reason}
			continue
		}
		key := BridgeKey(m.Customer, m.AgendaID)
		uid := fmt.Sprint("u", i)
		c.Feed(watch.Added, bridged(m.Customer, m.AgendaID, uid, "", "10"), time.Now())
		c.Feed(watch.Modified, bridged(m.Customer, m.AgendaID, uid, "Succeeded", "12"), time.Now())
		ev.Final[key] = AgendaState{Phase: popv1.PhaseSucceeded, RV: "12"}
		ev.Records[key] = MirrorRecord{State: "Succeeded", Version: 12}
	}
	ev.Agendas, ev.Last, _ = c.Snapshot()
	return ev
}

func TestCheckBridgePassesACleanRun(t *testing.T) {
	f := CheckBridge(clean())
	if !f.OK() || f.Valid != 38 || f.Poison != 2 || f.Agendas != 38 || f.DeadLettered != 2 {
		t.Fatalf("%+v", f)
	}
}

// Each fault the auditor exists to find must fail the check.
func TestCheckBridgeFailsOnEachFault(t *testing.T) {
	valid, poison := BuildMessage("t", 0), BuildMessage("t", PoisonEvery-1)
	vkey, pbody := BridgeKey(valid.Customer, valid.AgendaID), BodyKey(poison.Body)
	cases := map[string]struct {
		spoil func(*BridgeEvidence)
		got   func(BridgeFindings) int
	}{
		"a second Agenda created for a key, deleted since": {func(ev *BridgeEvidence) { ev.Agendas[vkey] = append(ev.Agendas[vkey], "again") },
			func(f BridgeFindings) int { return len(f.Duplicated) }},
		"a valid message without an Agenda": {func(ev *BridgeEvidence) { delete(ev.Agendas, vkey); delete(ev.Final, vkey) },
			func(f BridgeFindings) int { return len(f.Missing) }},
		"an Agenda stuck Running": {func(ev *BridgeEvidence) { ev.Final[vkey] = AgendaState{Phase: popv1.PhaseRunning, RV: "12"} },
			func(f BridgeFindings) int { return len(f.Unfinished) }},
		"a record one version behind": {func(ev *BridgeEvidence) { ev.Records[vkey] = MirrorRecord{State: "Succeeded", Version: 11} },
			func(f BridgeFindings) int { return len(f.MirrorDiffers) }},
		"a record with another state": {func(ev *BridgeEvidence) { ev.Records[vkey] = MirrorRecord{State: "Running", Version: 12} },
			func(f BridgeFindings) int { return len(f.MirrorDiffers) }},
		"a valid message dead-lettered": {func(ev *BridgeEvidence) { ev.DeadLetters[BodyKey(valid.Body)] = DeadLetter{Reason: "RetriesExhausted"} },
			func(f BridgeFindings) int { return len(f.ValidDeadLettered) + len(f.DeadLetterUnknown) }},
		"a poison message lost": {func(ev *BridgeEvidence) { delete(ev.DeadLetters, pbody) },
			func(f BridgeFindings) int { return len(f.PoisonMissing) }},
		"a poison message dead-lettered by SQS's redrive, without a reason": {func(ev *BridgeEvidence) { ev.DeadLetters[pbody] = DeadLetter{Copies: 1} },
			func(f BridgeFindings) int { return len(f.WrongReason) }},
		"a poison message without its Rejected record": {func(ev *BridgeEvidence) { delete(ev.Rejected, pbody) },
			func(f BridgeFindings) int { return len(f.NoRejectedRecord) }},
		"an Agenda no message asked for": {func(ev *BridgeEvidence) { ev.Agendas["ch01/ghost"] = []string{"g"} },
			func(f BridgeFindings) int { return len(f.Unexpected) }},
		"a message left in the intake queue": {func(ev *BridgeEvidence) { ev.IntakeLeft = 1 },
			func(f BridgeFindings) int { return f.IntakeLeft }},
	}
	for name, c := range cases {
		ev := clean()
		c.spoil(&ev)
		f := CheckBridge(ev)
		if f.OK() || c.got(f) == 0 {
			t.Errorf("%s: not found (%+v)", name, f)
		}
	}
}

// A message dead-lettered twice (a kill between the dead letter and the delete) is
// reported, not failed: the docs promise at-least-once there.
func TestCheckBridgeCountsDoubleDeadLettersWithoutFailing(t *testing.T) {
	ev := clean()
	poison := BuildMessage("t", PoisonEvery-1)
	dl := ev.DeadLetters[BodyKey(poison.Body)]
	dl.Copies = 2
	ev.DeadLetters[BodyKey(poison.Body)] = dl
	if f := CheckBridge(ev); !f.OK() || f.DoubleDeadLetters != 1 {
		t.Fatalf("%+v", f)
	}
}

func TestCreationsCountsEveryUIDUnderAKeyAndTheFirstAfterAMoment(t *testing.T) {
	c := NewCreations()
	t0 := time.Now()
	c.Feed(watch.Added, bridged("ch00", "k", "u1", "", "1"), t0)
	c.Feed(watch.Deleted, bridged("ch00", "k", "u1", "Succeeded", "2"), t0.Add(time.Second))
	c.Feed(watch.Added, bridged("ch00", "k", "u2", "", "3"), t0.Add(2*time.Second))
	unbridged := bridged("ch00", "x", "u3", "", "4")
	delete(unbridged.Labels, bridge.SourceLabel)
	c.Feed(watch.Added, unbridged, t0.Add(3*time.Second))
	keys, last, _ := c.Snapshot()
	if strings.Join(keys["ch00/k"], ",") != "u1,u2" || len(keys) != 1 || !last["u1"].Deleted {
		t.Fatalf("%v %v", keys, last)
	}
	if got := c.FirstAfter(t0.Add(500 * time.Millisecond)); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("first creation after: %v", got)
	}
}
