package runtime

import "sync"

// A dataImage is a module's initial memory contents, taken out of its data section at load time
// (wasmopt.ExtractDataImage). Each instance starts from it without the runtime copying every data
// segment: on Linux the image lives in a memfd mapped copy-on-write into the instance's memory,
// so pages the guest only reads are shared by every instance and never copied; elsewhere it is
// copied in once per instance.
type dataImage struct {
	data []byte // the image; len is the end of the last segment
	file imageFile

	closeOnce sync.Once
}

// minImageBytes is the smallest image worth a mapping: below it, copying is as cheap as mapping.
const minImageBytes = 256 << 10

func newDataImage(data []byte) *dataImage {
	img := &dataImage{data: data}
	img.file = openImageFile(data) // zero when unsupported or failed: copy instead
	return img
}

// close releases the image's file; instances already mapping it keep their mapping.
func (img *dataImage) close() {
	if img == nil {
		return
	}
	img.closeOnce.Do(img.file.close)
}
