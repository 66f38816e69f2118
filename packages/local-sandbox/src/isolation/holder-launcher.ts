import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { setReferenced, startLineHelper } from './line-helper.js';

/**
 * Python run with `-c`: starts the holders of forked sandboxes for the server (see
 * `forked-process-server.ts`), one JSON request a line on stdin, events as lines on stdout. Per holder
 * it forks a child that does what the spawn path's bash and setpriv do, in the same order, and then
 * execs the command (nsenter or bwrap) directly: core dumps off (the hard limit too), the sandbox's
 * cgroups joined, only fds 0 to 4 kept (`/dev/null`, the holder's ready pipe, `/dev/null`, the seccomp
 * filter, bwrap's arguments), default signal dispositions, then, for a sandbox with a host uid of its
 * own, no supplementary groups, that uid and gid as real, effective and saved ids, and no_new_privs.
 * Only the server writes to its stdin. It dies with the server (parent-death signal), and its
 * holders with it (bwrap's `--die-with-parent`).
 */
const SCRIPT = `
import ctypes, fcntl, json, os, resource, select, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
if os.getppid() != int(sys.argv[1]):
    os._exit(0)
signal.signal(signal.SIGINT, signal.SIG_IGN)
wake_read, wake_write = os.pipe()
os.set_blocking(wake_read, False)
os.set_blocking(wake_write, False)
signal.set_wakeup_fd(wake_write)
signal.signal(signal.SIGCHLD, lambda number, frame: None)
running = {}
ready_pipes = {}
poller = select.poll()
poller.register(0, select.POLLIN)
poller.register(wake_read, select.POLLIN)
def send(message):
    sys.stdout.write(json.dumps(message) + "\\n")
    sys.stdout.flush()
def child(request, fds):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for procs in request["procs"]:
        fd = os.open(procs, os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, max(fds) + 10) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), os.sysconf("SC_OPEN_MAX"))
    uid = request["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(125)
    os.execve(request["argv"][0], request["argv"], {})
def launch(request):
    opened = []
    try:
        opened.append(os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC))
        opened.append(os.open(request["seccomp"], os.O_RDONLY | os.O_CLOEXEC))
        opened.extend(os.pipe())
        opened.extend(os.pipe())
        null, seccomp, arguments_read, arguments_write, output_read, output_write = opened
        pid = os.fork()
    except OSError as error:
        for fd in opened:
            os.close(fd)
        send({"id": request["id"], "event": "failed", "error": str(error)})
        return
    if pid == 0:
        try:
            child(request, (null, output_write, null, seccomp, arguments_read))
        finally:
            os._exit(125)
    for fd in (null, seccomp, arguments_read, output_write):
        os.close(fd)
    running[pid] = request["id"]
    ready_pipes[output_read] = request["id"]
    poller.register(output_read, select.POLLIN)
    send({"id": request["id"], "event": "spawned", "pid": pid})
    try:
        view = memoryview(request["arguments"].encode())
        while view:
            view = view[os.write(arguments_write, view):]
    except OSError:
        pass
    os.close(arguments_write)
def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        request_id = running.pop(pid, None)
        if request_id is None:
            continue
        signaled = os.WIFSIGNALED(status)
        send({"id": request_id, "event": "exited", "code": None if signaled else os.WEXITSTATUS(status), "signal": os.WTERMSIG(status) if signaled else None})
buffer = b""
while True:
    events = dict(poller.poll())
    for fd in [fd for fd in events if fd in ready_pipes]:
        request_id = ready_pipes.pop(fd)
        poller.unregister(fd)
        try:
            data = os.read(fd, 64)
        except OSError:
            data = b""
        os.close(fd)
        if data:
            send({"id": request_id, "event": "ready"})
    if wake_read in events:
        try:
            while os.read(wake_read, 512):
                pass
        except BlockingIOError:
            pass
        reap()
    if 0 not in events:
        continue
    chunk = os.read(0, 65536)
    if not chunk:
        for pid in running:
            os.kill(pid, signal.SIGKILL)
        os._exit(0)
    buffer += chunk
    while b"\\n" in buffer:
        line, buffer = buffer.split(b"\\n", 1)
        request = json.loads(line)
        if request["op"] == "launch":
            launch(request)
        else:
            for pid, request_id in running.items():
                if request_id == request["id"]:
                    os.kill(pid, signal.SIGKILL)
    reap()
`;

/** What {@link HolderLauncher.launch} starts. */
export interface HolderLaunch {
  /** The program and its arguments (bwrap's, or nsenter's and then bwrap's); its options come on fd 4. */
  argv: string[];
  /** Host `cgroup.procs` files the holder joins before it execs. */
  procsFiles: string[];
  /** Host uid (and gid) it runs as; null keeps the server's (rootless). */
  uid: number | null;
  /** Host path of the seccomp filter, opened as fd 3. */
  seccompFile: string;
  /** NUL-separated options written to fd 4 (bwrap's `--args 4`). */
  arguments: string;
}

/** How a holder ended, as `ChildProcess` reports it. */
export interface HolderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A sandbox's holder started by the launcher. */
export interface LaunchedHolder {
  /** Resolves with its host pid (bwrap's, or nsenter's) once the holder printed its line: the sandbox is set up. */
  readonly ready: Promise<number>;
  /** Resolves when it exited (or could not start). */
  readonly exited: Promise<HolderExit>;
  /** How it ended, once it did. */
  readonly exit: HolderExit | null;
  /** SIGKILLs it (its pid namespace and everything in it go with it). */
  kill(): void;
}

interface PendingHolder {
  child: ChildProcess;
  pid: number | null;
  resolveReady: (pid: number) => void;
  rejectReady: (error: Error) => void;
  resolveExit: (exit: HolderExit) => void;
  setExit: (exit: HolderExit) => void;
}

/**
 * One long-lived process that starts the holders of forked sandboxes, in place of a bash, setpriv and
 * bwrap chain spawned by the server per sandbox: each such spawn cost the server's event loop a fork of
 * itself, and each program in the chain its own exec and dynamic linking, about 10 ms per sandbox on
 * the 2-core machine. Started on first use, and again after it dies (its holders die with it).
 */
export class HolderLauncher {
  readonly #python: string;
  #child: ChildProcess | undefined;
  readonly #holders = new Map<number, PendingHolder>();
  #nextId = 0;

  constructor(python: string) {
    this.#python = python;
  }

  /** Starts a holder; `ready` rejects if it exits (or cannot start) before it prints its line. */
  launch(request: HolderLaunch): LaunchedHolder {
    const id = ++this.#nextId;
    let exit: HolderExit | null = null;
    let resolveReady!: (pid: number) => void;
    let rejectReady!: (error: Error) => void;
    let resolveExit!: (exit: HolderExit) => void;
    const ready = new Promise<number>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    ready.catch(() => undefined);
    const exited = new Promise<HolderExit>((resolve) => {
      resolveExit = resolve;
    });
    const holder: LaunchedHolder = {
      ready,
      exited,
      get exit() {
        return exit;
      },
      kill: () => {
        if (exit === null) this.#child?.stdin?.write(`${JSON.stringify({ op: 'kill', id })}\n`);
      },
    };
    let child: ChildProcess;
    try {
      child = this.#start();
    } catch (error) {
      exit = { code: 1, signal: null };
      rejectReady(new Error(`the holder launcher could not start (${(error as Error).message})`));
      resolveExit(exit);
      return holder;
    }
    setReferenced(child, true);
    this.#holders.set(id, {
      child,
      pid: null,
      resolveReady,
      rejectReady,
      resolveExit,
      setExit: (value) => {
        exit = value;
      },
    });
    child.stdin?.write(
      `${JSON.stringify({
        op: 'launch',
        id,
        argv: request.argv,
        procs: request.procsFiles,
        uid: request.uid,
        seccomp: request.seccompFile,
        arguments: request.arguments,
      })}\n`,
    );
    return holder;
  }

  /** Stops the process (and any holder still running); later launches start it again. */
  close(): void {
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #finish(id: number, exit: HolderExit, error: Error): void {
    const holder = this.#holders.get(id);
    if (!holder) return;
    this.#holders.delete(id);
    if (![...this.#holders.values()].some((other) => other.child === holder.child))
      setReferenced(holder.child, false);
    holder.setExit(exit);
    holder.rejectReady(error);
    holder.resolveExit(exit);
  }

  #start(): ChildProcess {
    if (this.#child) return this.#child;
    const helper = startLineHelper({
      python: this.#python,
      script: SCRIPT,
      args: [String(process.pid)],
      onMessage: (event) => {
        const id = typeof event.id === 'number' ? event.id : -1;
        const holder = this.#holders.get(id);
        if (!holder) return;
        if (event.event === 'spawned' && typeof event.pid === 'number') holder.pid = event.pid;
        else if (event.event === 'ready' && holder.pid !== null) holder.resolveReady(holder.pid);
        else if (event.event === 'failed')
          this.#finish(
            id,
            { code: 1, signal: null },
            new Error(`the sandbox's holder could not start (${String(event.error)})`),
          );
        else if (event.event === 'exited') {
          const exit = {
            code: typeof event.code === 'number' ? event.code : null,
            signal: typeof event.signal === 'number' ? signalName(event.signal) : null,
          };
          this.#finish(
            id,
            exit,
            new Error(`the sandbox's holder process exited (${exit.signal ?? exit.code})`),
          );
        }
      },
      onEnd: (reason) => {
        if (this.#child === child) this.#child = undefined;
        const diagnostics = helper.diagnostics();
        const error = new Error(`the holder launcher ${reason}${diagnostics ? `: ${diagnostics}` : ''}`);
        // Its holders die with it (bwrap's --die-with-parent): each ends as killed.
        for (const [id, holder] of this.#holders)
          if (holder.child === child) this.#finish(id, { code: null, signal: 'SIGKILL' }, error);
      },
    });
    const child = helper.child;
    this.#child = child;
    return child;
  }
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, value]) => value === number);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}
