import os
import sys

# Commands that need the network; everything else (list, show, freeze, --version) is the real pip's.
NETWORK_COMMANDS = {'install', 'download', 'wheel', 'search', 'index'}


def installed_packages():
    from importlib import metadata

    names = {distribution.metadata['Name'] for distribution in metadata.distributions()}
    return sorted((name for name in names if name), key=str.lower)


def run_real_pip():
    offline = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or '.') != offline]
    for name in [name for name in sys.modules if name == 'pip' or name.startswith('pip.')]:
        del sys.modules[name]
    import runpy

    runpy.run_module('pip', run_name='__main__', alter_sys=True)


command = next((argument for argument in sys.argv[1:] if not argument.startswith('-')), None)
if command in NETWORK_COMMANDS:
    sys.stderr.write(
        'pip %s: this sandbox has no network access, so nothing can be installed; use the installed packages: %s\n'
        % (command, ', '.join(installed_packages()))
    )
    sys.exit(1)
run_real_pip()
