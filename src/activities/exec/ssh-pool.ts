// One ssh2 connection per Proxmox host, shared by many channels. A connection that errors or
// closes is forgotten; the next command dials again. Host keys are checked on every dial.
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { Inventory, InventoryHost } from '../../inventory/schema.js';
import { checkHostKey, hostKeyPolicy, parseKnownHosts } from './host-keys.js';

export interface SshPoolOptions {
  /** Overrides inventory ssh.readyTimeoutMs. */
  readyTimeoutMs?: number;
  /** Overrides inventory ssh.keepaliveIntervalMs. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Key material instead of reading ssh.privateKeyPath. */
  privateKey?: Buffer | string;
  passphrase?: string;
  /** Agent socket; default $SSH_AUTH_SOCK, used only when no private key is configured. */
  agent?: string;
  /** OpenSSH allows 10 sessions per connection (MaxSessions); stay under it. */
  maxChannelsPerHost?: number;
}

interface Slot {
  active: number;
  waiters: Array<() => void>;
}

export class SshPool {
  /** Connections that reached `ready`, over the pool's life (tests count these). */
  connectionsOpened = 0;
  private readonly conns = new Map<string, Promise<Client>>();
  /** The ready client behind each pooled entry, to forget it synchronously when it drops. */
  private readonly readyClients = new Map<string, Client>();
  /** Every client this pool made, so close() ends retired ones too. */
  private readonly clients = new Set<Client>();
  private readonly channelsOpen = new WeakMap<Client, number>();
  private readonly retired = new WeakSet<Client>();
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  constructor(
    private readonly inventory: Inventory,
    private readonly opts: SshPoolOptions = {},
  ) {}

  /** Live (or dialling) connections right now. */
  get size(): number {
    return this.conns.size;
  }

  hostConfig(name: string): InventoryHost {
    const host = this.inventory.hosts[name];
    if (!host) {
      throw ApplicationFailure.nonRetryable(
        `unknown host "${name}" (inventory hosts: ${Object.keys(this.inventory.hosts).join(', ')})`,
        'BadInput',
      );
    }
    return host;
  }

  /** The pooled connection to `name`, dialling it if there is none. */
  acquire(name: string): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('ssh pool is closed'));
    let conn = this.conns.get(name);
    if (!conn) {
      conn = this.dial(name);
      this.conns.set(name, conn);
      // A failed dial is forgotten so the next call dials again.
      conn.catch(() => this.forget(name, conn));
    }
    return conn;
  }

  /**
   * Opens an exec channel. If the channel cannot be opened (stale connection the keepalive has
   * not noticed yet), the command never started, so it is safe to redial once and try again.
   */
  async openChannel(name: string, command: string): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.acquire(name);
      try {
        const ch = await new Promise<ClientChannel>((resolve, reject) => {
          client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
        });
        this.channelsOpen.set(client, (this.channelsOpen.get(client) ?? 0) + 1);
        ch.once('close', () => {
          const left = (this.channelsOpen.get(client) ?? 1) - 1;
          this.channelsOpen.set(client, left);
          if (left === 0 && this.retired.has(client)) client.end();
        });
        return ch;
      } catch (err) {
        this.retire(name, client);
        if (attempt >= 1) {
          const host = this.hostConfig(name);
          throw new Error(`ssh to ${name} (${host.address}:${host.port}): cannot open a channel: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Takes a suspect client out of the pool; it is ended once its running commands finish. */
  private retire(name: string, client: Client): void {
    if (this.readyClients.get(name) === client) {
      this.readyClients.delete(name);
      this.conns.delete(name);
    }
    this.retired.add(client);
    if (!this.channelsOpen.get(client)) client.end();
  }

  /** Runs `fn` holding one of the host's channel slots; waits (abortably) when all are busy. */
  async withSlot<T>(name: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const max = this.opts.maxChannelsPerHost ?? 8;
    let slot = this.slots.get(name);
    if (!slot) this.slots.set(name, (slot = { active: 0, waiters: [] }));
    const s = slot;
    if (s.active >= max) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          s.waiters.splice(s.waiters.indexOf(wake), 1);
          reject(signal?.reason ?? new Error('aborted'));
        };
        s.waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      s.active++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = s.waiters.shift();
      if (next) next();
      else s.active--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const dialling = [...this.conns.values()];
    this.conns.clear();
    this.readyClients.clear();
    await Promise.all(dialling.map((c) => c.catch(() => undefined)));
    await Promise.all(
      [...this.clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            client.once('close', () => resolve());
            client.end();
            setTimeout(resolve, 1000).unref(); // do not hang on a dead peer
          }),
      ),
    );
    this.clients.clear();
  }

  private forget(name: string, conn: Promise<Client> | undefined): void {
    if (conn && this.conns.get(name) === conn) this.conns.delete(name);
  }

  private authConfig(): Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'> {
    if (this.opts.privateKey) return { privateKey: this.opts.privateKey, passphrase: this.opts.passphrase };
    const path = this.inventory.ssh.privateKeyPath;
    if (path) {
      try {
        return { privateKey: readFileSync(path), passphrase: this.opts.passphrase };
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`cannot read ssh.privateKeyPath ${path}: ${(err as Error).message}`, 'SshAuthFailed');
      }
    }
    const agent = this.opts.agent ?? process.env.SSH_AUTH_SOCK;
    if (!agent) {
      throw ApplicationFailure.nonRetryable('no SSH key: set ssh.privateKeyPath in the inventory or run an agent (SSH_AUTH_SOCK)', 'SshAuthFailed');
    }
    return { agent };
  }

  private knownHosts() {
    const path = this.inventory.ssh.knownHostsPath;
    if (!path) return [];
    try {
      return parseKnownHosts(readFileSync(path, 'utf8')); // read per dial: edits apply without a restart
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`cannot read ssh.knownHostsPath ${path}: ${(err as Error).message}`, 'HostKeyUnknown');
    }
  }

  private async dial(name: string): Promise<Client> {
    const host = this.hostConfig(name);
    const user = host.user ?? this.inventory.ssh.user;
    const where = `${name} (${user}@${host.address}:${host.port})`;
    const policy = hostKeyPolicy({
      host: name,
      address: host.address,
      port: host.port,
      pins: host.hostKeyFingerprints,
      knownHosts: this.knownHosts(),
      knownHostsPath: this.inventory.ssh.knownHostsPath,
    });
    const auth = this.authConfig();
    const client = new Client();
    this.clients.add(client);
    let keyVerdict: ApplicationFailure | null = null;

    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      const drop = () => {
        this.clients.delete(client);
        // Forget the pooled entry only if it is still this client's (a newer dial may have replaced it).
        if (this.readyClients.get(name) === client) {
          this.readyClients.delete(name);
          this.conns.delete(name);
        }
      };
      client.on('ready', () => {
        ready = true;
        this.connectionsOpened++;
        this.readyClients.set(name, client);
        // Small request/reply packets: Nagle + delayed ACK would add ~40 ms per round trip.
        client.setNoDelay(true);
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        drop();
        if (ready) return; // channels in flight see their own close
        if (keyVerdict) return reject(keyVerdict);
        if (err.level === 'client-authentication') {
          return reject(ApplicationFailure.nonRetryable(`ssh to ${where}: authentication failed (${err.message})`, 'SshAuthFailed'));
        }
        reject(new Error(`ssh to ${where} failed: ${err.message}`));
      });
      client.on('close', () => {
        drop();
        if (!ready) reject(keyVerdict ?? new Error(`ssh to ${where}: connection closed before it was ready`));
      });
      try {
        client.connect({
          host: host.address,
          port: host.port,
          username: user,
          ...auth,
          readyTimeout: this.opts.readyTimeoutMs ?? this.inventory.ssh.readyTimeoutMs,
          keepaliveInterval: this.opts.keepaliveIntervalMs ?? this.inventory.ssh.keepaliveIntervalMs,
          keepaliveCountMax: this.opts.keepaliveCountMax ?? 3,
          algorithms: { serverHostKey: policy.algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
          hostVerifier: (key: Buffer) => {
            keyVerdict = checkHostKey(policy, key);
            return keyVerdict === null;
          },
        });
      } catch (err) {
        // ssh2 throws synchronously on an unparsable private key.
        reject(ApplicationFailure.nonRetryable(`ssh to ${where}: ${(err as Error).message}`, 'SshAuthFailed'));
      }
    });
  }
}
