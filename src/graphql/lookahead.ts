import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { INVOICE_LIST_KINDS, listRequest, type ListRequest } from '../domain/invoices/invoice-lists.js';

/**
 * Which of an invoice's nested lists (ledger lines, timeline, refunds, attempts) the query asks for, and
 * which of their fields, at `path` below the current field (`[]` for `invoice(id)`, `['edges', 'node']` for a connection), through
 * fragments too. The resolver reads them with the invoices in one statement. Directives are not looked
 * at: a list under `@skip` is read for nothing, never missed.
 */
export function selectedInvoiceLists(info: GraphQLResolveInfo, path: readonly string[]): readonly ListRequest[] {
  // The answer depends on the query's text only (directives are not looked at), and Apollo hands
  // over the same parsed document for the same text: kept per field node (1% of a small query's CPU).
  // A field merged from several nodes (the same field twice) is walked every time.
  const node = info.fieldNodes.length === 1 ? info.fieldNodes[0]! : undefined;
  const key = path.join('.');
  const cached = node && lookaheads.get(node)?.get(key);
  if (cached) return cached;
  const requests = Object.freeze(walkInvoiceLists(info, path));
  if (node) {
    let byPath = lookaheads.get(node);
    if (!byPath) lookaheads.set(node, (byPath = new Map()));
    byPath.set(key, requests);
  }
  return requests;
}

const lookaheads = new WeakMap<FieldNode, Map<string, readonly ListRequest[]>>();

function walkInvoiceLists(info: GraphQLResolveInfo, path: readonly string[]): ListRequest[] {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const name of path) sets = sets.flatMap((set) => childSets(info, set, name));
  const requests: ListRequest[] = [];
  for (const kind of INVOICE_LIST_KINDS) {
    const lists = sets.flatMap((set) => childSets(info, set, kind));
    if (lists.length === 0) continue;
    // The fields asked for in every selection of the list (an alias, a fragment), so each is read.
    requests.push(listRequest(kind, lists.flatMap((list) => fieldNames(info, list)).filter((name) => !name.startsWith('__'))));
  }
  return requests;
}

function childSets(info: GraphQLResolveInfo, set: SelectionSetNode, name: string, seen = new Set<string>()): SelectionSetNode[] {
  const out: SelectionSetNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name && selection.selectionSet) out.push(selection.selectionSet);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      out.push(...childSets(info, selection.selectionSet, name, seen));
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = info.fragments[selection.name.value];
      if (fragment) out.push(...childSets(info, fragment.selectionSet, name, seen));
    }
  }
  return out;
}

function fieldNames(info: GraphQLResolveInfo, set: SelectionSetNode, seen = new Set<string>()): string[] {
  const out: string[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) out.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) out.push(...fieldNames(info, selection.selectionSet, seen));
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = info.fragments[selection.name.value];
      if (fragment) out.push(...fieldNames(info, fragment.selectionSet, seen));
    }
  }
  return out;
}
