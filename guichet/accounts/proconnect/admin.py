"""The admin of allauth's social accounts, in French and limited to what this platform uses.

ProConnect is configured by environment variables (settings.py), and its tokens are not stored
(``SOCIALACCOUNT_STORE_TOKENS = False``): allauth's « social applications » and « tokens » pages would
only offer a second, unused way to configure it, with labels allauth's French catalogue leaves in
English (« App », « Account », « Settings »). The linked identities stay listed, labelled in French.
"""

from allauth.socialaccount import admin as social_admin
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin

LABELS = {"user": "utilisateur", "uid": "identifiant chez le fournisseur"}

for model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(SocialAccount)
class SocialAccountAdmin(social_admin.SocialAccountAdmin):
    list_display = ("account_user", "account_uid", "provider")

    @admin.display(description=LABELS["user"], ordering="user__email")
    def account_user(self, obj):
        return obj.user

    @admin.display(description=LABELS["uid"], ordering="uid")
    def account_uid(self, obj):
        return obj.uid

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in LABELS:
            field.label = LABELS[db_field.name].capitalize()
        return field
