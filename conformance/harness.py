"""The conformance suite's harness: starts `vaultscope emulator`, makes sure its host names resolve to
loopback, runs flows and prints one PASS/FAIL line per flow.

Nothing here changes how Microsoft's clients behave: they get only what a user would set (the CA
bundle, host names in /etc/hosts, a registered cloud, instance discovery off); see the README's
"Microsoft's clients against the emulator".
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field

HOSTS_MARKER = "# vaultscope conformance"


@dataclass
class Result:
    group: str
    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Suite:
    results: list = field(default_factory=list)

    def flow(self, group, name, function, *args, **kwargs):
        """Runs one flow; its exceptions become a FAIL row with the reason."""
        started = time.monotonic()
        try:
            detail = function(*args, **kwargs)
            result = Result(group, name, True, detail or "")
        except Exception as error:  # one flow's failure must not hide the next ones
            reason = f"{type(error).__name__}: {error}".strip()
            if os.environ.get("CONFORMANCE_VERBOSE"):
                traceback.print_exc()
            result = Result(group, name, False, reason.replace("\n", " ")[:300])
        result.seconds = time.monotonic() - started
        self.results.append(result)
        mark = "PASS" if result.passed else "FAIL"
        print(f"  {mark}  {group:<12} {name:<58} {result.seconds:5.1f}s  {result.detail[:120]}",
              flush=True)
        return result.passed

    def table(self):
        width = max((len(r.name) for r in self.results), default=10)
        lines = [f"| result | client | flow{' ' * (width - 4)} | detail |",
                 f"|---|---|{'-' * (width + 2)}|---|"]
        for r in self.results:
            lines.append(f"| {'PASS' if r.passed else 'FAIL'} | {r.group} | {r.name:<{width}} | "
                         f"{r.detail[:100].replace('|', '/')} |")
        passed = sum(r.passed for r in self.results)
        lines.append(f"\n{passed} of {len(self.results)} flows passed.")
        return "\n".join(lines)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_hosts(names):
    """Every name must resolve to 127.0.0.1. Debian's resolver maps `localhost` but not its
    sub-domains, so the names go into /etc/hosts when this runs as root (CI); otherwise the suite
    stops and says which line to add."""
    missing = missing_hosts(names)
    if not missing:
        return
    line = hosts_line(missing)
    try:
        with open("/etc/hosts", "a", encoding="utf-8") as hosts:
            hosts.write(line)
    except OSError as error:
        sys.exit(f"conformance: these names must resolve to 127.0.0.1: {' '.join(missing)}\n"
                 f"  add to /etc/hosts: {line.strip()}\n  ({error})")


def missing_hosts(names):
    """The names that do not resolve to 127.0.0.1."""
    missing = []
    for name in names:
        try:
            if socket.gethostbyname(name) != "127.0.0.1":
                missing.append(name)
        except OSError:
            missing.append(name)
    return missing


def hosts_line(names):
    return "127.0.0.1 " + " ".join(names) + " " + HOSTS_MARKER + "\n"


class Emulator:
    """`vaultscope emulator` as a child process on a free port, with its client variables."""

    def __init__(self, binary, work_dir, extra_args=(), port=None, state_dir=None):
        self.binary = binary
        self.work_dir = work_dir
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.state_dir = state_dir
        self.process = None
        self.variables = {}

    def start(self):
        env_file = os.path.join(self.work_dir, f"emulator-{self.port}.env")
        if os.path.exists(env_file):
            os.remove(env_file)
        arguments = [self.binary, "emulator", "--port", str(self.port), "--env-file", env_file,
                     *self.extra_args]
        if self.state_dir:
            arguments += ["--state-dir", self.state_dir]
        else:
            arguments += ["--ca-dir", os.path.join(self.work_dir, "ca")]
        self.log = open(os.path.join(self.work_dir, f"emulator-{self.port}.log"), "ab")
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(env_file):
            if self.process.poll() is not None:
                raise RuntimeError(f"the emulator exited with {self.process.returncode}; "
                                   f"see {self.log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start within 60 s")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole before the banner; let it close
        self.variables = read_env_file(env_file)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def ca(self):
        return self.variables["REQUESTS_CA_BUNDLE"]

    def url(self, host, path=""):
        return f"https://{host}:{self.port}{path}"


def read_env_file(path):
    variables = {}
    with open(path, encoding="utf-8") as env:
        for line in env:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            name, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            variables[name] = value
    return variables


class CleanEnvironment:
    """Sets exactly `variables` (plus the basics every process needs) for the block, and restores the
    environment afterwards: each flow sees only what it names, as a fresh shell would."""

    KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH",
            "CONFORMANCE_VERBOSE")

    def __init__(self, **variables):
        self.variables = variables

    def __enter__(self):
        self.saved = dict(os.environ)
        kept = {name: os.environ[name] for name in self.KEEP if name in os.environ}
        os.environ.clear()
        os.environ.update(kept)
        os.environ.update({k: v for k, v in self.variables.items() if v is not None})
        return self

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)
        return False


def temporary_directory(prefix):
    return tempfile.mkdtemp(prefix=f"vaultscope-conformance-{prefix}-")
