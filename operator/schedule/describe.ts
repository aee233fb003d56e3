// Human wording for durations in validation messages.

const minutesPerDay = 24 * 60;

function count(amount: number, unit: string): string {
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/** 30 → "30 minutes", 120 → "2 hours", 10080 → "7 days", 90 → "90 minutes". */
export function describeMinutes(minutes: number): string {
  if (!Number.isFinite(minutes)) {
    return 'more than 8 years';
  }
  if (minutes >= minutesPerDay && minutes % minutesPerDay === 0) {
    return count(minutes / minutesPerDay, 'day');
  }
  if (minutes >= 60 && minutes % 60 === 0) {
    return count(minutes / 60, 'hour');
  }
  return count(minutes, 'minute');
}

/** ['a', 'b', 'c'] → "a, b and c". */
export function joinWithAnd(items: readonly string[]): string {
  if (items.length <= 1) {
    return items.join('');
  }
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
