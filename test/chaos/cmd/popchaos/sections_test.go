package main

import (
	"strings"
	"testing"
)

func TestMergeKeepsTheOtherRunsPart(t *testing.T) {
	doc := merge("", "# core A\n", "bridge A\n")
	if !strings.Contains(doc, "# core A") || !strings.Contains(doc, bridgeBegin+"\n\nbridge A") {
		t.Fatalf("first write: %q", doc)
	}
	doc = merge(doc, "# core B\n", "")
	if strings.Contains(doc, "core A") || !strings.Contains(doc, "# core B") || !strings.Contains(doc, "bridge A") {
		t.Fatalf("a core run must replace the core part and keep the bridge part: %q", doc)
	}
	doc = merge(doc, "", "bridge B\n")
	if strings.Contains(doc, "bridge A") || !strings.Contains(doc, "bridge B") || !strings.Contains(doc, "# core B") {
		t.Fatalf("a bridge run must replace the bridge part and keep the core part: %q", doc)
	}
	if strings.Count(doc, bridgeBegin) != 1 || strings.Count(doc, bridgeEnd) != 1 {
		t.Fatalf("markers doubled: %q", doc)
	}
}

func TestMergeAppendsTheBridgePartToAnOldReport(t *testing.T) {
	doc := merge("# old core, no markers\n", "", "bridge\n")
	if !strings.HasPrefix(doc, "# old core, no markers\n\n"+bridgeBegin) {
		t.Fatalf("%q", doc)
	}
}
