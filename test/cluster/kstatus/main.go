// kstatus prints what sigs.k8s.io/cli-utils' kstatus rules (status.Compute, the library behind kubectl-style
// waits in Flux, kpt and cli-utils) say of each object: it reads JSON objects (one after another, or in arrays) on
// stdin and writes one JSON line per object, {"status":"Current","message":"..."}, in the order read.
// test/cluster/build-kstatus.sh builds it against the version pinned in test/cluster/versions.env.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func compute(raw json.RawMessage, out *json.Encoder) error {
	// An array is a list of objects.
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, item := range list {
			if err := compute(item, out); err != nil {
				return err
			}
		}
		return nil
	}
	// Unstructured's own decoder keeps integers as int64, as kstatus reads generation and observedGeneration.
	object := &unstructured.Unstructured{}
	if err := object.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	result, err := status.Compute(object)
	if err != nil {
		return fmt.Errorf("%s %s: %w", object.GetKind(), object.GetName(), err)
	}
	return out.Encode(verdict{Status: result.Status.String(), Message: result.Message})
}

func main() {
	in := json.NewDecoder(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for {
		var raw json.RawMessage
		err := in.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return
		}
		if err == nil {
			err = compute(raw, out)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", err)
			os.Exit(1)
		}
	}
}
