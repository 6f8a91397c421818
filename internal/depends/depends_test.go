package depends

import "testing"

func TestDecide(t *testing.T) {
	states := map[string]State{"ok": Done, "bad": Fail, "skipped": Skip, "gone": Cancelled, "busy": Waiting}
	state := func(op string) State { return states[op] }
	for _, tc := range []struct {
		name string
		reqs []Requirement
		want Verdict
	}{
		{"no dependencies", nil, Run},
		{"succeeded, the default", []Requirement{{Operation: "ok"}}, Run},
		{"failed where success is required", []Requirement{{Operation: "bad"}}, Never},
		{"skipped spreads to a dependent needing success", []Requirement{{Operation: "skipped"}}, Never},
		{"a compensation step runs on failure", []Requirement{{Operation: "bad", Outcome: Failed}}, Run},
		{"and is skipped on success", []Requirement{{Operation: "ok", Outcome: Failed}}, Never},
		{"Skipped required", []Requirement{{Operation: "skipped", Outcome: Skipped}}, Run},
		{"Finished takes any end", []Requirement{{Operation: "bad", Outcome: Finished}, {Operation: "gone", Outcome: Finished}, {Operation: "skipped", Outcome: Finished}}, Run},
		{"one still running: wait", []Requirement{{Operation: "ok"}, {Operation: "busy"}}, Wait},
		{"a mismatch decides before the wait ends", []Requirement{{Operation: "busy"}, {Operation: "bad"}}, Never},
		{"cancelled where success is required", []Requirement{{Operation: "gone"}}, Never},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.reqs, state); got != tc.want {
				t.Errorf("Decide = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFinallyReady(t *testing.T) {
	states := map[string]State{"a": Done, "b": Fail, "c": Waiting}
	state := func(op string) State { return states[op] }
	if FinallyReady([]string{"a", "b", "c"}, state) {
		t.Error("finally started while c runs")
	}
	states["c"] = Skip
	if !FinallyReady([]string{"a", "b", "c"}, state) {
		t.Error("finally did not start once everything ended")
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Outcome{"", Succeeded, Failed, Skipped, Finished} {
		if err := Validate(o, "f"); err != nil {
			t.Errorf("Validate(%q) = %v", o, err)
		}
	}
	if err := Validate("Success", "spec.operations[1].dependsOn[0].outcome"); err == nil ||
		err.Error() != `spec.operations[1].dependsOn[0].outcome: unknown outcome "Success"; want Succeeded, Failed, Skipped or Finished` {
		t.Errorf("Validate(Success) = %v", err)
	}
}
