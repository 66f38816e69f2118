"""Runs one Python snippet the way a notebook cell runs: a final expression becomes `result`
(and `html` when the value has an HTML representation, e.g. a pandas DataFrame), and matplotlib
figures become base64 PNGs."""

# _ast, not ast: the wrapper module imports enum and contextlib (milliseconds per sandbox start);
# parsing to a tree and the node classes are all in _ast.
import _ast
import builtins
import sys

RESULT_LIMIT = 1024 * 1024


def _print_exception(error):
    import traceback  # only failing runs pay for it

    tb = error.__traceback__
    # Drop the runner's own frame so the traceback starts at the user's code, as python does.
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)


def _exit_code(error):
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write("%s\n" % (code,))
    return 1


def _rich(value, has_value):
    rich = {}
    if "matplotlib.pyplot" in sys.modules:
        try:
            import hopgen_mpl

            hopgen_mpl.capture_open_figures()
            if hopgen_mpl.captured:
                rich["png"] = hopgen_mpl.captured[0]
                if len(hopgen_mpl.captured) > 1:
                    rich["pngs"] = list(hopgen_mpl.captured)
            hopgen_mpl.captured.clear()
        except Exception as error:  # noqa: BLE001 - a figure that cannot render must not fail the run
            sys.stderr.write("hopgen: could not render figure: %s\n" % (error,))
    if has_value and value is not None:
        try:
            text = repr(value)
            rich["result"] = text[:RESULT_LIMIT]
        except Exception:  # noqa: BLE001
            pass
        render = getattr(value, "_repr_html_", None)
        if callable(render):
            try:
                html = render()
                if isinstance(html, str):
                    rich["html"] = html
            except Exception:  # noqa: BLE001
                pass
    return rich


def execute(code, namespace, filename):
    """Runs `code` in `namespace`; returns (exit code, rich outputs). Never raises."""
    value = None
    has_value = False
    exit_code = 0
    try:
        tree = compile(code, filename, "exec", _ast.PyCF_ONLY_AST)
        last = None
        if tree.body and isinstance(tree.body[-1], _ast.Expr):
            last = _ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), namespace)
            has_value = True
            if value is not None:
                namespace["_"] = value
    except SystemExit as error:
        exit_code = _exit_code(error)
    except BaseException as error:  # noqa: BLE001 - user code may raise anything
        _print_exception(error)
        exit_code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    return exit_code, _rich(value, has_value)


def run_fresh(code, want_rich=True):
    """Runs `code` as a fresh `python -c` would (a new `__main__`), then the interpreter's exit steps."""
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__doc__": None}
    sys.argv = ["-c"]
    sys.path[0] = ""
    exit_code, rich = execute(code, namespace, "<string>")
    try:
        import threading

        threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as error:
        exit_code = _exit_code(error)
    except BaseException:  # noqa: BLE001
        pass
    return exit_code, (rich if want_rich else {})
