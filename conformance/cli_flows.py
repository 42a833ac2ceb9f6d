"""Flows with the real Azure CLI (`az`, from PyPI) against the emulator: a cloud registered by endpoint
discovery, sign-ins of every kind, and the Key Vault, role and directory commands an operator uses."""

import json
import os
import subprocess
import uuid

from python_flows import (CI_CLIENT_ID, CI_SECRET, DEV_SUBSCRIPTION, ORDERS_API_CLIENT_ID, TENANT)

CLOUD = "VaultscopeEmulator"


class Az:
    """`az` with its own configuration directory and only the CA bundle added to the environment."""

    def __init__(self, ctx, config_dir, **extra):
        self.ctx = ctx
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "AZURE_CONFIG_DIR": config_dir,
            "REQUESTS_CA_BUNDLE": ctx.emulator.ca,
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            **extra,
        }

    def run(self, *arguments, timeout=120):
        completed = subprocess.run(["az", *arguments], env=self.env, capture_output=True,
                                   text=True, timeout=timeout)
        if completed.returncode != 0:
            message = (completed.stderr or completed.stdout).strip().splitlines()
            message = " / ".join(line for line in message if line.strip())[-280:]
            raise AssertionError(f"az {' '.join(arguments[:3])} exited {completed.returncode}: {message}")
        return completed.stdout

    def json(self, *arguments):
        return json.loads(self.run(*arguments, "-o", "json") or "null")


def register_cloud(az):
    """`az cloud register` with endpoint discovery: everything from ARM's /metadata/endpoints."""
    az.run("config", "set", "core.instance_discovery=false", "core.only_show_errors=true")
    az.run("cloud", "register", "-n", CLOUD, "--endpoint-resource-manager", az.ctx.arm + "/")
    az.run("cloud", "set", "-n", CLOUD)
    cloud = az.json("cloud", "show", "-n", CLOUD)
    suffix = cloud["suffixes"]["keyvaultDns"]
    if suffix != f".vault.localhost:{az.ctx.emulator.port}":
        raise AssertionError(f"discovered Key Vault suffix {suffix!r}")
    return f"discovered login {cloud['endpoints']['activeDirectory']}, Key Vault {suffix}"


def new_az(ctx, work_dir, name, **extra):
    config = os.path.join(work_dir, f"az-{name}")
    os.makedirs(config, exist_ok=True)
    az = Az(ctx, config, **extra)
    register_cloud(az)
    return az


def cli_flows(ctx, suite, work_dir):
    state = {}

    def cloud_register():
        state["sp"] = az = Az(ctx, os.path.join(work_dir, "az-sp"))
        os.makedirs(az.env["AZURE_CONFIG_DIR"], exist_ok=True)
        return register_cloud(az)

    suite.flow("az", "cloud register (endpoint discovery)", cloud_register)
    sp = state.get("sp")

    def login_service_principal():
        accounts = sp.json("login", "--service-principal", "-u", CI_CLIENT_ID, "-p", CI_SECRET,
                           "--tenant", TENANT)
        return f"{len(accounts)} subscriptions for ci-pipeline"

    def login_device_code():
        state["user"] = az = new_az(ctx, work_dir, "user")
        accounts = az.json("login", "--use-device-code", "--tenant", TENANT)
        user = {a["user"]["name"] for a in accounts}
        if user != {"ada@contoso.demo"}:
            raise AssertionError(f"signed in as {user}")
        return f"ada@contoso.demo, {len(accounts)} subscriptions"

    def login_identity(label, variables, *extra):
        def flow():
            az = new_az(ctx, work_dir, label, **variables)
            accounts = az.json("login", "--identity", *extra)
            secrets = az.json("keyvault", "secret", "list", "--vault-name",
                              "kv-prod-web" if extra else "kv-security-fn")
            return f"{len(accounts)} subscriptions; {len(secrets)} secrets readable"
        return flow

    v = ctx.emulator.variables
    suite.flow("az", "login --service-principal", login_service_principal)
    suite.flow("az", "login --use-device-code", login_device_code)
    suite.flow("az", "login --identity (App Service)", login_identity(
        "mi-app-service", {"IDENTITY_ENDPOINT": v["IDENTITY_ENDPOINT"],
                           "IDENTITY_HEADER": v["IDENTITY_HEADER"]}))
    suite.flow("az", "login --identity --client-id (App Service)", login_identity(
        "mi-user-assigned", {"IDENTITY_ENDPOINT": v["IDENTITY_ENDPOINT"],
                             "IDENTITY_HEADER": v["IDENTITY_HEADER"]},
        "--client-id", ORDERS_API_CLIENT_ID))
    suite.flow("az", "login --identity (IMDS)", login_identity(
        "mi-imds", {"AZURE_POD_IDENTITY_AUTHORITY_HOST": v["AZURE_POD_IDENTITY_AUTHORITY_HOST"]}))
    suite.flow("az", "login --identity (legacy pair)", login_identity(
        "mi-legacy", {"MSI_ENDPOINT": ctx.emulator.url("login.localhost", "/msi/azure-ml-token"),
                      "MSI_SECRET": v["MSI_SECRET"]}))

    user = state.get("user") or sp
    secret = f"az-conformance-{uuid.uuid4().hex[:8]}"
    vault = ["--vault-name", "kv-dev-shared"]
    backup_file = os.path.join(work_dir, f"{secret}.backup")

    def account_list():
        accounts = user.json("account", "list", "--all")
        return f"{len(accounts)} subscriptions: " + ", ".join(sorted(a["name"] for a in accounts))

    def keyvault_list():
        names = sorted(v["name"] for v in user.json("keyvault", "list", "--subscription", DEV_SUBSCRIPTION))
        if "kv-dev-shared" not in names:
            raise AssertionError(f"listed {names}")
        return ", ".join(names)

    def keyvault_show(with_group):
        def flow():
            extra = ["-g", "rg-dev-shared"] if with_group else []
            shown = user.json("keyvault", "show", "-n", "kv-dev-shared", "--subscription",
                              DEV_SUBSCRIPTION, *extra)
            return f"{shown['name']} in {shown['resourceGroup']}"
        return flow

    def secret_list():
        return f"{len(user.json('keyvault', 'secret', 'list', *vault))} secrets"

    def secret_set():
        user.json("keyvault", "secret", "set", *vault, "-n", secret, "--value", "one")
        made = user.json("keyvault", "secret", "set", *vault, "-n", secret, "--value", "two")
        return f"{made['name']} version {made['id'].rsplit('/', 1)[-1][:8]}…"

    def secret_show():
        shown = user.json("keyvault", "secret", "show", *vault, "-n", secret)
        if shown["value"] != "two":
            raise AssertionError(f"value {shown['value']!r}")
        return "latest value"

    def secret_set_attributes():
        updated = user.json("keyvault", "secret", "set-attributes", *vault, "-n", secret,
                            "--content-type", "text/plain", "--tags", "suite=az")
        if updated["contentType"] != "text/plain":
            raise AssertionError(f"content type {updated['contentType']}")
        return "content type and tags"

    def secret_backup():
        user.run("keyvault", "secret", "backup", *vault, "-n", secret, "-f", backup_file)
        return f"{os.path.getsize(backup_file)} bytes"

    def secret_delete():
        deleted = user.json("keyvault", "secret", "delete", *vault, "-n", secret)
        return f"recovery id {deleted['recoveryId'].split('/')[-1]}"

    def secret_list_deleted():
        names = [d["name"] for d in user.json("keyvault", "secret", "list-deleted", *vault)]
        if secret not in names:
            raise AssertionError("not listed")
        return f"{len(names)} deleted"

    def secret_recover():
        user.json("keyvault", "secret", "recover", *vault, "-n", secret)
        return "recovered"

    def secret_purge():
        user.json("keyvault", "secret", "delete", *vault, "-n", secret)
        user.run("keyvault", "secret", "purge", *vault, "-n", secret)
        return "purged"

    def secret_restore():
        restored = user.json("keyvault", "secret", "restore", *vault, "-f", backup_file)
        return f"restored {restored['name']}"

    key = f"az-key-{uuid.uuid4().hex[:8]}"

    def key_create():
        made = user.json("keyvault", "key", "create", *vault, "-n", key, "--kty", "RSA", "--size", "2048")
        return f"{made['key']['kty']} {key}"

    def key_list():
        return f"{len(user.json('keyvault', 'key', 'list', *vault))} keys"

    def key_show():
        return user.json("keyvault", "key", "show", *vault, "-n", key)["key"]["kid"].split("/keys/")[1][:40]

    certificate = f"az-cert-{uuid.uuid4().hex[:8]}"

    def certificate_create():
        policy = user.run("keyvault", "certificate", "get-default-policy")
        path = os.path.join(work_dir, "default-policy.json")
        with open(path, "w", encoding="utf-8") as file:
            file.write(policy)
        made = user.json("keyvault", "certificate", "create", *vault, "-n", certificate,
                         "-p", f"@{path}")
        return f"status {made['status']}"

    def certificate_list():
        return f"{len(user.json('keyvault', 'certificate', 'list', *vault))} certificates"

    def certificate_show():
        shown = user.json("keyvault", "certificate", "show", *vault, "-n", certificate)
        return f"{shown['policy']['keyProperties']['keyType']} {shown['policy']['keyProperties']['keySize']}"

    policy_vault = ["--name", "kv-prod-web", "-g", "rg-prod-app", "--subscription",
                    "3f2504e0-4f89-41d3-9a0c-0305e82c3301"]

    def set_policy(flag, value):
        def flow():
            shown = user.json("keyvault", "set-policy", *policy_vault, flag, value,
                              "--secret-permissions", "get", "list")
            return f"{len(shown['properties']['accessPolicies'])} policies"
        return flow

    def delete_policy():
        shown = user.json("keyvault", "delete-policy", *policy_vault, "--upn", "chloe@contoso.demo")
        ids = [p["objectId"] for p in shown["properties"]["accessPolicies"]]
        if "2f7d9cb3-5e4a-4b33-9c8d-3a4f5e6d7c83" in ids:
            raise AssertionError("Chloe's policy is still there")
        return f"{len(ids)} policies left"

    scope = (f"/subscriptions/{DEV_SUBSCRIPTION}/resourceGroups/rg-dev-shared/providers/"
             "Microsoft.KeyVault/vaults/kv-dev-shared")

    def role_assignments(inherited):
        def flow():
            extra = ["--include-inherited"] if inherited else []
            found = user.json("role", "assignment", "list", "--scope", scope, *extra)
            if inherited and not found:
                raise AssertionError("nothing inherited")
            return f"{len(found)} assignments"
        return flow

    def ad_user_show():
        return user.json("ad", "user", "show", "--id", "ben@contoso.demo")["displayName"]

    def ad_sp_show():
        return user.json("ad", "sp", "show", "--id", CI_CLIENT_ID)["displayName"]

    for label, function in [
        ("account list", account_list), ("keyvault list", keyvault_list),
        ("keyvault show -g", keyvault_show(True)), ("keyvault show (no -g)", keyvault_show(False)),
        ("keyvault secret list", secret_list), ("keyvault secret set", secret_set),
        ("keyvault secret show", secret_show), ("keyvault secret set-attributes", secret_set_attributes),
        ("keyvault secret backup", secret_backup), ("keyvault secret delete", secret_delete),
        ("keyvault secret list-deleted", secret_list_deleted),
        ("keyvault secret recover", secret_recover), ("keyvault secret purge", secret_purge),
        ("keyvault secret restore", secret_restore),
        ("keyvault key create", key_create), ("keyvault key list", key_list),
        ("keyvault key show", key_show),
        ("keyvault certificate create (default policy)", certificate_create),
        ("keyvault certificate list", certificate_list),
        ("keyvault certificate show", certificate_show),
        ("keyvault set-policy --object-id", set_policy("--object-id", "3a8e0dc4-6f5b-4c44-8d9e-4b5a6f7e8d84")),
        ("keyvault set-policy --spn", set_policy("--spn", CI_CLIENT_ID)),
        ("keyvault set-policy --upn", set_policy("--upn", "chloe@contoso.demo")),
        ("keyvault delete-policy --upn", delete_policy),
        ("role assignment list --scope", role_assignments(False)),
        ("role assignment list --include-inherited", role_assignments(True)),
        ("ad user show", ad_user_show), ("ad sp show --id <appId>", ad_sp_show),
    ]:
        suite.flow("az", label, function)
    return sp
