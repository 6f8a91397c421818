package v1alpha1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of the status layout (issue 14, docs/status-layout.md). An Agenda's status lists
// only the operations that are not archived: those in progress and those finished since the
// last seal. Once the finished ones reach ShardSealBytes of JSON or ShardSealCount entries,
// the controller writes them, once, into a new OperationShard and drops them from the status,
// so neither the Agenda nor any shard grows with the number of operations.
const (
	// ShardSealBytes is the JSON size of the finished entries at which they are sealed into a
	// shard; a shard holds at most this plus one entry.
	ShardSealBytes = 64 * 1024
	// ShardSealCount is the number of finished entries at which they are sealed.
	ShardSealCount = 128
	// InlineWaitingAbove is the size (in operations) above which the status omits operations
	// still waiting with nothing recorded: an absent operation is Waiting. Smaller Agendas
	// list every operation, as before the layout existed.
	InlineWaitingAbove = 100
)

// ShardName is the name of an Agenda's shard index: the Agenda's name (cut to fit), the
// start of its UID (so a re-created Agenda of the same name never reads an earlier one's
// shards) and the index.
func ShardName(agenda string, uid string, index int32) string {
	if len(agenda) > 230 {
		agenda = agenda[:230]
	}
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return fmt.Sprintf("%s-%s-%d", agenda, uid, index)
}

// ShardAgendaLabel and ShardIndexLabel tell an OperationShard's Agenda (its UID) and place.
const (
	ShardAgendaLabel = "pop.dev/agenda-uid"
	ShardIndexLabel  = "pop.dev/shard"
)

// OperationShard holds the final status of some of an Agenda's operations, moved out of
// the Agenda's status so that no object grows with the Agenda. The Agenda controller writes
// it once; it is owned by its Agenda and deleted with it. status.shards of the Agenda counts
// the shards in use; an operation's entry in a later shard, or in the Agenda's status,
// replaces an earlier one (a rerun).
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=opshard,categories=pop
// +kubebuilder:printcolumn:name="Agenda",type=string,JSONPath=`.agenda`
// +kubebuilder:printcolumn:name="Index",type=integer,JSONPath=`.index`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OperationShard struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// agenda is the name of the Agenda whose operations this shard holds.
	// +required
	Agenda string `json:"agenda"`

	// index is the shard's place among its Agenda's, from 0.
	// +kubebuilder:validation:Minimum=0
	// +required
	Index int32 `json:"index"`

	// operations are the final statuses of finished operations, as status.operations had them.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Operations []OperationStatus `json:"operations,omitempty"`
}

// OperationShardList is a list of OperationShards.
// +kubebuilder:object:root=true
type OperationShardList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OperationShard `json:"items"`
}

// OperationCounts counts the entries of an Agenda's operations by state: the spec's
// operations (a fan-out's own entry among them) and the operations fan-outs generated, the
// archived ones included.
type OperationCounts struct {
	// total is the number of operations.
	Total int32 `json:"total"`
	// +optional
	Waiting int32 `json:"waiting,omitempty"`
	// +optional
	Executing int32 `json:"executing,omitempty"`
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Skipped int32 `json:"skipped,omitempty"`
	// +optional
	Cancelled int32 `json:"cancelled,omitempty"`
}
