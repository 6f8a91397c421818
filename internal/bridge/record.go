package bridge

import (
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// StateRejected is the record state of a message that went to the dead-letter queue.
const StateRejected = "Rejected"

// StateDeleted is a tombstone's state when its Agenda was deleted before it finished.
const StateDeleted = "Deleted"

// Record is one DynamoDB item: an Agenda's state as a client that never touches the
// cluster sees it. The key is (customerId, agendaId); docs/aws-bridge.md has the schema.
// Its size is bounded whatever the Agenda's (maxRecordBytes): it counts every operation by
// state but lists at most maxRecordOperations of them.
type Record struct {
	CustomerID      string `dynamodbav:"customerId"`
	AgendaID        string `dynamodbav:"agendaId"`
	Version         uint64 `dynamodbav:"version"`
	State           string `dynamodbav:"state"`
	Namespace       string `dynamodbav:"namespace,omitempty"`
	AgendaName      string `dynamodbav:"agendaName,omitempty"`
	Source          string `dynamodbav:"source,omitempty"`
	PercentComplete int32  `dynamodbav:"percentComplete"`
	Reason          string `dynamodbav:"reason,omitempty"`
	Message         string `dynamodbav:"message,omitempty"`
	Insight         string `dynamodbav:"insight,omitempty"`
	CreatedAt       string `dynamodbav:"createdAt,omitempty"`
	AdmittedAt      string `dynamodbav:"admittedAt,omitempty"`
	StartedAt       string `dynamodbav:"startedAt,omitempty"`
	CompletedAt     string `dynamodbav:"completedAt,omitempty"`
	UpdatedAt       string `dynamodbav:"updatedAt"`
	// Operations lists at most maxRecordOperations operations, those a client most needs
	// first (see listed); OperationCounts counts all of them by state.
	Operations       []OperationRecord `dynamodbav:"operations,omitempty"`
	OperationsTotal  int               `dynamodbav:"operationsTotal"`
	OperationsListed int               `dynamodbav:"operationsListed"`
	OperationCounts  map[string]int    `dynamodbav:"operationCounts,omitempty"`
	MessageID        string            `dynamodbav:"messageId,omitempty"`
	// DeletedAt marks a tombstone: the Agenda is gone, and its agendaId stays taken until
	// ExpiresAt (forever when 0).
	DeletedAt string `dynamodbav:"deletedAt,omitempty"`
	ExpiresAt int64  `dynamodbav:"expiresAt,omitempty"`
	// Center is the center that claimed the key and runs the Agenda; only it writes the
	// record. LeaseExpiresAt (epoch seconds) is how long its claim holds unrenewed (none
	// once the Agenda finished); TakenOverFrom the center whose lapsed claim it replaced.
	Center         string `dynamodbav:"center,omitempty"`
	LeaseExpiresAt int64  `dynamodbav:"leaseExpiresAt,omitempty"`
	TakenOverFrom  string `dynamodbav:"takenOverFrom,omitempty"`
}

// OperationRecord summarises one operation.
type OperationRecord struct {
	Name     string `dynamodbav:"name"`
	State    string `dynamodbav:"state"`
	Attempts int32  `dynamodbav:"attempts,omitempty"`
	Progress int32  `dynamodbav:"progress,omitempty"`
	Message  string `dynamodbav:"message,omitempty"`
}

// maxMessage bounds free text copied into a record (an item is at most 400 KB).
const maxMessage = 1024

// maxRecordOperations bounds the operations a record lists, and with maxMessage and the
// API server's bounds on names (63) makes every record smaller than maxRecordBytes, half
// of DynamoDB's 400 KB item limit (record_test.go checks the worst case). An Agenda of
// 10,000 operations would otherwise need megabytes, and every write of its record fail.
const (
	maxRecordOperations = 100
	maxRecordBytes      = 200 * 1024
)

// RecordOf is the record of an Agenda for a customer. Its version is the Agenda's
// resourceVersion: the API server's etcd revision, which grows with every change, so a
// conditional write on it never lets an older state overwrite a newer one.
func RecordOf(ag *popv1.Agenda, customer string, now time.Time, ttl time.Duration) Record {
	r := Record{
		CustomerID: customer, AgendaID: AgendaIDOf(ag), Version: versionOf(ag),
		State: string(ag.Status.Phase), Namespace: ag.Namespace, AgendaName: ag.Name,
		Source: "kubernetes", PercentComplete: ag.Status.PercentComplete, Insight: ag.Status.Insight,
		CreatedAt: stamp(&ag.CreationTimestamp), AdmittedAt: stamp(ag.Status.AdmissionTime),
		StartedAt: stamp(ag.Status.StartTime), CompletedAt: stamp(ag.Status.CompletionTime),
		UpdatedAt: now.UTC().Format(time.RFC3339),
	}
	if ag.Labels[SourceLabel] == SourceSQS {
		r.Source = SourceSQS
	}
	if r.State == "" {
		r.State = string(popv1.PhasePending)
	}
	r.Reason, r.Message = failureOf(ag)
	r.Operations, r.OperationCounts = listed(ag.Status.Operations)
	r.OperationsTotal, r.OperationsListed = len(ag.Status.Operations), len(r.Operations)
	if c := ag.Status.Counts; c != nil {
		// The status lists only the operations not archived (docs/status-layout.md): those
		// are what the record lists, and counts counts all, read without the shards.
		r.OperationCounts, r.OperationsTotal = countsOf(c), int(c.Total)
	}
	if ttl > 0 && ag.Status.CompletionTime != nil {
		r.ExpiresAt = ag.Status.CompletionTime.Add(ttl).Unix()
	}
	return r
}

// TombstoneOf is the record a deleted bridged Agenda leaves: its last state (Deleted if
// it had not finished), deletedAt, and expiresAt after the retention (none when 0, kept
// forever).
func TombstoneOf(ag *popv1.Agenda, customer string, now time.Time, retention time.Duration) Record {
	r := RecordOf(ag, customer, now, 0)
	r.DeletedAt = now.UTC().Format(time.RFC3339)
	if !popv1.IsFinished(ag) {
		r.State = StateDeleted
	}
	r.ExpiresAt = 0
	if retention > 0 {
		r.ExpiresAt = now.Add(retention).Unix()
	}
	return r
}

// interest orders operation states by how much a client needs to see them when not all
// operations fit in the record: what went wrong, then what runs, then what waits.
var interest = map[popv1.OperationState]int{
	popv1.OperationFailed: 0, popv1.OperationExecuting: 1, popv1.OperationWaiting: 2,
	popv1.OperationCancelled: 3, popv1.OperationSkipped: 4, popv1.OperationSucceeded: 5,
}

// listed picks at most maxRecordOperations operations, the most interesting states first,
// keeps them in the Agenda's order, and counts every operation by state.
func listed(ops []popv1.OperationStatus) ([]OperationRecord, map[string]int) {
	if len(ops) == 0 {
		return nil, nil
	}
	counts := map[string]int{}
	for _, o := range ops {
		counts[string(o.State)]++
	}
	keep := make([]bool, len(ops))
	room := maxRecordOperations
	for level := 0; level <= len(interest) && room > 0; level++ {
		for n, o := range ops {
			if room > 0 && !keep[n] && levelOf(o.State) == level {
				keep[n], room = true, room-1
			}
		}
	}
	out := make([]OperationRecord, 0, min(len(ops), maxRecordOperations))
	for n, o := range ops {
		if keep[n] {
			out = append(out, OperationRecord{Name: o.Name, State: string(o.State),
				Attempts: o.Attempts, Progress: o.Progress, Message: clip(o.Message)})
		}
	}
	return out, counts
}

// countsOf is status.counts as the record's operationCounts: states with no operation left out.
func countsOf(c *popv1.OperationCounts) map[string]int {
	out := map[string]int{}
	for state, n := range map[popv1.OperationState]int32{
		popv1.OperationWaiting: c.Waiting, popv1.OperationExecuting: c.Executing, popv1.OperationSucceeded: c.Succeeded,
		popv1.OperationFailed: c.Failed, popv1.OperationSkipped: c.Skipped, popv1.OperationCancelled: c.Cancelled,
	} {
		if n > 0 {
			out[string(state)] = int(n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// levelOf is a state's place in interest; unknown states come last.
func levelOf(s popv1.OperationState) int {
	if l, ok := interest[s]; ok {
		return l
	}
	return len(interest)
}

// AgendaIDOf is the client's agenda id: the idempotency key of a bridged Agenda, the
// Agenda's name otherwise.
func AgendaIDOf(ag *popv1.Agenda) string {
	if k := ag.Annotations[KeyAnnotation]; k != "" {
		return k
	}
	return ag.Name
}

func versionOf(ag *popv1.Agenda) uint64 {
	v, err := strconv.ParseUint(ag.ResourceVersion, 10, 64)
	if err != nil {
		return 0 // never overwrites anything: an API server with opaque versions is not supported
	}
	return v
}

// failureOf is the reason an Agenda failed or cannot run, from its conditions.
func failureOf(ag *popv1.Agenda) (reason, message string) {
	for _, t := range []string{popv1.AgendaFailed, popv1.AgendaCancelled} {
		if c := meta.FindStatusCondition(ag.Status.Conditions, t); c != nil && c.Status == metav1.ConditionTrue {
			return c.Reason, clip(c.Message)
		}
	}
	if c := meta.FindStatusCondition(ag.Status.Conditions, popv1.AgendaAccepted); c != nil && c.Status == metav1.ConditionFalse {
		return c.Reason, clip(c.Message)
	}
	return "", ""
}

func stamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func clip(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage]
	}
	return s
}
