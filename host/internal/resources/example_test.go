package resources_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasmorch/wasmorch/host/internal/resources"
)

// The workspace builds one resource per grant and a Registry over them; the runtime's
// resource_call passes the calling asset's declared resources.
func Example() {
	cache, err := resources.NewKV(resources.KVConfig{Namespace: "orders_cache"}, resources.NewMemoryKV())
	if err != nil {
		panic(err)
	}
	reg := resources.NewRegistry(map[string]resources.Resource{"cache": cache})
	defer reg.Close()

	// Before the run: every declared resource must be granted.
	fmt.Println(reg.CheckGrants("orders/raw", []string{"cache", "api"}))

	// During a step.
	declared := []string{"cache"}
	resp, err := reg.Call(context.Background(), "cache", []byte(`{"op":"put","key":"k","value_base64":"dg=="}`), declared)
	fmt.Println(string(resp), err)
	resp, err = reg.Call(context.Background(), "cache", []byte(`{"op":"get","key":"k"}`), declared)
	fmt.Println(string(resp), err)
	_, err = reg.Call(context.Background(), "secrets", []byte(`{"op":"list"}`), declared)
	fmt.Println(errors.Is(err, resources.ErrDenied), err)
	// Output:
	// asset "orders/raw" needs resource that wasmorch.yaml does not grant: "api" (granted: cache)
	// {} <nil>
	// {"value_base64":"dg==","found":true} <nil>
	// true asset did not declare resource "secrets" in its manifest, and no resource "secrets" is granted in wasmorch.yaml
}
