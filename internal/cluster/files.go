package cluster

import "go.yaml.in/yaml/v3"

// requestFiles returns the files the requests under users: send: every
// body_file, and every file of a multipart: files: mapping, in the order
// written.
func requestFiles(n *yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > 50 {
			return
		}
		switch n.Kind {
		case yaml.AliasNode:
			walk(n.Alias, depth+1)
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				switch {
				case k.Value == "body_file" && v.Kind == yaml.ScalarNode && v.Value != "":
					out = append(out, v.Value)
				case k.Value == "multipart" && v.Kind == yaml.MappingNode:
					out = append(out, multipartFiles(v)...)
				default:
					walk(v, depth+1)
				}
			}
		}
	}
	walk(n, 0)
	return out
}

func multipartFiles(n *yaml.Node) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "files" || n.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		files := n.Content[i+1]
		for j := 1; j < len(files.Content); j += 2 {
			var f struct {
				File string `yaml:"file"`
			}
			if err := files.Content[j].Decode(&f); err == nil && f.File != "" {
				out = append(out, f.File)
			}
		}
	}
	return out
}
