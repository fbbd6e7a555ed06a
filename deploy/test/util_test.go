package deploytest

import (
	"fmt"
	"os/exec"
	"testing"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// execOutput runs a command and returns its combined output.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// overlay renders a kustomize directory under deploy/ and decodes its objects.
func overlay(t *testing.T, dir string) *rendering {
	t.Helper()
	out, err := kustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return &rendering{Name: dir, YAML: out, Objs: objs}
}
