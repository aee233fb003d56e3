// Walks a CRD's OpenAPI schema: every property and array item, by the path `kubectl explain` takes to it.

export interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  'x-kubernetes-validations'?: { rule: string; message: string; messageExpression?: string }[];
}

/** Every node below `root` with its dotted path (array items share their array's path, as in `kubectl explain`). */
export function schemaPaths(root: SchemaNode, prefix = ''): { path: string; node: SchemaNode }[] {
  const found: { path: string; node: SchemaNode }[] = [];
  for (const [name, node] of Object.entries(root.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    found.push({ path, node });
    if (node.items) {
      found.push({ path: `${path}[]`, node: node.items });
      found.push(...schemaPaths(node.items, path));
    }
    found.push(...schemaPaths(node, path));
  }
  return found;
}
