package scheduler

import (
	"strings"

	"k8s.io/apimachinery/pkg/types"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/queue"
)

// AgendaKey names an Agenda: the key of the scheduler's Agenda state and of its queues'
// items (queue.Key has the same fields, so the two convert without parsing).
type AgendaKey = types.NamespacedName

// InsightKey names an Insight. Its String form, namespace/name, is what an Agenda's
// status.insight holds and what metrics are labelled with.
type InsightKey types.NamespacedName

// String is namespace/name.
func (k InsightKey) String() string { return k.Namespace + "/" + k.Name }

func insightKeyOf(ins *popv1.Insight) InsightKey {
	return InsightKey{Namespace: ins.Namespace, Name: ins.Name}
}

// parseInsightKey reads an Agenda's status.insight; anything but namespace/name (an Agenda
// admitted by no Insight) is the zero key.
func parseInsightKey(s string) InsightKey {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return InsightKey{}
	}
	return InsightKey{Namespace: ns, Name: name}
}

func itemKey(k AgendaKey) queue.Key { return queue.Key(k) }

func agendaKey(k queue.Key) AgendaKey { return AgendaKey(k) }
