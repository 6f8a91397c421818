package handler

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

// reporter writes annotations on the handler's own Pod.
type reporter interface {
	annotate(c *Context, annotations map[string]string) error
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// annotationReporter patches the Pod through the API server with the mounted service-account
// token, using only the standard library so that handler images stay small.
type annotationReporter struct {
	host, pod, namespace string
}

func newAnnotationReporter(getenv func(string) string) reporter {
	host := getenv("KUBERNETES_SERVICE_HOST")
	if host == "" {
		return nil
	}
	return &annotationReporter{
		host: "https://" + host + ":" + getenv("KUBERNETES_SERVICE_PORT"),
		pod:  getenv(EnvPodName), namespace: getenv(EnvNamespace),
	}
}

func (r *annotationReporter) annotate(c *Context, annotations map[string]string) error {
	token, err := os.ReadFile(serviceAccountDir + "/token")
	if err != nil {
		return fmt.Errorf("no service-account token: %w", err)
	}
	ca, err := os.ReadFile(serviceAccountDir + "/ca.crt")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s", r.host, r.namespace, r.pod)
	req, err := http.NewRequestWithContext(c, http.MethodPatch, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(token)))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("patching pod %s: %s", r.pod, resp.Status)
	}
	return nil
}
