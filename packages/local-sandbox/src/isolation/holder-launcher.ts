import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { setReferenced, startLineHelper } from './line-helper.js';

/**
 * Python run with `-c`: starts the holders of forked sandboxes for the server (see
 * `forked-process-server.ts`), one JSON request a line on stdin, events as lines on stdout. Per holder
 * it forks a child that does what the spawn path's bash and setpriv do and then execs the command
 * (nsenter or bwrap) directly: core dumps off (the hard limit too), default signal dispositions, only
 * fds 0 to 4 kept (`/dev/null`, the holder's ready pipe, `/dev/null`, the seccomp filter, a memfd
 * holding bwrap's arguments), the sandbox's cgroups joined, then, for a sandbox with a host uid of its
 * own, no supplementary groups, that uid and gid as real, effective and saved ids, no capability in
 * any set (inheritable and ambient too), and no_new_privs; it never execs as root. A request is
 * checked and encoded before the fork, and one that fails is reported alone. On the holder's line it
 * finds the holder (bwrap, its init, the holder) and its start time while bwrap is its unreaped
 * child, so that pid cannot have been reused, and reports both. Only the server writes to its stdin.
 * It dies with the server (parent-death signal), and its holders with it (bwrap's `--die-with-parent`).
 */
const SCRIPT = `
import ctypes, fcntl, json, os, resource, select, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 38, 47, 4
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
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    # The launcher's descriptors go before anything that may block (a frozen cgroup).
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, max(fds) + 10) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), os.sysconf("SC_OPEN_MAX"))
    for procs in request["procs"]:
        fd = os.open(procs, os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    uid = request["uid"]
    # Never root: a root server always gives a holder a uid of its own.
    if (uid is None and os.geteuid() == 0) or (uid is not None and uid <= 0):
        os._exit(125)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # The uid change empties the permitted and effective sets, not the inheritable one, which the
        # server's own may hold: no set at all, and no ambient capability.
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        if libc.capset(header, (ctypes.c_uint32 * 6)()) != 0 or libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
            os._exit(125)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(125)
    os.execve(request["argv"][0], request["argv"], {})
def validated(request):
    """The request with its strings encoded: nothing the parent does after the fork can fail on it."""
    if not isinstance(request, dict) or not isinstance(request.get("id"), int):
        raise ValueError("a request without an id")
    argv, procs, uid = request.get("argv"), request.get("procs"), request.get("uid")
    if not isinstance(argv, list) or not argv or not all(isinstance(item, str) for item in argv):
        raise ValueError("argv must be a list of strings")
    if not isinstance(procs, list) or not all(isinstance(item, str) for item in procs):
        raise ValueError("procs must be a list of strings")
    if uid is not None and (not isinstance(uid, int) or isinstance(uid, bool)):
        raise ValueError("uid must be a number or null")
    if not isinstance(request.get("seccomp"), str) or not isinstance(request.get("arguments"), str):
        raise ValueError("seccomp and arguments must be strings")
    # UTF-8, strictly: a lone surrogate fails this launch here instead of bwrap reading other options.
    return {"id": request["id"], "argv": [item.encode() for item in argv], "procs": [item.encode() for item in procs],
            "uid": uid, "seccomp": request["seccomp"].encode(), "arguments": request["arguments"].encode()}
def launch(request):
    opened = []
    try:
        opened.append(os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC))
        opened.append(os.open(request["seccomp"], os.O_RDONLY | os.O_CLOEXEC))
        # bwrap's options in a memfd written in full before the fork: no child can stall the launcher
        # by not reading a pipe, whatever their size.
        opened.append(os.memfd_create("bwrap-arguments", os.MFD_CLOEXEC))
        null, seccomp, arguments = opened
        view = memoryview(request["arguments"])
        while view:
            view = view[os.write(arguments, view):]
        os.lseek(arguments, 0, os.SEEK_SET)
        opened.extend(os.pipe())
        output_read, output_write = opened[3:]
        pid = os.fork()
    except OSError as error:
        for fd in opened:
            os.close(fd)
        send({"id": request["id"], "event": "failed", "error": str(error)})
        return
    if pid == 0:
        try:
            child(request, (null, output_write, null, seccomp, arguments))
        finally:
            os._exit(125)
    for fd in (null, seccomp, arguments, output_write):
        os.close(fd)
    running[pid] = request["id"]
    ready_pipes[output_read] = (request["id"], pid)
    poller.register(output_read, select.POLLIN)
def stat(pid):
    """Its parent's pid and its start time (fields 4 and 22 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid, "rb") as handle:
        # The command name may hold spaces and parentheses: the fields follow its last ')'.
        fields = handle.read().rsplit(b")", 1)[1].split()
    return int(fields[1]), int(fields[19])
def find_holder(pid):
    """The deepest process below the launched one (bwrap, its init, then the holder), following first
    children, and its start time; None if there is none or the chain changed while it was read. Called
    while the launched process is an unreaped child of this one: its pid cannot be reused meanwhile, and
    each link below it is checked again (same parent, same start time) once the holder's time is read."""
    chain = [(pid, None)]
    try:
        for depth in range(8):
            current = chain[-1][0]
            try:
                with open("/proc/%d/task/%d/children" % (current, current)) as handle:
                    children = handle.read().split()
            except FileNotFoundError:
                children = []
            if not children:
                break
            below = int(children[0])
            parent, start = stat(below)
            if parent != current:
                return None
            chain.append((below, start))
        if len(chain) < 2:
            return None
        for (parent, _), (below, start) in zip(chain, chain[1:]):
            if stat(below) != (parent, start):
                return None
    except (OSError, ValueError, IndexError):
        return None
    return chain[-1]
def handle(request):
    if isinstance(request, dict) and request.get("op") == "kill":
        for pid, request_id in running.items():
            if request_id == request.get("id"):
                os.kill(pid, signal.SIGKILL)
        return
    launch(validated(request))
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
    # Before any reap below: a launched process not reaped yet keeps its pid, so the holder found
    # below it is the one that printed the line.
    for fd in [fd for fd in events if fd in ready_pipes]:
        request_id, pid = ready_pipes.pop(fd)
        poller.unregister(fd)
        try:
            data = os.read(fd, 64)
        except OSError:
            data = b""
        os.close(fd)
        if not data or running.get(pid) != request_id:
            continue
        holder = find_holder(pid)
        if holder is None:
            # Its holder is gone already: it ends, and its exit fails the start.
            os.kill(pid, signal.SIGKILL)
        else:
            send({"id": request_id, "event": "ready", "pid": holder[0], "start": holder[1]})
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
        request = None
        try:
            request = json.loads(line)
            handle(request)
        except Exception as error:
            # This request fails alone: the launcher, and every holder with it, lives on.
            request_id = request.get("id") if isinstance(request, dict) else None
            send({"id": request_id, "event": "failed", "error": "%s: %s" % (type(error).__name__, error)})
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
  /** NUL-separated options on fd 4 (bwrap's `--args 4`). */
  arguments: string;
}

/** How a holder ended, as `ChildProcess` reports it. */
export interface HolderExit {
  /** The exit code, or null when a signal ended it (125: the launcher's child failed before bwrap ran). */
  code: number | null;
  /** The signal that ended it, or null when it exited. */
  signal: NodeJS.Signals | null;
}

/** The process inside a sandbox that printed its line, as the launcher found it. */
export interface HolderProcess {
  /** Its host pid. */
  pid: number;
  /** When it started (field 22 of /proc/PID/stat, clock ticks since boot): with `pid`, names it for good. */
  start: number;
}

/** A sandbox's holder started by the launcher. */
export interface LaunchedHolder {
  /**
   * Resolves with the process inside the sandbox (below bwrap and its init) once it printed its line:
   * the sandbox is set up. Found by the launcher while bwrap was its unreaped child.
   */
  readonly ready: Promise<HolderProcess>;
  /** Resolves when it exited (or could not start). */
  readonly exited: Promise<HolderExit>;
  /** How it ended, once it did. */
  readonly exit: HolderExit | null;
  /** SIGKILLs it (its pid namespace and everything in it go with it). */
  kill(): void;
}

interface PendingHolder {
  child: ChildProcess;
  resolveReady: (holder: HolderProcess) => void;
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
    let resolveReady!: (holder: HolderProcess) => void;
    let rejectReady!: (error: Error) => void;
    let resolveExit!: (exit: HolderExit) => void;
    const ready = new Promise<HolderProcess>((resolve, reject) => {
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
        if (event.event === 'ready') {
          // Both or nothing: a start time the joiner could not compare must never reach it.
          if (
            Number.isSafeInteger(event.pid) &&
            Number.isSafeInteger(event.start) &&
            (event.pid as number) > 0
          )
            holder.resolveReady({ pid: event.pid as number, start: event.start as number });
          else {
            holder.rejectReady(
              new Error(`the holder launcher reported no valid holder (${JSON.stringify(event)})`),
            );
            holder.child.stdin?.write(`${JSON.stringify({ op: 'kill', id })}\n`);
          }
        } else if (event.event === 'failed')
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
