package bench

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// Requests counts the manager's API requests of one phase by "resource[/subresource] verb",
// from the API server's audit log; Conflicts are those refused with 409.
type Requests struct {
	ByKindVerb map[string]int `json:"byKindVerb"`
	// ServerP50Ms is the API server's median time per request (requestReceived to
	// ResponseComplete) by "resource[/subresource] verb".
	ServerP50Ms map[string]float64 `json:"serverP50Ms"`
	Writes      int                `json:"writes"`
	Reads       int                `json:"reads"`
	Conflicts   int                `json:"conflicts"`
}

type auditEvent struct {
	Stage     string                    `json:"stage"`
	Verb      string                    `json:"verb"`
	URI       string                    `json:"requestURI"`
	User      struct{ Username string } `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received time.Time `json:"requestReceivedTimestamp"`
	Done     time.Time `json:"stageTimestamp"`
}

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// ReadAudit counts the manager's requests in the audit log, by phase (PhaseOf the object's
// name; for a deletecollection, of the Agenda its label selector names, by name or by UID
// through nameOfUID).
func ReadAudit(path string, nameOfUID func(string) string) (map[string]*Requests, error) {
	out := map[string]*Requests{}
	times := map[string]map[string][]time.Duration{}
	// Rotated files (audit-<time>.log) first, should the API server have rotated anyway.
	rotated, _ := filepath.Glob(strings.TrimSuffix(path, ".log") + "-*.log")
	for _, p := range append(rotated, path) {
		if err := readAuditFile(p, nameOfUID, out, times); err != nil {
			return nil, err
		}
	}
	for phase, byKey := range times {
		for k, ds := range byKey {
			out[phase].ServerP50Ms[k] = Summarise(ds).P50
		}
	}
	return out, nil
}

func readAuditFile(path string, nameOfUID func(string) string, out map[string]*Requests, times map[string]map[string][]time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Stage != "ResponseComplete" ||
			ev.User.Username != ManagerUser || ev.ObjectRef == nil {
			continue
		}
		phase := PhaseOf(ev.ObjectRef.Name)
		if ev.ObjectRef.Name == "" {
			phase = phaseOfSelector(ev.URI, nameOfUID)
		}
		r := out[phase]
		if r == nil {
			r = &Requests{ByKindVerb: map[string]int{}, ServerP50Ms: map[string]float64{}}
			out[phase] = r
			times[phase] = map[string][]time.Duration{}
		}
		kind := ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			kind += "/" + ev.ObjectRef.Subresource
		}
		r.ByKindVerb[kind+" "+ev.Verb]++
		times[phase][kind+" "+ev.Verb] = append(times[phase][kind+" "+ev.Verb], ev.Done.Sub(ev.Received))
		if writeVerbs[ev.Verb] {
			r.Writes++
		} else {
			r.Reads++
		}
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == 409 {
			r.Conflicts++
		}
	}
	return sc.Err()
}

// phaseOfSelector finds the phase of a collection request from its pop.dev/agenda=<name>
// label selector; "" (cluster-wide) otherwise.
func phaseOfSelector(uri string, nameOfUID func(string) string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	for _, term := range strings.Split(u.Query().Get("labelSelector"), ",") {
		k, v, ok := strings.Cut(term, "=")
		switch {
		case ok && k == popv1.AgendaLabel:
			return PhaseOf(v)
		case ok && k == popv1.AgendaUIDLabel:
			return PhaseOf(nameOfUID(v))
		}
	}
	return ""
}
