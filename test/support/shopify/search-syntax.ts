// The part of Shopify's search syntax the stand-in's queries accept (https://shopify.dev/docs/api/usage/search-syntax):
// terms separated by whitespace (AND implied; an explicit AND is allowed), each `field:value` or
// `field:<comparator>value` with comparators < <= > >=, values bare or quoted ('…' or "…"). Date values must be
// quoted. Other connectives (OR, NOT, grouping) are refused rather than misread.

export type Comparator = ':' | '<' | '<=' | '>' | '>=';

export interface SearchTerm {
  readonly field: string;
  readonly comparator: Comparator;
  readonly value: string;
}

const termPattern = /^([A-Za-z_][\w.]*):(<=|>=|<|>)?(?:'([^']*)'|"([^"]*)"|(\S+))/;

export function parseSearchQuery(query: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  let rest = query.trim();
  while (rest.length > 0) {
    if (/^AND\s/.test(rest)) {
      rest = rest.slice(3).trimStart();
      continue;
    }
    const match = termPattern.exec(rest);
    if (!match) throw new Error(`the stand-in does not understand the search query ${JSON.stringify(query)}`);
    const [whole, field, comparator, singleQuoted, doubleQuoted, bare] = match;
    terms.push({
      field: field!,
      comparator: (comparator ?? ':') as Comparator,
      value: singleQuoted ?? doubleQuoted ?? bare ?? '',
    });
    rest = rest.slice(whole.length).trimStart();
  }
  return terms;
}

/** Whether a timestamp (ms) satisfies a date term; an unparseable date matches nothing. */
export function matchesDate(term: SearchTerm, timestamp: number): boolean {
  const bound = Date.parse(term.value);
  if (Number.isNaN(bound)) return false;
  switch (term.comparator) {
    case '<':
      return timestamp < bound;
    case '<=':
      return timestamp <= bound;
    case '>':
      return timestamp > bound;
    case '>=':
      return timestamp >= bound;
    case ':':
      return timestamp === bound;
  }
}
