// Masks secrets in text that leaves an activity (error messages above all).
import { ApplicationFailure } from '@temporalio/common';

/** Replaces every secret (and its shell- and JSON-escaped forms) with `***`. */
export function redact(message: string, secrets: readonly string[] = []): string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(s.replace(/'/g, `'\\''`)); // as it appears inside a single-quoted shell word
    forms.add(JSON.stringify(s).slice(1, -1)); // as it appears inside a JSON string
  }
  // Longest first, so a secret that contains another is masked whole.
  let out = message;
  for (const f of [...forms].filter(Boolean).sort((a, b) => b.length - a.length)) {
    out = out.split(f).join('***');
  }
  return out;
}

/** The same error with its message (and an ApplicationFailure's details) redacted. */
export function redactError(err: unknown, secrets: readonly string[] = []): Error {
  if (!secrets.some(Boolean)) return err instanceof Error ? err : new Error(String(err));
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      message: redact(err.message, secrets),
      type: err.type ?? undefined,
      nonRetryable: err.nonRetryable ?? undefined,
      details: err.details?.map((d) => (typeof d === 'string' ? redact(d, secrets) : d)),
    });
  }
  if (err instanceof Error) {
    // A fresh error, so the stack (which repeats the message) cannot leak either.
    const copy = new Error(redact(err.message, secrets));
    copy.name = err.name;
    return copy;
  }
  return new Error(redact(String(err), secrets));
}
