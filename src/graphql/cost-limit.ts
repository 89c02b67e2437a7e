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
  type ASTVisitor,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type ValidationContext,
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
 *   connection or list with `first` returns at most `first` (a variable counts as the largest page,
 *   100, since validation runs before variables are known, and a literal above 100 counts as what it
 *   asks for); a list without it (an invoice's ledger lines, timeline, refunds…) counts
 *   `NESTED_LIST_ESTIMATE` per parent. Objects multiply down the query: lists of lists grow fast.
 *
 * A page of 50 invoices with their ledger lines, timeline and refunds costs 4 statements and about
 * 1,600 objects: 1,802, under the default GRAPHQL_MAX_COST of 5000 (graphql-armor's cost model, which
 * counts every field by its depth and ignores batching, put it at 7,122). A page of 100 of them with
 * five nested lists, lists of lists several levels down, `first: 10000`, or 30 aliases of a heavy page
 * are refused. Introspection fields cost nothing (the schema is public).
 */
export const STATEMENT_COST = 50;
export const OBJECT_COST = 1;
export const NESTED_LIST_ESTIMATE = 10;
/** Past this nesting the query is refused outright (GRAPHQL_MAX_DEPTH is lower; this guards the recursion). */
const MAX_WALK_DEPTH = 64;

/** Fields whose objects were read with their parent: they cost objects but no statement of their own. */
const isPageStructure = (typeName: string): boolean => /(Connection|Edge)$/.test(typeName) || typeName === 'PageInfo';

export function queryCostRule(options: { maxCost: number }) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation);
      if (!root) return;
      const cost = selectionCost(context, operation.selectionSet, root, 1, 0, new Set(), undefined);
      if (cost > options.maxCost) {
        const shown = Number.isFinite(cost) ? Math.round(cost).toLocaleString('en-US') : 'unbounded';
        context.reportError(
          new GraphQLError(
            `Query cost ${shown} exceeds the limit of ${options.maxCost} (GRAPHQL_MAX_COST): each nested list costs one statement and an estimate of the objects it returns; ask for fewer or smaller pages (\`first\`) or fewer nested lists`,
            { nodes: [operation] },
          ),
        );
      }
    },
  });
}

function selectionCost(
  context: ValidationContext,
  selectionSet: SelectionSetNode,
  type: GraphQLCompositeType,
  parents: number,
  depth: number,
  fragments: Set<string>,
  /** Within a connection: how many edges its `first` allows. */
  pageSize: number | undefined,
): number {
  if (depth > MAX_WALK_DEPTH) return Infinity;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(context, selection, type, parents, depth, fragments, pageSize);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? context.getSchema().getType(selection.typeCondition.name.value) : type;
      if (condition && isCompositeType(condition)) {
        cost += selectionCost(context, selection.selectionSet, condition, parents, depth, fragments, pageSize);
      }
    } else {
      const name = selection.name.value;
      const fragment = context.getFragment(name);
      if (!fragment || fragments.has(name)) continue; // unknown or cyclic: other rules report it
      const condition = context.getSchema().getType(fragment.typeCondition.name.value);
      if (!condition || !isCompositeType(condition)) continue;
      fragments.add(name);
      cost += selectionCost(context, fragment.selectionSet, condition, parents, depth, fragments, pageSize);
      fragments.delete(name);
    }
    if (!Number.isFinite(cost)) return Infinity;
  }
  return cost;
}

function fieldCost(
  context: ValidationContext,
  field: FieldNode,
  parentType: GraphQLCompositeType,
  parents: number,
  depth: number,
  fragments: Set<string>,
  pageSize: number | undefined,
): number {
  const name = field.name.value;
  if (name.startsWith('__')) return 0;
  if (!isObjectType(parentType) && !isInterfaceType(parentType)) return 0;
  const definition = parentType.getFields()[name];
  if (!definition || !field.selectionSet) return 0; // unknown fields are other rules' business
  const type = getNamedType(definition.type);
  if (isLeafType(type) || !isCompositeType(type)) return 0;

  const first = firstArgument(field);
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
    selectionCost(context, field.selectionSet, type, objects, depth + 1, fragments, innerPage)
  );
}

/** `first` as written: a literal as given, a variable as the largest page it may be. */
function firstArgument(field: FieldNode): number | undefined {
  const argument = field.arguments?.find((candidate) => candidate.name.value === 'first');
  if (!argument) return undefined;
  return pageOf(argument.value);
}

function pageOf(value: ValueNode): number | undefined {
  if (value.kind === Kind.INT) return Math.max(1, Number(value.value));
  if (value.kind === Kind.VARIABLE) return MAX_PAGE_SIZE;
  if (value.kind === Kind.NULL) return undefined;
  return MAX_PAGE_SIZE;
}

function returnsList(type: GraphQLOutputType): boolean {
  const inner = isNonNullType(type) ? type.ofType : type;
  return isListType(inner);
}
