// Command sample is compatible with the original POP's sample handler: its payload lists
// actions to perform — log a message, sleep, report progress, fail — and a resultPayload
// that becomes the output.
//
//	{"actions": [{"action": "log", "paramMap": {"message": "hi"}},
//	             {"action": "sleep", "paramMap": {"sleepMilliseconds": 500}}],
//	 "resultPayload": {"any": "json"}}
package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pop-operator/pop/pkg/handler"
)

type action struct {
	Action   string         `json:"action"`
	ParamMap map[string]any `json:"paramMap"`
}

type payload struct {
	Actions       []action        `json:"actions"`
	ResultPayload json.RawMessage `json:"resultPayload"`
}

func main() {
	handler.Main(run)
}

func run(c *handler.Context, raw json.RawMessage) (any, error) {
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	for i, a := range p.Actions {
		if err := perform(c, a); err != nil {
			return nil, fmt.Errorf("action %d (%s): %w", i, a.Action, err)
		}
	}
	if len(p.ResultPayload) == 0 {
		return nil, nil
	}
	return p.ResultPayload, nil
}

func perform(c *handler.Context, a action) error {
	switch a.Action {
	case "log":
		fmt.Fprintf(c.Log, "%v\n", a.ParamMap["message"])
	case "sleep":
		ms, _ := a.ParamMap["sleepMilliseconds"].(float64)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-c.Done():
			return c.Err()
		}
	case "progress":
		pct, _ := a.ParamMap["percentComplete"].(float64)
		c.Progress(int(pct))
	case "fail", "exception":
		return fmt.Errorf("%v", a.ParamMap["message"])
	default:
		return fmt.Errorf("unknown action %q", a.Action)
	}
	return nil
}
