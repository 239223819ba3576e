package resources

import "fmt"

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
