package bridge

import (
	"testing"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func insight(capacity, admitted int32, paused bool) popv1.Insight {
	ins := popv1.Insight{}
	ins.Spec.Capacity, ins.Spec.Paused, ins.Status.Admitted = &capacity, paused, admitted
	return ins
}

// TestCapacityAwareBound checks the bound of capacity-aware pulling: the free capacity of
// the unpaused Insights plus the headroom, never above --bridge-max-pending.
func TestCapacityAwareBound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		aware    bool
		insights []popv1.Insight
		want     int
	}{
		{"not capacity-aware: the max-pending bound", false, []popv1.Insight{insight(2, 2, false)}, 50},
		{"a full Insight: the headroom only", true, []popv1.Insight{insight(2, 2, false)}, 3},
		{"free capacity plus headroom", true, []popv1.Insight{insight(20, 5, false), insight(2, 2, false)}, 18},
		{"a paused Insight admits nothing soon", true, []popv1.Insight{insight(20, 0, true), insight(4, 1, false)}, 6},
		{"over its capacity (lowered while full): no negative room", true, []popv1.Insight{insight(2, 9, false), insight(5, 0, false)}, 8},
		{"never above max-pending", true, []popv1.Insight{insight(500, 0, false)}, 50},
		{"no Insight: the headroom only", true, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flowControl{}
			f.configure(Config{CapacityAware: tc.aware, CapacityHeadroom: 3, Center: "east"})
			f.capacity, f.admitted = insightLoad(tc.insights)
			if got := f.bound(50); got != tc.want {
				t.Errorf("bound = %d, want %d (capacity %d, admitted %d)", got, tc.want, f.capacity, f.admitted)
			}
		})
	}
}
