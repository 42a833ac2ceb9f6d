"""Vaultscope's conformance suite: Microsoft's Python SDK and the Azure CLI, unmodified, against
`vaultscope emulator`. Prints one PASS/FAIL line per flow and a table; exits 1 when any flow fails.

    python conformance/run.py [--vaultscope target/debug/vaultscope] [--only python|cli|state]

Needs the packages of conformance/requirements.txt (`.ci/run` makes the virtual environment) and the
emulator's host names resolving to 127.0.0.1 (added to /etc/hosts when run as root).
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cli_flows  # noqa: E402
import python_flows as py  # noqa: E402
from harness import (CleanEnvironment, Emulator, Suite, ensure_hosts, hosts_line,  # noqa: E402
                     missing_hosts, temporary_directory)

VAULTS = ["kv-dev-shared", "kv-dev-sandbox", "kv-prod-web", "kv-security-fn", "kv-prod-orders",
          "kv-prod-payments"]
HOSTS = ["login.localhost", "management.localhost", "graph.localhost", "vault.localhost",
         *[f"{vault}.vault.localhost" for vault in VAULTS]]


def python_suite(suite, ctx):
    suite.flow("identity", "ClientSecretCredential", py.client_secret_credential, ctx)
    suite.flow("identity", "EnvironmentCredential", py.environment_credential, ctx)
    suite.flow("identity", "WorkloadIdentityCredential", py.workload_identity_credential, ctx)
    suite.flow("identity", "DeviceCodeCredential (emulator approves)", py.device_code_credential, ctx)
    suite.flow("identity", "ManagedIdentityCredential (App Service)",
               py.managed_identity_app_service, ctx)
    suite.flow("identity", "ManagedIdentityCredential (App Service, user-assigned)",
               py.managed_identity_app_service_user_assigned, ctx)
    suite.flow("identity", "ManagedIdentityCredential (IMDS, pod-identity host)",
               py.managed_identity_imds, ctx)
    suite.flow("identity", "ManagedIdentityCredential (legacy MSI pair)",
               py.managed_identity_legacy_pair, ctx)
    if ctx.user is None:
        print("  (no user credential: the data-plane, ARM and Graph flows need the device-code one)")
        return
    py.secret_flows(ctx, suite)
    py.key_flows(ctx, suite)
    py.certificate_flows(ctx, suite)
    py.management_flows(ctx, suite)
    py.resource_graph_flows(ctx, suite)
    py.authorization_flows(ctx, suite)
    py.graph_flows(ctx, suite)


def cli_suite(suite, ctx, work_dir):
    sp = cli_flows.cli_flows(ctx, suite, work_dir)
    if sp is not None:
        suite.flow("identity", "AzureCliCredential (after az login)", py.azure_cli_credential, ctx,
                   sp.env)


def state_suite(suite, binary, work_dir):
    """`--state-dir`: a restart keeps the CA, the tokens it issued and what was written."""
    state_dir = os.path.join(work_dir, "state")
    emulator = Emulator(binary, work_dir, state_dir=state_dir).start()
    keep = {}
    try:
        ctx = py.Context(emulator, work_dir)
        from azure.identity import ClientSecretCredential
        from azure.keyvault.secrets import SecretClient

        def write_before_restart():
            with CleanEnvironment(**ctx.base_env()):
                credential = ClientSecretCredential(py.TENANT, py.CI_CLIENT_ID, py.CI_SECRET,
                                                    authority=ctx.authority,
                                                    disable_instance_discovery=True)
                client = SecretClient(ctx.vault("kv-dev-shared"), credential)
                made = client.set_secret("conformance-survives-restart", "kept")
                keep["token"] = credential.get_token(f"{ctx.vault_audience}/.default").token
                keep["version"] = made.properties.version
            return f"wrote version {made.properties.version[:8]}…"

        suite.flow("state-dir", "write, then restart the emulator", write_before_restart)
        with open(emulator.ca, encoding="utf-8") as ca:
            keep["ca"] = ca.read()
        emulator.stop()
        emulator.start()

        class Cached:
            """A credential holding the token issued before the restart, as a client's cache does."""

            def get_token(self, *scopes, **kwargs):
                from azure.core.credentials import AccessToken
                return AccessToken(keep["token"], int(time.time()) + 3000)

        def read_after_restart():
            with CleanEnvironment(**ctx.base_env()):
                client = SecretClient(ctx.vault("kv-dev-shared"), Cached())
                secret = client.get_secret("conformance-survives-restart")
            if (secret.value, secret.properties.version) != ("kept", keep.get("version")):
                raise AssertionError(f"read {secret.value!r} version {secret.properties.version}")
            with open(emulator.ca, encoding="utf-8") as ca:
                if ca.read() != keep["ca"]:
                    raise AssertionError("the CA changed across the restart")
            return "same CA, the old token accepted, the write kept"

        suite.flow("state-dir", "after restart: old token and write", read_after_restart)
    finally:
        emulator.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--vaultscope", default=os.path.join(root, "target", "debug", "vaultscope"))
    parser.add_argument("--only", choices=["python", "cli", "state"])
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--hosts-line", action="store_true",
                        help="print the /etc/hosts line the suite needs, and stop")
    arguments = parser.parse_args()
    if arguments.hosts_line:
        missing = missing_hosts(HOSTS)
        if missing:
            print(hosts_line(missing), end="")
        return
    if not os.access(arguments.vaultscope, os.X_OK):
        sys.exit(f"conformance: no vaultscope binary at {arguments.vaultscope} (cargo build first)")
    if shutil.which("az") is None:
        sys.exit("conformance: no `az` on PATH; activate the suite's virtual environment")
    ensure_hosts(HOSTS)
    work_dir = temporary_directory("run")
    suite = Suite()
    started = time.monotonic()
    emulator = Emulator(arguments.vaultscope, work_dir).start()
    print(f"conformance: emulator on port {emulator.port}; work directory {work_dir}", flush=True)
    try:
        ctx = py.Context(emulator, work_dir)
        with CleanEnvironment(**ctx.base_env()):
            if arguments.only in (None, "python"):
                python_suite(suite, ctx)
        if arguments.only in (None, "cli"):
            cli_suite(suite, ctx, work_dir)
    finally:
        emulator.stop()
    if arguments.only in (None, "state"):
        state_suite(suite, arguments.vaultscope, work_dir)
    print()
    print(suite.table())
    print(f"({time.monotonic() - started:.0f} s)")
    if not arguments.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    failed = [r for r in suite.results if not r.passed]
    sys.exit(1 if failed or not suite.results else 0)


if __name__ == "__main__":
    main()
