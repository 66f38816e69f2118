import type { ChildProcess } from 'node:child_process';
import { LocalSandboxError } from '../errors.js';
import { setReferenced, startLineHelper } from './line-helper.js';

/**
 * Python run with `-c`: mounts and unmounts for the server, one JSON request a line on stdin, one
 * reply a line on stdout. Only the server writes to its stdin, and it names only its own directories.
 */
const SCRIPT = `
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
def fail(what, target):
    number = ctypes.get_errno()
    return "%s %s: %s" % (what, target, os.strerror(number))
for line in sys.stdin:
    request = json.loads(line)
    errors = []
    if request["op"] == "mount":
        if libc.mount(b"hopgen-sandbox", request["target"].encode(), b"tmpfs", MS_NOSUID | MS_NODEV, request["options"].encode()) != 0:
            errors.append(fail("mount", request["target"]))
    else:
        for target in request["targets"]:
            if libc.umount2(target.encode(), MNT_DETACH) != 0:
                errors.append(fail("umount", target))
    sys.stdout.write(json.dumps({"id": request["id"], "error": "; ".join(errors)}) + "\\n")
    sys.stdout.flush()
`;

/**
 * One long-lived process that mounts the sandboxes' tmpfs workspaces and unmounts them, in place of
 * a `mount` or `umount` process per call: each of those cost the server's event loop a fork of
 * itself (about 3.5 ms on the 2-core machine, growing with the server's memory) plus the program's
 * own start, three times per sandbox. Started on first use, and again after it dies.
 */
export class MountHelper {
  readonly #python: string;
  #child: ChildProcess | undefined;
  readonly #pending = new Map<
    number,
    { child: ChildProcess; resolve: () => void; reject: (error: Error) => void }
  >();
  #nextId = 0;

  constructor(python: string) {
    this.#python = python;
  }

  /** Mounts a tmpfs (`nosuid,nodev`) with `options` (size, mode, uid, gid) on `target`. */
  mountTmpfs(target: string, options: string): Promise<void> {
    return this.#request({ op: 'mount', target, options });
  }

  /** Detaches each mount point: a file the server still has open must not keep the memory alive. */
  unmountLazily(...targets: string[]): Promise<void> {
    return this.#request({ op: 'umount', targets });
  }

  /** Stops the process; calls made later start it again. */
  close(): void {
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #request(request: Record<string, unknown>): Promise<void> {
    let child: ChildProcess;
    try {
      child = this.#start();
    } catch (error) {
      return Promise.reject(
        new MountHelperFailure(`the mount helper could not start (${(error as Error).message})`),
      );
    }
    const id = ++this.#nextId;
    return new Promise<void>((resolve, reject) => {
      setReferenced(child, true);
      this.#pending.set(id, { child, resolve, reject });
      // Without a pipe (out of file descriptors) the spawn's error event rejects this call.
      child.stdin?.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  #start(): ChildProcess {
    if (this.#child) return this.#child;
    const helper = startLineHelper({
      python: this.#python,
      script: SCRIPT,
      onMessage: (reply) => {
        const pending = typeof reply.id === 'number' ? this.#pending.get(reply.id) : undefined;
        if (!pending) return;
        this.#pending.delete(reply.id as number);
        if (![...this.#pending.values()].some((other) => other.child === child)) setReferenced(child, false);
        if (typeof reply.error === 'string' && reply.error !== '') pending.reject(new Error(reply.error));
        else pending.resolve();
      },
      onEnd: (reason) => {
        if (this.#child === child) this.#child = undefined;
        const diagnostics = helper.diagnostics();
        const error = new MountHelperFailure(
          `the mount helper ${reason}${diagnostics ? `: ${diagnostics}` : ''}`,
        );
        for (const [id, pending] of this.#pending) {
          if (pending.child !== child) continue;
          this.#pending.delete(id);
          pending.reject(error);
        }
      },
    });
    const child = helper.child;
    this.#child = child;
    return child;
  }
}

/** The helper itself failed (could not start, or died), not the mount it was asked for. */
export class MountHelperFailure extends LocalSandboxError {}
