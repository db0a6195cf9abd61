"""The customer sign-in providers this deployment configures (Settings.sign_in_*), built as the services'
`SignInGateway`s, by provider name, with their callbacks at `GET /auth/{provider}/callback`."""

from __future__ import annotations

from app.settings import Settings
from providers import sign_in_facebook, sign_in_google
from services.sign_in import SignInGateway


def sign_in_callback_url(settings: Settings, provider: str) -> str:
    """Where the provider sends the browser back: the route `GET /auth/{provider}/callback`."""
    return f"{settings.public_url}/auth/{provider}/callback"


def configured_sign_in(settings: Settings) -> dict[str, SignInGateway]:
    gateways: dict[str, SignInGateway] = {}
    if settings.sign_in_google_client_ids and settings.sign_in_google_client_secret:
        gateways[sign_in_google.NAME] = sign_in_google.GoogleSignIn(sign_in_google.GoogleSignInApp(
            client_ids=settings.sign_in_google_client_ids, client_secret=settings.sign_in_google_client_secret,
            redirect_uri=sign_in_callback_url(settings, sign_in_google.NAME),
            discovery_url=settings.sign_in_google_discovery_url))
    if settings.sign_in_facebook_app_id and settings.sign_in_facebook_app_secret:
        gateways[sign_in_facebook.NAME] = sign_in_facebook.FacebookSignIn(sign_in_facebook.FacebookSignInApp(
            app_id=settings.sign_in_facebook_app_id, app_secret=settings.sign_in_facebook_app_secret,
            redirect_uri=sign_in_callback_url(settings, sign_in_facebook.NAME),
            dialog_url=settings.sign_in_facebook_dialog_url, graph_url=settings.sign_in_facebook_graph_url,
            api_version=settings.sign_in_facebook_api_version))
    return gateways
