package bridge

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// The gate probes before the first receive, holds while the probe fails without probing on
// every call, and probes again at once after a passing error.
func TestHealthHoldsTheIntakeWhileAProbeFails(t *testing.T) {
	var h health
	calls, fail := 0, true
	probe := func(context.Context) error {
		calls++
		if fail {
			return errors.New("connection refused")
		}
		return nil
	}
	ctx := context.Background()
	if h.ready(ctx, probe, logr.Discard()) || calls != 1 {
		t.Fatalf("a failing probe let the intake receive (calls %d)", calls)
	}
	for range 10 {
		if h.ready(ctx, probe, logr.Discard()) {
			t.Fatal("ready during the probe's backoff")
		}
	}
	if calls != 1 {
		t.Fatalf("probed %d times within the backoff", calls)
	}
	fail = false
	h.next = time.Now() // the backoff is over
	if !h.ready(ctx, probe, logr.Discard()) || calls != 2 {
		t.Fatalf("not ready after a good probe (calls %d)", calls)
	}
	if !h.ready(ctx, probe, logr.Discard()) || calls != 2 {
		t.Fatalf("probed again within the healthy interval (calls %d)", calls)
	}
	h.suspect()
	fail = true
	if h.ready(ctx, probe, logr.Discard()) || calls != 3 {
		t.Fatalf("a passing error did not make the next receive wait for a probe (calls %d)", calls)
	}
}

func TestProbeBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 4: 4 * time.Second, 6: 15 * time.Second, 60: 15 * time.Second} {
		if got := probeBackoff(failures); got != want {
			t.Errorf("after %d failures: %s, want %s", failures, got, want)
		}
	}
}

func TestRetryVisibilityDoublesPerReceiveUnderTheSQSLimit(t *testing.T) {
	for receive, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 10: 512 * time.Minute, 11: 11 * time.Hour, 1000: 11 * time.Hour} {
		if got := retryVisibility(receive, time.Minute); got != want {
			t.Errorf("receive %d: %s, want %s", receive, got, want)
		}
	}
}

func TestParseMaxReceiveCount(t *testing.T) {
	for policy, want := range map[string]int{
		"": 0,
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":"3"}`: 3,
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":10}`:  10,
	} {
		if got, err := parseMaxReceiveCount(policy); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", policy, got, err, want)
		}
	}
	for _, bad := range []string{`{"maxReceiveCount":"x"}`, `{"maxReceiveCount":0}`, `{}`, `not json`} {
		if _, err := parseMaxReceiveCount(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// pendingAgendas are n bridged Agendas in a namespace, not admitted.
func pendingAgendas(ns string, n int) []runtime.Object {
	var objs []runtime.Object
	for i := range n {
		objs = append(objs, &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("a-%d", i), Namespace: ns,
			Labels: map[string]string{SourceLabel: SourceSQS}}})
	}
	return objs
}

// One customer at its bound holds only itself; the bound over all customers holds all,
// and places being taken count until their Agendas show in the cache.
func TestFlowControlBoundsEachCustomerAndAll(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := popv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithRuntimeObjects(pendingAgendas("stuck", 3)...).Build()
	ctx := context.Background()
	var f flowControl
	const all, each = 5, 3
	if ok, err := f.take(ctx, c, "stuck", all, each); err != nil || ok {
		t.Fatalf("the stuck customer took a fourth place (%v)", err)
	}
	if got := f.room(ctx, c, all, 10, "stuck", each, logr.Discard()); got != 0 {
		t.Errorf("the stuck customer's own queue may receive %d", got)
	}
	if got := f.room(ctx, c, all, 10, "", each, logr.Discard()); got != 2 {
		t.Errorf("a shared queue may receive %d, want 2", got)
	}
	for n := range 2 {
		if ok, _ := f.take(ctx, c, "other", all, each); !ok {
			t.Fatalf("another customer was refused place %d", n+1)
		}
	}
	if ok, _ := f.take(ctx, c, "third", all, each); ok {
		t.Fatal("a place was taken past the bound over all customers")
	}
	f.done("other", "other/x") // created: counts until the cache shows it
	f.done("other", "")        // deferred or refused: its place is free
	if ok, _ := f.take(ctx, c, "third", all, each); !ok {
		t.Fatal("a freed place was not given again")
	}
	if ok, _ := f.take(ctx, c, "third", all, each); ok {
		t.Fatal("a created Agenda the cache does not show yet stopped counting")
	}
	// The informer reports an Agenda: it no longer counts as unseen, and the next take
	// counts the cache again, whether the report comes before or after its creation ends.
	f.observe("other/x")
	if _, still := f.unseen["other/x"]; still || !f.counted.IsZero() {
		t.Error("an observed Agenda stayed unseen, or the count was not refreshed")
	}
	f.counted = time.Now()
	f.observe("third/y")
	f.done("third", "third/y")
	if _, unseen := f.unseen["third/y"]; unseen || !f.counted.IsZero() {
		t.Error("an Agenda observed before its creation ended was counted as unseen, or the count was not refreshed")
	}
}

// Args is what BindFlags parses back into the same Config, every field set away from its
// default.
func TestConfigArgsRoundTrip(t *testing.T) {
	want := Config{
		IntakeQueues:    []string{"https://q/shared", "https://q/own"},
		CustomerQueues:  []QueueBinding{{Customer: "acme", URL: "https://q/acme"}, {Customer: "beta", URL: "https://q/beta"}},
		DeadLetterQueue: "https://q/dlq", Table: "t", Region: "eu-west-1",
		SQSEndpoint: "http://127.0.0.1:1", DynamoDBEndpoint: "http://127.0.0.1:2",
		Mirror: MirrorAll, MaxPending: 7, MaxPendingPerCustomer: 3, DeferDelay: 2 * time.Second,
		MaxMessageBytes: 1234, Pollers: 5, WaitTime: time.Second, VisibilityTimeout: 3 * time.Second,
		RequireSignatures: true, RecordTTL: time.Hour, TombstoneRetention: 2 * time.Hour,
		Center: "west", ClaimLease: 10 * time.Second, CapacityAware: true, CapacityHeadroom: 2,
	}
	got := DefaultConfig()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	got.BindFlags(fs)
	if err := fs.Parse(want.Args()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed back\n%+v\nwant\n%+v", got, want)
	}
	def := DefaultConfig()
	for k := range reflect.ValueOf(want).NumField() {
		if reflect.DeepEqual(reflect.ValueOf(want).Field(k).Interface(), reflect.ValueOf(def).Field(k).Interface()) {
			t.Errorf("field %s is its default in the test: set it, so that Args is checked for it", reflect.TypeOf(want).Field(k).Name)
		}
	}
}

func TestConfigCustomerQueues(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.BindFlags(fs)
	if err := fs.Parse([]string{"--bridge-customer-queues=acme=https://q/acme, beta=https://q/beta",
		"--bridge-dead-letter-queue=https://q/dlq", "--bridge-table=t"}); err != nil {
		t.Fatal(err)
	}
	if len(c.CustomerQueues) != 2 || c.CustomerQueues[1] != (QueueBinding{Customer: "beta", URL: "https://q/beta"}) {
		t.Fatalf("got %+v", c.CustomerQueues)
	}
	if err := c.Validate(); err != nil || !c.Enabled() {
		t.Fatalf("valid configuration refused: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"shared and bound":  func(c *Config) { c.IntakeQueues = []string{"https://q/acme"} },
		"bound twice":       func(c *Config) { c.CustomerQueues[1].URL = "https://q/acme" },
		"bad customer":      func(c *Config) { c.CustomerQueues[0].Customer = "a b" },
		"no table":          func(c *Config) { c.Table = "" },
		"long defer":        func(c *Config) { c.DeferDelay = time.Hour },
		"zero per-customer": func(c *Config) { c.MaxPendingPerCustomer = 0 },
	} {
		bad := c
		bad.CustomerQueues = append([]QueueBinding(nil), c.CustomerQueues...)
		mutate(&bad)
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := fs.Parse([]string{"--bridge-customer-queues=no-url"}); err == nil {
		t.Error("a pair without = was accepted")
	}
}

// A refusal lands in the established sender's partition; an unverified one never in the
// partition of the customer it claims.
func TestRefusalsAreRecordedForTheSender(t *testing.T) {
	body := []byte(`{"customerId": "victim", "agendaId": "k-1"}`)
	for name, tc := range map[string]struct {
		snd                sender
		customer, agendaID string
	}{
		"unverified claim": {sender{customer: "victim"}, UnverifiedCustomer, "message:m-1"},
		"signed":           {sender{customer: "victim", verified: true}, "victim", "k-1"},
		"customer queue":   {sender{customer: "owner", verified: true}, "owner", "k-1"},
	} {
		c, k := tc.snd.recordKey(body, "m-1")
		if c != tc.customer || k != tc.agendaID {
			t.Errorf("%s: (%s, %s), want (%s, %s)", name, c, k, tc.customer, tc.agendaID)
		}
	}
	if c, k := (sender{customer: "owner", verified: true}).recordKey([]byte("not json"), "m-2"); c != "owner" || k != "message:m-2" {
		t.Errorf("not JSON on a customer queue: (%s, %s)", c, k)
	}
}
