package bridge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/go-logr/logr"
)

// Clients are the AWS clients the bridge uses.
type Clients struct {
	SQS      *sqs.Client
	DynamoDB *dynamodb.Client
}

// NewClients loads the default credential chain (environment, shared files, IRSA / pod
// identity, instance role) and applies the region and endpoint overrides. The SDK's own
// messages go to log, when given, at debug level (they are about connection reuse, not
// about messages or records), instead of unstructured lines on stderr.
func NewClients(ctx context.Context, c Config, log ...logr.Logger) (*Clients, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
		})),
		// Throttling, 5xx and connection errors are retried with jittered backoff, briefly:
		// the intake leaves a message for redelivery and the mirror requeues, rather than
		// holding a poller for minutes.
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 }), 2*time.Second)
		}),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	cfg.HTTPClient = bodyHidingClient{cfg.HTTPClient}
	if len(log) > 0 {
		sdkLog := log[0].WithName("aws-sdk")
		cfg.Logger = logging.LoggerFunc(func(class logging.Classification, format string, v ...any) {
			sdkLog.V(1).Info(fmt.Sprintf(format, v...), "classification", string(class))
		})
	}
	return &Clients{
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			if c.SQSEndpoint != "" {
				o.BaseEndpoint = aws.String(c.SQSEndpoint)
			}
		}),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if c.DynamoDBEndpoint != "" {
				o.BaseEndpoint = aws.String(c.DynamoDBEndpoint)
			}
		}),
	}, nil
}

// bodyHidingClient works around aws-sdk-go-v2 issues #2737/#1825/#2935: smithy-go closes the
// request body when response headers arrive, and net/http, having taken the body's WriteTo
// path, may then close the connection under a large response that is still arriving
// ("use of closed network connection"); a batch of received messages is then lost to the
// bridge until its visibility timeout. Hiding WriteTo makes net/http copy with Read only.
type bodyHidingClient struct{ next aws.HTTPClient }

func (c bodyHidingClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloserOnly{r.Body}
	}
	return c.next.Do(r)
}

type readCloserOnly struct{ rc io.ReadCloser }

func (b readCloserOnly) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readCloserOnly) Close() error               { return b.rc.Close() }
