// Deterministic stagger, Jenkins' `H` for CronJobs: thousands of tenants on "every 15 minutes" must not all fire at
// :00, and a tenant must keep its slot across operator restarts. Kubernetes has no jitter and rejects `H`, so the
// slot is resolved to plain numbers here.
//
// The schedule lists the run times explicitly (`7,22,37,52 * * * *`, `41 1,5,9,13,17,21 * * *`) rather than using a
// stepped range (`7-59/15`): every cron dialect reads a list the same way (robfig, cron-parser and Vixie differ on
// `7/15`), and `kubectl get cronjob` then shows the actual run minutes.
import { intervalMinutes, intervalSchedules } from '../api/v1alpha1/schedule-syntax.ts';
import { pickStableSlots } from './stable-hash.ts';

const allowedMinutes: readonly number[] = intervalSchedules.map(intervalMinutes);

function spacedValues(first: number, step: number, limit: number): string {
  const values: number[] = [];
  for (let value = first; value < limit; value += step) {
    values.push(value);
  }
  return values.join(',');
}

/**
 * A CronJob schedule that runs every `minutes` minutes in a slot chosen by a stable hash of `seed` (the caller
 * passes `${uid}/${serviceName}`). The slot is uniform over the whole interval: for 4h, one of 240 minutes, so the
 * tenants of one interval spread over every minute of it.
 *
 * Runs are exactly `minutes` apart in UTC. In a DST zone, intervals up to 1h stay exact in real time (a repeated
 * hour runs again, a skipped hour is simply absent). Longer intervals keep their local hours, so on the two DST days
 * one gap is an hour shorter or longer, and Kubernetes (robfig/cron) skips a run whose local time does not exist:
 * a 24h slot at 02:xx in America/Chicago does not run on the spring-forward day. Write the CronJob with timeZone
 * UTC where exact spacing matters more than local hours.
 */
export function staggeredCron(minutes: number, seed: string): string {
  if (!allowedMinutes.includes(minutes)) {
    throw new RangeError(`${minutes} minutes is not one of the intervals (${intervalSchedules.join(', ')})`);
  }
  const [slot = 0] = pickStableSlots(['stagger', seed], [minutes]);
  if (minutes < 60) {
    return `${spacedValues(slot, minutes, 60)} * * * *`;
  }
  const minute = slot % 60;
  const firstHour = Math.floor(slot / 60);
  const hours = minutes / 60;
  return `${minute} ${hours === 1 ? '*' : spacedValues(firstHour, hours, 24)} * * *`;
}
