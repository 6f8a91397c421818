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

// Record is one DynamoDB item: an Agenda's state as a client that never touches the
// cluster sees it. The key is (customerId, agendaId); docs/aws-bridge.md has the schema.
type Record struct {
	CustomerID      string            `dynamodbav:"customerId"`
	AgendaID        string            `dynamodbav:"agendaId"`
	Version         uint64            `dynamodbav:"version"`
	State           string            `dynamodbav:"state"`
	Namespace       string            `dynamodbav:"namespace,omitempty"`
	AgendaName      string            `dynamodbav:"agendaName,omitempty"`
	Source          string            `dynamodbav:"source,omitempty"`
	PercentComplete int32             `dynamodbav:"percentComplete"`
	Reason          string            `dynamodbav:"reason,omitempty"`
	Message         string            `dynamodbav:"message,omitempty"`
	Insight         string            `dynamodbav:"insight,omitempty"`
	CreatedAt       string            `dynamodbav:"createdAt,omitempty"`
	AdmittedAt      string            `dynamodbav:"admittedAt,omitempty"`
	StartedAt       string            `dynamodbav:"startedAt,omitempty"`
	CompletedAt     string            `dynamodbav:"completedAt,omitempty"`
	UpdatedAt       string            `dynamodbav:"updatedAt"`
	Operations      []OperationRecord `dynamodbav:"operations,omitempty"`
	MessageID       string            `dynamodbav:"messageId,omitempty"`
	ExpiresAt       int64             `dynamodbav:"expiresAt,omitempty"`
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
	for _, o := range ag.Status.Operations {
		r.Operations = append(r.Operations, OperationRecord{Name: o.Name, State: string(o.State),
			Attempts: o.Attempts, Progress: o.Progress, Message: clip(o.Message)})
	}
	if ttl > 0 && ag.Status.CompletionTime != nil {
		r.ExpiresAt = ag.Status.CompletionTime.Add(ttl).Unix()
	}
	return r
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
