import path from 'node:path';
import { errorMessage } from '../errors.js';
import { ForkServer } from './fork-server.js';
import { ForkSockets } from './fork-sockets.js';
import type { ForkServerTemplate } from './types.js';

/**
 * The fork servers of one backend, one per template, started once and restarted on the next
 * sandbox after one dies. A template whose fork server cannot start gets null: its sandboxes start
 * their own interpreter (the spawn path), and the log says so.
 */
export class ForkServers {
  readonly #root: string;
  readonly #seccompFile: string;
  readonly #runtimeDirectory: string;
  readonly #environment: Record<string, string>;
  readonly #log: (message: string) => void;
  readonly #templates = new Map<string, ForkServerTemplate>();
  readonly #servers = new Map<string, Promise<ForkServer | null>>();
  readonly #failed = new Set<string>();
  #sockets: Promise<ForkSockets> | undefined;
  #closed = false;
  /** Kills fork servers still importing when the backend closes. */
  readonly #closing = new AbortController();

  constructor(options: {
    root: string;
    seccompFile: string;
    runtimeDirectory: string;
    environment: Record<string, string>;
    log: (message: string) => void;
  }) {
    this.#root = options.root;
    this.#seccompFile = options.seccompFile;
    this.#runtimeDirectory = options.runtimeDirectory;
    this.#environment = options.environment;
    this.#log = options.log;
  }

  /** The socket forked process servers connect to. */
  sockets(): Promise<ForkSockets> {
    this.#sockets ??= ForkSockets.listen(path.join(this.#root, '.fork-servers'));
    return this.#sockets;
  }

  /** Starts a fork server for each template (in the background). */
  start(templates: ForkServerTemplate[]): void {
    for (const template of templates) {
      this.#templates.set(template.name, template);
      void this.get(template.name);
    }
  }

  /** The running fork server of `name`, started if needed; null when it cannot run. */
  get(name: string): Promise<ForkServer | null> {
    const template = this.#templates.get(name);
    if (!template || this.#closed || this.#failed.has(name)) return Promise.resolve(null);
    let server = this.#servers.get(name);
    if (!server) {
      server = this.#startServer(template);
      this.#servers.set(name, server);
    }
    return server;
  }

  async #startServer(template: ForkServerTemplate): Promise<ForkServer | null> {
    try {
      const server = await ForkServer.start({
        name: template.name,
        python: template.python,
        runtimeDirectory: this.#runtimeDirectory,
        seccompFile: this.#seccompFile,
        socketPath: (await this.sockets()).path,
        configDirectory: path.join(this.#root, '.fork-servers', template.name),
        preloadModules: template.preloadModules,
        environment: this.#environment,
        signal: this.#closing.signal,
      });
      const modules = template.preloadModules.length > 0 ? template.preloadModules.join(', ') : 'no modules';
      this.#log(
        `fork server for template ${template.name} ready (pid ${server.pid}, ${modules} imported): its sandboxes start by fork`,
      );
      server.onExit((reason) => {
        if (this.#closed) return;
        this.#servers.delete(template.name);
        this.#log(`fork server for template ${template.name} ${reason}; the next sandbox starts a new one`);
      });
      return server;
    } catch (error) {
      if (this.#closed) return null;
      this.#failed.add(template.name);
      this.#servers.delete(template.name);
      this.#log(
        `${errorMessage(error)} (sandboxes of template ${template.name} start their own interpreter: the spawn path)`,
      );
      return null;
    }
  }

  /** Stops every fork server and the socket; sandboxes already forked keep running. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    const servers = await Promise.all(this.#servers.values());
    this.#servers.clear();
    await Promise.all(servers.map((server) => server?.close()));
    await (await this.#sockets?.catch(() => undefined))?.close();
  }
}
