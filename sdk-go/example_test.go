package wasmorch_test

import (
	"fmt"

	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

// greeting is an asset function: the same code runs inside the WebAssembly module and, as here,
// in a native test.
func greeting(ctx *wasmorch.Context) (map[string]string, error) {
	var cfg struct {
		Name string `json:"name"`
	}
	cfg.Name = "world" // default when the config does not say
	if err := ctx.Config(&cfg); err != nil {
		return nil, err
	}
	ctx.Info("greeting", "name", cfg.Name)
	return map[string]string{"text": "hello, " + cfg.Name}, ctx.AddMetadata(map[string]any{"length": len(cfg.Name)})
}

func ExampleNewTestContext() {
	ctx := wasmorch.NewTestContext(wasmorch.WithConfigJSON(`{"name": "orders"}`))
	out, err := greeting(ctx)
	fmt.Println(out, err)
	fmt.Println(ctx.Logs()[0].Message)
	fmt.Println(ctx.Metadata())
	// Output:
	// map[text:hello, orders] <nil>
	// greeting name=orders
	// map[length:6]
}

func ExampleAsset() {
	// In a guest's main package:
	//
	//	func init() {
	//		wasmorch.Asset("greeting", greeting, wasmorch.Group("examples"),
	//			wasmorch.ConfigSchema(`{"type": "object", "properties": {"name": {"type": "string"}}}`))
	//	}
	wasmorch.Asset("greeting", greeting, wasmorch.Group("examples"))
	manifest, err := wasmorch.Manifest()
	fmt.Println(string(manifest), err)
	// Output:
	// {"abi_version":1,"sdk":{"name":"wasmorch-go","version":"0.1.0"},"assets":[{"key":"greeting","group":"examples","output":{"format":"json"}}]} <nil>
}
