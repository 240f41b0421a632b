// The exec layer's contract: where a script runs and what comes back.

/** Where a script runs: a Proxmox host over SSH, a VM through the guest agent, or an LXC. */
export type Target =
  | { kind: 'host'; host: string }
  | { kind: 'vm'; host: string; vmid: number }
  | { kind: 'lxc'; host: string; ctid: number };

export interface RunOptions {
  /** Upper bound for the command; for a VM it is also passed to `qm guest exec --timeout`. Default 60 s. */
  timeoutMs?: number;
  /**
   * Written to the command's stdin, then EOF (for a VM: `qm guest exec --pass-stdin 1`, at most 1 MiB).
   * The way a secret reaches a remote script without being in any argv.
   */
  stdin?: string;
  /** Values to mask (as `***`) in every error message this call produces. */
  secrets?: string[];
  /** Aborting closes the SSH channel (activity cancellation). */
  signal?: AbortSignal;
  /** Called every few seconds while the command runs (activities heartbeat from it). */
  onProgress?: () => void;
}

export interface CommandResult {
  /** The command's own exit code (for a VM: the guest's `exitcode`, not qm's). null when killed by a signal. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** VM only: the guest agent cut stdout or stderr at its 16 MiB cap. */
  truncated?: boolean;
}

/** A command whose stdin and stdout are streams (the channel itself): for data that does not fit in memory. */
export interface StreamingCommand {
  /** Must be read to its end (or resumed): the channel closes, and `done` settles, only after that. */
  stdout: NodeJS.ReadableStream;
  stdin: NodeJS.WritableStream;
  /** Settles when the command ends: its exit code and stderr (stdout was the stream). Rejects if the connection dies. */
  done: Promise<Omit<CommandResult, 'stdout'>>;
  /** Kills the command (where sshd allows) and closes the channel. */
  close(): void;
}

export interface Executor {
  run(target: Target, script: string, options?: RunOptions): Promise<CommandResult>;
  /**
   * Starts `script` on a host or a CT with its stdin and stdout as streams. Not for VMs: the guest
   * agent has no streams (1 MiB of input per call, output only once the command ends).
   */
  stream?(target: Target, script: string, options?: Pick<RunOptions, 'signal' | 'secrets'>): Promise<StreamingCommand>;
  /** Closes every pooled connection. */
  close(): Promise<void>;
}
