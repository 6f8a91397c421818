package podspec

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestName(t *testing.T) {
	cases := map[string]struct {
		agenda, op string
		attempt    int32
		want       string
	}{
		"plain":                {agenda: "ingest", op: "probe", attempt: 1, want: "ingest-probe-1"},
		"uppercase is hashed":  {agenda: "ingest", op: "Probe", attempt: 2, want: "ingest-probe-"},
		"underscore is hashed": {agenda: "ingest", op: "make_thumb", attempt: 1, want: "ingest-make-thumb-"},
		"too long is cut":      {agenda: strings.Repeat("a", 60), op: "probe", attempt: 10, want: strings.Repeat("a", 51) + "-"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Name(tc.agenda, tc.op, tc.attempt)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("Name = %q, want prefix %q", got, tc.want)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("Name %q is not a DNS label: %v", got, errs)
			}
			if Name(tc.agenda, tc.op, tc.attempt) != got {
				t.Error("Name is not deterministic")
			}
		})
	}
	if Name("a", "B", 1) == Name("a", "b", 1) {
		t.Error("operations differing only in case share a Pod name")
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
