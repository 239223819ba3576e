//go:build !linux

package runtime

// imageFile is unused where there is no memfd: the image is copied into each instance.
type imageFile struct{}

func openImageFile([]byte) imageFile         { return imageFile{} }
func (imageFile) close()                     {}
func (imageFile) mapInto([]byte) (int, bool) { return 0, false }
