"""allauth.mfa's forms with the field labels a French user reads (allauth's own say « Code de l'authentificateur »)."""

from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm

ACTIVATE_LABEL = "Code à 6 chiffres affiché par l'application"
AUTHENTICATE_LABEL = "Code de l'application ou code de récupération"


class ActivateTotpForm(ActivateTOTPForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = ACTIVATE_LABEL
        self.fields["code"].widget.attrs.update(inputmode="numeric", placeholder="")


class CodeForm(AuthenticateForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = AUTHENTICATE_LABEL
        self.fields["code"].widget.attrs.update(placeholder="")
