// Relay cursor pagination as Shopify's connections answer it (https://shopify.dev/docs/api/usage/pagination-graphql):
// `edges { cursor node }`, `nodes`, `pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`, forward with
// first/after and backward with last/before. Cursors are opaque and name a position in the sort order, so a page
// read after records changed continues after the last record seen rather than at a stale offset.
import { GraphQLError } from 'graphql';

/** A record's place in the sort order: the sort value, then the id to break ties. */
export type SortKey = readonly [number, number];

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
  readonly reverse?: boolean | null;
}

export interface Page<T> {
  readonly edges: { cursor: string; node: T }[];
  readonly nodes: T[];
  readonly pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

const encodeCursor = (key: SortKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string): SortKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === 2 && key.every((part) => typeof part === 'number')) {
      return [key[0] as number, key[1] as number];
    }
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError(`Invalid cursor for current pagination sort.`);
}

const compareKeys = (a: SortKey, b: SortKey): number => a[0] - b[0] || a[1] - b[1];

export function paginate<T>(records: readonly T[], keyOf: (record: T) => SortKey, args: PageArgs): Page<T> {
  // https://community.shopify.com/c/Shopify-APIs-SDKs/Help-Creating-a-product-via-grapql-productCreate-and-adding/m-p/587159
  if (args.first == null && args.last == null) throw new GraphQLError('you must provide one of first or last');
  const direction = args.reverse ? -1 : 1;
  const ordered = [...records].sort((a, b) => direction * compareKeys(keyOf(a), keyOf(b)));
  const after = args.after ? decodeCursor(args.after) : undefined;
  const before = args.before ? decodeCursor(args.before) : undefined;
  let window = ordered.filter(
    (record) =>
      (!after || direction * compareKeys(keyOf(record), after) > 0) &&
      (!before || direction * compareKeys(keyOf(record), before) < 0),
  );
  const beforeWindow = ordered.length - window.length;
  let hasNextPage = false;
  let hasPreviousPage = after !== undefined && beforeWindow > 0;
  if (args.first != null) {
    hasNextPage = window.length > args.first;
    window = window.slice(0, Math.max(0, args.first));
  }
  if (args.last != null) {
    hasPreviousPage = window.length > args.last;
    window = window.slice(Math.max(0, window.length - args.last));
  }
  const edges = window.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    nodes: window,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
