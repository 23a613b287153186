import os from 'node:os';

/**
 * The load average (1, 5 and 15 minutes) as a benchmark's RESULTS.md header states it: on 2 cores,
 * other work on the machine (a load above 2) slows every figure of the run, the floor's included.
 */
export function loadAverageNote(): string {
  const [one, five, fifteen] = os.loadavg().map((l) => l.toFixed(1));
  return `load average at the end ${one} / ${five} / ${fifteen} (2 cores: above 2, other work on the machine slowed every figure, the floor's too)`;
}
