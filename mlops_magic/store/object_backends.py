"""What differs between object-storage backends (s3fs, gcsfs, adlfs): the extra each needs, where each
reads credentials from, how each says it refused them, how a listing says when an object was written.

Kept apart from :mod:`.object_storage` (the artifact store itself) so that the store speaks of one seam
and this module holds the per-backend knowledge; it imports no backend.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from datetime import datetime
from typing import Any

from ..errors import StoreError
from .location import REMOTE_SCHEMES

#: The fsspec backend each extra installs, by extra name.
BACKENDS = {"s3": "s3fs", "gcs": "gcsfs", "azure": "adlfs"}
#: Where each backend reads its credentials from: said in errors, never a credential itself.
CHAINS = {
    "s3": "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, or an instance role",
    "gcs": "GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default login, or the VM's service account",
    "azure": "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT_NAME with a key or Azure AD login, "
             "or a managed identity",
}
_CREDENTIAL_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
                      "ClientAuthenticationError", "DefaultCredentialsError", "RefreshError")
_REFUSALS = re.compile(r"InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|AccessDenied|Forbidden|"
                       r"AuthorizationFailure|AuthenticationFailed|InvalidToken|Unauthorized|\b40[13]\b")
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|_KEY|CONNECTION_STRING|CREDENTIAL|SAS", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with every credential value the environment holds replaced by ``***`` (error messages of
    a backend may quote a key id or a signature; none of it reaches a log, a report or the store)."""
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    return text


def backend_extra(url: str) -> str:
    """The extra (s3, gcs, azure) an artifacts URL needs."""
    return REMOTE_SCHEMES[url.split("://", 1)[0].lower()]


def require_backend(url: str) -> None:
    """One clear error naming the pip command when the URL's fsspec backend is not installed."""
    extra = backend_extra(url)
    missing = [m for m in ("fsspec", BACKENDS[extra]) if importlib.util.find_spec(m) is None]
    if missing:
        raise StoreError(f"artifacts at {url} need {missing[-1]}, which is not installed: "
                         f'pip install "mlops-magic[{extra}]"')


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` says the storage refused (or could not find) credentials: retrying cannot help."""
    if isinstance(exc, PermissionError) or type(exc).__name__ in _CREDENTIAL_ERRORS:
        return True
    return bool(_REFUSALS.search(f"{type(exc).__name__} {exc}"))


def modified_of(info: dict[str, Any], default: float) -> float:
    """When an object was last written, from a listing's details (each backend names it its own way);
    ``default`` (now: too young to delete) when the listing does not say."""
    for field in ("LastModified", "last_modified", "updated", "mtime", "created"):
        value = info.get(field)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return default
