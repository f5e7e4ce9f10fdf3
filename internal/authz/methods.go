package authz

// methodSet is a set of the seven methods an OCI route can name, one bit
// each, in alphabetical order so that an Allow list comes out sorted.
type methodSet uint8

const (
	methodDelete methodSet = 1 << iota
	methodGet
	methodHead
	methodOptions
	methodPatch
	methodPost
	methodPut

	// methodsAny is what OCI's ANY stands for. A method outside the seven
	// (TRACE, CONNECT, a lower-case "get") matches no route, ANY included.
	methodsAny = methodDelete | methodGet | methodHead | methodOptions | methodPatch | methodPost | methodPut
)

// requestMethod returns the bit of a request method. HTTP methods are case
// sensitive (RFC 9110 §9.1), so "get" is not GET and gets 0.
func requestMethod(method string) methodSet {
	switch method {
	case "DELETE":
		return methodDelete
	case "GET":
		return methodGet
	case "HEAD":
		return methodHead
	case "OPTIONS":
		return methodOptions
	case "PATCH":
		return methodPatch
	case "POST":
		return methodPost
	case "PUT":
		return methodPut
	}
	return 0
}

// specMethod returns the set one entry of a route's methods stands for; the
// spec spells methods in any case.
func specMethod(name string) (methodSet, bool) {
	upper := asciiUpper(name)
	if upper == "ANY" {
		return methodsAny, true
	}
	m := requestMethod(upper)
	return m, m != 0
}

// asciiUpper folds ASCII letters only: strings.ToUpper would turn the
// Unicode long s of "poſt" into "POST".
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// names returns the methods of m, sorted.
func (m methodSet) names() []string {
	var names []string
	for bit := methodDelete; bit <= methodPut; bit <<= 1 {
		if m&bit != 0 {
			names = append(names, bit.name())
		}
	}
	return names
}

func (m methodSet) name() string {
	switch m {
	case methodDelete:
		return "DELETE"
	case methodGet:
		return "GET"
	case methodHead:
		return "HEAD"
	case methodOptions:
		return "OPTIONS"
	case methodPatch:
		return "PATCH"
	case methodPost:
		return "POST"
	case methodPut:
		return "PUT"
	}
	return ""
}
