// Masks secrets in text that leaves an activity (error messages above all). Runs before any clipping,
// so a secret cut in half by a clip is never half shown.
import { ApplicationFailure } from '@temporalio/common';

export const MASK = '***';

// A K3s token: `K10<sha256 of the cluster CA>::<user>:<password>` (k3s pkg/clientaccess/token.go, the
// `K10` prefix and `::` separator); its `<user>:<password>` part alone is a usable token too.
const K3S_TOKEN = /K10[0-9a-f]{64}::[^\s:'"]+:[^\s'"]+/g;
// A secret flag's value wherever it stands: `--flag=v`, `--flag v`, and install.sh's unit lines
// `'--flag' \` + newline + tab + `'v' \` (k3s install.sh quote_indent).
const SECRET_FLAG_VALUE =
  /(['"]?--(?:token|agent-token|etcd-s3-access-key|etcd-s3-secret-key|etcd-s3-session-token|vpn-auth)['"]?(?:=|[ \t\\\r\n]+))(['"]?)(?!-)[^\s'"]+/g;
// The same keys in a K3s config.yaml (pkg/configfilearg: keys are the flag names without dashes), at a line's start.
const SECRET_YAML_VALUE = /^([ \t]*(?:token|agent-token|etcd-s3-access-key|etcd-s3-secret-key|etcd-s3-session-token|vpn-auth)[ \t]*:[ \t]*)(['"]?)(?![\s'"])[^\s'"]+/gm;
// Credentials in a URL or DSN (`postgres://k3s:<pw>@db`), and K3S_TOKEN=… in an environment dump.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]*):[^@\s'"]+@/gi;
const TOKEN_ENV = /\b(K3S_(?:AGENT_)?TOKEN=)(['"]?)[^\s'"]+/g;

/** The forms a secret takes in text: itself, shell- and JSON-escaped, and a K3s token's password parts. */
function formsOf(secret: string): string[] {
  const parts = [secret];
  // `K10<hash>::server:<password>` → `server:<password>` and `<password>` (each accepted by K3s on its own)
  const m = /^K10[0-9a-f]+::([^:]+):(.+)$/.exec(secret);
  if (m) parts.push(`${m[1]}:${m[2]}`, m[2]!);
  const forms: string[] = [];
  for (const p of parts) {
    forms.push(p, p.replace(/'/g, `'\\''`), JSON.stringify(p).slice(1, -1));
  }
  return forms;
}

/**
 * Replaces every given secret (and its escaped forms and parts) with `***`, and whatever has the shape
 * of a secret without being named: K3s tokens, values of secret flags, passwords in URLs.
 */
export function redact(message: string, secrets: readonly (string | undefined)[] = []): string {
  const forms = new Set<string>();
  for (const s of secrets) {
    // a very short "secret" would mask ordinary words: too short to be a real password anyway
    if (s && s.length >= 6) for (const f of formsOf(s)) forms.add(f);
  }
  let out = message;
  // Longest first, so a secret that contains another is masked whole.
  for (const f of [...forms].filter(Boolean).sort((a, b) => b.length - a.length)) {
    out = out.split(f).join(MASK);
  }
  return out
    .replace(K3S_TOKEN, MASK)
    .replace(SECRET_FLAG_VALUE, `$1$2${MASK}`)
    .replace(SECRET_YAML_VALUE, `$1$2${MASK}`)
    .replace(URL_PASSWORD, `$1:${MASK}@`)
    .replace(TOKEN_ENV, `$1$2${MASK}`);
}

/** The same error with its message (and an ApplicationFailure's details) redacted; unchanged when nothing was masked. */
export function redactError(err: unknown, secrets: readonly (string | undefined)[] = []): Error {
  if (err instanceof ApplicationFailure) {
    const message = redact(err.message, secrets);
    const details = err.details?.map((d) => (typeof d === 'string' ? redact(d, secrets) : d));
    if (message === err.message && (details ?? []).every((d, i) => d === err.details?.[i])) return err;
    return ApplicationFailure.create({
      message,
      type: err.type ?? undefined,
      nonRetryable: err.nonRetryable ?? undefined,
      details,
    });
  }
  if (err instanceof Error) {
    const message = redact(err.message, secrets);
    if (message === err.message && !(err.stack && redact(err.stack, secrets) !== err.stack)) return err;
    // A fresh error, so the stack (which repeats the message) cannot leak either.
    const copy = new Error(message);
    copy.name = err.name;
    return copy;
  }
  return new Error(redact(String(err), secrets));
}
