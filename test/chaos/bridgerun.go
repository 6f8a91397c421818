package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/builders"
)

// BridgeSize is how many messages and faults the bridge run injects.
type BridgeSize struct {
	Messages int
	Kills    int           // SIGKILLs of the manager running the bridge
	Rate     float64       // messages sent per second
	Drain    time.Duration // how long the messages may take to be handled after the last send
}

// BridgeSizes: full is issue 15's item 4, short runs in CI.
var BridgeSizes = map[string]BridgeSize{
	"short": {Messages: 300, Kills: 2, Rate: 10, Drain: 3 * time.Minute},
	"mid":   {Messages: 1000, Kills: 5, Rate: 3, Drain: 10 * time.Minute},
	"full":  {Messages: 10000, Kills: 5, Rate: 4, Drain: 20 * time.Minute},
}

// BridgeCapacity is the capacity of the Insight the bridged Agendas queue in.
const BridgeCapacity = 20

// The queues and the table, named as `popctl bridge init` names them.
const (
	IntakeQueueName = "pop-intake"
	DeadLetterName  = "pop-intake-dead-letters"
	TableName       = "pop-agendas"
)

// BridgeRun is the AWS bridge under faults: the bridge inside the manager binary (one
// center), messages sent to the shared intake queue, signed by their customers, 5 %
// poison, while the SQS and DynamoDB emulators each restart once and the manager is
// SIGKILLed Size.Kills times.
type BridgeRun struct {
	Name string
	Size BridgeSize
	Dir  string
	Bin  string
	Log  func(string, ...any)
	Seed uint64

	Env       *Env
	AWS       *Emulators
	Clients   *bridge.Clients
	Store     *bridge.Store
	Queues    *bridge.Provisioned
	Manager   *Replica
	Sender    *Sender
	Creations *Creations
	Faults    []Fault
	Findings  BridgeFindings
	Started   time.Time
	Drained   time.Duration
	Leftover  []int

	dlMu        sync.Mutex
	deadLetters map[string]DeadLetter
	rnd         *rand.Rand
}

// Execute runs the bridge phase and audits it.
func (r *BridgeRun) Execute(ctx context.Context) error {
	r.Started = time.Now()
	r.rnd = rand.New(rand.NewPCG(r.Seed, 4))
	r.deadLetters = map[string]DeadLetter{}
	var err error
	if r.Env, err = StartEnv(r.Dir); err != nil {
		return err
	}
	defer r.stopAll()
	if err := r.setUpAWS(ctx); err != nil {
		return err
	}
	if err := r.seed(ctx); err != nil {
		return err
	}
	r.Creations = NewCreations()
	st := &stream{c: r.Env.Client, name: "agendas", list: func() client.ObjectList { return &popv1.AgendaList{} },
		sel: bridge.SourceLabel + "=" + bridge.SourceSQS, feed: r.Creations.Feed, gap: func(string) {}, errf: func(string) {}}
	if err := st.relist(ctx, false); err != nil {
		return err
	}
	go st.follow(ctx)
	if _, err := StartSim(ctx, r.Env); err != nil {
		return err
	}
	go r.collectDeadLetters(ctx)
	if err := r.startManager(ctx); err != nil {
		return err
	}
	r.Sender = &Sender{SQS: r.Clients.SQS, URL: r.Queues.IntakeQueueURL, Run: fmt.Sprintf("r%d", r.Seed%100000)}
	r.inject(ctx)
	r.drain(ctx)
	ev, err := r.evidence(ctx)
	if err != nil {
		return err
	}
	r.Findings = CheckBridge(ev)
	return nil
}

func (r *BridgeRun) setUpAWS(ctx context.Context) error {
	// Emulators take any credentials; the run and the manager read these.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "chaos", "AWS_SECRET_ACCESS_KEY": "chaos", "AWS_REGION": "us-east-1"} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	var err error
	if r.AWS, err = StartEmulators(ctx, r.Dir); err != nil {
		return err
	}
	r.Log("emulators: SQS on %s (pid %d), DynamoDB on %s (pid %d)", r.AWS.SQSAddr, r.AWS.Pids()[0], r.AWS.DynamoDBAddr, r.AWS.Pids()[1])
	cfg := bridge.DefaultConfig()
	cfg.Region, cfg.SQSEndpoint, cfg.DynamoDBEndpoint = "us-east-1", r.AWS.SQSEndpoint(), r.AWS.DynamoDBEndpoint()
	if r.Clients, err = bridge.NewClients(ctx, cfg, logr.Discard()); err != nil {
		return err
	}
	r.Store = &bridge.Store{DB: r.Clients.DynamoDB, Table: TableName}
	return r.provision(ctx)
}

// provision is `popctl bridge init`'s code path: the table, the dead-letter queue, the
// intake queue with its redrive policy.
func (r *BridgeRun) provision(ctx context.Context) error {
	p, err := bridge.Provision(ctx, r.Clients, bridge.Resources{IntakeQueue: IntakeQueueName, DeadLetterQueue: DeadLetterName, Table: TableName})
	if err == nil {
		r.Queues = p
	}
	return err
}

// seed creates the namespaces, HandlerTypes and Insights of the core run, each customer's
// signing Secret (the shared queue accepts only signed messages) and the bridge's Insight.
func (r *BridgeRun) seed(ctx context.Context) error {
	if err := Seed(ctx, r.Env.Client); err != nil {
		return err
	}
	objs := []client.Object{builders.MakeInsight(BridgeInsight, OperatorNamespace).Algorithm(popv1.FIFO).Capacity(BridgeCapacity).Obj()}
	for i := range Customers {
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: bridge.SigningSecret, Namespace: Customer(i)},
			Data: map[string][]byte{bridge.SigningKey: SigningKeyOf(Customer(i))}})
	}
	for _, o := range objs {
		if err := r.Env.Client.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// BridgeArgs are the bridge flags of the shipped install (Helm's defaults) plus the
// emulators' endpoints.
func BridgeArgs(p *bridge.Provisioned, sqsEndpoint, ddbEndpoint string) []string {
	return []string{"--bridge-intake-queues=" + p.IntakeQueueURL, "--bridge-dead-letter-queue=" + p.DeadLetterQueueURL,
		"--bridge-table=" + TableName, "--bridge-region=us-east-1", "--center=default", "--bridge-claim-lease=5m",
		"--bridge-mirror=bridged", "--bridge-max-pending=500", "--bridge-max-pending-per-customer=100",
		"--bridge-sqs-endpoint=" + sqsEndpoint, "--bridge-dynamodb-endpoint=" + ddbEndpoint}
}

func (r *BridgeRun) startManager(ctx context.Context) error {
	m := NewReplica("bridge-0", r.Bin, r.Dir, r.Env.ManagerKubecfg)
	args := append(ManagerArgs(m, r.Env.WebhookCertDir, false), BridgeArgs(r.Queues, r.AWS.SQSEndpoint(), r.AWS.DynamoDBEndpoint())...)
	if err := m.Start(args); err != nil {
		return err
	}
	r.Manager = m
	r.Env.Proxy.SetBackends(m.WebhookAddr)
	return m.WaitReady(ctx, time.Minute)
}

// inject sends the messages and, meanwhile, kills the manager Size.Kills times, restarts
// DynamoDB at 35 % of the sending and SQS at 65 %.
func (r *BridgeRun) inject(ctx context.Context) {
	d := max(time.Duration(float64(r.Size.Messages)/r.Size.Rate*float64(time.Second)), time.Duration(r.Size.Kills+2)*8*time.Second)
	r.Log("bridge: %d messages over %s, %d SIGKILLs of the manager, SQS and DynamoDB restarted once each", r.Size.Messages, d.Round(time.Second), r.Size.Kills)
	done := make(chan struct{})
	go func() { r.Sender.Send(ctx, r.Size.Messages, d); close(done) }()
	type fault struct {
		at time.Duration
		do func(context.Context) Fault
	}
	var faults []fault
	for _, at := range (&Run{rnd: r.rnd}).moments(r.Size.Kills, 3*time.Second, d, 6*time.Second) {
		faults = append(faults, fault{at, r.killManager})
	}
	faults = append(faults, fault{d * 35 / 100, r.restartDynamoDB}, fault{d * 65 / 100, r.restartSQS})
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].at < faults[j].at })
	start := time.Now()
	for _, f := range faults {
		sleep(ctx, time.Until(start.Add(f.at)))
		r.Faults = append(r.Faults, f.do(ctx))
	}
	<-done
}

// resumed waits (up to a minute) for the first bridged Agenda created after from and
// returns its delay since at; -1 when none came.
func (r *BridgeRun) resumed(ctx context.Context, from, at time.Time) time.Duration {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		if c := r.Creations.FirstAfter(from); !c.IsZero() {
			return c.Sub(at)
		}
		sleep(ctx, 50*time.Millisecond)
	}
	return -1
}

func (r *BridgeRun) killManager(ctx context.Context) Fault {
	m := r.Manager
	before := m.Current()
	at := m.Kill()
	f := Fault{Kind: "SIGKILL bridge", At: at, Detail: fmt.Sprintf("manager pid %d, up %s", before.Pid, at.Sub(before.Started).Round(time.Millisecond))}
	if err := m.WaitReadyAfter(ctx, at, time.Minute); err != nil {
		f.Failed = err.Error()
		return f
	}
	next := m.Current()
	f.Ready = next.Ready.Sub(at)
	f.Resume = r.resumed(ctx, next.Started, at)
	r.Log("  killed the manager (%s); ready after %s, intake resumed after %s", f.Detail, ms(f.Ready), ms(f.Resume))
	return f
}

// EmulatorDown is how long a restarted emulator stays away.
const EmulatorDown = 5 * time.Second

// restartDynamoDB stops DynamoDB Local (SIGTERM) under load and starts it again on the same
// port and data folder.
func (r *BridgeRun) restartDynamoDB(ctx context.Context) Fault {
	f := Fault{Kind: "restart DynamoDB", At: time.Now()}
	r.AWS.KillDynamoDB()
	sleep(ctx, EmulatorDown)
	if err := r.AWS.StartDynamoDB(); err != nil {
		f.Failed = err.Error()
		return f
	}
	if err := r.waitTable(ctx); err != nil {
		f.Failed = err.Error()
		return f
	}
	up := time.Now()
	f.Ready = up.Sub(f.At)
	f.Detail = fmt.Sprintf("SIGTERM under load, away %s, started again on its data folder", EmulatorDown)
	f.Resume = r.resumed(ctx, up, f.At)
	r.Log("  DynamoDB restarted; back after %s, intake resumed after %s", ms(f.Ready), ms(f.Resume))
	return f
}

// restartSQS stops fauxqs and starts it again. fauxqs keeps its queues in memory only, so a
// restart would lose what they hold, which real SQS never does: the run stops sending,
// waits until the bridge has emptied the intake queue and the auditor the dead-letter
// queue, then restarts it and creates the queues again (same names, same URLs).
func (r *BridgeRun) restartSQS(ctx context.Context) Fault {
	f := Fault{Kind: "restart SQS"}
	r.Sender.Pause()
	defer r.Sender.Resume()
	sleep(ctx, time.Second)
	waited := time.Now()
	for !r.queuesEmpty(ctx) {
		if time.Since(waited) > r.Size.Drain || ctx.Err() != nil {
			f.At, f.Failed = time.Now(), fmt.Sprintf("not restarted: the queues were not empty after %s (a restart would lose their messages)", r.Size.Drain)
			return f
		}
		sleep(ctx, 200*time.Millisecond)
	}
	f.At = time.Now()
	r.AWS.KillSQS()
	sleep(ctx, EmulatorDown)
	if err := r.AWS.StartSQS(); err != nil {
		f.Failed = err.Error()
		return f
	}
	if err := r.provision(ctx); err != nil {
		f.Failed = err.Error()
		return f
	}
	up := time.Now()
	f.Ready = up.Sub(f.At)
	f.Detail = fmt.Sprintf("sending paused and queues emptied first (%.1f s; fauxqs keeps nothing), SIGTERM, away %s, queues created again",
		f.At.Sub(waited).Seconds(), EmulatorDown)
	r.Sender.Resume()
	f.Resume = r.resumed(ctx, up, f.At)
	r.Log("  SQS restarted; back after %s, intake resumed after %s", ms(f.Ready), ms(f.Resume))
	return f
}

func (r *BridgeRun) queuesEmpty(ctx context.Context) bool {
	return r.depth(ctx, r.Queues.IntakeQueueURL) == 0 && r.depth(ctx, r.Queues.DeadLetterQueueURL) == 0
}

// waitTable waits (up to a minute) until the table answers a read: DynamoDB Local may
// open its port a moment before it serves.
func (r *BridgeRun) waitTable(ctx context.Context) error {
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		if _, err = r.Store.Get(ctx, "_health", "_none"); err == nil {
			return nil
		}
		sleep(ctx, 200*time.Millisecond)
	}
	return fmt.Errorf("the table does not answer after the restart: %v", err)
}

// depth is what a queue holds: visible, in flight or delayed (-1 when SQS does not answer).
func (r *BridgeRun) depth(ctx context.Context, url string) int {
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := r.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: awssdk.String(url), AttributeNames: names})
	if err != nil {
		return -1
	}
	n := 0
	for _, k := range names {
		v, _ := strconv.Atoi(out.Attributes[string(k)])
		n += v
	}
	return n
}

// collectDeadLetters empties the dead-letter queue into the auditor's record, by body.
func (r *BridgeRun) collectDeadLetters(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := r.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: awssdk.String(r.Queues.DeadLetterQueueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		r.dlMu.Lock()
		for _, m := range out.Messages {
			b := BodyKey(awssdk.ToString(m.Body))
			dl := r.deadLetters[b]
			dl.Reason = awssdk.ToString(m.MessageAttributes[bridge.AttrReason].StringValue)
			dl.Detail = awssdk.ToString(m.MessageAttributes[bridge.AttrDetail].StringValue)
			dl.SourceID = awssdk.ToString(m.MessageAttributes[bridge.AttrSourceMessage].StringValue)
			dl.Copies++
			r.deadLetters[b] = dl
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		r.dlMu.Unlock()
		if len(entries) > 0 {
			_, _ = r.Clients.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: awssdk.String(r.Queues.DeadLetterQueueURL), Entries: entries})
		}
	}
}

func (r *BridgeRun) deadLetterCopy() map[string]DeadLetter {
	r.dlMu.Lock()
	defer r.dlMu.Unlock()
	out := make(map[string]DeadLetter, len(r.deadLetters))
	for k, v := range r.deadLetters {
		out[k] = v
	}
	return out
}

// drain waits until every valid message has a Succeeded Agenda, every poison message a
// dead letter and the intake queue is empty, or Size.Drain passed.
func (r *BridgeRun) drain(ctx context.Context) {
	start := time.Now()
	for time.Since(start) < r.Size.Drain && ctx.Err() == nil {
		if r.open() == 0 && r.depth(ctx, r.Queues.IntakeQueueURL) == 0 {
			break
		}
		sleep(ctx, time.Second)
	}
	r.Drained = time.Since(start)
	r.Log("bridge drain: %s after the last send (%d messages still open)", r.Drained.Round(time.Second), r.open())
}

func (r *BridgeRun) open() int {
	keys, last, _ := r.Creations.Snapshot()
	dls := r.deadLetterCopy()
	open := 0
	for _, m := range r.Sender.Sent() {
		if m.Poison != "" {
			if _, ok := dls[BodyKey(m.Body)]; !ok {
				open++
			}
			continue
		}
		uids := keys[BridgeKey(m.Customer, m.AgendaID)]
		if len(uids) == 0 || last[uids[0]].Phase != popv1.PhaseSucceeded {
			open++
		}
	}
	return open
}
