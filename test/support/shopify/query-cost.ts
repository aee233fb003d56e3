// Shopify's calculated query cost, before execution (requested) and from the result (actual).
// https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits#cost-calculation: scalars and enums cost 0,
// objects 1, a connection is sized by its first/last argument (2 + size × the cost of one node), a mutation 10.
// "The requested cost is based on the number of fields requested. The actual cost is based on the results
// returned, since the query can end early due to an object type field returning null, or connection fields can
// return fewer edges than requested." (https://help.shopify.com/en/api/graphql-admin-api/call-limit)
import {
  getArgumentValues,
  getNamedType,
  isObjectType,
  isAbstractType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type VariableValues,
} from 'graphql';

export const MUTATION_COST = 10;
const CONNECTION_BASE_COST = 2;
const OBJECT_COST = 1;

export interface CostContext {
  readonly schema: GraphQLSchema;
  readonly fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  readonly variableValues: VariableValues;
}

const isConnectionTypeName = (name: string): boolean => name.endsWith('Connection');

/** The fields selected on one type, fragments flattened (a fragment on another type of an interface counts too). */
function selectedFields(selectionSet: SelectionSetNode, context: CostContext): FieldNode[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) return selectedFields(selection.selectionSet, context);
    const fragment = context.fragments[selection.name.value];
    return fragment ? selectedFields(fragment.selectionSet, context) : [];
  });
}

function fieldDefinition(parent: GraphQLObjectType, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
  return parent.getFields()[node.name.value];
}

/** The object types a selection set may be read on: the type itself, or every implementation of an interface. */
function concreteTypes(typeName: string, schema: GraphQLSchema): GraphQLObjectType[] {
  const type = schema.getType(typeName);
  if (isObjectType(type)) return [type];
  if (isAbstractType(type)) return [...schema.getPossibleTypes(type)];
  return [];
}

function connectionSize(definition: GraphQLField<unknown, unknown>, node: FieldNode, context: CostContext): number {
  const args = getArgumentValues(definition, node, context.variableValues);
  const first = typeof args.first === 'number' ? args.first : 0;
  const last = typeof args.last === 'number' ? args.last : 0;
  return Math.max(first, last);
}

/** The cost of one node of a connection: the larger of what `edges { node }` and `nodes` select. */
function connectionNodeCost(node: FieldNode, nodeTypeName: string, context: CostContext): number {
  if (!node.selectionSet) return 0;
  let cost = 0;
  for (const child of selectedFields(node.selectionSet, context)) {
    if (child.name.value === 'nodes' && child.selectionSet) {
      cost = Math.max(cost, OBJECT_COST + selectionCost(child.selectionSet, nodeTypeName, context));
    }
    if (child.name.value === 'edges' && child.selectionSet) {
      for (const edgeChild of selectedFields(child.selectionSet, context)) {
        if (edgeChild.name.value === 'node' && edgeChild.selectionSet) {
          cost = Math.max(cost, OBJECT_COST + selectionCost(edgeChild.selectionSet, nodeTypeName, context));
        }
      }
    }
  }
  return cost;
}

function connectionNodeTypeName(connectionType: GraphQLObjectType): string {
  const nodes = connectionType.getFields().nodes;
  return nodes ? getNamedType(nodes.type).name : '';
}

function fieldCost(parent: GraphQLObjectType, node: FieldNode, context: CostContext): number {
  const definition = fieldDefinition(parent, node);
  if (!definition) return 0;
  const type = getNamedType(definition.type);
  if (!node.selectionSet) return 0;
  if (isObjectType(type) && isConnectionTypeName(type.name)) {
    const size = connectionSize(definition, node, context);
    return CONNECTION_BASE_COST + size * connectionNodeCost(node, connectionNodeTypeName(type), context);
  }
  return OBJECT_COST + selectionCost(node.selectionSet, type.name, context);
}

/** Interfaces and unions cost the maximum of their possible selections. */
function selectionCost(selectionSet: SelectionSetNode, typeName: string, context: CostContext): number {
  const costs = concreteTypes(typeName, context.schema).map((parent) =>
    selectedFields(selectionSet, context).reduce((sum, node) => sum + fieldCost(parent, node, context), 0),
  );
  return costs.length === 0 ? 0 : Math.max(...costs);
}

export function requestedQueryCost(operation: OperationDefinitionNode, context: CostContext): number {
  if (operation.operation === 'mutation') {
    return (
      selectedFields(operation.selectionSet, context).filter((node) => node.name.value !== '__typename').length *
      MUTATION_COST
    );
  }
  const root = context.schema.getQueryType();
  return root ? selectionCost(operation.selectionSet, root.name, context) : 0;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const responseKey = (node: FieldNode): string => node.alias?.value ?? node.name.value;

function actualSelectionCost(
  selectionSet: SelectionSetNode,
  typeName: string,
  value: Json | undefined,
  context: CostContext,
): number {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return 0;
  const concrete = typeof value.__typename === 'string' ? value.__typename : typeName;
  const costs = concreteTypes(concrete, context.schema).map((parent) =>
    selectedFields(selectionSet, context).reduce(
      (sum, node) => sum + actualFieldCost(parent, node, value[responseKey(node)], context),
      0,
    ),
  );
  return costs.length === 0 ? 0 : Math.max(...costs);
}

function actualFieldCost(
  parent: GraphQLObjectType,
  node: FieldNode,
  value: Json | undefined,
  context: CostContext,
): number {
  const definition = fieldDefinition(parent, node);
  if (!definition || !node.selectionSet || value === null || value === undefined) return 0;
  const type = getNamedType(definition.type);
  if (isObjectType(type) && isConnectionTypeName(type.name) && typeof value === 'object' && !Array.isArray(value)) {
    const nodeType = connectionNodeTypeName(type);
    let returned = 0;
    for (const child of selectedFields(node.selectionSet, context)) {
      const childValue = value[responseKey(child)];
      if (!Array.isArray(childValue) || !child.selectionSet) continue;
      if (child.name.value === 'nodes') {
        returned = Math.max(
          returned,
          childValue.reduce<number>(
            (sum, item) => sum + OBJECT_COST + actualSelectionCost(child.selectionSet!, nodeType, item, context),
            0,
          ),
        );
      }
      if (child.name.value === 'edges') {
        const nodeFields = selectedFields(child.selectionSet, context).filter((edge) => edge.name.value === 'node');
        returned = Math.max(
          returned,
          childValue.reduce<number>((sum, edge) => {
            if (edge === null || typeof edge !== 'object' || Array.isArray(edge)) return sum;
            return (
              sum +
              nodeFields.reduce(
                (edgeSum, nodeField) =>
                  edgeSum +
                  OBJECT_COST +
                  actualSelectionCost(nodeField.selectionSet!, nodeType, edge[responseKey(nodeField)], context),
                0,
              )
            );
          }, 0),
        );
      }
    }
    return CONNECTION_BASE_COST + returned;
  }
  if (Array.isArray(value)) {
    return value.length === 0
      ? 0
      : OBJECT_COST +
          Math.max(...value.map((item) => actualSelectionCost(node.selectionSet!, type.name, item, context)));
  }
  return OBJECT_COST + actualSelectionCost(node.selectionSet, type.name, value, context);
}

export function actualQueryCost(
  operation: OperationDefinitionNode,
  data: Record<string, unknown> | null | undefined,
  context: CostContext,
): number {
  if (operation.operation === 'mutation') return requestedQueryCost(operation, context);
  const root = context.schema.getQueryType();
  if (!root || !data) return 0;
  return actualSelectionCost(operation.selectionSet, root.name, data as Json, context);
}
