// Durations as runbook inputs and the inventory write them.

/** "90s", "15m", "2h", "7d" → milliseconds; undefined for a malformed value. */
export function durationMs(text: string): number | undefined {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
