"""Template tags of the accounts app (DSFR rendering of the django-allauth forms)."""
