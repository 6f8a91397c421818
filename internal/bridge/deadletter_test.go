package bridge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/go-logr/logr"
)

// fakeAWS answers SQS's SendMessage and DynamoDB's PutItem (JSON protocols), counting the
// dead letters sent; DynamoDB fails with a 500 while down.
type fakeAWS struct {
	mu          sync.Mutex
	deadLetters int
	puts        int
	down        bool
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasSuffix(target, ".SendMessage"):
		f.deadLetters++
		_, _ = io.WriteString(w, `{"MessageId": "dl-1"}`)
	case strings.HasSuffix(target, ".PutItem"):
		if f.down {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "down"}`)
			return
		}
		f.puts++
		_, _ = io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

func fakeIntake(t *testing.T, f *fakeAWS) *Intake {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "k", SecretAccessKey: "s"}, nil
	})
	clients := &Clients{
		SQS: sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds,
			DisableMessageChecksumValidation: true, RetryMaxAttempts: 1}),
		DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, RetryMaxAttempts: 1}),
	}
	cfg := DefaultConfig()
	cfg.DeadLetterQueue, cfg.Table = srv.URL+"/000000000000/dlq", "t"
	return &Intake{Config: cfg, Clients: clients, Store: &Store{DB: clients.DynamoDB, Table: "t"}, Log: logr.Discard()}
}

// Found while tracing the double dead letters of `make chaos` (issue 15, item 4): the dead
// letter was sent before the rejection's record was written, so while DynamoDB was away
// every receive of a poison message sent another dead letter before failing on the record.
// The record is now written first: a receive that cannot record sends nothing, and the
// message waits in SQS.
func TestDeadLetterSendsNothingWhileTheRecordCannotBeWritten(t *testing.T) {
	f := &fakeAWS{down: true}
	in := fakeIntake(t, f)
	m := &sqstypes.Message{MessageId: aws.String("m-1"), Body: aws.String(`{"customerId": "c", "agendaId": "k"`)}
	rej := reject(RejectNotJSON, "unexpected end of JSON input")
	ctx := context.Background()
	for range 3 { // three receives during the outage
		if err := in.deadLetter(ctx, "intake", m, sender{}, rej, true); err == nil {
			t.Fatal("the dead letter succeeded without its record")
		}
	}
	if f.deadLetters != 0 {
		t.Fatalf("%d dead letters sent while the record could not be written", f.deadLetters)
	}
	f.down = false
	if err := in.deadLetter(ctx, "intake", m, sender{}, rej, true); err != nil {
		t.Fatal(err)
	}
	if f.deadLetters != 1 || f.puts != 1 {
		t.Fatalf("after the outage: %d dead letters, %d records; want 1 and 1", f.deadLetters, f.puts)
	}
}

// On the last receive (mustRecord false) the message must leave SQS with its reason even
// when the table is what fails.
func TestDeadLetterOnTheLastReceiveGoesOutWithoutTheTable(t *testing.T) {
	f := &fakeAWS{down: true}
	in := fakeIntake(t, f)
	m := &sqstypes.Message{MessageId: aws.String("m-2"), Body: aws.String(`{"customerId": "c", "agendaId": "k"}`)}
	if err := in.deadLetter(context.Background(), "intake", m, sender{}, reject(RejectRetriesExhausted, "table down"), false); err != nil {
		t.Fatal(err)
	}
	if f.deadLetters != 1 {
		t.Fatalf("%d dead letters, want 1", f.deadLetters)
	}
}
