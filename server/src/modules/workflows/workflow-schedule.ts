import { CronExpressionParser } from 'cron-parser';

/** Whether `cron` is a five-field cron expression that `timezone` (IANA) can run in. */
export function isValidCron(cron: string, timezone: string): boolean {
  if (cron.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(cron, { tz: timezone }).next();
    return true;
  } catch {
    return false;
  }
}

/** The first time after `after` that `cron` fires in `timezone` (cron-parser, https://github.com/harrisiirak/cron-parser). */
export function nextFire(cron: string, timezone: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { tz: timezone, currentDate: after }).next().toDate();
}
