// What every CLI command shares: the connection, output in text or JSON, and exit codes.
import { Client, Connection } from '@temporalio/client';
import { codecDataConverter, codecFromEnv } from '../shared/codec';
import { connectConfig } from '../shared/connection';

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

export async function withClient<T>(fn: (client: Client, connection: Connection, namespace: string) => Promise<T>): Promise<T> {
  const { connectionOptions, namespace } = connectConfig();
  const codec = codecFromEnv(); // payload encryption, when RUNBOOK_CODEC_KEY(_FILE) is set
  const connection = await Connection.connect(connectionOptions);
  try {
    return await fn(new Client({ connection, namespace, ...codecDataConverter(codec) }), connection, namespace);
  } finally {
    await connection.close();
  }
}

export function output(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}
