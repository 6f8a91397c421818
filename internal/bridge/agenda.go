package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Labels, annotations and the finalizer the bridge puts on the Agendas it creates.
const (
	// SourceLabel marks Agendas created from SQS (value SourceSQS).
	SourceLabel = "pop.dev/source"
	SourceSQS   = "sqs"
	// KeyAnnotation keeps the client's agenda id (the idempotency key) as it was sent.
	KeyAnnotation = "pop.dev/agenda-id"
	// MirrorFinalizer holds a deleted Agenda until its DynamoDB item is deleted.
	MirrorFinalizer = "pop.dev/dynamodb-mirror"
)

var notNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// AgendaName is deterministic in (customer, key): a redelivered or resent message finds
// the Agenda it created instead of making a second one. The readable part is the key
// folded to a DNS label; the hash keeps keys that fold alike apart.
func AgendaName(customer, key string) string {
	sum := sha256.Sum256([]byte(customer + "\x00" + key))
	slug := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(key), "-"), "-")
	if len(slug) > 40 {
		slug = strings.TrimRight(slug[:40], "-")
	}
	if slug == "" {
		slug = "agenda"
	}
	return slug + "-" + hex.EncodeToString(sum[:])[:10]
}

// NewAgenda is the Agenda a submission becomes in the customer's namespace.
func NewAgenda(sub *Submission, namespace string) *popv1.Agenda {
	labels := map[string]string{SourceLabel: SourceSQS}
	for k, v := range sub.Labels {
		labels[k] = v
	}
	ag := &popv1.Agenda{
		ObjectMeta: metav1.ObjectMeta{
			Name:        AgendaName(sub.CustomerID, sub.Key),
			Namespace:   namespace,
			Labels:      labels,
			Annotations: map[string]string{KeyAnnotation: sub.Key},
			Finalizers:  []string{MirrorFinalizer},
		},
		Spec: sub.Spec,
	}
	ag.Spec.Priority = sub.Priority
	ag.Spec.Insight = sub.Insight
	return ag
}
