//go:build !(linux || darwin || freebsd)

package runtime

import "errors"

const mappedMemorySupported = false

func reserveMemory(uint64) (*mappedMemory, error) { return nil, errors.ErrUnsupported }
func commitPages([]byte) error                    { return errors.ErrUnsupported }
func releaseMemory([]byte)                        {}
