package bridge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SigningSecret is the Secret, in a customer's namespace, whose SigningKey entry signs that
// customer's messages. With it, a message must carry the body's HMAC-SHA256 in the
// pop-signature attribute, so one customer cannot submit as another.
const (
	SigningSecret = "pop-bridge-signing"
	SigningKey    = "hmac-key"
)

// Sign is the signature of a message body under a key (hex HMAC-SHA256).
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// checkSignature verifies the message against the customer's signing Secret, if any; a
// customer without one is refused when required (always on a shared queue).
func (i *Intake) checkSignature(ctx context.Context, ns string, body []byte, attrs map[string]sqstypes.MessageAttributeValue, required bool) (*Rejection, error) {
	key, err := i.secrets.get(ctx, i.APIReader, ns)
	if err != nil {
		return nil, err
	}
	if key == nil {
		if required {
			return reject(RejectBadSignature, "customer namespace %s has no Secret %s: messages on a shared queue, or with --bridge-require-signatures, must be signed "+
				"(give the customer a signing key, or its own queue)", ns, SigningSecret), nil
		}
		return nil, nil
	}
	got, ok := attrs[AttrSignature]
	if !ok {
		return reject(RejectBadSignature, "the message has no %s attribute; the customer signs its messages", AttrSignature), nil
	}
	want := Sign(key, body)
	if !hmac.Equal([]byte(want), []byte(aws.ToString(got.StringValue))) {
		return reject(RejectBadSignature, "%s does not match the body under the customer's key", AttrSignature), nil
	}
	return nil, nil
}

// secretCache keeps each namespace's signing key for a short while: one Secret read per
// namespace per ttl instead of one per message, and a rotated key takes effect within ttl.
type secretCache struct {
	mu      sync.Mutex
	entries map[string]secretEntry
}

type secretEntry struct {
	key     []byte
	fetched time.Time
}

const secretTTL = 30 * time.Second

func (c *secretCache) get(ctx context.Context, r client.Reader, ns string) ([]byte, error) {
	c.mu.Lock()
	e, ok := c.entries[ns]
	c.mu.Unlock()
	if ok && time.Since(e.fetched) < secretTTL {
		return e.key, nil
	}
	var s corev1.Secret
	err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: SigningSecret}, &s)
	switch {
	case apierrors.IsNotFound(err):
		e = secretEntry{fetched: time.Now()}
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, SigningSecret, err)
	default:
		e = secretEntry{key: s.Data[SigningKey], fetched: time.Now()}
		if len(e.key) == 0 {
			return nil, fmt.Errorf("secret %s/%s has no %q entry", ns, SigningSecret, SigningKey)
		}
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]secretEntry{}
	}
	c.entries[ns] = e
	c.mu.Unlock()
	return e.key, nil
}
