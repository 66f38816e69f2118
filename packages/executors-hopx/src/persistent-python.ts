// Runs a block in the sandbox's persistent Python interpreter (`runIpython`) with the timeout
// enforced *inside* the interpreter: a SIGALRM interrupts the block, so what it printed so far is
// returned normally and the interpreter (with its variables) survives. The server's own timeout is
// only a backstop for code that blocks signals.

import { type BlockFiles, FILENAME_OUTSIDE_WORKSPACE } from './block-files.js';
import { RUNNING_BLOCK_FILE_PYTHON } from './block-interrupt.js';

const STATUS_MARKER = '__HOPGEN_BLOCK_STATUS__=';

// Installed once per interpreter (guarded by the name check). Runs the block like a notebook cell:
// the value of a trailing expression is printed; tracebacks hide this wrapper's frames. On timeout
// it also kills every process the block started.
const RUNNER_SOURCE = String.raw`
def __hopgen_cgroup_pids():
    # The local sandbox gives the interpreter a cgroup of its own (run-N below the sandbox's), which
    # holds whatever the block started, setsid'd and double-forked processes included. Anywhere else
    # (no such cgroup, the sandbox's root, a host cgroup) this answers None and the tree walk is used.
    import os, re
    try:
        with open('/proc/self/cgroup') as membership:
            path = [line.split(':', 2)[2].strip() for line in membership if line.startswith('0::')][0]
        if not re.match(r'^/run-[0-9]+$', path):
            return None
        with open('/sys/fs/cgroup%s/cgroup.procs' % path) as procs:
            return [int(pid) for pid in procs.read().split()]
    except Exception:
        return None


def __hopgen_kill_descendants():
    # Processes the timed-out block started (subprocess, os.system, daemons) must not outlive it.
    import os, signal, time
    me, parent = os.getpid(), os.getppid()
    for attempt in range(50):
        members = __hopgen_cgroup_pids()
        if members is None:
            break
        targets = [pid for pid in members if pid not in (me, parent, 0, 1)]
        if not targets:
            break
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
            except Exception:
                pass
        time.sleep(0.01)
    else:
        members = None
    if members is None:
        children = {}
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % entry) as stat:
                    ppid = int(stat.read().rsplit(')', 1)[1].split()[1])
            except Exception:
                continue
            children.setdefault(ppid, []).append(int(entry))
        pending = list(children.get(me, []))
        while pending:
            pid = pending.pop()
            pending.extend(children.get(pid, []))
            try:
                os.kill(pid, signal.SIGKILL)
            except Exception:
                pass
    # Reap the killed children so no zombie is left; they were the block's, nobody else waits for them.
    deadline = time.monotonic() + 1
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)


def __hopgen_save_block(name, source):
    # AutoGen's '# filename:' rule: the block is saved under its name, inside the working directory
    # only. Answers the saved path, or None after printing why nothing was saved.
    import os, sys
    workspace = os.path.realpath(os.getcwd())
    target = os.path.realpath(os.path.join(workspace, name))
    if not target.startswith(workspace.rstrip(os.sep) + os.sep):
        sys.stdout.write('${FILENAME_OUTSIDE_WORKSPACE}')
        return None
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w', encoding='utf-8') as saved:
            saved.write(source)
    except OSError as error:
        print('%s: %s' % (type(error).__name__, error), file=sys.stderr)
        return None
    return target


class __HopgenTee:
    # Copies what the block prints to a file the executor polls, so output is seen while it runs.
    # The interpreter's own stream stays what the result is made of.
    def __init__(self, inner, path):
        self.inner = inner
        self.copy = open(path, 'w', encoding='utf-8')

    def write(self, text):
        written = self.inner.write(text)
        try:
            self.copy.write(text)
            self.copy.flush()
        except Exception:
            pass
        return written

    def flush(self):
        self.inner.flush()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def __hopgen_run_block(source_b64, seconds, save_as_b64, scratch_name):
    import ast, base64, linecache, os, signal, sys, threading, traceback
    source = base64.b64decode(source_b64).decode('utf-8')
    streams = None
    token = globals().pop('__hopgen_stream_output', None)
    if token:
        base = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'hopgen-block-%s-' % token)
        try:
            streams = (sys.stdout, sys.stderr)
            sys.stdout = __HopgenTee(sys.stdout, base + 'stdout')
            sys.stderr = __HopgenTee(sys.stderr, base + 'stderr')
        except Exception:
            sys.stdout, sys.stderr = streams
            streams = None
    # Tracebacks name the saved file, or AutoGen's tmp_code_<md5>.py for a block without a name.
    filename = scratch_name
    if save_as_b64:
        filename = __hopgen_save_block(base64.b64decode(save_as_b64).decode('utf-8'), source)
        if filename is None:
            sys.stdout.write('\n${STATUS_MARKER}1\n')
            sys.stdout.flush()
            return
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = globals()
    running_file = ${RUNNING_BLOCK_FILE_PYTHON}
    try:
        with open(running_file, 'w') as running:
            running.write('-INT %d' % os.getpid())
    except OSError:
        running_file = None

    class HopgenTimeout(BaseException):
        pass

    def on_alarm(signum, frame):
        raise HopgenTimeout()

    status = 0
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, 'setitimer')
    previous = None
    try:
        try:
            tree = ast.parse(source, filename, 'exec')
        except SyntaxError:
            traceback.print_exc(limit=0)
            status = 1
            tree = None
        if tree is not None:
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            body = compile(ast.Module(body=tree.body, type_ignores=[]), filename, 'exec')
            tail = compile(ast.Expression(body=last.value), filename, 'eval') if last is not None else None
            if alarm:
                previous = signal.signal(signal.SIGALRM, on_alarm)
                signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                exec(body, namespace)
                if tail is not None:
                    value = eval(tail, namespace)
                    if value is not None:
                        print(repr(value))
            finally:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
    except HopgenTimeout:
        status = 124
        __hopgen_kill_descendants()
    except KeyboardInterrupt:
        # Sent by the executor when the caller aborted: stop like a timeout, report it as an abort.
        status = 130
        __hopgen_kill_descendants()
    except SystemExit as error:
        code = error.code
        if isinstance(code, int):
            status = code
        elif code is None:
            status = 0
        else:
            print(code, file=sys.stderr)
            status = 1
    except BaseException as error:
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        status = 1
    finally:
        if streams is not None:
            for tee in (sys.stdout, sys.stderr):
                try:
                    tee.copy.close()
                    os.unlink(tee.copy.name)
                except Exception:
                    pass
            sys.stdout, sys.stderr = streams
        if alarm and previous is not None:
            signal.signal(signal.SIGALRM, previous)
        if running_file is not None:
            try:
                os.unlink(running_file)
            except OSError:
                pass
    sys.stderr.flush()
    sys.stdout.write('\n${STATUS_MARKER}%d\n' % status)
    sys.stdout.flush()
`;

/**
 * The Python sent to `runIpython` for one block; a block with a `# filename:` is saved there first.
 * With `streamToken` (letters and digits), what the block prints is also copied to files named
 * with it that the executor's output poll (`output-polling.ts`) reads while the block runs.
 */
export function buildPersistentPythonCell(
  code: string,
  files: BlockFiles,
  timeoutMs: number,
  streamToken?: string,
): string {
  const runner = Buffer.from(RUNNER_SOURCE, 'utf8').toString('base64');
  const source = Buffer.from(code, 'utf8').toString('base64');
  const saveAs = files.saveAs === undefined ? '' : Buffer.from(files.saveAs, 'utf8').toString('base64');
  return [
    // Installed once per interpreter; one from an older version (without the tee) is replaced.
    `if '__HopgenTee' not in globals(): exec(__import__('base64').b64decode('${runner}').decode('utf-8'), globals())`,
    ...(streamToken === undefined ? [] : [`__hopgen_stream_output = '${streamToken}'`]),
    `__hopgen_run_block('${source}', ${(timeoutMs / 1000).toFixed(3)}, '${saveAs}', ${JSON.stringify(files.scratchName)})`,
  ].join('\n');
}

/** The block's own stdout and its status (124 = timed out, 130 = interrupted by an abort), or no status if the runner never finished. */
export function parsePersistentPythonStdout(stdout: string): { stdout: string; status: number | undefined } {
  const index = stdout.lastIndexOf(`\n${STATUS_MARKER}`);
  if (index === -1) return { stdout, status: undefined };
  const match = /^(-?\d+)/.exec(stdout.slice(index + 1 + STATUS_MARKER.length));
  const rest = stdout.slice(index + 1 + STATUS_MARKER.length + (match?.[1]?.length ?? 0)).replace(/^\n/, '');
  return { stdout: stdout.slice(0, index) + rest, status: match ? Number(match[1]) : undefined };
}
