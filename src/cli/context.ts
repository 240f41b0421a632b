// What every CLI command shares: the connection, output in text or JSON, and exit codes.
import { Client, Connection } from '@temporalio/client';
import { codecDataConverter, codecFromEnv } from '../shared/codec';
import { connectConfig } from '../shared/connection';

export { CliError, EXIT, failureReason, output } from './exit';

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
