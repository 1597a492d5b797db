"""`python manage.py setuppeer`: the test user and the clients of targets/django-oidc-provider.toml,
registered as django-oidc-provider's models hold them (oidc_provider/models.py: Client with
client_type, client_secret, response_types, _redirect_uris, _scope). Secrets and the password
come from run.sh's environment. Run after `migrate`; `creatersakey` makes the signing key."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from oidc_provider.models import Client, ResponseType

# (client_id, client_type, secret variable, response types, redirect URI, scopes for
# client_credentials). Confidential clients authenticate with either client_secret_basic or
# client_secret_post: the library has no per-client method (oidc_provider/lib/utils/oauth2.py
# extract_client_auth reads Basic, else the body). The public client sends no secret
# (lib/endpoints/token.py checks the secret of confidential clients only).
CLIENTS = [
    # Implicit is allowed per client by its response types (lib/endpoints/authorize.py checks
    # response_type against Client.response_types); the harness's implicit suite uses web-app.
    ("web-app", "confidential", "OH_WEB_SECRET", ["code", "id_token", "id_token token"], "https://app.example.test/callback", ""),
    ("web-app-post", "confidential", "OH_WEB_POST_SECRET", ["code"], "https://app2.example.test/callback", ""),
    ("spa-app", "public", None, ["code"], "https://spa.example.test/callback", ""),
    # client_credentials needs the client's scope list (Client._scope; lib/endpoints/token.py
    # refuses the grant with invalid_scope when it is empty, and grants only listed scopes).
    ("service-client", "confidential", "OH_SERVICE_SECRET", ["code"], "https://service.example.test/callback", "read"),
]


class Command(BaseCommand):
    help = "Creates the peer's test user and OIDC clients"

    def handle(self, *args, **options):
        user_model = get_user_model()
        user = user_model.objects.create_user(
            username="bob", password=os.environ["OH_USER_PASSWORD"], email="bob@example.test", first_name="Bob", last_name="Example"
        )
        user.save()
        for client_id, client_type, secret_env, response_types, redirect_uri, scope in CLIENTS:
            client = Client.objects.create(
                name=client_id,
                client_id=client_id,
                client_type=client_type,
                client_secret=os.environ[secret_env] if secret_env else "",
                jwt_alg="RS256",
                _redirect_uris=redirect_uri,
                _post_logout_redirect_uris=redirect_uri,
                _scope=scope,
            )
            client.response_types.set(ResponseType.objects.filter(value__in=response_types))
        self.stdout.write("peer: user bob and %d clients registered" % len(CLIENTS))
