package main

import "strings"

// The bridge run's part of a report file sits between these markers, so that either run
// rewrites its own part and keeps the other's.
const (
	bridgeBegin = "<!-- popchaos:bridge -->"
	bridgeEnd   = "<!-- /popchaos:bridge -->"
)

// splitBridge cuts a report into the core run's part and the bridge run's (with its markers;
// "" when there is none).
func splitBridge(doc string) (core, bridgePart string) {
	i := strings.Index(doc, bridgeBegin)
	if i < 0 {
		return doc, ""
	}
	j := strings.Index(doc[i:], bridgeEnd)
	if j < 0 {
		return doc[:i], doc[i:]
	}
	end := i + j + len(bridgeEnd)
	return doc[:i] + strings.TrimLeft(doc[end:], "\n"), doc[i:end]
}

// merge is the report after one run: the new core part or bridge part (the other "" to keep
// the old file's).
func merge(old, core, bridgePart string) string {
	oldCore, oldBridge := splitBridge(old)
	if core == "" {
		core = oldCore
	}
	if bridgePart == "" {
		bridgePart = oldBridge
	} else {
		bridgePart = bridgeBegin + "\n\n" + bridgePart + "\n" + bridgeEnd
	}
	if bridgePart == "" {
		return core
	}
	return strings.TrimRight(core, "\n") + "\n\n" + bridgePart + "\n"
}
