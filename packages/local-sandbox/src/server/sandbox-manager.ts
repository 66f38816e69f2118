import { randomBytes } from 'node:crypto';
import { errorMessage, FileDescriptorLimitError, fileDescriptorExhaustion } from '../errors.js';
import type { IsolatedSandbox, IsolationBackend, SandboxLimits } from '../isolation/types.js';
import type { FileHelper } from './file-helper.js';
import { HopxHttpError } from './http-utilities.js';
import { setLongTimeout } from './long-timer.js';
import type { LogKind } from './options.js';
import { SandboxReleases } from './sandbox-releases.js';
import { SandboxSession } from './sandbox-session.js';
import type { LocalTemplate } from './templates.js';

/** Delay between handing out a pooled sandbox and starting its replacement, in milliseconds. */
const POOL_REFILL_DELAY_MS = 100;

/** Releases of deleted sandboxes running at once (each is mostly one short `umount` process). */
const RELEASE_CONCURRENCY = 2;

/**
 * Releases of deleted sandboxes that may wait before a create waits for them: each holds its
 * workspace mounts (and the memory of their files) until it runs.
 */
const MAX_PENDING_RELEASES = 64;

/** A new sandbox id in HopX's style (seconds, then random base36), safe as a directory name. */
export function newSandboxId(): string {
  const random = randomBytes(8).readBigUInt64BE().toString(36).padStart(8, '0').slice(0, 8);
  return `${Math.floor(Date.now() / 1000)}${random}`;
}

/** Options of a create call. */
export interface CreateSandboxOptions {
  template: LocalTemplate;
  timeoutSeconds?: number;
  internetAccess: boolean;
  envVars?: Record<string, string>;
}

/** Owns every sandbox: creation (from the warm pool when possible), TTLs, pause and destruction. */
export class SandboxManager {
  readonly #backend: IsolationBackend;
  readonly #limits: SandboxLimits;
  readonly #poolSize: number;
  readonly #log: (message: string, kind: LogKind) => void;
  readonly #fileHelper: FileHelper;
  readonly #sessions = new Map<string, SandboxSession>();
  readonly #byToken = new Map<string, SandboxSession>();
  readonly #pools = new Map<string, SandboxSession[]>();
  readonly #refilling = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #pooledTemplates: LocalTemplate[] = [];
  readonly #releases: SandboxReleases;
  #closed = false;

  constructor(options: {
    backend: IsolationBackend;
    limits: SandboxLimits;
    poolSize: number;
    log: (message: string, kind: LogKind) => void;
    fileHelper: FileHelper;
  }) {
    this.#fileHelper = options.fileHelper;
    this.#backend = options.backend;
    this.#limits = options.limits;
    this.#poolSize = options.poolSize;
    this.#log = options.log;
    this.#releases = new SandboxReleases({
      concurrency: RELEASE_CONCURRENCY,
      onError: (error) => this.#log(`releasing a deleted sandbox failed: ${errorMessage(error)}`, 'error'),
    });
  }

  async #newSession(template: LocalTemplate, internetAccess: boolean): Promise<SandboxSession> {
    const id = newSandboxId();
    let isolated: IsolatedSandbox;
    try {
      isolated = await this.#backend.create({ id, limits: this.#limits, internetAccess });
    } catch (error) {
      throw createFailure(error);
    }
    return new SandboxSession({
      id,
      template,
      isolated,
      backendName: this.#backend.name,
      internetAccess,
      fileHelper: this.#fileHelper,
      limits: this.#limits,
    });
  }

  /** Fills every template's warm pool up to the pool size, in the background. */
  fillPools(templates: Iterable<LocalTemplate>): void {
    if (this.#poolSize <= 0) return;
    for (const template of templates) {
      if (template.languages.size === 0) continue;
      this.#pooledTemplates.push(template);
      this.#refill(template);
    }
  }

  /** Resolves when every pool is full (for tests and benchmarks that want warm starts). */
  async poolsReady(): Promise<void> {
    // Start refills that are still waiting for their delay.
    for (const template of this.#pooledTemplates) this.#refill(template);
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #refill(template: LocalTemplate): void {
    if (this.#closed) return;
    const pool = this.#pools.get(template.name) ?? [];
    this.#pools.set(template.name, pool);
    const inFlight = this.#refilling.get(template.name) ?? 0;
    const missing = this.#poolSize - pool.length - inFlight;
    for (let index = 0; index < missing; index++) {
      this.#refilling.set(template.name, (this.#refilling.get(template.name) ?? 0) + 1);
      const work = (async () => {
        const session = await this.#newSession(template, false);
        try {
          await session.processServer.ready();
          if (template.languages.has('python'))
            await session.processServer.startRepl(template.preloadModules);
        } catch (error) {
          await this.#destroySession(session);
          throw error;
        }
        if (this.#closed) {
          await this.#destroySession(session);
          return;
        }
        pool.push(session);
      })()
        .catch((error: unknown) => {
          this.#log(`warm pool for ${template.name}: ${errorMessage(error)}`, 'error');
        })
        .finally(() => {
          this.#refilling.set(template.name, (this.#refilling.get(template.name) ?? 1) - 1);
          this.#pending.delete(work);
        });
      this.#pending.add(work);
    }
  }

  /** Creates a sandbox; it is usable when this resolves. */
  async create(options: CreateSandboxOptions): Promise<SandboxSession> {
    if (this.#closed) throw new HopxHttpError(503, 'INTERNAL_ERROR', 'The server is shutting down.');
    let session: SandboxSession | undefined;
    if (!options.internetAccess) {
      session = this.#pools.get(options.template.name)?.shift();
      if (session) {
        // Refill a little later, so the new sandbox's start-up does not compete with the first runs
        // in the one just handed out.
        const template = options.template;
        setTimeout(() => this.#refill(template), POOL_REFILL_DELAY_MS).unref();
      }
    }
    if (!session) {
      await this.#releases.fewerThan(MAX_PENDING_RELEASES);
      session = await this.#newSession(options.template, options.internetAccess);
      // Start the process server now, and for Python its interpreter too (a forked process of a few
      // MiB, started by the server itself): the first run waits for them, so create answers sooner.
      const server = session.processServer;
      try {
        (options.template.languages.has('python') ? server.startRepl() : server.ready()).catch(() => {});
      } catch (error) {
        // The start failed at once (out of file descriptors): release what the sandbox took before
        // answering, so that the client's retry finds the descriptors free again.
        await this.#destroySession(session, { release: 'now' }).catch(() => undefined);
        throw createFailure(error);
      }
    }
    session.createdAt = new Date();
    if (options.envVars) session.envVars = { ...options.envVars };
    this.#sessions.set(session.id, session);
    this.#byToken.set(session.token, session);
    if (options.timeoutSeconds !== undefined) this.setTimeout(session, options.timeoutSeconds);
    this.#log(
      `sandbox ${session.id} created (template ${options.template.name}${options.timeoutSeconds ? `, TTL ${options.timeoutSeconds} s` : ''})`,
      'event',
    );
    return session;
  }

  /** The sandbox with this id, or a 404 `Sandbox not found` (the SDK maps it to SandboxExpiredError). */
  get(id: string): SandboxSession {
    const session = this.#sessions.get(id);
    if (!session) {
      throw new HopxHttpError(404, 'SANDBOX_NOT_FOUND', `Sandbox not found: ${id}`, { sandbox_id: id });
    }
    return session;
  }

  /** The sandbox whose agent token this is (WebSocket routing), if any. */
  byToken(token: string): SandboxSession | undefined {
    const session = this.#byToken.get(token);
    if (!session || session.tokenExpiresAt.getTime() < Date.now()) return undefined;
    return session;
  }

  /** Every live sandbox, oldest first. */
  list(): SandboxSession[] {
    return [...this.#sessions.values()];
  }

  /** Sets the TTL to now + `seconds`; expiry destroys the sandbox. */
  setTimeout(session: SandboxSession, seconds: number): void {
    session.ttlTimer?.clear();
    session.timeoutSeconds = seconds;
    session.expiresAt = new Date(Date.now() + seconds * 1000);
    // A TTL beyond one Node timer (24.8 days) must not fire at once.
    session.ttlTimer = setLongTimeout(
      () => {
        void this.destroy(session.id, 'expired').catch(() => {});
      },
      seconds * 1000,
      { unref: true },
    );
  }

  /** Issues a fresh token for the sandbox's agent. */
  refreshToken(session: SandboxSession): void {
    session.tokenExpiresAt = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  }

  /** Freezes every process of the sandbox. */
  async pause(session: SandboxSession): Promise<void> {
    if (session.status === 'paused') return;
    await session.isolated.freeze();
    session.status = 'paused';
    this.#log(`sandbox ${session.id} paused`, 'event');
  }

  /** Thaws a paused sandbox. */
  async resume(session: SandboxSession): Promise<void> {
    if (session.status !== 'paused') return;
    await session.isolated.thaw();
    session.status = 'running';
    this.#log(`sandbox ${session.id} resumed`, 'event');
  }

  /**
   * Destroys a sandbox. Resolves once it is unreachable and every process of it is dead; its cgroups,
   * workspace mounts, directories and uid are released in the background (see {@link SandboxReleases}),
   * and {@link close} waits for them. `reason` is what the log line says.
   */
  async destroy(id: string, reason: 'deleted' | 'expired' = 'deleted'): Promise<void> {
    const session = this.get(id);
    this.#sessions.delete(id);
    this.#byToken.delete(session.token);
    await this.#destroySession(session);
    this.#log(`sandbox ${id} ${reason}`, 'event');
  }

  /**
   * Makes a sandbox unreachable and kills its processes; `release: 'background'` queues the rest
   * (cgroups, mounts, directories, uid) in {@link SandboxReleases}, `'now'` waits for it too.
   */
  async #destroySession(
    session: SandboxSession,
    options: { release: 'now' | 'background' } = { release: 'background' },
  ): Promise<void> {
    if (session.destroyed) return;
    session.destroyed = true;
    session.ttlTimer?.clear();
    for (const stop of session.onDestroy) stop();
    session.processServer.close();
    if (session.status === 'paused') await session.isolated.thaw().catch(() => {});
    await session.isolated.terminate();
    const { isolated } = session;
    if (options.release === 'now') await isolated.destroy();
    else this.#releases.add(() => isolated.destroy());
  }

  /** Destroys every sandbox, pooled ones included. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    const sessions = [...this.#sessions.values(), ...[...this.#pools.values()].flat()];
    this.#sessions.clear();
    this.#byToken.clear();
    this.#pools.clear();
    await Promise.allSettled(sessions.map((session) => this.#destroySession(session)));
    await this.#releases.settled();
  }
}

/** A 503 for a create that failed on the server's side; running out of file descriptors says which limit to raise. */
function createFailure(error: unknown): HopxHttpError {
  const exhausted = fileDescriptorExhaustion(error);
  const message = exhausted
    ? new FileDescriptorLimitError(exhausted).message
    : `Could not create a sandbox: ${errorMessage(error)}`;
  return new HopxHttpError(503, 'INTERNAL_ERROR', message);
}
