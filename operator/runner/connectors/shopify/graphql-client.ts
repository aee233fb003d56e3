// One GraphQL Admin API request, within the store's shared rate budget.
// https://shopify.dev/docs/api/admin-graphql: POST https://<shop>.myshopify.com/admin/api/<version>/graphql.json with
// the JSON body { query, variables } and the access token in the X-Shopify-Access-Token header. Every answer reports
// its cost in extensions.cost { requestedQueryCost, actualQueryCost, throttleStatus }
// (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '../../store/database.ts';
import { classifyWriteError } from '../http-outcome.ts';
import type { ThrottleStatus } from './rate-budget.ts';
import { classifyGraphqlErrors, classifyStatus, type GraphqlError, type ShopifyFailure } from './shopify-errors.ts';
import { reserveBudget, settleBudget } from './shopify-store.ts';

export interface ShopifyEndpoint {
  /** https://<shop>.myshopify.com, or a stand-in's address. */
  readonly url: string;
  readonly apiVersion: string;
  readonly token?: string;
  readonly timeoutMs: number;
}

export interface Operation {
  /** The operation's name in `query`: it keys what the client learns of its cost. */
  readonly name: string;
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** The requested cost by Shopify's rules, worked out before sending (see queryCost). */
  readonly estimatedCost: number;
}

export type GraphqlResult<T> =
  { readonly ok: true; readonly data: T } | { readonly ok: false; readonly failure: ShopifyFailure };

interface CostReport {
  readonly requestedQueryCost?: number;
  readonly actualQueryCost?: number | null;
  readonly throttleStatus?: ThrottleStatus;
}

interface GraphqlBody {
  readonly data?: unknown;
  readonly errors?: readonly GraphqlError[];
  readonly extensions?: { readonly cost?: CostReport };
}

/** Shopify's documented costs: a connection is 2 plus its page size times one node's cost; an object 1; a scalar 0. */
export const queryCost = {
  connection: (first: number, nodeCost: number) => 2 + first * nodeCost,
  mutation: 10,
} as const;

/** A budget waits this long at most before it gives the request up as transient: the next pass tries again. */
const maxBudgetWaitMs = 60_000;

export interface GraphqlClient {
  request<T>(operation: Operation): Promise<GraphqlResult<T>>;
  /** Where the budget is kept: the shop and the app (a digest of its token), as Shopify keys its buckets. */
  readonly budgetKey: string;
}

export function budgetKeyOf(url: string, token: string | undefined): string {
  const app = token === undefined ? 'no-token' : createHash('sha256').update(token).digest('hex').slice(0, 16);
  return `${new URL(url).host}/${app}`;
}

export function createGraphqlClient(endpoint: ShopifyEndpoint, pool: Pool): GraphqlClient {
  const url = new URL(`/admin/api/${endpoint.apiVersion}/graphql.json`, endpoint.url);
  const budgetKey = budgetKeyOf(endpoint.url, endpoint.token);
  // Shopify's own requested cost of each operation, once seen: exact for the next request of the same shape (each
  // operation keeps its page sizes), where the estimate counts lists as if they were connections.
  const learnedCost = new Map<string, number>();

  async function reserve(cost: number): Promise<ShopifyFailure | undefined> {
    let waitedMs = 0;
    for (;;) {
      const reservation = await reserveBudget(pool, budgetKey, cost);
      if (reservation.granted) return undefined;
      if (waitedMs + reservation.waitMs > maxBudgetWaitMs) {
        return {
          transient: true,
          reason: `the store's rate budget did not free ${cost} points within ${maxBudgetWaitMs / 1000}s`,
          retryAfterMs: reservation.waitMs,
        };
      }
      await sleep(reservation.waitMs);
      waitedMs += reservation.waitMs;
    }
  }

  async function request<T>(operation: Operation): Promise<GraphqlResult<T>> {
    const reserved = learnedCost.get(operation.name) ?? operation.estimatedCost;
    const busy = await reserve(reserved);
    if (busy) return { ok: false, failure: busy };
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'switchyard-runner',
          ...(endpoint.token !== undefined && { 'x-shopify-access-token': endpoint.token }),
        },
        body: JSON.stringify({ query: operation.query, variables: operation.variables }),
        redirect: 'manual',
        signal: AbortSignal.timeout(endpoint.timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      // The request may or may not have reached Shopify: its reservation stays spent, and refills with time.
      const outcome = classifyWriteError(error, endpoint.timeoutMs);
      return {
        ok: false,
        failure: { transient: true, reason: outcome.kind === 'transient' ? outcome.reason : 'failed' },
      };
    }
    let body: GraphqlBody | undefined;
    try {
      body = JSON.parse(text) as GraphqlBody;
    } catch {
      body = undefined;
    }
    const cost = body?.extensions?.cost;
    if (cost?.requestedQueryCost !== undefined) learnedCost.set(operation.name, cost.requestedQueryCost);
    await settleBudget(pool, budgetKey, reserved, cost?.actualQueryCost ?? undefined, cost?.throttleStatus);
    // A throttled request may come back as 200 or 429 with the GraphQL errors; other statuses say it all.
    if (status !== 200 && status !== 429) {
      return { ok: false, failure: classifyStatus(status, text, retryAfter, new Date()) };
    }
    if (Array.isArray(body?.errors) && body.errors.length > 0) {
      const requestedCost = cost?.requestedQueryCost ?? reserved;
      return { ok: false, failure: classifyGraphqlErrors(body.errors, requestedCost, cost?.throttleStatus) };
    }
    if (status !== 200) return { ok: false, failure: classifyStatus(status, text, retryAfter, new Date()) };
    if (body === undefined || typeof body.data !== 'object' || body.data === null) {
      return { ok: false, failure: { transient: true, reason: 'Shopify answered without data' } };
    }
    return { ok: true, data: body.data as T };
  }

  return { request, budgetKey };
}
