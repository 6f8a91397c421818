// Package depends decides when an operation whose dependencies may require an outcome —
// Succeeded (the default), Failed, Skipped or Finished — can start, must wait, or will never
// run; and when the Agenda's finally operations start. It is pure: no client, no cluster;
// docs/workflow-language.md describes the rules.
package depends

import "fmt"

// Outcome is what a dependency must have come to.
type Outcome string

const (
	Succeeded Outcome = "Succeeded"
	Failed    Outcome = "Failed"
	Skipped   Outcome = "Skipped"
	// Finished is any end: Succeeded, Failed, Skipped or Cancelled.
	Finished Outcome = "Finished"
)

// State is an operation's state as the rules see it.
type State string

const (
	Waiting   State = "Waiting" // not ended yet (waiting, launching, executing, retrying)
	Done      State = "Succeeded"
	Fail      State = "Failed"
	Skip      State = "Skipped"
	Cancelled State = "Cancelled"
)

// Requirement is one dependency with the outcome it must reach.
type Requirement struct {
	Operation string
	Outcome   Outcome // "" means Succeeded
}

// Verdict is what an operation does now.
type Verdict int

const (
	// Wait: some dependency has not ended.
	Wait Verdict = iota
	// Run: every dependency ended with its required outcome.
	Run
	// Never: some dependency ended with another outcome; the operation is Skipped.
	Never
)

// Decide applies the rule: an operation runs once every dependency ended with the outcome
// it requires, and is skipped as soon as one ended otherwise. A requirement of Succeeded on
// a Skipped dependency is such a mismatch: skipping spreads to dependents, unless they
// asked for Skipped or Finished.
func Decide(reqs []Requirement, state func(op string) State) Verdict {
	verdict := Run
	for _, r := range reqs {
		s := state(r.Operation)
		if s == Waiting {
			verdict = Wait
			continue
		}
		if !satisfies(s, r.Outcome) {
			return Never
		}
	}
	return verdict
}

func satisfies(s State, want Outcome) bool {
	switch want {
	case "", Succeeded:
		return s == Done
	case Failed:
		return s == Fail
	case Skipped:
		return s == Skip
	case Finished:
		return true
	}
	return false
}

// FinallyReady reports whether the finally operations may start: every other operation has
// ended, whatever its outcome.
func FinallyReady(others []string, state func(op string) State) bool {
	for _, op := range others {
		if state(op) == Waiting {
			return false
		}
	}
	return true
}

// Validate refuses an outcome that is not one of the four, naming the field.
func Validate(o Outcome, field string) error {
	switch o {
	case "", Succeeded, Failed, Skipped, Finished:
		return nil
	}
	return fmt.Errorf("%s: unknown outcome %q; want Succeeded, Failed, Skipped or Finished", field, o)
}
