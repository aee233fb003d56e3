// How long one interval run may take before Kubernetes stops it: the activeDeadlineSeconds of the Jobs a CronJob
// makes. Its CronJob forbids concurrent runs, so a run still going when the next is due makes that one skip; a run
// that hangs would skip every run after it. A run therefore gets until shortly before the next run is due, counted
// from the closest two runs of its schedule, within a floor and a ceiling.
import { measureCronGaps } from './cron-gaps.ts';

export const runDeadline = {
  /** Time left for the Job to be marked failed and its pod to stop before the next run is due. */
  marginSeconds: 60,
  /** Never less: a run needs time to start a pod, wait for the hub store and do a batch. */
  floorSeconds: 4 * 60,
  /** Never more: a run of a daily schedule that takes six hours is stuck, not busy. */
  ceilingSeconds: 6 * 3600,
} as const;

// Gaps are measured from a fixed date, so that the deadline (and with it the CronJob) does not change with the clock.
// Every schedule a service accepts runs every day, and the gaps of those do not depend on the date.
const referenceDate = new Date(Date.UTC(2024, 0, 1));
const memo = new Map<string, number>();
const memoLimit = 10_000;

/**
 * The deadline, in seconds, of one run of a valid cron expression: its shortest gap between two runs less the margin,
 * at least the floor and at most the ceiling: a run every 15 minutes gets 840, a daily one the ceiling. Gaps are on the wall
 * clock, so on a DST day a run of a long interval may have an hour less than this before the next is due.
 */
export function runDeadlineSeconds(cron: string): number {
  const known = memo.get(cron);
  if (known !== undefined) return known;
  const shortestSeconds = measureCronGaps(cron, referenceDate).shortestMinutes * 60;
  const seconds = Math.min(
    runDeadline.ceilingSeconds,
    Math.max(runDeadline.floorSeconds, shortestSeconds - runDeadline.marginSeconds),
  );
  if (memo.size >= memoLimit) memo.clear();
  memo.set(cron, seconds);
  return seconds;
}
