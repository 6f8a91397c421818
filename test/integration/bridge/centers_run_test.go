package bridge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/podsim"
)

// envInt reads a positive number from the environment, or def.
func envInt(name string, def int) int {
	GinkgoHelper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	Expect(err).NotTo(HaveOccurred(), name)
	return n
}

// report prints a run's figures, keeps them in the suite's report, and writes them to
// $POP_CACHE/<file> when set (go test shows a passing package's output only with -v).
func report(name, file, summary string) {
	GinkgoHelper()
	AddReportEntry(name, summary)
	fmt.Fprintln(GinkgoWriter, summary)
	fmt.Printf("%s: %s\n", name, summary)
	if dir := os.Getenv("POP_CACHE"); dir != "" {
		Expect(os.WriteFile(filepath.Join(dir, file), []byte(summary+"\n"), 0o644)).To(Succeed())
	}
}

// setCapacity sets the capacity of the customer's Insight in a center.
func setCapacity(c *center, capacity int32) {
	GinkgoHelper()
	var ins popv1.Insight
	Expect(c.env.Client.Get(ctx, client.ObjectKey{Namespace: c.ns, Name: "local"}, &ins)).To(Succeed())
	patch := client.MergeFrom(ins.DeepCopy())
	ins.Spec.Capacity = &capacity
	Expect(c.env.Client.Patch(ctx, &ins, patch)).To(Succeed())
}

// customerRecords reads every record of a customer's partition, by agendaId.
func customerRecords(g Gomega, customer string) map[string]bridge.Record {
	out := map[string]bridge.Record{}
	p := dynamodb.NewQueryPaginator(aws.DynamoDB, &dynamodb.QueryInput{
		TableName: awssdk.String(store.Table), KeyConditionExpression: awssdk.String("customerId = :c"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": &ddbtypes.AttributeValueMemberS{Value: customer}},
		ConsistentRead:            awssdk.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		var rs []bridge.Record
		g.Expect(attributevalue.UnmarshalListOfMaps(page.Items, &rs)).To(Succeed())
		for _, r := range rs {
			out[r.AgendaID] = r
		}
	}
	return out
}

// final says whether a record's state is one its Agenda does not leave.
func final(r bridge.Record) bool {
	switch r.State {
	case string(popv1.PhaseSucceeded), string(popv1.PhaseFailed), string(popv1.PhaseCancelled), bridge.StateRejected:
		return true
	}
	return false
}

// outgoing is a message of a run: its body, signed as its customer's client would, and
// the queue it goes to.
type outgoing struct {
	key, queue, body string
}

// sendMessages sends messages in batches of 10 per queue from 8 senders.
func sendMessages(msgs []outgoing) {
	GinkgoHelper()
	byQueue := map[string][]outgoing{}
	for _, m := range msgs {
		byQueue[m.queue] = append(byQueue[m.queue], m)
	}
	batches := make(chan []outgoing)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			defer GinkgoRecover()
			for batch := range batches {
				var entries []sqstypes.SendMessageBatchRequestEntry
				for n, m := range batch {
					entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: awssdk.String(strconv.Itoa(n)),
						MessageBody: awssdk.String(m.body), MessageAttributes: signedBy(m.body)})
				}
				out, err := aws.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: awssdk.String(batch[0].queue), Entries: entries})
				Expect(err).NotTo(HaveOccurred())
				Expect(out.Failed).To(BeEmpty())
			}
		})
	}
	for _, ms := range byQueue {
		for first := 0; first < len(ms); first += 10 {
			batches <- ms[first:min(first+10, len(ms))]
		}
	}
	close(batches)
	wg.Wait()
}

// capacitySplit measures capacity-aware pulling: east's Insight admits 20 at a time, west's
// 2, every operation runs 400 ms, and both receive from one shared queue. With
// POP_CENTERS_CAPACITY_AWARE=0 both pull by --bridge-max-pending alone (the control run).
func capacitySplit(east, west *center, westSim *podsim.Simulator, id, queue string) {
	n := envInt("POP_CENTERS_SPLIT_MESSAGES", 100)
	aware := os.Getenv("POP_CENTERS_CAPACITY_AWARE") != "0"
	sim.SetScript(podsim.EchoAfter(400 * time.Millisecond))
	westSim.SetScript(podsim.EchoAfter(400 * time.Millisecond))
	DeferCleanup(func() { sim.SetScript(podsim.Echo); westSim.SetScript(podsim.Echo) })
	setCapacity(east, 20)
	setCapacity(west, 2)
	DeferCleanup(func() { setCapacity(east, 50); setCapacity(west, 50) })
	for _, c := range []*center{east, west} {
		c.cfg.CapacityAware, c.cfg.CapacityHeadroom = aware, 2
	}
	DeferCleanup(func() { east.cfg.CapacityAware, west.cfg.CapacityAware = false, false })
	east.start()
	west.start()
	DeferCleanup(func() { west.stop(); east.stop() })

	msgs := make([]outgoing, n)
	for k := range msgs {
		key := fmt.Sprintf("split-%03d", k)
		msgs[k] = outgoing{key: key, queue: queue, body: popAgenda(id, key)}
	}
	start := time.Now()
	sendMessages(msgs)
	split := map[string]int{}
	Eventually(func(g Gomega) {
		records := customerRecords(g, id)
		split = map[string]int{}
		for _, m := range msgs {
			r, ok := records[m.key]
			g.Expect(ok).To(BeTrue(), m.key)
			g.Expect(r.State).To(Equal(string(popv1.PhaseSucceeded)), m.key)
			split[r.Center]++
		}
	}, 5*time.Minute, 500*time.Millisecond).Should(Succeed())
	elapsed := time.Since(start)
	e, w := east.agendas(Default), west.agendas(Default)
	for _, m := range msgs {
		_, inEast := e[m.key]
		_, inWest := w[m.key]
		Expect(inEast).NotTo(Equal(inWest), "%s: in east %v, in west %v", m.key, inEast, inWest)
	}
	report("centers capacity split", "centers-split.txt", fmt.Sprintf(
		"capacity-aware %v (headroom 2, --bridge-max-pending 50 each); %d messages on the shared queue, 2 operations of 400 ms each; "+
			"east (Insight capacity 20) ran %d, west (capacity 2) ran %d; all Succeeded after %s",
		aware, n, split["east"], split["west"], elapsed.Round(100*time.Millisecond)))
	Expect(split["east"] + split["west"]).To(Equal(n))
	Expect(split["west"]).To(BeNumerically("<", n/3), "the nearly full center takes a small share, the one with room the rest (without capacity-aware pulling: about half)")
}

// killRun is the two-center run with a center killed mid-run: POP_CENTERS_MESSAGES (300)
// on the shared queue, one in 50 malformed, and 10 pinned to each center's own queue.
// West dies once it holds a sixth of the shared messages; the client resends what the
// table shows stranded (not final, lease passed); west comes back at the end.
type killRun struct {
	east, west *center
	id         string
	msgs       []outgoing
	pinnedTo   map[string]string // key → center
	malformed  map[string]bool
	killedAt   time.Time
	resent     map[string]string // key → the center whose stranded record the client resent
	takenOver  map[string]time.Duration
}

func runKill(east, west *center, westSim *podsim.Simulator, id, shared string) {
	total := envInt("POP_CENTERS_MESSAGES", 300)
	const pinned = 10
	own := map[string]string{}
	for _, c := range []*center{east, west} {
		p, err := bridge.Provision(ctx, aws, bridge.Resources{IntakeQueue: baseConfig.Table + "-pinned-" + c.name,
			DeadLetterQueue: baseConfig.Table + "-dlq", Table: baseConfig.Table})
		Expect(err).NotTo(HaveOccurred())
		own[c.name] = p.IntakeQueueURL
		c.cfg.IntakeQueues = []string{shared, p.IntakeQueueURL}
		c.cfg.ClaimLease = 10 * time.Second
	}
	DeferCleanup(func() {
		for _, c := range []*center{east, west} {
			c.cfg.IntakeQueues, c.cfg.ClaimLease = []string{shared}, time.Minute
		}
	})
	sim.SetScript(podsim.EchoAfter(100 * time.Millisecond))
	westSim.SetScript(podsim.EchoAfter(100 * time.Millisecond))
	DeferCleanup(func() { sim.SetScript(podsim.Echo); westSim.SetScript(podsim.Echo) })

	r := &killRun{east: east, west: west, id: id, pinnedTo: map[string]string{}, malformed: map[string]bool{},
		resent: map[string]string{}, takenOver: map[string]time.Duration{}}
	for k := range total {
		key := fmt.Sprintf("kill-%05d", k)
		body := popAgenda(id, key)
		if k%50 == 49 { // a cycle: refused by the bridge's validation, dead-lettered with its reason
			body = fmt.Sprintf(`{"customerId":%q,"agendaId":%q,"operations":[{"name":"a","type":"echo","payload":"@<b.out>"},{"name":"b","type":"echo","payload":"@<a.out>"}]}`, id, key)
			r.malformed[key] = true
		}
		r.msgs = append(r.msgs, outgoing{key: key, queue: shared, body: body})
	}
	for _, c := range []*center{east, west} {
		for k := range pinned {
			key := fmt.Sprintf("pin-%s-%02d", c.name, k)
			r.msgs = append(r.msgs, outgoing{key: key, queue: own[c.name], body: popAgenda(id, key)})
			r.pinnedTo[key] = c.name
		}
	}

	// East's manager process starts here and runs to the end of the run: its counters on
	// /metrics are this run's.
	east.start()
	west.start()
	DeferCleanup(func() { // east's mirror lets the run's Agendas go (there may be thousands)
		west.stop()
		if east.proc == nil {
			east.start()
		}
		Expect(east.env.Client.DeleteAllOf(ctx, &popv1.Agenda{}, client.InNamespace(east.ns))).To(Succeed())
		Eventually(func(g Gomega) map[string]popv1.Agenda { return east.agendas(g) }, 10*time.Minute, time.Second).Should(BeEmpty())
		east.stop()
	})
	eastRun := east.runs
	start := time.Now()
	sendMessages(r.msgs)

	By("west dies once it holds a sixth of the shared messages")
	Eventually(func(g Gomega) int { return r.countIn(g, west, "kill-") }, 5*time.Minute, 50*time.Millisecond).
		Should(BeNumerically(">=", total/6))
	west.kill() // SIGKILL: a crash
	r.killedAt = time.Now()
	westAtKill := r.countIn(Default, west, "kill-")

	By("east drains the shared queue; the client resends what the table shows stranded")
	Eventually(func(g Gomega) {
		records := r.clientStep(g, shared)
		g.Expect(queueDepth(g, shared)).To(BeZero())
		g.Expect(queueDepth(g, own["east"])).To(BeZero())
		for _, m := range r.msgs {
			if r.pinnedTo[m.key] == "west" {
				continue
			}
			rec, ok := records[m.key]
			g.Expect(ok).To(BeTrue(), m.key)
			g.Expect(final(rec)).To(BeTrue(), "%s: %s in %s", m.key, rec.State, rec.Center)
		}
	}, 10*time.Minute, 500*time.Millisecond).Should(Succeed())
	drained := time.Since(start)

	By("west comes back: it runs its pinned messages and cancels its copies of what east took over")
	west.start()
	Eventually(func(g Gomega) {
		g.Expect(queueDepth(g, own["west"])).To(BeZero())
		records := customerRecords(g, id)
		for _, m := range r.msgs {
			g.Expect(final(records[m.key])).To(BeTrue(), m.key)
		}
		w := west.agendas(g)
		for key := range r.takenOver {
			if ag, ok := w[key]; ok {
				g.Expect(popv1.IsFinished(&ag)).To(BeTrue(), "west's copy of %s ends", key)
			}
		}
	}, 5*time.Minute, 500*time.Millisecond).Should(Succeed())
	finished := time.Since(start)
	ran := r.account(total, westAtKill, drained, finished)

	By("the metrics per center on east's /metrics show its work and its takeovers from west")
	Expect(east.runs).To(Equal(eastRun), "east's process is the one started with the run")
	Expect(east.metric(Default, "pop_bridge_center_messages_total", map[string]string{"center": "east", "result": "created", "reason": ""})).
		To(BeEquivalentTo(ran["east"]))
	Expect(east.metric(Default, "pop_bridge_center_takeovers_total", map[string]string{"center": "east", "from": "west"})).
		To(BeEquivalentTo(len(r.takenOver)))
}

// countIn counts a center's Agendas whose agendaId starts with prefix.
func (r *killRun) countIn(g Gomega, c *center, prefix string) int {
	n := 0
	for key := range c.agendas(g) {
		if strings.HasPrefix(key, prefix) {
			n++
		}
	}
	return n
}

// clientStep is what a client does while west is gone: it reads the table, resends each
// message whose record is stranded (not final, lease passed, its center's lease passed:
// bridge.IsStranded) once, and notes when east
// took it over.
func (r *killRun) clientStep(g Gomega, shared string) map[string]bridge.Record {
	records := customerRecords(g, r.id)
	now := time.Now()
	live, err := store.LiveCenters(ctx, now)
	g.Expect(err).NotTo(HaveOccurred())
	for _, m := range r.msgs {
		rec, ok := records[m.key]
		if !ok || m.queue != shared {
			continue
		}
		if _, sent := r.resent[m.key]; !sent && bridge.IsStranded(&rec, now, live) {
			sendTo(shared, m.body, signedBy(m.body))
			r.resent[m.key] = rec.Center
		}
		if _, seen := r.takenOver[m.key]; !seen && rec.TakenOverFrom == "west" && rec.Center == "east" {
			r.takenOver[m.key] = now.Sub(r.killedAt)
		}
	}
	return records
}

// account checks every message: exactly one Agenda that ran (in the record's center, the
// pinned ones in theirs) or a dead letter with its reason; it reports the figures and
// returns the Agendas that ran, by center.
func (r *killRun) account(total, westAtKill int, drained, finished time.Duration) map[string]int {
	GinkgoHelper()
	records := customerRecords(Default, r.id)
	e, w := r.east.agendas(Default), r.west.agendas(Default)
	letters := r.deadLetterReasons()
	ran := map[string]int{}
	copies := map[string]int{} // what became of the other center's copy
	for _, m := range r.msgs {
		center, copyOutcome := r.judge(m, records[m.key], e, w, letters)
		if center != "" {
			ran[center]++
		}
		copies[copyOutcome]++
	}
	duplicates, unmirrored, cancelledCopies := copies["duplicate"], copies["unmirrored"], copies["cancelled"]
	var takeovers []time.Duration
	for _, d := range r.takenOver {
		takeovers = append(takeovers, d)
	}
	sort.Slice(takeovers, func(a, b int) bool { return takeovers[a] < takeovers[b] })
	takeoverFigures := "none"
	if len(takeovers) > 0 {
		takeoverFigures = fmt.Sprintf("first %s, median %s, last %s after the kill",
			takeovers[0].Round(100*time.Millisecond), takeovers[len(takeovers)/2].Round(100*time.Millisecond),
			takeovers[len(takeovers)-1].Round(100*time.Millisecond))
	}
	report("centers kill run", "centers-kill.txt", fmt.Sprintf(
		"%d messages on the shared queue (%d malformed) + 10 pinned to each center; lease 10s; west killed holding %d Agendas; "+
			"Succeeded: east %d, west %d; dead letters %d; stranded and resent %d (west's %d, east's %d), taken over by east %d (%s); "+
			"west's copies cancelled %d; run again because west finished them but had not mirrored the end before it died %d; duplicates %d; shared queue and east's drained after %s, all final after %s (west back)",
		total, len(r.malformed), westAtKill, ran["east"], ran["west"], len(r.malformed), len(r.resent), r.resentOf("west"), r.resentOf("east"), len(r.takenOver),
		takeoverFigures, cancelledCopies, unmirrored, duplicates, drained.Round(100*time.Millisecond), finished.Round(100*time.Millisecond)))
	Expect(ran["east"] + ran["west"] + len(r.malformed)).To(Equal(len(r.msgs)))
	Expect(duplicates).To(BeZero(), "no agendaId ran to its end in both centers but those west finished and had not mirrored")
	for key, holder := range r.resent {
		if holder == "west" {
			Expect(r.takenOver).To(HaveKey(key), "%s: west's stranded claim is taken over on its resend", key)
		}
	}
	return ran
}

// judge checks one message's end: a malformed one's dead letter, or the Agenda that ran
// in the record's center (a pinned one in its own). It returns that center and what
// became of the other center's copy: "" (none), cancelled, unmirrored (west finished it
// before it died without mirroring the end) or duplicate.
func (r *killRun) judge(m outgoing, rec bridge.Record, e, w map[string]popv1.Agenda, letters map[string]string) (string, string) {
	GinkgoHelper()
	ag, inEast := e[m.key]
	wag, inWest := w[m.key]
	if r.malformed[m.key] {
		Expect(rec.State).To(Equal(bridge.StateRejected), m.key)
		Expect(letters[m.key]).NotTo(BeEmpty(), "%s: a dead letter with its reason", m.key)
		Expect(inEast || inWest).To(BeFalse(), "%s: no Agenda", m.key)
		return "", ""
	}
	Expect(rec.State).To(Equal(string(popv1.PhaseSucceeded)), m.key)
	if pin := r.pinnedTo[m.key]; pin != "" {
		Expect(rec.Center).To(Equal(pin), "%s runs in its center", m.key)
	}
	mine, other, mineOK, otherOK := ag, wag, inEast, inWest
	if rec.Center == "west" {
		mine, other, mineOK, otherOK = wag, ag, inWest, inEast
	}
	Expect(mineOK).To(BeTrue(), "%s: the Agenda in the record's center %s", m.key, rec.Center)
	Expect(mine.Status.Phase).To(Equal(popv1.PhaseSucceeded), m.key)
	switch {
	case !otherOK:
		return rec.Center, ""
	case other.Status.Phase == popv1.PhaseSucceeded && rec.Center == "east" && other.Status.CompletionTime != nil &&
		other.Status.CompletionTime.Time.Before(r.killedAt):
		// West finished it before it died, but its mirror had not written the end: the
		// record was stranded, so the resend ran it again (docs/centers.md).
		return rec.Center, "unmirrored"
	case other.Status.Phase == popv1.PhaseSucceeded:
		return rec.Center, "duplicate"
	}
	Expect(other.Spec.Cancel).To(BeTrue(), "%s: the other center's copy is cancelled", m.key)
	return rec.Center, "cancelled"
}

// resentOf counts the resent messages whose stranded record a center held.
func (r *killRun) resentOf(center string) int {
	n := 0
	for _, holder := range r.resent {
		if holder == center {
			n++
		}
	}
	return n
}

// deadLetterReasons reads the shared dead-letter queue's letters of this run: the reason
// by agendaId.
func (r *killRun) deadLetterReasons() map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	Eventually(func(g Gomega) int {
		drainDeadLetters(g)
		deadLetters.Lock()
		defer deadLetters.Unlock()
		for _, m := range deadLetters.byID {
			body := awssdk.ToString(m.Body)
			for key := range r.malformed {
				if strings.Contains(body, `"`+key+`"`) && strings.Contains(body, `"`+r.id+`"`) {
					out[key] = awssdk.ToString(m.MessageAttributes[bridge.AttrReason].StringValue)
				}
			}
		}
		return len(out)
	}, 30*time.Second, 500*time.Millisecond).Should(Equal(len(r.malformed)))
	return out
}
