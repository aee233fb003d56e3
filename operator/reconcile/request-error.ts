// A failed API request of the reconcile, as the operator reports it: one short sentence built from the API's own
// Status (its reason and message), the same every time the same thing fails, so that a status made from it does not
// change from one try to the next. Never the client's raw exception (request headers, audit ids, dates, the body).

/** What the API server answered, reduced to what a person can act on. */
export interface ApiAnswer {
  /** The HTTP code; undefined when there was no answer (the connection failed). */
  code: number | undefined;
  /** The Status reason (`Invalid`, `NotFound`, `Forbidden`…), or the connection error's code (`ECONNREFUSED`). */
  reason: string | undefined;
  /** The Status message, one line. */
  message: string;
  /** The reasons of the Status details' causes (`NamespaceTerminating`, `FieldValueInvalid`…). */
  causes: readonly string[];
}

export type RequestVerb = 'apply' | 'create' | 'delete' | 'get' | 'patch' | 'write the status of';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly verb: RequestVerb;
  readonly kind: string;
  readonly namespace: string;
  readonly object: string;
  readonly answer: ApiAnswer;

  constructor(verb: RequestVerb, kind: string, namespace: string, object: string, answer: ApiAnswer) {
    const status = [answer.code, answer.reason].filter((part) => part !== undefined).join(' ');
    super(`could not ${verb} ${kind} ${object}: ${status ? `${status}: ` : ''}${answer.message}`);
    this.verb = verb;
    this.kind = kind;
    this.namespace = namespace;
    this.object = object;
    this.answer = answer;
    // The sentence says it all; a stack trace of the HTTP client's internals would only be noise in the log.
    this.stack = `${this.name}: ${this.message}`;
  }

  /** The fields of the one log line that reports it. */
  get logFields() {
    return {
      verb: this.verb,
      object: `${this.kind} ${this.namespace}/${this.object}`,
      code: this.answer.code,
      reason: this.answer.reason,
      message: this.answer.message,
    };
  }
}

/**
 * An answer that means the object is being deleted or is gone, not that something is wrong: 404 (the owner, or its
 * namespace, was deleted during the reconcile) and 403 for a namespace being terminated. The reconcile just stops.
 */
export function meansOwnerGone(error: unknown): boolean {
  if (!(error instanceof RequestError)) return false;
  const { code, causes, message } = error.answer;
  if (code === 404) return true;
  return code === 403 && (causes.includes('NamespaceTerminating') || /because it is being terminated/.test(message));
}

/** The first line of a text, at most `limit` characters. */
function oneLine(text: string, limit = 500): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

interface StatusBody {
  kind?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { causes?: { reason?: unknown }[] };
}

function parseBody(body: unknown): StatusBody | undefined {
  if (body !== null && typeof body === 'object') return body;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads what the API server answered out of whatever the client threw: client-node's ApiException carries `code` and
 * `body` (the Status as JSON text); a failed connection is a TypeError whose `cause` has the system error's code.
 */
export function describeApiError(error: unknown): ApiAnswer {
  const thrown = (error ?? {}) as { code?: unknown; body?: unknown; message?: unknown; cause?: unknown };
  if (typeof thrown.code === 'number') {
    const status = parseBody(thrown.body);
    const reason = typeof status?.reason === 'string' && status.reason ? status.reason : undefined;
    const message =
      typeof status?.message === 'string' && status.message
        ? oneLine(status.message)
        : typeof thrown.body === 'string' && thrown.body.trim()
          ? oneLine(thrown.body, 200)
          : `HTTP ${thrown.code}`;
    const causes = (status?.details?.causes ?? [])
      .map((cause) => cause.reason)
      .filter((cause): cause is string => typeof cause === 'string');
    return { code: thrown.code, reason, message, causes };
  }
  const cause = thrown.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') {
    return {
      code: undefined,
      reason: cause.code,
      message: oneLine(typeof cause.message === 'string' ? cause.message : cause.code),
      causes: [],
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: undefined, reason: undefined, message: oneLine(message), causes: [] };
}
