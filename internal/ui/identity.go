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
var errUnauthenticated = errors.New("no authenticated user: the UI must be reached through the authenticating proxy")

// ClientSource gives the Kubernetes client that acts as the person behind one request.
type ClientSource interface {
	For(r *http.Request) (client.WithWatch, error)
}

// LocalClients acts with one fixed identity: the user's own kubeconfig (`pop-ui --local`).
type LocalClients struct{ Client client.WithWatch }

// For returns the kubeconfig's client whatever the request.
func (l LocalClients) For(*http.Request) (client.WithWatch, error) { return l.Client, nil }

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
	user, groups, err := identityFromHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(c.base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return client.NewWithWatch(cfg, c.opts)
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

// Clients returns the ClientSource for cfg: the kubeconfig's own identity when local,
// otherwise impersonation of the proxy-authenticated user.
func Clients(cfg *rest.Config, scheme *runtime.Scheme, local bool) (ClientSource, error) {
	opts := client.Options{Scheme: scheme}
	if !local {
		return NewImpersonatingClients(cfg, opts)
	}
	c, err := client.NewWithWatch(cfg, opts)
	if err != nil {
		return nil, err
	}
	return LocalClients{Client: c}, nil
}
