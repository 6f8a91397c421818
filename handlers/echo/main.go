// Command echo is a POP handler whose output is its payload: useful to reshape values
// between operations and as the simplest example of a handler.
package main

import (
	"encoding/json"

	"github.com/pop-operator/pop/pkg/handler"
)

func main() {
	handler.Main(func(c *handler.Context, payload json.RawMessage) (any, error) {
		c.Log.Write([]byte("echo: " + string(payload) + "\n"))
		return payload, nil
	})
}
