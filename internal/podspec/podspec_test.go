package podspec

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func agenda(name, uid string) *popv1.Agenda {
	return &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid)}}
}

func TestName(t *testing.T) {
	cases := map[string]struct {
		agenda, op string
		attempt    int32
		want       string
	}{
		"plain":              {agenda: "ingest", op: "probe", attempt: 1, want: "ingest-probe-"},
		"uppercase lowered":  {agenda: "ingest", op: "Probe", attempt: 2, want: "ingest-probe-"},
		"underscore dashed":  {agenda: "ingest", op: "make_thumb", attempt: 1, want: "ingest-make-thumb-"},
		"dots dashed":        {agenda: "ingest.v2", op: "probe", attempt: 1, want: "ingest-v2-probe-"},
		"too long is cut":    {agenda: strings.Repeat("a", 60), op: "probe", attempt: 10, want: strings.Repeat("a", 51) + "-"},
		"long op is cut too": {agenda: "x", op: strings.Repeat("b", 63), attempt: 100, want: "x-" + strings.Repeat("b", 48) + "-"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ag := agenda(tc.agenda, "0b6c1e4e-6a7e-4a43-9d4e-1f3b2a5c7d90")
			got := Name(ag, tc.op, tc.attempt)
			if !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "-"+strconv.Itoa(int(tc.attempt))) {
				t.Errorf("Name = %q, want prefix %q and the attempt last", got, tc.want)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("Name %q is not a DNS label: %v", got, errs)
			}
			if Name(ag, tc.op, tc.attempt) != got {
				t.Error("Name is not deterministic")
			}
		})
	}
}

// TestNamesOfDifferentAgendasDiffer: names that read alike belong to one Agenda and one
// operation only.
func TestNamesOfDifferentAgendasDiffer(t *testing.T) {
	pairs := map[string][2]string{
		"a dash moved between Agenda and operation": {
			Name(agenda("render-job", "uid-1"), "encode", 1), Name(agenda("render", "uid-2"), "job-encode", 1)},
		"the same Agenda name re-created": {
			Name(agenda("again", "uid-old"), "step", 1), Name(agenda("again", "uid-new"), "step", 1)},
		"operations differing only in case": {
			Name(agenda("a", "uid-1"), "B", 1), Name(agenda("a", "uid-1"), "b", 1)},
	}
	for name, p := range pairs {
		if p[0] == p[1] {
			t.Errorf("%s: both Pods are named %q", name, p[0])
		}
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("x", 100)
	got := LabelValue(long)
	if len(got) > 63 || LabelValue(long) != got || LabelValue("short") != "short" {
		t.Errorf("LabelValue(%d chars) = %q", len(long), got)
	}
	if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
		t.Error(errs)
	}
}

func envOf(vars []corev1.EnvVar) map[string]string {
	out := map[string]string{}
	for _, v := range vars {
		out[v.Name] = v.Value
	}
	return out
}

func contractInput() Input {
	ag := agenda("ingest", "0b6c1e4e-6a7e-4a43-9d4e-1f3b2a5c7d90")
	ag.Namespace = "acme"
	return Input{Agenda: ag, Operation: &popv1.Operation{Name: "probe", Type: "sample"}, Handler: &popv1.HandlerTypeSpec{},
		Attempt: 2, Payload: []byte(`{"a":1}`), Customer: "acme-corp"}
}

// TestEnvFollowsTheOriginalContract: besides PAYLOAD, AGENDA_ID, OPERATION_NAME, CUSTOMER_ID
// and CID, the original POP gave a handler OPERATION_ID (the operation's id), PROGRESS_ID
// (the id of the record holding the Agenda's progress) and, when it had one, LAST_PROGRESS
// (the operation's prior progress object, to resume from).
func TestEnvFollowsTheOriginalContract(t *testing.T) {
	in := contractInput()
	in.LastProgress = `{"processingState":"COMPLETE","processingStateMessage":"failed","percentComplete":40}`
	env := envOf(Env(in))
	want := map[string]string{
		"PAYLOAD": `{"a":1}`, "AGENDA_ID": "ingest", "OPERATION_NAME": "probe", "CUSTOMER_ID": "acme-corp",
		"CID":           "0b6c1e4e-6a7e-4a43-9d4e-1f3b2a5c7d90",
		"OPERATION_ID":  "0b6c1e4e-6a7e-4a43-9d4e-1f3b2a5c7d90/probe",
		"PROGRESS_ID":   "0b6c1e4e-6a7e-4a43-9d4e-1f3b2a5c7d90",
		"LAST_PROGRESS": in.LastProgress,
	}
	for name, value := range want {
		if got, ok := env[name]; !ok || got != value {
			t.Errorf("%s = %q (set: %v), want %q", name, got, ok, value)
		}
	}
	if _, ok := envOf(Env(contractInput()))["LAST_PROGRESS"]; ok {
		t.Error("LAST_PROGRESS set on an attempt with no prior progress (the original set it only when there was some)")
	}
	in.LastProgress = `{"p":"` + strings.Repeat("x", 131072) + `"}`
	if _, ok := envOf(Env(in))["LAST_PROGRESS"]; ok {
		t.Error("LAST_PROGRESS longer than Linux allows one variable: the handler could not start")
	}
}
