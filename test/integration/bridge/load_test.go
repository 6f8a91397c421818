package bridge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
)

// The load run: POP_BRIDGE_LOAD_MESSAGES messages (default 2,000), one in 20 malformed,
// from four customers, with flow control at POP_BRIDGE_LOAD_MAX_PENDING (default 200; a
// bound above the message count measures the intake alone). Every message must end as exactly one Agenda or one dead letter,
// and the DynamoDB mirror must equal the cluster. Figures go to the report and stdout:
//
//	make aws-up; eval "$(hack/aws-emulators.sh env)"
//	KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh) go test ./test/integration/bridge -run TestBridge -ginkgo.label-filter=load -v
var _ = Describe("Bridge load run", Label("load"), func() {
	It("accounts for every message of a large burst with malformed ones, and the mirror equals the cluster", func() {
		total := 2000
		if v := os.Getenv("POP_BRIDGE_LOAD_MESSAGES"); v != "" {
			n, err := strconv.Atoi(v)
			Expect(err).NotTo(HaveOccurred())
			total = n
		}
		cfg := baseConfig
		cfg.MaxPending, cfg.Pollers = 200, 4
		if v := os.Getenv("POP_BRIDGE_LOAD_MAX_PENDING"); v != "" {
			n, err := strconv.Atoi(v)
			Expect(err).NotTo(HaveOccurred())
			cfg.MaxPending = n
		}
		cfg.MaxPendingPerCustomer = cfg.MaxPending // the run measures the intake, not the per-customer bound
		stopManager()
		stopManager = startManager(cfg)
		DeferCleanup(func() {
			stopManager()
			stopManager = startManager(baseConfig)
		})

		const customerCount = 4
		ids := make([]string, customerCount)
		nss := make([]string, customerCount)
		for c := range customerCount {
			ids[c] = fmt.Sprintf("load-%d-%d", c, customers.Add(1))
			ns, err := env.CreateNamespace(ctx, "load", map[string]string{popv1.CustomerLabel: ids[c]})
			Expect(err).NotTo(HaveOccurred())
			nss[c] = ns
			giveSigningKey(ids[c], ns)
			Expect(env.Client.Create(ctx, builders.MakeHandlerType("echo", ns, "pop-handlers/echo:dev").Obj())).To(Succeed())
			ins := builders.MakeInsight("local", ns).Capacity(50).Obj()
			ins.Spec.NamespaceSelector = nil
			Expect(env.Client.Create(ctx, ins)).To(Succeed())
		}

		bodies, malformed := loadMessages(ids, total)
		start := time.Now()
		sendAll(bodies)
		sentIn := time.Since(start)

		var drained time.Duration
		Eventually(func(g Gomega) {
			g.Expect(queueDepth(g, queues.IntakeQueueURL)).To(BeZero())
			drained = time.Since(start)
		}, 10*time.Minute, 100*time.Millisecond).Should(Succeed())

		created := 0
		for _, ns := range nss {
			created += len(agendasIn(Default, ns))
		}
		var dead int
		Eventually(func(g Gomega) int {
			drainDeadLetters(g)
			dead = countDeadLettersFor(malformed)
			return dead
		}, framework.Timeout, framework.Interval).Should(Equal(len(malformed)))

		var finished time.Duration
		Eventually(func(g Gomega) {
			for _, ns := range nss {
				for _, ag := range agendasIn(g, ns) {
					g.Expect(ag.Status.Phase).To(Equal(popv1.PhaseSucceeded), "%s/%s", ns, ag.Name)
				}
			}
			finished = time.Since(start)
		}, 10*time.Minute, time.Second).Should(Succeed())

		var mismatches int
		Eventually(func(g Gomega) int {
			mismatches = mirrorMismatches(g, ids, nss)
			return mismatches
		}, time.Minute, time.Second).Should(BeZero())

		summary := fmt.Sprintf("bound %d pending; sent %d (%d malformed) in %s; Agendas created %d, dead letters %d, created+dead=%d; "+
			"queue drained after %s = %.0f messages/s; all Agendas Succeeded after %s; mirror mismatches %d",
			cfg.MaxPending, total, len(malformed), sentIn.Round(time.Millisecond), created, dead, created+dead,
			drained.Round(time.Millisecond), float64(total)/drained.Seconds(), finished.Round(time.Millisecond), mismatches)
		AddReportEntry("bridge load run", summary)
		fmt.Fprintln(GinkgoWriter, summary)
		fmt.Println("bridge load run:", summary)
		if dir := os.Getenv("POP_CACHE"); dir != "" {
			// .ci/run prints it: go test shows a passing package's output only with -v.
			Expect(os.WriteFile(filepath.Join(dir, "bridge-load.txt"), []byte(summary+"\n"), 0o644)).To(Succeed())
		}
		Expect(created).To(Equal(total-len(malformed)), "every well-formed message must become exactly one Agenda")
		Expect(created + dead).To(Equal(total))
	})
})

// loadMessages builds total messages spread over the customers; every 20th is malformed,
// cycling through four kinds of defect. It returns the bodies and the malformed indices.
func loadMessages(ids []string, total int) ([]string, map[int]bool) {
	bodies := make([]string, total)
	malformed := map[int]bool{}
	for i := range total {
		id, key := ids[i%len(ids)], fmt.Sprintf("load-%05d", i)
		if i%20 != 19 {
			bodies[i] = fmt.Sprintf(`{"customerId":%q,"agendaId":%q,"operations":[{"name":"only","type":"echo","payload":{"n":%d}}]}`, id, key, i)
			continue
		}
		malformed[i] = true
		switch (i / 20) % 4 {
		case 0:
			bodies[i] = `{"customerId": "` + id + `", "agendaId": ` // cut short
		case 1:
			bodies[i] = fmt.Sprintf(`{"customerId":%q,"agendaId":%q,"operations":[{"name":"a","type":"echo","payload":"@<b.out>"},{"name":"b","type":"echo","payload":"@<a.out>"}]}`, id, key)
		case 2:
			bodies[i] = fmt.Sprintf(`{"customerId":"no-such-customer","agendaId":%q,"operations":[{"name":"a","type":"echo"}]}`, key)
		case 3:
			bodies[i] = fmt.Sprintf(`{"customerId":%q,"operations":[{"name":"a","type":"echo"}]}`, id)
		}
	}
	return bodies, malformed
}

// sendAll sends the bodies in batches of 10 from 8 senders, each message tagged with its
// index so that its dead letter can be matched.
func sendAll(bodies []string) {
	GinkgoHelper()
	batches := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for first := range batches {
				var entries []sqstypes.SendMessageBatchRequestEntry
				for i := first; i < min(first+10, len(bodies)); i++ {
					attrs := signedBy(bodies[i]) // as each customer's client signs on the shared queue
					if attrs == nil {
						attrs = map[string]sqstypes.MessageAttributeValue{}
					}
					attrs["load-index"] = sqstypes.MessageAttributeValue{DataType: awssdk.String("Number"), StringValue: awssdk.String(strconv.Itoa(i))}
					entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
						Id: awssdk.String(strconv.Itoa(i)), MessageBody: awssdk.String(bodies[i]), MessageAttributes: attrs,
					})
				}
				out, err := aws.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: awssdk.String(queues.IntakeQueueURL), Entries: entries})
				Expect(err).NotTo(HaveOccurred())
				Expect(out.Failed).To(BeEmpty())
			}
		}()
	}
	for first := 0; first < len(bodies); first += 10 {
		batches <- first
	}
	close(batches)
	wg.Wait()
}

// countDeadLettersFor counts the dead letters of this run's malformed messages.
func countDeadLettersFor(malformed map[int]bool) int {
	deadLetters.Lock()
	defer deadLetters.Unlock()
	n := 0
	for _, m := range deadLetters.byID {
		if a, ok := m.MessageAttributes["load-index"]; ok {
			i, err := strconv.Atoi(awssdk.ToString(a.StringValue))
			if err == nil && malformed[i] {
				n++
			}
		}
	}
	return n
}

// mirrorMismatches compares every customer's records with its Agendas.
func mirrorMismatches(g Gomega, ids, nss []string) int {
	mismatches := 0
	for c, id := range ids {
		records := map[string]bridge.Record{}
		p := dynamodb.NewQueryPaginator(aws.DynamoDB, &dynamodb.QueryInput{
			TableName:                 awssdk.String(store.Table),
			KeyConditionExpression:    awssdk.String("customerId = :c"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": &ddbtypes.AttributeValueMemberS{Value: id}},
			ConsistentRead:            awssdk.Bool(true),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			var rs []bridge.Record
			g.Expect(attributevalue.UnmarshalListOfMaps(page.Items, &rs)).To(Succeed())
			for _, r := range rs {
				records[r.AgendaID] = r
			}
		}
		for _, ag := range agendasIn(g, nss[c]) {
			r, ok := records[bridge.AgendaIDOf(&ag)]
			if !ok || r.State != string(ag.Status.Phase) || r.Version != mustVersion(ag.ResourceVersion) {
				mismatches++
			}
			delete(records, bridge.AgendaIDOf(&ag))
		}
		for _, r := range records {
			if r.State != bridge.StateRejected {
				mismatches++ // a record without its Agenda
			}
		}
	}
	return mismatches
}

func mustVersion(rv string) uint64 {
	v, _ := strconv.ParseUint(rv, 10, 64)
	return v
}
