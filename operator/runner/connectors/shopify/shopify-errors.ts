// What Shopify's refusals mean for the hub: worth another try later, or needing a person (with Shopify's own words and
// what to do). Pure: graphql-client.ts feeds it the status, the body and the cost report.
import { destinationMessage, parseRetryAfter } from '../http-outcome.ts';
import { throttledWaitMs, type ThrottleStatus } from './rate-budget.ts';

export interface ShopifyFailure {
  readonly transient: boolean;
  readonly reason: string;
  readonly retryAfterMs?: number;
}

export interface GraphqlError {
  readonly message: string;
  readonly extensions?: { readonly code?: unknown; readonly requiredAccess?: unknown };
}

/**
 * A non-200 answer. https://shopify.dev/docs/api/usage/response-codes: 401 "the necessary authentication credentials
 * are not present in the request or are incorrect" (a removed app's token is refused so too); 402 "the requested shop
 * is currently frozen. The shop owner needs to log in to the shop's admin and pay the outstanding balance"; 403 "if
 * you haven't requested the appropriate scope"; 404 the shop or the API version does not exist; 423 "the requested
 * shop is currently locked"; 429 too many requests; 5xx Shopify's own trouble. A frozen or locked shop stays so until
 * its owner acts, so those need a person rather than retries.
 */
export function classifyStatus(status: number, body: string, retryAfter: string | null, now: Date): ShopifyFailure {
  const message = destinationMessage(body);
  const said = `HTTP ${status}${message ? `: ${message}` : ''}`;
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return { transient: true, reason: said, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  }
  const advice: Record<number, string> = {
    401: 'Shopify refused the access token: the app was uninstalled or the token in the Cart\u2019s Secret is wrong',
    402: 'the shop is frozen: its owner must pay the outstanding balance in the Shopify admin',
    403: 'the app lacks an access scope this call needs: grant it in the app\u2019s configuration',
    404: 'no such shop or Admin API version: check spec.platform.shop and spec.platform.apiVersion',
    423: 'the shop is locked by Shopify: its owner must contact Shopify support',
  };
  const hint = advice[status];
  return { transient: false, reason: hint ? `${said} (${hint})` : said };
}

/** The scope Shopify names in an ACCESS_DENIED error, from its extensions or its message. */
function requiredScope(error: GraphqlError): string | undefined {
  const fromExtensions = error.extensions?.requiredAccess;
  if (typeof fromExtensions === 'string' && fromExtensions !== '') return fromExtensions;
  return /Required access: `?([^`.]+?)`? access scope/.exec(error.message)?.[1];
}

/**
 * A 200 answer with top-level errors. THROTTLED (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits)
 * waits until the bucket holds the requested cost again. ACCESS_DENIED: since 2020-07 the message reads "Access denied
 * for <field> field. Required access: <scope> access scope" with the code in extensions
 * (https://shopify.dev/changelog/new-error-messages-for-graphql-operations-without-necessary-access-scopes).
 * INTERNAL_SERVER_ERROR is Shopify's trouble. Anything else (a query this release got wrong, MAX_COST_EXCEEDED) will
 * not go away by itself.
 */
export function classifyGraphqlErrors(
  errors: readonly GraphqlError[],
  requestedCost: number | undefined,
  status: ThrottleStatus | undefined,
): ShopifyFailure {
  const codes = errors.map((error) => error.extensions?.code);
  const said = errors.map((error) => error.message).join('; ');
  if (codes.includes('THROTTLED')) {
    const retryAfterMs =
      status !== undefined && requestedCost !== undefined ? throttledWaitMs(requestedCost, status) : 1000;
    return { transient: true, reason: `Shopify throttled the request: ${said}`, retryAfterMs };
  }
  const denied = errors.find((error) => error.extensions?.code === 'ACCESS_DENIED');
  if (denied) {
    const scope = requiredScope(denied);
    return {
      transient: false,
      reason: `${denied.message}${scope ? ` (grant the app the ${scope} access scope)` : ' (the app lacks an access scope)'}`,
    };
  }
  if (codes.includes('INTERNAL_SERVER_ERROR')) return { transient: true, reason: `Shopify failed: ${said}` };
  return { transient: false, reason: `Shopify refused the request: ${said}` };
}

/** A mutation's userErrors: Shopify checked the input and refused it; a person must change something first. */
export function describeUserErrors(errors: readonly { field?: readonly string[] | null; message: string }[]): string {
  return errors
    .map((error) =>
      error.field && error.field.length > 0 ? `${error.field.join('.')}: ${error.message}` : error.message,
    )
    .join('; ');
}
