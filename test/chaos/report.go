package chaos

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// OK is true when the auditor found nothing wrong, every fault recovered within its bound,
// the stream agreed with the API server and no process was left behind.
func (r *Run) OK() bool {
	for _, f := range r.Faults {
		if f.Failed != "" {
			return false
		}
	}
	return r.Findings.OK() && len(r.Disagree) == 0 && len(r.Leftover) == 0
}

func ms(d time.Duration) string {
	if d < 0 {
		return "none seen"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// stats summarises durations: min / median / max.
func stats(ds []time.Duration) string {
	var ok []time.Duration
	for _, d := range ds {
		if d >= 0 {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "—"
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	return fmt.Sprintf("%s / %s / %s", ms(ok[0]), ms(ok[len(ok)/2]), ms(ok[len(ok)-1]))
}

func count(n int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d**", n)
}

// Markdown writes the run's tables: the auditor's verdict, one table per fault kind, the
// outcome per Agenda kind, the managers' processes.
func (r *Run) Markdown(w io.Writer) {
	f := r.Findings
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format+"\n", a...) }
	p("### Auditor\n")
	p("| Check | Result |\n| --- | --- |")
	p("| Agendas created | %d (%d Pods, %d Agenda events in resourceVersion order) |", f.Agendas, f.Pods, f.Events)
	p("| Lost (never seen, or gone) | %s |", count(len(f.Lost)))
	p("| Stuck (not ended %s after the last create) | %s |", r.Size.Drain, count(len(f.Stuck)))
	p("| Ended otherwise than expected | %s |", count(len(f.Wrong)))
	p("| More than one Pod for an operation attempt | %s |", count(len(f.Duplicates)))
	p("| Attempts over retries + 1 | %s |", count(len(f.OverAttempts)))
	p("| Moments over an Insight's capacity | %s |", count(len(f.Overshoots)))
	p("| Stream phase ≠ final GET | %s |", count(len(r.Disagree)))
	p("| Manager processes left running | %s |", count(len(r.Leftover)))
	p("| Watch relists (events possibly missed) | %s |", gaps(f.Gaps))
	p("| **Verdict** | **%s** |\n", verdict(r.OK()))
	p("Peak admitted per Insight (capacity): %s\n", peaks(f))
	r.kindTable(p)
	r.faultTables(p)
	r.problems(p)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func gaps(g map[string]int) string {
	if len(g) == 0 {
		return "0"
	}
	var parts []string
	for k, v := range g {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func peaks(f Findings) string {
	var parts []string
	for ins, c := range f.Capacity {
		parts = append(parts, fmt.Sprintf("%s %d (%d)", ins, f.Peak[ins], c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (r *Run) kindTable(p func(string, ...any)) {
	p("| Agenda kind | Expected end | Outcomes |\n| --- | --- | --- |")
	for _, k := range kinds {
		var parts []string
		for phase, n := range r.Findings.ByKind[k.name] {
			parts = append(parts, fmt.Sprintf("%s %d", phase, n))
		}
		sort.Strings(parts)
		p("| %s | %s | %s |", k.name, k.want, strings.Join(parts, ", "))
	}
	p("")
}

func (r *Run) faultTables(p func(string, ...any)) {
	faultTables(p, r.Faults, r.Started, []string{"SIGKILL manager", "SIGKILL leader", "restart kube-apiserver", "webhook unreachable"},
		map[string][2]string{
			"SIGKILL manager":        {"successor ready", "first manager write"},
			"SIGKILL leader":         {"Lease taken over", "first manager write"},
			"restart kube-apiserver": {"API server healthy", "first manager write"},
			"webhook unreachable":    {"webhook back", "first create accepted"},
		})
	p("Manager processes: %s\n", r.processes())
}

// faultTables writes one table per kind of fault, in the given order, with the two times
// each kind measures (heads: what "ready" and "resumed" mean for it) and their spread.
func faultTables(p func(string, ...any), faults []Fault, started time.Time, kinds []string, heads map[string][2]string) {
	for _, kind := range kinds {
		var ready, resume []time.Duration
		var rows []string
		for i, f := range faults {
			if f.Kind != kind {
				continue
			}
			ready, resume = append(ready, f.Ready), append(resume, f.Resume)
			status := "ok"
			if f.Failed != "" {
				status = "**" + f.Failed + "**"
			}
			rows = append(rows, fmt.Sprintf("| %d | +%.1f s | %s | %s | %s | %s |", i+1, f.At.Sub(started).Seconds(), f.Detail, ms(f.Ready), ms(f.Resume), status))
		}
		if len(rows) == 0 {
			continue
		}
		h := heads[kind]
		p("#### %s × %d\n", kind, len(rows))
		p("| # | At | What | To %s | To %s | Status |\n| --- | --- | --- | --- | --- | --- |", h[0], h[1])
		for _, row := range rows {
			p("%s", row)
		}
		p("\nmin / median / max: %s %s; %s %s\n", h[0], stats(ready), h[1], stats(resume))
	}
}

func (r *Run) processes() string {
	var parts []string
	for _, m := range r.Replicas {
		killed, own := 0, 0
		for _, l := range m.Lives() {
			switch {
			case l.Killed:
				killed++
			case !l.Ended.IsZero() && l.Exit != "<nil>" && l.Exit != "" && l.Exit != "signal: terminated":
				own++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d started, %d SIGKILLed, %d exited on their own", m.Name, len(m.Lives()), killed, own))
	}
	return strings.Join(parts, "; ")
}

func (r *Run) problems(p func(string, ...any)) {
	f := r.Findings
	lists := []struct {
		name  string
		items []string
	}{{"Lost", f.Lost}, {"Stuck", f.Stuck}, {"Ended otherwise", f.Wrong}, {"Duplicate Pods", f.Duplicates},
		{"Attempts over the limit", f.OverAttempts}, {"Stream ≠ GET", r.Disagree}}
	for _, l := range lists {
		if len(l.items) == 0 {
			continue
		}
		p("%s (%d):\n", l.name, len(l.items))
		for i, it := range l.items {
			if i == 20 {
				p("- … %d more", len(l.items)-20)
				break
			}
			p("- %s", it)
		}
		p("")
	}
	for i, o := range f.Overshoots {
		if i == 20 {
			break
		}
		p("- over capacity: %s had %d admitted (capacity %d) at resourceVersion %s, +%.1f s", o.Insight, o.Admitted, o.Capacity, o.RV, o.At.Sub(r.Started).Seconds())
	}
	for _, l := range r.Leftover {
		p("- process %d still alive", l)
	}
}

// Preamble is the opening of docs/reliability.md: what the run does and how it judges.
func Preamble(w io.Writer, s Size) {
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format+"\n", a...) }
	p("# Reliability under faults (issue 15)\n")
	p("Written by `make chaos` (`go run ./test/chaos/cmd/popchaos -size %s -out docs/reliability.md`);", s.Name)
	p("`make chaos CHAOS_SIZE=short` is part of `make test`. Everything below the line comes from one run.\n")
	p("**The setup.** envtest (etcd, kube-apiserver) with POP's CRDs and its validating webhook")
	p("(`failurePolicy: Fail`). The manager is the binary of `./cmd/manager`, run as child processes")
	p("with its default flags plus listen addresses, `--enable-webhooks --webhook-cert-mode=external`")
	p("(envtest's certificate) and, with two replicas, `--leader-elect` (default 15 s lease). A")
	p("supervisor restarts a process that ends, like a kubelet: at once after a kill, else with a")
	p("back-off from 1 s to 10 s. Pods are run by an in-process kubelet stand-in (Running, then")
	p("Succeeded or Failed after 50–450 ms). The API server calls the webhook through a TCP proxy")
	p("of the run, which forwards to the live replicas and can be cut.\n")
	p("**The load.** %d Agendas created at %.0f per second over 8 customer namespaces, through", s.Agendas, s.Rate)
	p("three Insights — FIFO capacity 3, Fairness capacity 4 (one customer weighted 3), Priority")
	p("capacity 3 (random priorities) — of five kinds: one operation (8 in 20); a 10-operation DAG")
	p("split → 8 → join reading each other's outputs (5 in 20); one operation whose first two")
	p("attempts fail and the third succeeds, 2 retries with 1 s backoff (3 in 20); one whose every")
	p("attempt fails, so Failed after 3 (2 in 20); one whose Pod runs until the Agenda is cancelled,")
	p("`spec.cancel` set 1–4 s after creation (2 in 20). Every create and cancel is retried until")
	p("the API server accepts it.\n")
	p("**The faults**, in four phases while Agendas keep arriving: (1) one manager without leader")
	p("election SIGKILLed at %d random moments — every second one at once when the auditor sees the", s.Kills)
	p("next Pod created, most likely before the manager recorded it in the Agenda's status — and")
	p("restarted; (2) two replicas with leader election,")
	p("the leader (found from its `leader_election_master_status` metric) SIGKILLed %d times, at", s.LeaderKills)
	p("least 30 s apart; (3) kube-apiserver stopped (SIGTERM; SIGKILL if not stopped after %s)", APIServerStopTimeout)
	p("and started again on the same etcd, port and certificates; (4) the webhook unreachable for")
	p("%s (listener closed, open connections cut). Then the run waits up to %s for every Agenda", s.WebhookOutage, s.Drain)
	p("to end.\n")
	p("**The auditor** uses only its own watches of Agendas, handler Pods and the Lease, each")
	p("followed in the API server's resourceVersion order and resumed from the last resourceVersion")
	p("after a break (a relist, counted, only if that version was compacted). It checks every Agenda")
	p("the load created: present and ended as its kind must (lost / stuck / otherwise); Pods per")
	p("operation attempt (labels `pop.dev/agenda-uid`, `operation`, `attempt`) at most one; attempts")
	p("(highest Pod attempt label and `status.operations[].attempts`) at most retries + 1; and, from")
	p("the ordered Agenda stream, after every single event, the number of Agendas with `Admitted=True`")
	p("that have not ended, per Insight, against its capacity. A final GET of each Agenda must agree")
	p("with the stream. \"First manager write\" is the first Pod created or Agenda status changed that")
	p("the auditor saw after a fault (after the successor started, for a kill). Its checks are unit")
	p("tested to fail on an overshoot of one event, a second Pod for an attempt, an attempt over the")
	p("limit, and lost, stuck and wrongly ended Agendas (`test/chaos/audit_test.go`).\n")
	p("Item 4 of the issue, the AWS bridge under faults, is the second part of the run, below the")
	p("first part's tables.\n")
	p("---\n")
}
