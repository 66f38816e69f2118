import type { Socket } from 'node:net';
import { ForkServerError } from '../errors.js';
import type { ForkServer } from './fork-server.js';
import type { ForkSockets } from './fork-sockets.js';
import type { LaunchedHolder } from './holder-launcher.js';
import type { ProcessServerChannel, ProcessServerStartOptions } from './process-server-channel.js';
import { throwIfFewFileDescriptors } from './spawn-failure.js';

/** Descriptors a start leaves free for the server's next accepts (HTTP requests, other starts). */
const ACCEPT_HEADROOM = 4;

/** What {@link startForkedProcessServer} needs of the sandbox. */
export interface ForkTarget {
  /**
   * Starts `command` in the sandbox with the bwrap arguments, cgroups, seccomp and uid of any spawn,
   * its standard output the holder's ready pipe (see `holder-launcher.ts`).
   */
  launchHolder(command: string, args: string[]): LaunchedHolder;
  /** Host `cgroup.procs` files of the sandbox's cgroups. */
  procsFiles: string[];
  /**
   * The sandbox's own host uid (root only), which the joiner checks against the owner of the
   * holder's outer user namespace; null when sandboxes share the server's uid.
   * @default null
   */
  uid?: number | null;
}

/**
 * Starts a sandbox's process server by forking it from a template's fork server: a holder process
 * (`sleep`) is started in the sandbox exactly as a spawn would be, and the fork server's child
 * joins the holder's cgroups and namespaces and becomes the zygote there. Killing the holder's
 * bwrap ends the pid namespace, and with it the zygote and everything it started.
 */
export async function startForkedProcessServer(
  target: ForkTarget,
  server: ForkServer,
  sockets: ForkSockets,
  options: ProcessServerStartOptions,
  readyTimeoutMs = HOLDER_READY_TIMEOUT_MS,
): Promise<ProcessServerChannel> {
  // Its three connections take descriptors of the server's only when they arrive: counted here, with
  // those of every start under way and a few for the server's next accepts, so that a burst of starts
  // fails with the limit instead of taking the descriptors the server needs to answer requests (an
  // accept that finds none resets the client's connection). The holder takes none: its pipes are the
  // launcher's.
  throwIfFewFileDescriptors(sockets.waiting + 3 + ACCEPT_HEADROOM);
  // sh prints a line once the sandbox is set up, then becomes sleep (same pid).
  const holder = target.launchHolder('/bin/sh', ['-c', 'echo; exec /usr/bin/sleep infinity']);
  const expected = [sockets.expect(), sockets.expect(), sockets.expect()];
  // Sent at once: the fork server's joining child joins the sandbox's cgroups and connects while bwrap
  // sets the sandbox up, then waits for the holder's pid to join its namespaces.
  const fork = server.fork({
    tokens: [expected[0]!.token, expected[1]!.token, expected[2]!.token],
    procs: target.procsFiles,
    uid: target.uid ?? null,
    cwd: options.cwd,
    env: options.env,
    config: options.config,
  });
  const cancel = () => {
    for (const connection of expected) {
      connection.cancel();
      // One that did connect would stay open, and the fork socket's server never closes while it is.
      void connection.connection.then((socket) => socket.destroy());
    }
    fork.enter(null);
    holder.kill();
  };
  try {
    const failed = fork.exited.then((exit) => {
      throw new ForkServerError(
        server.name,
        `could not start a sandbox's process server (exit ${exit.code}${exit.error ? `: ${exit.error}` : ''})`,
      );
    });
    failed.catch(() => undefined);
    // Found by the launcher while bwrap was its unreaped child: a pid and start time of the holder's
    // own, which the joiner checks again once it pinned the pid.
    const timeout = readyTimeout(holder, readyTimeoutMs);
    timeout.catch(() => undefined);
    const found = await Promise.race([holder.ready, failed, timeout]);
    fork.enter(found);
    const holderExited = holder.exited.then(() => {
      throw new ForkServerError(server.name, 'lost the sandbox before its process server connected');
    });
    holderExited.catch(() => undefined);
    // The connections come before the joiner checks the holder: the start is done only once it
    // entered, so that a failed check fails the start (and its error is reported) instead of leaving
    // a channel that just dies.
    const [connections] = await Promise.race([
      Promise.all([Promise.all(expected.map((connection) => connection.connection)), fork.entered]),
      failed,
      holderExited,
    ]);
    return forkedChannel(holder, connections as [Socket, Socket, Socket]);
  } catch (error) {
    cancel();
    throw error;
  }
}

/**
 * How long a holder may take to print its line (bwrap setting the sandbox up takes milliseconds, and
 * under a burst of starts on two loaded cores up to a second or two): past this, the sandbox is stuck
 * (frozen during its start, bwrap blocked), and waiting on would hold the joiner and its three
 * connections in the sandbox's cgroup forever.
 */
const HOLDER_READY_TIMEOUT_MS = 30_000;

/** Rejects once `timeoutMs` passed, unless the holder ended (or was ready) first. */
function readyTimeout(holder: LaunchedHolder, timeoutMs: number): Promise<never> {
  return new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `the sandbox's holder was not ready within ${timeoutMs} ms: the sandbox is stuck in its start (its cgroup frozen, or bwrap blocked); delete it and create another`,
          ),
        ),
      timeoutMs,
    );
    // Not what keeps the server alive, and gone with the start.
    timer.unref();
    const clear = () => clearTimeout(timer);
    holder.ready.then(clear, clear);
  });
}

function forkedChannel(holder: LaunchedHolder, connections: [Socket, Socket, Socket]): ProcessServerChannel {
  const [requests, repl, diagnostics] = connections;
  for (const socket of connections) socket.on('error', () => undefined);
  // The zygote holds the request connection until it exits (its runs and interpreter close it).
  requests.once('close', () => holder.kill());
  void holder.exited.then(() => {
    for (const socket of connections) socket.destroy();
  });
  return {
    requests,
    replies: requests,
    replRequests: repl,
    replReplies: repl,
    diagnostics: [diagnostics],
    onExit: (listener) => {
      void holder.exited.then((exit) => listener(exit.code, exit.signal));
    },
    // Started already: what can go wrong from here is an exit.
    onError: () => undefined,
    kill: () => holder.kill(),
  };
}
