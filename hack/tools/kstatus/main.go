// kstatus reads a JSON array of Kubernetes objects on stdin and prints, as a JSON array,
// what kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) computes for each: the status
// that Flux, kpt and `kubectl wait`-style tools give them. The gitops tests use it.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	var objects []json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&objects); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading a JSON array of objects:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(objects))
	for i, raw := range objects {
		// Unstructured's own decoding keeps integers int64, as kstatus expects.
		object := &unstructured.Unstructured{}
		if err := object.UnmarshalJSON(raw); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: object %d: %v\n", i, err)
			os.Exit(2)
		}
		computed, err := status.Compute(object)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: object %d: %v\n", i, err)
			os.Exit(1)
		}
		results = append(results, result{Status: computed.Status.String(), Message: computed.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}
