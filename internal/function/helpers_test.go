package function

import "os"

func mkdirTempShort() (string, error) { return os.MkdirTemp("/tmp", "kgfn") }
func removeAll(dir string)            { _ = os.RemoveAll(dir) }
