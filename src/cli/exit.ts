// Exit codes, refusals and output shared by every CLI command: no Temporal SDK here, so `runbook --help`
// and argument errors answer without loading it.

/** Exit codes a script can branch on. */
export const EXIT = { ok: 0, failed: 1, refused: 2, notFound: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The SDK's wrappers say only that something failed; the reason is in their cause. */
const WRAPPER = /^(Workflow execution failed|Workflow Update failed|Activity task failed|Child Workflow execution failed|Unexpected error while making gRPC request)$/i;

/**
 * Why the workflow or the worker refused or failed, from the error's cause chain (an update
 * refused by the workflow, an activity's non-retryable refusal inside a failed run).
 */
export function failureReason(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 8; e = e.cause) {
    if (!WRAPPER.test(e.message) && !parts.includes(e.message)) parts.push(e.message);
  }
  return parts.join(': ') || (err instanceof Error ? err.message : String(err));
}

export function output(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}
