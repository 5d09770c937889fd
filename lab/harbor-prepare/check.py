#!/usr/bin/env python3
"""Check a harbor.yml against Harbor's REAL prepare config parser of a given release.

usage: python3 check.py MINOR HARBOR_YML [--with-trivy] [--with-notary] [--with-chartmuseum]
                        [--hostfs DIR] [--render OUTDIR] [--dump] [--traceback]

  MINOR           e.g. 2.11 -> uses ./2.11/prepare (extracted from the tag in tags.txt)
  --with-trivy    passed to parse_yaml_config (and prepare) like `./prepare --with-trivy`
  --with-notary / --with-chartmuseum   only exist up to 2.7 (notary: up to 2.8); ignored with
                  a warning on versions whose parser does not take them
  --hostfs DIR    what prepare sees as /hostfs (cert / ca_bundle lookups). Default: /
  --render OUTDIR additionally run the release's full `prepare` command body (commands/prepare.py
                  prepare.callback) with the container paths remapped under OUTDIR:
                  /config -> OUTDIR/config (== common/config), /data -> OUTDIR/data (== data_volume),
                  /compose_location -> OUTDIR (docker-compose.yml lands there).
                  Catches KeyErrors raised after validate (e.g. log_location when log.local is absent).
  --dump          print the parsed config_dict (JSON-ish) to stdout after `accepted`
  --traceback     print the full traceback on failure

Exit 0 + "accepted" when parse_yaml_config and validate (and the render, if asked) pass;
otherwise prints "rejected: <ExceptionType>: <message>" plus where it was raised, exit 1.

Nothing under ./<minor>/prepare is modified: container paths in g.py and module-level
paths are monkeypatched at runtime before the release's modules are imported.
"""
import argparse
import importlib
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
import types
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent

# container path roots used by prepare (see make/prepare: docker run -v ...)
ROOTS = ['/usr/src/app', '/hostfs', '/config', '/data', '/compose_location', '/input', '/harbor_make']


def remap_value(val, mapping):
    """Return remapped str/Path if it starts with one of the container roots, else None."""
    if isinstance(val, (str, Path)):
        s = str(val)
        for root in sorted(mapping, key=len, reverse=True):
            if s == root or s.startswith(root + '/'):
                new = mapping[root] + s[len(root):]
                if new.startswith('//'):
                    new = new[1:]
                return Path(new) if isinstance(val, Path) else new
    return None


def remap_module(mod, mapping):
    for name, val in list(vars(mod).items()):
        if name.startswith('__'):
            continue
        new = remap_value(val, mapping)
        if new is not None:
            setattr(mod, name, new)


def stub_distutils():
    # 2.13+ configs.py does `from distutils.command.config import config` (unused); distutils is
    # gone in Python >= 3.12. Provide a stub only if the real one is missing.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import distutils.command.config  # noqa: F401
    except ImportError:
        for n in ('distutils', 'distutils.command', 'distutils.command.config'):
            sys.modules[n] = types.ModuleType(n)
        sys.modules['distutils.command.config'].config = object


def where(exc):
    """file:line of the innermost frame inside the extracted prepare tree."""
    tb = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in tb if str(HERE) in f.filename and not f.filename.endswith('check.py')]
    f = (inside or tb)[-1]
    try:
        rel = os.path.relpath(f.filename, HERE)
    except ValueError:
        rel = f.filename
    return '%s:%s (%s)' % (rel, f.lineno, (f.line or '').strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('minor')
    ap.add_argument('harbor_yml')
    ap.add_argument('--with-trivy', action='store_true')
    ap.add_argument('--with-notary', action='store_true')
    ap.add_argument('--with-chartmuseum', action='store_true')
    ap.add_argument('--hostfs', default='/')
    ap.add_argument('--render', metavar='OUTDIR')
    ap.add_argument('--dump', action='store_true')
    ap.add_argument('--traceback', action='store_true')
    a = ap.parse_args()

    prep = HERE / a.minor / 'prepare'
    if not (prep / 'utils' / 'configs.py').is_file():
        print('no extracted prepare for %s at %s' % (a.minor, prep), file=sys.stderr)
        return 2
    yml = str(Path(a.harbor_yml).resolve())

    tmp = None
    if a.render:
        out = Path(a.render).resolve()
        out.mkdir(parents=True, exist_ok=True)
    else:
        (HERE / '.work').mkdir(exist_ok=True)
        tmp = out = Path(tempfile.mkdtemp(prefix='run-', dir=HERE / '.work'))
    for d in ('config', 'data', 'input'):
        (out / d).mkdir(exist_ok=True)
    mapping = {
        '/usr/src/app': str(prep),          # WORKDIR of the prepare image; templates/ live here
        '/hostfs': str(Path(a.hostfs).resolve()),
        '/config': str(out / 'config'),
        '/data': str(out / 'data'),
        '/compose_location': str(out),
        '/input': str(out / 'input'),
        '/harbor_make': str(out),
    }

    sys.dont_write_bytecode = True  # leave the extracted release tree untouched (no __pycache__)
    logging.basicConfig(level=logging.WARNING, format='[%(levelname)s] %(message)s')
    warnings.simplefilter('ignore', DeprecationWarning)
    sys.path.insert(0, str(prep))
    stub_distutils()
    try:
        import g
        remap_module(g, mapping)
        configs = importlib.import_module('utils.configs')
        for m in list(sys.modules.values()):  # patch module-level literals such as docker_compose_yml_path
            if getattr(m, '__file__', None) and str(prep) in m.__file__:
                remap_module(m, mapping)

        flags = {'with_trivy': a.with_trivy, 'with_notary': a.with_notary,
                 'with_chartmuseum': a.with_chartmuseum, 'with_clair': False}
        sig = inspect.signature(configs.parse_yaml_config)
        kwargs = {k: v for k, v in flags.items() if k in sig.parameters}
        for k in ('with_notary', 'with_chartmuseum'):
            if flags[k] and k not in sig.parameters:
                print('warning: %s is not supported by %s parse_yaml_config, ignored' % (k, a.minor), file=sys.stderr)

        config_dict = configs.parse_yaml_config(yml, **kwargs)
        # same call as commands/prepare.py of that release
        if 'with_notary' in sig.parameters:
            configs.validate(config_dict, notary_mode=kwargs.get('with_notary', False))
        else:
            configs.validate(config_dict)
        if a.render:  # then the release's whole prepare command (re-parses the same file)
            run_render(prep, yml, out, mapping, kwargs)
    except SystemExit as e:  # prepare() calls sys.exit(-1) on validation errors (message already logged)
        print('rejected: validation failed in prepare (see log above), exit code %s' % e.code)
        return 1
    except BaseException as e:
        print('rejected: %s: %s' % (type(e).__name__, e))
        print('  raised at %s' % where(e))
        if a.traceback:
            traceback.print_exc()
        return 1
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print('accepted')
    if a.render:
        print('rendered into %s (config/ == common/config, data/ == data_volume, docker-compose.yml)' % out)
    if a.dump:
        print(json.dumps(config_dict, indent=2, sort_keys=True,
                         default=lambda o: {k: v for k, v in vars(o).items()} if hasattr(o, '__dict__') else str(o)))
    return 0


def run_render(prep, yml, out, mapping, kwargs):
    """Run the release's own prepare command body with paths remapped under `out`."""
    # the prepare image reads its input from /input/harbor.yml
    shutil.copy(yml, out / 'input' / 'harbor.yml')
    cmd = importlib.import_module('commands.prepare')
    for m in list(sys.modules.values()):
        if getattr(m, '__file__', None) and str(prep) in m.__file__:
            remap_module(m, mapping)

    # utils/jobservice.py hard-codes os.path.join('/data', "job_logs") inside the function
    js = sys.modules.get('utils.jobservice')
    if js is not None:
        shim_path = types.ModuleType('os.path')
        shim_path.__dict__.update(os.path.__dict__)

        def join(*parts):
            r = os.path.join(*parts)
            nr = remap_value(r, mapping)
            return nr if nr is not None else r
        shim_path.join = join
        shim_os = types.ModuleType('os')
        shim_os.__dict__.update(os.__dict__)
        shim_os.path = shim_path
        js.os = shim_os

    # utils/registry.py calls /usr/bin/htpasswd; emulate it if missing on this machine
    reg = sys.modules.get('utils.registry')
    if reg is not None and not os.path.exists('/usr/bin/htpasswd'):
        real_sub = reg.subprocess
        shim_sub = types.ModuleType('subprocess')
        shim_sub.__dict__.update(real_sub.__dict__)

        def call(args, **kw):
            if args and args[0] == '/usr/bin/htpasswd':
                # args: htpasswd -bcB <file> <user> <password>
                with open(args[2], 'w') as f:
                    f.write('%s:$2y$05$placeholder-htpasswd-not-installed\n' % args[3])
                return 0
            return real_sub.call(args, **kw)
        shim_sub.call = call
        reg.subprocess = shim_sub

    # safety: nothing may still point at a real container root
    for m in list(sys.modules.values()):
        if getattr(m, '__file__', None) and str(prep) in m.__file__:
            for name, val in vars(m).items():
                if not name.startswith('__') and isinstance(val, (str, Path)) and \
                        any(str(val) == r or str(val).startswith(r + '/') for r in ROOTS if r != '/usr/src/app'):
                    raise RuntimeError('unremapped path %s.%s=%s' % (m.__name__, name, val))

    params = inspect.signature(cmd.prepare.callback).parameters
    ckw = {'conf': str(out / 'input' / 'harbor.yml')}
    ckw.update({k: v for k, v in kwargs.items() if k in params})
    import contextlib
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the verdict only
        cmd.prepare.callback(**ckw)


if __name__ == '__main__':
    sys.exit(main())
