"""Flows with Microsoft's Python SDK (azure-identity, azure-keyvault-*, azure-mgmt-keyvault,
azure-mgmt-authorization, azure-mgmt-resourcegraph, msgraph-sdk) against the emulator, each configured only as a user would
configure it against a sovereign cloud: an authority host, the CA bundle, and endpoints."""

import asyncio
import base64
import json
import os
import time
import uuid

from harness import CleanEnvironment

TENANT = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DEV_SUBSCRIPTION = "9b2e6f1a-7c3d-4e8f-a1b2-c3d4e5f60702"
PROD_SUBSCRIPTION = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
CI_CLIENT_ID = "be5b3a4f-9c8d-4f77-9a2b-7e8d9cab1ac8"
CI_SECRET = "demo-ci-secret-not-for-production"
ORDERS_API_CLIENT_ID = "ad4a2f3e-8b7c-4e66-8f1a-6d7c8b9a0fb7"
ORDERS_API_OBJECT_ID = "6b2f3e4d-7c8b-4d55-9eaf-5c6b7a8f9eb6"
SECURITY_FUNCTIONS_OBJECT_ID = "5a1e2d3c-6b7a-4c44-8d9e-4b5a6f7e8d94"
ADA_OBJECT_ID = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61"
BEN_OBJECT_ID = "1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72"
PUBLIC_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # the Azure CLI's, as any public client


class Context:
    """What the flows share: the emulator, and credentials made once."""

    def __init__(self, emulator, work_dir):
        self.emulator = emulator
        self.work_dir = work_dir
        self.authority = emulator.url("login.localhost")
        self.vault_audience = emulator.url("vault.localhost")
        self.arm = emulator.url("management.localhost")
        self.graph = emulator.url("graph.localhost")
        self.user = None  # Ada's DeviceCodeCredential, made by the device-code flow
        self.names = {}

    def vault(self, name):
        return self.emulator.url(f"{name}.vault.localhost")

    def base_env(self, **more):
        return dict(REQUESTS_CA_BUNDLE=self.emulator.ca, SSL_CERT_FILE=self.emulator.ca, **more)


def _list_secret_names(credential, vault_url, count=3):
    from azure.keyvault.secrets import SecretClient
    client = SecretClient(vault_url, credential, verify_challenge_resource=True)
    names = []
    for properties in client.list_properties_of_secrets(max_page_size=25):
        names.append(properties.name)
        if len(names) >= count:
            break
    if not names:
        raise AssertionError(f"{vault_url} listed no secrets")
    return f"listed {', '.join(names)}"


# --- credentials ---------------------------------------------------------------------------------

def client_secret_credential(ctx):
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(TENANT, CI_CLIENT_ID, CI_SECRET, authority=ctx.authority,
                                        disable_instance_discovery=True)
    return _list_secret_names(credential, ctx.vault("kv-dev-shared"))


def environment_credential(ctx):
    from azure.identity import EnvironmentCredential
    with CleanEnvironment(**ctx.base_env(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CI_CLIENT_ID,
                                         AZURE_CLIENT_SECRET=CI_SECRET,
                                         AZURE_AUTHORITY_HOST=ctx.authority)):
        credential = EnvironmentCredential(disable_instance_discovery=True)
        return _list_secret_names(credential, ctx.vault("kv-dev-shared"))


def workload_identity_credential(ctx):
    """id-orders-api federates with an AKS issuer: a projected service-account token in a file."""
    from azure.identity import WorkloadIdentityCredential
    now = int(time.time())
    claims = {"iss": "https://oidc.aks.contoso.demo/",
              "sub": "system:serviceaccount:orders:orders-api",
              "aud": "api://AzureADTokenExchange", "iat": now, "nbf": now, "exp": now + 3600}
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
    token = f"{encode({'alg': 'RS256', 'typ': 'JWT', 'kid': 'aks'})}.{encode(claims)}.c2lnbmF0dXJl"
    path = os.path.join(ctx.work_dir, "federated-token")
    with open(path, "w", encoding="utf-8") as file:
        file.write(token)
    with CleanEnvironment(**ctx.base_env()):
        credential = WorkloadIdentityCredential(tenant_id=TENANT, client_id=ORDERS_API_CLIENT_ID,
                                                token_file_path=path, authority=ctx.authority,
                                                disable_instance_discovery=True)
        return _list_secret_names(credential, ctx.vault("kv-prod-web"))


def device_code_credential(ctx):
    """Ada signs in with a device code, which the emulator approves (its demo mode)."""
    from azure.identity import DeviceCodeCredential
    prompts = []
    credential = DeviceCodeCredential(client_id=PUBLIC_CLIENT_ID, tenant_id=TENANT,
                                      authority=ctx.authority, disable_instance_discovery=True,
                                      prompt_callback=lambda uri, code, expires: prompts.append(code),
                                      timeout=60)
    record = credential.authenticate(scopes=[f"{ctx.vault_audience}/.default"])
    if record.username != "ada@contoso.demo":
        raise AssertionError(f"signed in as {record.username!r}, not Ada")
    ctx.user = credential
    return f"{record.username} (code {prompts[0] if prompts else '?'}); " + _list_secret_names(
        credential, ctx.vault("kv-dev-shared"), 2)


def azure_cli_credential(ctx, az_env):
    """The token az holds (after `az login --service-principal`), read through `az account get-access-token`."""
    from azure.identity import AzureCliCredential
    with CleanEnvironment(**az_env):
        credential = AzureCliCredential(process_timeout=60)
        token = credential.get_token(f"{ctx.vault_audience}/.default")
        if not token.token:
            raise AssertionError("no token")
        return _list_secret_names(credential, ctx.vault("kv-dev-shared"), 2)


def _managed_identity(ctx, variables, vault="kv-security-fn", **kwargs):
    from azure.identity import ManagedIdentityCredential
    with CleanEnvironment(**ctx.base_env(**variables)):
        credential = ManagedIdentityCredential(**kwargs)
        return _list_secret_names(credential, ctx.vault(vault), 2)


def managed_identity_app_service(ctx):
    v = ctx.emulator.variables
    return _managed_identity(ctx, {"IDENTITY_ENDPOINT": v["IDENTITY_ENDPOINT"],
                                   "IDENTITY_HEADER": v["IDENTITY_HEADER"]})


def managed_identity_app_service_user_assigned(ctx):
    v = ctx.emulator.variables
    return _managed_identity(ctx, {"IDENTITY_ENDPOINT": v["IDENTITY_ENDPOINT"],
                                   "IDENTITY_HEADER": v["IDENTITY_HEADER"]},
                             vault="kv-prod-web", client_id=ORDERS_API_CLIENT_ID)


def managed_identity_imds(ctx):
    """IMDS through the pod-identity host, as on AKS with pod identity."""
    return _managed_identity(ctx, {"AZURE_POD_IDENTITY_AUTHORITY_HOST":
                                   ctx.emulator.variables["AZURE_POD_IDENTITY_AUTHORITY_HOST"]})


def managed_identity_legacy_pair(ctx):
    """Only MSI_ENDPOINT/MSI_SECRET: today's clients take the host for Azure ML, so the pair names the
    emulator's Azure ML flavour (`--msi-flavour azure-ml`; the App Service flavour answers a date)."""
    return _managed_identity(ctx, {
        "MSI_ENDPOINT": ctx.emulator.url("login.localhost", "/msi/azure-ml-token"),
        "MSI_SECRET": ctx.emulator.variables["MSI_SECRET"]})


# --- Key Vault data plane (as Ada, Key Vault Administrator on the Dev/Test subscription) ---------

def _secrets(ctx):
    from azure.keyvault.secrets import SecretClient
    return SecretClient(ctx.vault("kv-dev-shared"), ctx.user)


def secret_flows(ctx, suite):
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    ctx.names["secret"] = name
    client = lambda: _secrets(ctx)
    state = {}

    def set_secret():
        first = client().set_secret(name, "first value", content_type="text/plain")
        second = client().set_secret(name, "second value", tags={"suite": "conformance"})
        state["first"], state["second"] = first, second
        if first.properties.version == second.properties.version:
            raise AssertionError("two sets made one version")
        return f"{name}: versions {first.properties.version[:8]}…, {second.properties.version[:8]}…"

    def get_secret():
        latest = client().get_secret(name)
        old = client().get_secret(name, state["first"].properties.version)
        if (latest.value, old.value) != ("second value", "first value"):
            raise AssertionError(f"got {latest.value!r} / {old.value!r}")
        return "latest and a named version"

    def versions():
        found = [p.version for p in client().list_properties_of_secret_versions(name)]
        if len(found) != 2:
            raise AssertionError(f"{len(found)} versions")
        return f"{len(found)} versions"

    def update():
        updated = client().update_secret_properties(name, content_type="application/json",
                                                    tags={"owner": "conformance"}, enabled=True)
        if updated.content_type != "application/json" or updated.tags != {"owner": "conformance"}:
            raise AssertionError(f"updated to {updated.content_type}, {updated.tags}")
        return "content type and tags"

    def backup():
        state["backup"] = client().backup_secret(name)
        return f"{len(state['backup'])} bytes"

    def delete():
        deleted = client().begin_delete_secret(name).result()
        if not deleted.recovery_id:
            raise AssertionError("no recovery id")
        return f"scheduled purge {deleted.scheduled_purge_date:%Y-%m-%d}"

    def get_deleted():
        return f"deleted on {client().get_deleted_secret(name).deleted_date:%Y-%m-%d}"

    def list_deleted():
        names = [d.name for d in client().list_deleted_secrets()]
        if name not in names:
            raise AssertionError(f"{name} not among {len(names)} deleted secrets")
        return f"{len(names)} deleted secrets"

    def recover():
        recovered = client().begin_recover_deleted_secret(name).result()
        return f"recovered {recovered.name}"

    def purge():
        client().begin_delete_secret(name).result()
        client().purge_deleted_secret(name)
        for _ in range(20):
            if name not in [d.name for d in client().list_deleted_secrets()]:
                return "gone from the deleted secrets"
            time.sleep(0.2)
        raise AssertionError("still listed as deleted")

    def restore():
        restored = client().restore_secret_backup(state["backup"])
        value = client().get_secret(name).value
        if value != "second value":
            raise AssertionError(f"restored value {value!r}")
        return f"restored {restored.name}"

    for label, function in [("set (two versions)", set_secret), ("get", get_secret),
                            ("versions", versions), ("update properties", update),
                            ("backup", backup), ("delete", delete), ("get deleted", get_deleted),
                            ("list deleted", list_deleted), ("recover", recover),
                            ("purge", purge), ("restore", restore)]:
        suite.flow("SecretClient", label, function)


def key_flows(ctx, suite):
    from azure.keyvault.keys import KeyClient
    client = KeyClient(ctx.vault("kv-dev-shared"), ctx.user)
    suffix = uuid.uuid4().hex[:8]

    def create_rsa():
        key = client.create_rsa_key(f"conformance-rsa-{suffix}", size=3072)
        if key.key_type != "RSA" or len(key.key.n) * 8 != 3072:
            raise AssertionError(f"{key.key_type}, {len(key.key.n) * 8} bits")
        return f"{key.name}: RSA 3072"

    def create_ec():
        key = client.create_ec_key(f"conformance-ec-{suffix}", curve="P-384")
        if key.key_type != "EC" or key.key.crv != "P-384":
            raise AssertionError(f"{key.key_type} {key.key.crv}")
        return f"{key.name}: EC P-384"

    def get():
        key = client.get_key(f"conformance-rsa-{suffix}")
        return f"{key.name} version {key.properties.version[:8]}…"

    def list_keys():
        names = [k.name for k in client.list_properties_of_keys()]
        if f"conformance-ec-{suffix}" not in names:
            raise AssertionError("the new key is not listed")
        return f"{len(names)} keys"

    def rotate():
        before = client.get_key(f"conformance-rsa-{suffix}").properties.version
        rotated = client.rotate_key(f"conformance-rsa-{suffix}")
        if rotated.properties.version == before:
            raise AssertionError("the version did not change")
        return f"new version {rotated.properties.version[:8]}…"

    for label, function in [("create RSA", create_rsa), ("create EC", create_ec), ("get", get),
                            ("list", list_keys), ("rotate", rotate)]:
        suite.flow("KeyClient", label, function)


def certificate_flows(ctx, suite):
    from azure.keyvault.certificates import CertificateClient, CertificatePolicy
    client = CertificateClient(ctx.vault("kv-dev-shared"), ctx.user)
    name = f"conformance-cert-{uuid.uuid4().hex[:8]}"

    def create_default():
        poller = client.begin_create_certificate(name, CertificatePolicy.get_default())
        certificate = poller.result(timeout=60)
        if certificate is None or not certificate.cer:
            raise AssertionError(f"the poller ended with {certificate!r}")
        operation = client.get_certificate_operation(name)
        from cryptography import x509
        request = x509.load_der_x509_csr(bytes(operation.csr))
        return f"{certificate.name}: {len(certificate.cer)} bytes; csr for {request.subject.rfc4514_string()}"

    def get():
        certificate = client.get_certificate(name)
        from cryptography import x509
        parsed = x509.load_der_x509_certificate(bytes(certificate.cer))
        return f"{parsed.subject.rfc4514_string()}, {type(parsed.public_key()).__name__}"

    def policy():
        policy = client.get_certificate_policy(name)
        if str(policy.key_type) not in ("RSA", "KeyType.rsa") or policy.key_size != 2048:
            raise AssertionError(f"default key {policy.key_type} {policy.key_size}, not RSA 2048")
        return f"issuer {policy.issuer_name}, {policy.key_type} {policy.key_size}"

    def list_certificates():
        names = [c.name for c in client.list_properties_of_certificates()]
        if name not in names:
            raise AssertionError("the new certificate is not listed")
        return f"{len(names)} certificates"

    for label, function in [("create with the default policy (poller)", create_default),
                            ("get", get), ("get policy (RSA 2048 default)", policy),
                            ("list", list_certificates)]:
        suite.flow("Certificates", label, function)


# --- Resource Manager ----------------------------------------------------------------------------

def _arm_kwargs(ctx):
    return dict(base_url=ctx.arm, credential_scopes=[f"{ctx.arm}/.default"])


def management_flows(ctx, suite):
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import (AccessPolicyEntry, Permissions,
                                            VaultAccessPolicyParameters,
                                            VaultAccessPolicyProperties)
    client = KeyVaultManagementClient(ctx.user, PROD_SUBSCRIPTION, **_arm_kwargs(ctx))

    def vaults_list():
        names = sorted(v.name for v in client.vaults.list_by_subscription())
        if "kv-prod-web" not in names:
            raise AssertionError(f"listed {names}")
        return ", ".join(names)

    def vaults_get():
        vault = client.vaults.get("rg-prod-app", "kv-prod-web")
        return f"{vault.name}: {len(vault.properties.access_policies)} access policies"

    def update_access_policy():
        entry = AccessPolicyEntry(tenant_id=TENANT, object_id=BEN_OBJECT_ID,
                                  permissions=Permissions(secrets=["get", "list"]))
        client.vaults.update_access_policy(
            "rg-prod-app", "kv-prod-web", "add",
            VaultAccessPolicyParameters(properties=VaultAccessPolicyProperties(access_policies=[entry])))
        vault = client.vaults.get("rg-prod-app", "kv-prod-web")
        ben = [p for p in vault.properties.access_policies if p.object_id == BEN_OBJECT_ID]
        if not ben or "get" not in ben[0].permissions.secrets:
            raise AssertionError("Ben's policy is not there")
        return "added Ben's get/list"

    for label, function in [("vaults list", vaults_list), ("vaults get", vaults_get),
                            ("update_access_policy (add)", update_access_policy)]:
        suite.flow("KeyVaultMgmt", label, function)


def resource_graph_flows(ctx, suite):
    """azure-mgmt-resourcegraph: the vault query Vaultscope sends, paged by $skipToken with the same query
    and subscriptions, and the rows the caller may read."""
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions
    client = ResourceGraphClient(ctx.user, **_arm_kwargs(ctx))
    query = ("resources | where type =~ 'microsoft.keyvault/vaults' "
             "| project id, name, subscriptionId, properties | order by id asc")
    scopes = [PROD_SUBSCRIPTION, DEV_SUBSCRIPTION]

    def paged_vault_query():
        names, token, pages = [], None, 0
        while True:
            options = QueryRequestOptions(top=3, skip_token=token, result_format="objectArray")
            answer = client.resources(QueryRequest(subscriptions=scopes, query=query, options=options))
            pages += 1
            names += [row["name"] for row in answer.data]
            if str(answer.result_truncated).lower().endswith("true"):
                raise AssertionError("resultTruncated")
            token = answer.skip_token
            if not token:
                break
        expected = {"kv-prod-orders", "kv-prod-payments", "kv-prod-web", "kv-security-fn",
                    "kv-prod-restricted", "kv-dev-shared", "kv-dev-sandbox", "kv-loadtest-5k"}
        if sorted(names) != sorted(expected) or pages < 3:
            raise AssertionError(f"{pages} pages: {names}")
        return f"{len(names)} vaults in {pages} pages of 3"

    def vault_uri_in_properties():
        answer = client.resources(QueryRequest(subscriptions=[PROD_SUBSCRIPTION], query=query))
        web = [row for row in answer.data if row["name"] == "kv-prod-web"]
        if not web or "vaultUri" not in web[0]["properties"]:
            raise AssertionError(f"{answer.data}")
        return web[0]["properties"]["vaultUri"]

    for label, function in [("vault query, paged", paged_vault_query),
                            ("vault properties", vault_uri_in_properties)]:
        suite.flow("ResourceGraph", label, function)


def authorization_flows(ctx, suite):
    from azure.mgmt.authorization import AuthorizationManagementClient
    client = AuthorizationManagementClient(ctx.user, DEV_SUBSCRIPTION, **_arm_kwargs(ctx))
    vault_scope = (f"/subscriptions/{DEV_SUBSCRIPTION}/resourceGroups/rg-dev-shared/providers/"
                   "Microsoft.KeyVault/vaults/kv-dev-shared")

    def assignments_for_scope():
        found = list(client.role_assignments.list_for_scope(vault_scope, filter="atScope()"))
        if not found:
            raise AssertionError("no assignments at or above the vault")
        return f"{len(found)} assignments at or above kv-dev-shared"

    def permissions_for_vault():
        found = list(client.permissions.list_for_resource("rg-dev-shared", "Microsoft.KeyVault", "",
                                                          "vaults", "kv-dev-shared"))
        data_actions = sorted({a for p in found for a in (p.data_actions or [])})
        if not data_actions:
            raise AssertionError("no data actions")
        return f"{len(found)} permission sets, e.g. {data_actions[0]}"

    def role_definitions():
        found = list(client.role_definitions.list(f"/subscriptions/{DEV_SUBSCRIPTION}",
                                                  filter="type eq 'BuiltInRole'"))
        names = {r.role_name for r in found}
        if "Key Vault Secrets User" not in names:
            raise AssertionError(f"{len(names)} roles without Key Vault Secrets User")
        return f"{len(found)} built-in roles"

    for label, function in [("role assignments for a scope", assignments_for_scope),
                            ("permissions for a vault", permissions_for_vault),
                            ("role definitions", role_definitions)]:
        suite.flow("Authorization", label, function)


# --- Microsoft Graph -----------------------------------------------------------------------------

def graph_flows(ctx, suite):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_authentication_azure.azure_identity_authentication_provider import \
        AzureIdentityAuthenticationProvider
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.directory_objects.get_by_ids.get_by_ids_post_request_body import \
        GetByIdsPostRequestBody
    from msgraph.generated.service_principals.service_principals_request_builder import \
        ServicePrincipalsRequestBuilder
    from msgraph.generated.users.item.get_member_groups.get_member_groups_post_request_body import \
        GetMemberGroupsPostRequestBody
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    def client():
        host = "graph.localhost"  # kiota compares host names, without the port
        provider = AzureIdentityAuthenticationProvider(ctx.user, scopes=[f"{ctx.graph}/.default"],
                                                       allowed_hosts=[host])
        adapter = GraphRequestAdapter(provider)
        adapter.base_url = f"{ctx.graph}/v1.0"
        return GraphServiceClient(request_adapter=adapter)

    def run(coroutine_function):
        return asyncio.run(coroutine_function(client()))

    async def me(graph):
        user = await graph.me.get()
        return f"{user.user_principal_name} ({user.id[:8]}…)"

    async def users(graph):
        page = await graph.users.get()
        return f"{len(page.value)} users, first {page.value[0].user_principal_name}"

    async def search(graph):
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            search='"displayName:Ben"')
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("ConsistencyLevel", "eventual")
        page = await graph.users.get(request_configuration=config)
        names = [u.display_name for u in page.value]
        if not any("Ben" in (n or "") for n in names):
            raise AssertionError(f"found {names}")
        return f"found {names}"

    async def get_by_ids(graph):
        body = GetByIdsPostRequestBody(ids=[ADA_OBJECT_ID, SECURITY_FUNCTIONS_OBJECT_ID],
                                       types=["user", "servicePrincipal"])
        page = await graph.directory_objects.get_by_ids.post(body)
        kinds = sorted(o.odata_type for o in page.value)
        if len(kinds) != 2:
            raise AssertionError(f"found {kinds}")
        return ", ".join(kinds)

    async def my_groups(graph):
        from msgraph.generated.users.item.get_member_groups.get_member_groups_post_request_body import \
            GetMemberGroupsPostRequestBody as Body
        result = await graph.me.get_member_groups.post(Body(security_enabled_only=False))
        if not result.value:
            raise AssertionError("no groups")
        return f"{len(result.value)} groups"

    async def others_groups(graph):
        body = GetMemberGroupsPostRequestBody(security_enabled_only=False)
        result = await graph.users.by_user_id(BEN_OBJECT_ID).get_member_groups.post(body)
        if len(result.value or []) < 2:
            raise AssertionError(f"Ben is in {result.value}")
        return f"Ben: {len(result.value)} groups (nested ones included)"

    async def service_principal_by_app_id(graph):
        query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
            filter=f"appId eq '{CI_CLIENT_ID}'")
        page = await graph.service_principals.get(
            request_configuration=RequestConfiguration(query_parameters=query))
        if len(page.value) != 1 or page.value[0].display_name != "ci-pipeline":
            raise AssertionError(f"found {[sp.display_name for sp in page.value]}")
        return f"{page.value[0].display_name}"

    for label, function in [("me", me), ("users", users), ("$search users", search),
                            ("directoryObjects/getByIds", get_by_ids),
                            ("member groups of me", my_groups),
                            ("member groups of another user", others_groups),
                            ("servicePrincipals by appId", service_principal_by_app_id)]:
        suite.flow("msgraph-sdk", label, run, function)
