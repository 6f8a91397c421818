package controllers

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/archive"
)

// +kubebuilder:rbac:groups=pop.dev,resources=operationshards,verbs=get;list;create;update

// archiveCache keeps the archive of each running Agenda, read once from the API server and
// added to by every shard this controller writes, so that a reconcile of a 10,000-operation
// Agenda does not read its shards again. Shards are never watched: the controller is their
// only writer. An entry is dropped when its Agenda finishes; a rerun reads the shards again.
type archiveCache struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*agendaArchive
}

// agendaArchive is one Agenda's archive as of shards shards.
type agendaArchive struct {
	uid    types.UID
	shards int32
	arch   archive.Archive
}

func (c *archiveCache) get(key types.NamespacedName, uid types.UID, shards int32) archive.Archive {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.m[key]; ok && a.uid == uid && a.shards == shards {
		return a.arch
	}
	return nil
}

func (c *archiveCache) put(key types.NamespacedName, a *agendaArchive) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[types.NamespacedName]*agendaArchive{}
	}
	c.m[key] = a
}

func (c *archiveCache) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// archiveOf returns the Agenda's archive, from memory or read past the cache.
func (r *AgendaReconciler) archiveOf(ctx context.Context, ag *popv1.Agenda) (archive.Archive, error) {
	if ag.Status.Shards == 0 {
		return archive.Archive{}, nil
	}
	key := client.ObjectKeyFromObject(ag)
	if a := r.archives.get(key, ag.UID, ag.Status.Shards); a != nil {
		return a, nil
	}
	a, err := archive.Load(ctx, r.APIReader, ag)
	if err != nil {
		return nil, err
	}
	r.archives.put(key, &agendaArchive{uid: ag.UID, shards: ag.Status.Shards, arch: a})
	return a, nil
}

// sealed records in memory the shards a stored status write put in use.
func (r *AgendaReconciler) sealed(ag *popv1.Agenda, arch archive.Archive, shards [][]popv1.OperationStatus) {
	if arch == nil {
		arch = archive.Archive{}
	}
	for _, shard := range shards {
		arch.Add(archive.Stored(shard))
	}
	r.archives.put(client.ObjectKeyFromObject(ag), &agendaArchive{uid: ag.UID, shards: ag.Status.Shards, arch: arch})
}

// writeShard writes shard index of the Agenda. One that exists already is left over from a
// reconcile whose status write was refused (it was never counted in status.shards), and is
// replaced — unless the Agenda as stored counts it, which makes this reconcile stale.
func (r *AgendaReconciler) writeShard(ctx context.Context, ag *popv1.Agenda, index int32, ops []popv1.OperationStatus) error {
	shard := archive.NewShard(ag, index, ops)
	err := r.Client.Create(ctx, shard, client.FieldOwner(AgendaFieldOwner))
	if !apierrors.IsAlreadyExists(err) {
		return wrapShardErr(shard, err)
	}
	// A shard the stored status already counts must never be replaced: this reconcile read
	// an Agenda older than its last write (one whose answer was lost) and must start again.
	var cur popv1.Agenda
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ag), &cur); err != nil {
		return wrapShardErr(shard, err)
	}
	if cur.UID != ag.UID || cur.Status.Shards > index {
		return errStale
	}
	var old popv1.OperationShard
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(shard), &old); err != nil {
		return wrapShardErr(shard, err)
	}
	if old.Labels[popv1.ShardAgendaLabel] != string(ag.UID) {
		return fmt.Errorf("OperationShard %s exists and is not this Agenda's", shard.Name)
	}
	shard.ResourceVersion = old.ResourceVersion
	return wrapShardErr(shard, r.Client.Update(ctx, shard, client.FieldOwner(AgendaFieldOwner)))
}

func wrapShardErr(shard *popv1.OperationShard, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("writing OperationShard %s: %w", shard.Name, err)
}
