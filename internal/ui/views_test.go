package ui

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func TestAgendaViewLayout(t *testing.T) {
	a := &popv1.Agenda{Spec: popv1.AgendaSpec{Operations: []popv1.Operation{
		{Name: "probe", Type: "t"}, {Name: "left", Type: "t", DependsOn: []string{"probe"}},
		{Name: "right", Type: "t", DependsOn: []string{"probe"}}, {Name: "join", Type: "t", DependsOn: []string{"left", "right"}},
	}}}
	a.Status.Operations = []popv1.OperationStatus{{Name: "probe", State: popv1.OperationSucceeded, Attempts: 1}}
	type pos struct {
		State      string
		Layer, Row int
		Deps       []string
	}
	got := map[string]pos{}
	for _, o := range agendaView(a).Operations {
		got[o.Name] = pos{o.State, o.Layer, o.Row, o.Deps}
	}
	want := map[string]pos{
		"probe": {"Succeeded", 0, 0, []string{}},
		"left":  {"Waiting", 1, 0, []string{"probe"}},
		"right": {"Waiting", 1, 1, []string{"probe"}},
		"join":  {"Waiting", 2, 0, []string{"left", "right"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("layout (-want +got):\n%s", d)
	}
}

func TestIdentityFromHeaders(t *testing.T) {
	cases := map[string]struct {
		user, groups string
		wantUser     string
		wantGroups   []string
		wantErr      bool
	}{
		"user and groups": {user: "alice", groups: "dev, ops", wantUser: "alice", wantGroups: []string{"dev", "ops"}},
		"no user":         {groups: "dev", wantErr: true},
		"user too long":   {user: string(make([]byte, maxUserLen+1)), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.user != "" {
				h.Set(userHeader, tc.user)
			}
			if tc.groups != "" {
				h.Set(groupsHeader, tc.groups)
			}
			u, g, err := identityFromHeaders(h)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.wantGroups, g); u != tc.wantUser || d != "" {
				t.Errorf("got %q %v, want %q %v", u, g, tc.wantUser, tc.wantGroups)
			}
		})
	}
}
