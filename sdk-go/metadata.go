package wasmorch

// Typed metadata values (ABI.md 4.4): put them in the map given to AddMetadata, or in a
// CheckResult, and tools display them by type.
//
//	ctx.AddMetadata(map[string]any{
//		"summary": wasmorch.Markdown("**4** regions, *697.18* in all"),
//		"report":  wasmorch.URL("https://reports.example.com/orders"),
//		"top":     wasmorch.MetadataTable([]string{"region", "revenue"}, [][]any{{"west", 274.15}}),
//	})

// Markdown is a Markdown text metadata value.
func Markdown(s string) map[string]any { return typed("markdown", s) }

// Text is a plain text metadata value.
func Text(s string) map[string]any { return typed("text", s) }

// URL is a link metadata value (an absolute http, https or s3 URL; the host checks).
func URL(u string) map[string]any { return typed("url", u) }

// Path is a file path metadata value.
func Path(p string) map[string]any { return typed("path", p) }

// MetadataTable is a small table metadata value; each row must have one cell per column.
func MetadataTable(columns []string, rows [][]any) map[string]any {
	return typed("table", map[string]any{"columns": columns, "rows": rows})
}

func typed(t string, v any) map[string]any { return map[string]any{"type": t, "value": v} }
