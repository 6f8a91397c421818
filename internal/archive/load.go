package archive

import (
	"context"
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// ReadShards lists the Agenda's shards in use (index below status.shards), in index order,
// in one request. A shard missing from the answer is an error: its entries would read as
// waiting, and a reader would show, or a controller run again, operations that finished.
func ReadShards(ctx context.Context, r client.Reader, ag *popv1.Agenda) ([]popv1.OperationShard, error) {
	if ag.Status.Shards == 0 {
		return nil, nil
	}
	var list popv1.OperationShardList
	if err := r.List(ctx, &list, client.InNamespace(ag.Namespace),
		client.MatchingLabels{popv1.ShardAgendaLabel: string(ag.UID)}); err != nil {
		return nil, fmt.Errorf("listing the OperationShards of Agenda %s: %w", ag.Name, err)
	}
	byIndex := make(map[int32]popv1.OperationShard, len(list.Items))
	for _, s := range list.Items {
		if s.Agenda == ag.Name && s.Index < ag.Status.Shards {
			byIndex[s.Index] = s
		}
	}
	out := make([]popv1.OperationShard, 0, ag.Status.Shards)
	for i := range ag.Status.Shards {
		s, ok := byIndex[i]
		if !ok {
			return nil, fmt.Errorf("OperationShard %s of Agenda %s not found", popv1.ShardName(ag.Name, string(ag.UID), i), ag.Name)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out, nil
}

// Load reads the Agenda's archive.
func Load(ctx context.Context, r client.Reader, ag *popv1.Agenda) (Archive, error) {
	shards, err := ReadShards(ctx, r, ag)
	if err != nil {
		return nil, err
	}
	a := Archive{}
	for _, s := range shards {
		a.Add(s.Operations)
	}
	return a, nil
}

// Operations is the Agenda's whole operation list, its archive read with r: what readers
// show (popctl get, the web UI).
func Operations(ctx context.Context, r client.Reader, ag *popv1.Agenda) ([]popv1.OperationStatus, error) {
	a, err := Load(ctx, r, ag)
	if err != nil {
		return nil, err
	}
	return Expand(ag, a), nil
}

// WithOperations returns a copy of the Agenda whose status.operations is the whole list.
func WithOperations(ctx context.Context, r client.Reader, ag *popv1.Agenda) (*popv1.Agenda, error) {
	ops, err := Operations(ctx, r, ag)
	if err != nil {
		return nil, err
	}
	out := ag.DeepCopy()
	out.Status.Operations = ops
	return out, nil
}
