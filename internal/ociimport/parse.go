// Package ociimport turns what an OCI user can export (the oci CLI's output
// for an API deployment or a list of them, or a bare API deployment
// specification, kebab-case or camelCase, JSON or YAML) into specifications
// in the OCI API's own JSON names, which keygate's loader reads. It is pure
// conversion: it reads the bytes it is given and returns values; writing
// files and validating are the caller's.
package ociimport

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Form is what an input document is.
type Form int

const (
	// FormGet is the output of oci api-gateway deployment get:
	// {"data": deployment, "etag": ...}.
	FormGet Form = iota
	// FormList is the output of oci api-gateway deployment list,
	// {"data": {"items": [...]}}, or its items alone ({"items": [...]},
	// [...], as --query data.items prints them).
	FormList
	// FormDeployment is one deployment without the "data" wrapper (as
	// --query data prints it).
	FormDeployment
	// FormSpec is a bare specification, which carries no path prefix.
	FormSpec
)

// String describes the form for the import report.
func (f Form) String() string {
	switch f {
	case FormGet:
		return "oci api-gateway deployment get output"
	case FormList:
		return "oci api-gateway deployment list output"
	case FormDeployment:
		return "a deployment"
	}
	return "a bare specification"
}

// Document is one input document, read.
type Document struct {
	// Form is what the document is.
	Form Form
	// Deployments are the deployments found, in document order; one for
	// every form but FormList.
	Deployments []Deployment
	// Notes are what the user should know about the document as a whole
	// (a list that has more pages). Default nil.
	Notes []string
}

// Deployment is one deployment found in a document.
type Deployment struct {
	// Path is where the deployment is in its document, as a JSON path
	// ("data", "data.items[1]"); "" for a bare specification or a document
	// that is one deployment.
	Path string
	// PathPrefix is the deployment's path-prefix; "" for a bare
	// specification, whose prefix the caller supplies.
	PathPrefix string
	// DisplayName is the deployment's display-name. Default "".
	DisplayName string
	// ID is the deployment's OCID. Default "".
	ID string
	// Spec is the specification with the OCI API's JSON names; nil when
	// Problem is set.
	Spec *Object
	// Stats says what converting the specification changed.
	Stats Stats
	// Dropped lists the deployment's members the specification does not
	// need (ids, compartment, tags, lifecycle, endpoint, times), as the
	// document spells them, in document order. Default nil.
	Dropped []string
	// Problem says why the deployment cannot be imported; "" when it can.
	Problem string
}

// deploymentKeys are members only a deployment has, never a specification:
// their presence tells the two apart.
var deploymentKeys = []string{
	"specification", "path-prefix", "pathPrefix", "display-name", "displayName",
	"gateway-id", "gatewayId", "lifecycle-state", "lifecycleState",
}

// specKeys are a specification's members.
var specKeys = []string{"routes", "request-policies", "requestPolicies", "logging-policies", "loggingPolicies"}

// Parse reads one document (JSON or YAML; name's extension fixes the
// format, else it is sniffed) and returns its deployments, converted. An
// error means the document as a whole could not be read or is none of the
// forms; a deployment that cannot be imported has its Problem set instead.
func Parse(name string, data []byte) (*Document, error) {
	v, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case []any:
		return list(t, "")
	case *Object:
		if data, _, ok := t.lookup("data"); ok {
			return wrapped(t, data)
		}
		if items, _, ok := t.lookup("items"); ok {
			arr, ok := items.([]any)
			if !ok {
				return nil, fmt.Errorf("items: want an array of deployments, got %s", kindOf(items))
			}
			return list(arr, "items")
		}
		if has(t, deploymentKeys) {
			return &Document{Form: FormDeployment, Deployments: []Deployment{deployment("", t)}}, nil
		}
		if has(t, specKeys) {
			return &Document{Form: FormSpec, Deployments: []Deployment{bareSpec(t)}}, nil
		}
		return nil, fmt.Errorf("not a deployment, a deployment list or a specification: it has none of data, items, specification, path-prefix or routes (members: %s)", memberList(t, 8))
	}
	return nil, fmt.Errorf("want an object (a deployment or a specification) or an array of deployments, got %s", kindOf(v))
}

// wrapped reads the oci CLI's {"data": ...} output: one deployment (get)
// or a collection (list).
func wrapped(top, data any) (*Document, error) {
	var notes []string
	if o, ok := top.(*Object); ok {
		if next, _, ok := o.lookup("opc-next-page"); ok && next != nil {
			notes = append(notes, "the list has more pages (opc-next-page is set): what is not in this output is not imported; run oci api-gateway deployment list with --all")
		}
	}
	var doc *Document
	var err error
	switch t := data.(type) {
	case []any:
		doc, err = list(t, "data")
	case *Object:
		if items, _, ok := t.lookup("items"); ok && !has(t, deploymentKeys) {
			arr, ok := items.([]any)
			if !ok {
				return nil, fmt.Errorf("data.items: want an array of deployments, got %s", kindOf(items))
			}
			doc, err = list(arr, "data.items")
		} else {
			doc = &Document{Form: FormGet, Deployments: []Deployment{deployment("data", t)}}
		}
	default:
		return nil, fmt.Errorf("data: want a deployment or a deployment collection, got %s", kindOf(data))
	}
	if err != nil {
		return nil, err
	}
	doc.Notes = append(doc.Notes, notes...)
	return doc, nil
}

func list(items []any, path string) (*Document, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: the list is empty; no deployment to import", orTop(path))
	}
	doc := &Document{Form: FormList}
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		o, ok := item.(*Object)
		if !ok {
			doc.Deployments = append(doc.Deployments, Deployment{Path: p,
				Problem: fmt.Sprintf("want a deployment, got %s", kindOf(item))})
			continue
		}
		doc.Deployments = append(doc.Deployments, deployment(p, o))
	}
	return doc, nil
}

// deployment reads one deployment: the specification, converted, and the
// three members the import uses; the rest is listed as dropped.
func deployment(path string, o *Object) Deployment {
	d := Deployment{Path: path}
	var spec any
	hasSpec := false
	for _, m := range o.Members {
		switch m.Key {
		case "path-prefix", "pathPrefix":
			d.PathPrefix, _ = m.Value.(string)
		case "display-name", "displayName":
			d.DisplayName, _ = m.Value.(string)
		case "specification":
			spec, hasSpec = m.Value, true
		default:
			if m.Key == "id" {
				d.ID, _ = m.Value.(string)
			}
			d.Dropped = append(d.Dropped, m.Key)
		}
	}
	switch s, ok := spec.(*Object); {
	case !hasSpec || spec == nil:
		d.Problem = "no specification (oci api-gateway deployment list leaves it out); import the output of " + getCommand(d.ID)
	case !ok:
		d.Problem = fmt.Sprintf("specification: want an object, got %s", kindOf(spec))
	case d.PathPrefix == "":
		d.Problem = "no path-prefix; import the output of " + getCommand(d.ID) + ", which has it"
	default:
		converted, st := CamelKeys(s)
		d.Spec, d.Stats = converted.(*Object), st
	}
	return d
}

func bareSpec(o *Object) Deployment {
	converted, st := CamelKeys(o)
	return Deployment{Spec: converted.(*Object), Stats: st}
}

func getCommand(id string) string {
	if id == "" {
		id = "OCID"
	}
	return "oci api-gateway deployment get --deployment-id " + id
}

func has(o *Object, keys []string) bool {
	_, _, ok := o.lookup(keys...)
	return ok
}

// memberList names up to n of o's keys, for a message.
func memberList(o *Object, n int) string {
	if len(o.Members) == 0 {
		return "none"
	}
	var keys []string
	for i, m := range o.Members {
		if i == n {
			keys = append(keys, "...")
			break
		}
		keys = append(keys, m.Key)
	}
	return strings.Join(keys, ", ")
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

func orTop(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}
