import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isCompositeType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/pagination.js';

/**
 * The cost of a query as the service pays it: SQL statements and objects.
 *
 * - Every field that returns objects is loaded by a DataLoader, so it costs ONE batched statement for
 *   all its parents at that place in the query (`STATEMENT_COST`), not one per parent. Root fields
 *   cost a statement each too; a connection's `edges`, `node` and `pageInfo` cost none (they are the
 *   page already read).
 * - Every object returned costs `OBJECT_COST` (its scalar fields are included: reading, resolving and
 *   serialising them is per object). How many objects a field returns is estimated per parent: a
 *   connection or list with `first` returns at most `first` (the value the request gives, literal or
 *   variable; above 100 it counts as what it asks for; omitted, the default page of 20); a list without it (an invoice's ledger lines, timeline, refunds…) counts
 *   `NESTED_LIST_ESTIMATE` per parent. Objects multiply down the query: lists of lists grow fast.
 *
 * A page of 50 invoices with their ledger lines, timeline and refunds costs 4 statements and about
 * 1,600 objects: 1,802, under the default GRAPHQL_MAX_COST of 5000 (graphql-armor's cost model, which
 * counts every field by its depth and ignores batching, put this query at 6,616 and the at
 * 7,122). A page of 100 of them with five nested lists, lists of lists several levels down,
 * `first: 10000`, or 30 aliases of a heavy page are refused. Introspection fields cost nothing (the schema is public).
 */
export const STATEMENT_COST = 50;
export const OBJECT_COST = 1;
export const NESTED_LIST_ESTIMATE = 10;
/** Past this nesting the query is refused outright (GRAPHQL_MAX_DEPTH is lower; this guards the recursion). */
const MAX_WALK_DEPTH = 64;

/** Fields whose objects were read with their parent: they cost objects but no statement of their own. */
const isPageStructure = (typeName: string): boolean => /(Connection|Edge)$/.test(typeName) || typeName === 'PageInfo';

/**
 * Checked once the operation is known, with the request's variables (so `first: $first` counts as the
 * page it asks for); a refusal is a BAD_USER_INPUT naming the limit, before anything is read.
 */
export function queryCostLimit(options: { maxCost: number }): ApolloServerPlugin {
  const costs = new CostCache();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const cost = costs.cost(schema, document, operation, request.variables ?? {});
          if (cost <= options.maxCost) return;
          const shown = Number.isFinite(cost) ? Math.round(cost).toLocaleString('en-US') : 'unbounded';
          throw new GraphQLError(
            `Query cost ${shown} exceeds the limit of ${options.maxCost} (GRAPHQL_MAX_COST): each nested list costs one statement and an estimate of the objects it returns; ask for fewer or smaller pages (\`first\`) or fewer nested lists`,
            { nodes: operation, extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
          );
        },
      };
    },
  };
}

/**
 * A query's cost depends on its document and on the values of the variables the walk reads (`first:
 * $first`), nothing else: Apollo hands over the same parsed document for the same query text (its
 * document store), so the cost is kept per operation node and per value of those variables (the walk
 * is about 1% of a small query's CPU). A document Apollo no longer holds is forgotten with it.
 */
export class CostCache {
  private readonly byOperation = new WeakMap<OperationDefinitionNode, { schema: GraphQLSchema; read: string[]; costs: Map<string, number> }>();

  cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
    const known = this.byOperation.get(operation);
    if (known && known.schema === schema) {
      const key = valuesKey(known.read, variables);
      let cost = known.costs.get(key);
      if (cost === undefined) {
        cost = queryCost(schema, document, operation, variables);
        if (known.costs.size < 100) known.costs.set(key, cost);
      }
      return cost;
    }
    const read = new Set<string>();
    const cost = queryCost(schema, document, operation, variables, read);
    const names = [...read];
    this.byOperation.set(operation, { schema, read: names, costs: new Map([[valuesKey(names, variables), cost]]) });
    return cost;
  }
}

/** Absent and null are told apart: a default applies only to an absent variable. */
const valuesKey = (names: readonly string[], variables: Record<string, unknown>): string =>
  JSON.stringify(names.map((name) => (variables[name] === undefined ? [0] : [1, variables[name]])));

type Walk = { schema: GraphQLSchema; fragments: Map<string, FragmentDefinitionNode>; variables: Record<string, unknown>; visiting: Set<string> };

/** `read`, when given, receives the names of the variables the cost depended on. */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  read?: Set<string>,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const defaults: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue;
    if (value?.kind === Kind.INT) defaults[definition.variable.name.value] = Number(value.value);
  }
  const merged: Record<string, unknown> = { ...defaults, ...variables };
  const watched = read
    ? new Proxy(merged, {
        get(target, name, receiver) {
          if (typeof name === 'string') read.add(name);
          return Reflect.get(target, name, receiver);
        },
      })
    : merged;
  return selectionCost({ schema, fragments, variables: watched, visiting: new Set() }, operation.selectionSet, root, 1, 0, undefined);
}

function selectionCost(
  walk: Walk,
  selectionSet: SelectionSetNode,
  type: GraphQLCompositeType,
  parents: number,
  depth: number,
  /** Within a connection: how many edges its `first` allows. */
  pageSize: number | undefined,
): number {
  if (depth > MAX_WALK_DEPTH) return Infinity;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(walk, selection, type, parents, depth, pageSize);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : type;
      if (condition && isCompositeType(condition)) {
        cost += selectionCost(walk, selection.selectionSet, condition, parents, depth, pageSize);
      }
    } else {
      const name = selection.name.value;
      const fragment = walk.fragments.get(name);
      if (!fragment || walk.visiting.has(name)) continue; // unknown or cyclic: validation refuses it
      const condition = walk.schema.getType(fragment.typeCondition.name.value);
      if (!condition || !isCompositeType(condition)) continue;
      walk.visiting.add(name);
      cost += selectionCost(walk, fragment.selectionSet, condition, parents, depth, pageSize);
      walk.visiting.delete(name);
    }
    if (!Number.isFinite(cost)) return Infinity;
  }
  return cost;
}

function fieldCost(
  walk: Walk,
  field: FieldNode,
  parentType: GraphQLCompositeType,
  parents: number,
  depth: number,
  pageSize: number | undefined,
): number {
  const name = field.name.value;
  if (name.startsWith('__')) return 0;
  if (!isObjectType(parentType) && !isInterfaceType(parentType)) return 0;
  const definition = parentType.getFields()[name];
  if (!definition || !field.selectionSet) return 0; // unknown fields are other rules' business
  const type = getNamedType(definition.type);
  if (isLeafType(type) || !isCompositeType(type)) return 0;

  const first = firstArgument(field, walk.variables);
  let perParent = 1;
  let innerPage: number | undefined;
  if (/Connection$/.test(type.name)) {
    innerPage = first ?? DEFAULT_PAGE_SIZE;
  } else if (returnsList(definition.type)) {
    if (isPageStructure(parentType.name) && pageSize !== undefined) perParent = pageSize;
    else if (definition.args.some((argument) => argument.name === 'first')) perParent = first ?? DEFAULT_PAGE_SIZE;
    else perParent = NESTED_LIST_ESTIMATE;
  }
  const objects = parents * perParent;
  const statements = isPageStructure(parentType.name) ? 0 : 1;
  return (
    statements * STATEMENT_COST +
    objects * OBJECT_COST +
    selectionCost(walk, field.selectionSet, type, objects, depth + 1, innerPage)
  );
}

/** `first` as the request gives it; omitted or null: the default page. */
function firstArgument(field: FieldNode, variables: Record<string, unknown>): number | undefined {
  const argument = field.arguments?.find((candidate) => candidate.name.value === 'first');
  return argument ? pageOf(argument.value, variables) : undefined;
}

function pageOf(value: ValueNode, variables: Record<string, unknown>): number | undefined {
  if (value.kind === Kind.INT) return Math.max(1, Number(value.value));
  if (value.kind === Kind.NULL) return undefined;
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    if (given === undefined || given === null) return undefined;
    // Not an integer: variable coercion refuses the request anyway; count the largest page meanwhile.
    return typeof given === 'number' && Number.isInteger(given) ? Math.max(1, given) : MAX_PAGE_SIZE;
  }
  return MAX_PAGE_SIZE;
}

function returnsList(type: GraphQLOutputType): boolean {
  const inner = isNonNullType(type) ? type.ofType : type;
  return isListType(inner);
}
