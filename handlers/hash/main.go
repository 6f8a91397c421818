// Command hash is a POP handler that does checkable work: it hashes the text it is given.
// Payload {"text": "..."}; output {"sha256": "<hex>", "length": <bytes>} (or sha512 with
// --algorithm=sha512), so a person can verify the result with sha256sum.
package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"os"
	"strings"

	"github.com/pop-operator/pop/pkg/handler"
)

func main() {
	algorithm := flag.String("algorithm", "sha256", "sha256 or sha512")
	flag.Parse()
	upper := os.Getenv("HASH_UPPERCASE") == "true"
	handler.Main(func(c *handler.Context, payload json.RawMessage) (any, error) {
		return run(*algorithm, upper, payload)
	})
}

func run(algorithm string, upper bool, payload json.RawMessage) (map[string]any, error) {
	var in struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(payload, &in); err != nil || in.Text == nil {
		return nil, fmt.Errorf(`payload must be {"text": "..."}, got %s`, payload)
	}
	var h hash.Hash
	switch algorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unknown algorithm %q", algorithm)
	}
	h.Write([]byte(*in.Text))
	sum := hex.EncodeToString(h.Sum(nil))
	if upper {
		sum = strings.ToUpper(sum)
	}
	return map[string]any{algorithm: sum, "length": len(*in.Text)}, nil
}
