package large_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/framework"
)

// written is what a watch saw stored of one kind in a namespace: every version, as the API
// server sends it (managedFields included), which is what etcd holds.
type written struct {
	Versions int
	Bytes    int64
	Largest  int
	// LargestName is the object of the largest version.
	LargestName string
	// MostExecuting is the most operations an Agenda's status counted executing at once.
	MostExecuting int32
}

// sizeRecorder watches the Agendas and OperationShards of a namespace and records the size
// of every version stored.
type sizeRecorder struct {
	mu     sync.Mutex
	kinds  map[string]*written
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func recordSizes(ns string) *sizeRecorder {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	wctx, cancel := context.WithCancel(ctx)
	r := &sizeRecorder{kinds: map[string]*written{"Agenda": {}, "OperationShard": {}}, cancel: cancel}
	for kind, list := range map[string]client.ObjectList{"Agenda": &popv1.AgendaList{}, "OperationShard": &popv1.OperationShardList{}} {
		w, err := wc.Watch(wctx, list, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		r.done.Add(1)
		go r.follow(wctx, wc, kind, list, ns, w)
	}
	return r
}

// follow records one kind's versions, watching again from the last version seen when the
// API server ends the watch.
func (r *sizeRecorder) follow(wctx context.Context, wc client.WithWatch, kind string, list client.ObjectList, ns string, w watch.Interface) {
	defer r.done.Done()
	last := ""
	for {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			obj, ok := ev.Object.(client.Object)
			if !ok {
				continue
			}
			last = obj.GetResourceVersion()
			r.add(kind, obj)
		}
		if wctx.Err() != nil {
			return
		}
		var err error
		if w, err = wc.Watch(wctx, list, client.InNamespace(ns), &client.ListOptions{Raw: rawFrom(last)}); err != nil {
			return
		}
	}
}

func (r *sizeRecorder) add(kind string, obj client.Object) {
	b, err := json.Marshal(obj)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kinds[kind]
	k.Versions++
	k.Bytes += int64(len(b))
	if len(b) > k.Largest {
		k.Largest, k.LargestName = len(b), obj.GetName()
	}
	if ag, ok := obj.(*popv1.Agenda); ok && ag.Status.Counts != nil {
		k.MostExecuting = max(k.MostExecuting, ag.Status.Counts.Executing)
	}
}

// stop ends the watches and returns what they saw.
func (r *sizeRecorder) stop() map[string]written {
	r.cancel()
	r.done.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]written{}
	for k, v := range r.kinds {
		out[k] = *v
	}
	return out
}

func (w written) String() string {
	return fmt.Sprintf("%d versions, %.1f MB in all, largest %d bytes (%s)", w.Versions, float64(w.Bytes)/1e6, w.Largest, w.LargestName)
}

// rawFrom resumes a watch after version rv.
func rawFrom(rv string) *metav1.ListOptions { return &metav1.ListOptions{ResourceVersion: rv} }
