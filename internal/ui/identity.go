package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Bounds on the identity headers an authenticating proxy sends.
const (
	maxUserLen   = 256
	maxGroups    = 32
	maxGroupLen  = 256
	groupsHeader = "X-Remote-Group"
	userHeader   = "X-Remote-User"
)

// errUnauthenticated means the request carried no identity the UI may act as.
var errUnauthenticated = errors.New("no authenticated user: the UI must be reached through the authenticating proxy, or with a bearer token in token mode")

// ClientSource gives the Kubernetes client, and the REST config (for pods/log), that act as
// the person behind one request.
type ClientSource interface {
	For(r *http.Request) (client.WithWatch, error)
	Config(r *http.Request) (*rest.Config, error)
}

// LocalClients acts with one fixed identity: the user's own kubeconfig (`pop-ui --local`,
// `popctl ui`). RESTConfig, when set, serves the operations' log tails.
type LocalClients struct {
	Client     client.WithWatch
	RESTConfig *rest.Config
}

// For returns the kubeconfig's client whatever the request.
func (l LocalClients) For(*http.Request) (client.WithWatch, error) { return l.Client, nil }

// Config returns the kubeconfig's REST config whatever the request.
func (l LocalClients) Config(*http.Request) (*rest.Config, error) {
	if l.RESTConfig == nil {
		return nil, errors.Join(errNotImplemented, errors.New("this UI was started without a REST config: no log tails"))
	}
	return l.RESTConfig, nil
}

var errNotImplemented = errors.New("not available")

// ImpersonatingClients acts as the user an authenticating proxy names in X-Remote-User and
// X-Remote-Group (the Kubernetes request-header convention). The UI's own credentials need
// only `impersonate` on users and groups; every read and write is then authorised by the API
// server against the user's RBAC. The headers must come from a proxy that strips them from
// clients: the UI must not be reachable around it.
type ImpersonatingClients struct {
	base *rest.Config
	opts client.Options
}

// NewImpersonatingClients prepares clients for base's API server with one shared REST mapper.
func NewImpersonatingClients(base *rest.Config, opts client.Options) (*ImpersonatingClients, error) {
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, err
	}
	m, err := apiutil.NewDynamicRESTMapper(base, hc)
	if err != nil {
		return nil, err
	}
	opts.Mapper = m
	return &ImpersonatingClients{base: base, opts: opts}, nil
}

// For returns a client impersonating the request's user and groups.
func (c *ImpersonatingClients) For(r *http.Request) (client.WithWatch, error) {
	cfg, err := c.Config(r)
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, c.opts)
}

// Config returns a REST config impersonating the request's user and groups.
func (c *ImpersonatingClients) Config(r *http.Request) (*rest.Config, error) {
	user, groups, err := identityFromHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(c.base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg, nil
}

// TokenClients acts with the user's own bearer token (Authorization: Bearer …), passed on to
// the API server, which authenticates and authorises it: the UI's own credentials are used
// for nothing but API discovery, and need no right.
type TokenClients struct {
	base *rest.Config
	opts client.Options
}

// maxTokenLen bounds the bearer token a request may carry.
const maxTokenLen = 16 << 10

// NewTokenClients prepares clients for base's API server, discovering its API with base.
func NewTokenClients(base *rest.Config, opts client.Options) (*TokenClients, error) {
	imp, err := NewImpersonatingClients(base, opts)
	if err != nil {
		return nil, err
	}
	return &TokenClients{base: rest.AnonymousClientConfig(base), opts: imp.opts}, nil
}

// For returns a client with the request's bearer token.
func (c *TokenClients) For(r *http.Request) (client.WithWatch, error) {
	cfg, err := c.Config(r)
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, c.opts)
}

// Config returns a REST config with the request's bearer token and no other credential.
func (c *TokenClients) Config(r *http.Request) (*rest.Config, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token = strings.TrimSpace(token); !ok || token == "" {
		return nil, errUnauthenticated
	}
	if len(token) > maxTokenLen {
		return nil, badRequest(fmt.Sprintf("bearer token longer than %d bytes", maxTokenLen))
	}
	cfg := rest.CopyConfig(c.base)
	cfg.BearerToken = token
	return cfg, nil
}

// identityFromHeaders reads and bounds the proxy's identity headers.
func identityFromHeaders(h http.Header) (string, []string, error) {
	user := strings.TrimSpace(h.Get(userHeader))
	if user == "" {
		return "", nil, errUnauthenticated
	}
	if len(user) > maxUserLen {
		return "", nil, badRequest(fmt.Sprintf("%s longer than %d bytes", userHeader, maxUserLen))
	}
	var groups []string
	for _, v := range h.Values(groupsHeader) {
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
	}
	if len(groups) > maxGroups {
		return "", nil, badRequest(fmt.Sprintf("more than %d groups", maxGroups))
	}
	for _, g := range groups {
		if len(g) > maxGroupLen {
			return "", nil, badRequest(fmt.Sprintf("a group longer than %d bytes", maxGroupLen))
		}
	}
	return user, groups, nil
}

// Auth modes: how the UI learns who the user is.
const (
	AuthProxy = "proxy" // X-Remote-User/X-Remote-Group from an authenticating proxy; impersonation
	AuthToken = "token" // the user's bearer token, passed on
	AuthLocal = "local" // the kubeconfig's own identity
)

// Clients returns the ClientSource for cfg and an auth mode.
func Clients(cfg *rest.Config, scheme *runtime.Scheme, auth string) (ClientSource, error) {
	opts := client.Options{Scheme: scheme}
	switch auth {
	case AuthProxy:
		return NewImpersonatingClients(cfg, opts)
	case AuthToken:
		return NewTokenClients(cfg, opts)
	case AuthLocal:
		c, err := client.NewWithWatch(cfg, opts)
		if err != nil {
			return nil, err
		}
		return LocalClients{Client: c, RESTConfig: cfg}, nil
	}
	return nil, fmt.Errorf("unknown auth mode %q (proxy, token or local)", auth)
}
