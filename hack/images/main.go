// Command images builds the local cluster's images without Docker or a registry: each is a
// static Go binary in a single layer, written as a docker-archive tarball that
// `ctr images import` loads into containerd.
//
//	go run ./hack/images -out DIR     # writes DIR/<name>.tar and prints their tags
//	go run ./hack/images -out DIR -only pop-ui:dev   # just the images named (comma-separated)
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// image is one image to build from a Go package.
type image struct {
	tag, pkg, path string
}

var images = []image{
	{tag: "pop.dev/pause:dev", pkg: "./hack/images/pause", path: "/pause"},
	{tag: "pop-handlers/echo:dev", pkg: "./handlers/echo", path: "/handler"},
	{tag: "pop-handlers/hash:dev", pkg: "./handlers/hash", path: "/handler"},
	{tag: "pop-handlers/sample:dev", pkg: "./handlers/sample", path: "/handler"},
	// The manager, for running it (or the AWS bridge, --controllers=false) as a Pod.
	{tag: "pop-manager:dev", pkg: "./cmd/manager", path: "/manager"},
	// The web UI (charts/pop ui.enabled, config/ui).
	{tag: "pop-ui:dev", pkg: "./cmd/pop-ui", path: "/pop-ui"},
}

func main() {
	out := flag.String("out", "", "folder to write the image tarballs into")
	only := flag.String("only", "", "comma-separated tags to build (default: all)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "-out is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, im := range images {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), im.tag) {
			continue
		}
		file := filepath.Join(*out, filepath.Base(im.pkg)+".tar")
		if err := build(im, file); err != nil {
			fail(fmt.Errorf("%s: %w", im.tag, err))
		}
		fmt.Println(file, im.tag)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "images:", err)
	os.Exit(1)
}

func build(im image, file string) error {
	bin, err := compile(im.pkg)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(singleFileTar(im.path, bin))), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Config = v1.Config{Entrypoint: []string{im.path}, User: "65532:65532", Env: []string{"PATH=/"}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	tag, err := name.NewTag(im.tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(file, tag, img)
}

// compile builds a static binary of pkg and returns its bytes.
func compile(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "pop-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}

func singleFileTar(path string, content []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: path[1:], Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(content)
	_ = tw.Close()
	return buf.Bytes()
}
