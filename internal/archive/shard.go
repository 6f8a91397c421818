package archive

import (
	"encoding/json"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// NewShard is the shard index of the Agenda holding ops, owned by the Agenda so that the
// garbage collector deletes it with it.
func NewShard(ag *popv1.Agenda, index int32, ops []popv1.OperationStatus) *popv1.OperationShard {
	return &popv1.OperationShard{
		TypeMeta: metav1.TypeMeta{APIVersion: popv1.GroupVersion.String(), Kind: "OperationShard"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      popv1.ShardName(ag.Name, string(ag.UID), index),
			Namespace: ag.Namespace,
			Labels: map[string]string{
				popv1.ShardAgendaLabel: string(ag.UID),
				popv1.ShardIndexLabel:  strconv.Itoa(int(index)),
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: popv1.GroupVersion.String(), Kind: "Agenda", Name: ag.Name, UID: ag.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Agenda:     ag.Name,
		Index:      index,
		Operations: Stored(ops),
	}
}

// Stored is ops as the API server stores them (times to the second): what a reader of the
// shard gets back, so that an entry kept in memory compares equal to the stored one.
func Stored(ops []popv1.OperationStatus) []popv1.OperationStatus {
	b, err := json.Marshal(ops)
	if err != nil {
		return ops
	}
	var out []popv1.OperationStatus
	if json.Unmarshal(b, &out) != nil {
		return ops
	}
	return out
}
