package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Three manager requests of phase tp1 (one refused as stale), one of another user, and one
// stage that is not the last: only the manager's completed requests count.
const auditLines = `{"stage":"ResponseComplete","verb":"patch","requestURI":"/apis/pop.dev/v1alpha1/namespaces/c001/agendas/tp1-000001/status","user":{"username":"pop-manager"},"objectRef":{"resource":"agendas","name":"tp1-000001","subresource":"status"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-12-01T20:00:00.000000Z","stageTimestamp":"2026-12-01T20:00:00.012000Z"}
{"stage":"ResponseComplete","verb":"patch","requestURI":"/apis/pop.dev/v1alpha1/namespaces/c001/agendas/tp1-000001/status","user":{"username":"pop-manager"},"objectRef":{"resource":"agendas","name":"tp1-000001","subresource":"status"},"responseStatus":{"code":409},"requestReceivedTimestamp":"2026-12-01T20:00:01.000000Z","stageTimestamp":"2026-12-01T20:00:01.020000Z"}
{"stage":"ResponseComplete","verb":"deletecollection","requestURI":"/api/v1/namespaces/c001/pods?labelSelector=pop.dev%2Fagenda-uid%3Du-1","user":{"username":"pop-manager"},"objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-12-01T20:00:02.000000Z","stageTimestamp":"2026-12-01T20:00:02.004000Z"}
{"stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/c001/pods","user":{"username":"admin"},"objectRef":{"resource":"pods","name":"tp1-000001-main-1"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2026-12-01T20:00:03.000000Z","stageTimestamp":"2026-12-01T20:00:03.001000Z"}
{"stage":"ResponseStarted","verb":"get","requestURI":"/apis/pop.dev/v1alpha1/namespaces/c001/agendas/tp1-000001","user":{"username":"pop-manager"},"objectRef":{"resource":"agendas","name":"tp1-000001"},"requestReceivedTimestamp":"2026-12-01T20:00:04.000000Z","stageTimestamp":"2026-12-01T20:00:04.001000Z"}
`

func TestReadAuditCountsTheManagersRequestsByPhase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(auditLines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAudit(path, func(uid string) string { return map[string]string{"u-1": "tp1-000001"}[uid] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Requests{"tp1": {
		ByKindVerb:  map[string]int{"agendas/status patch": 2, "pods deletecollection": 1},
		ServerP50Ms: map[string]float64{"agendas/status patch": 12, "pods deletecollection": 4},
		Writes:      3, Conflicts: 1,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadAudit (-want +got):\n%s", diff)
	}
}

func TestPhaseOfNamesAgendasPodsAndEvents(t *testing.T) {
	for name, want := range map[string]string{
		"tp1-000001": "tp1", "tp1-000001-main-1a2b3c4d-1": "tp1", "tp1-000001.17f3a": "tp1", "tp1": "tp1", "dfifo1000": "dfifo1000",
	} {
		if got := PhaseOf(name); got != want {
			t.Errorf("PhaseOf(%q) = %q, want %q", name, got, want)
		}
	}
}
