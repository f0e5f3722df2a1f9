"""The 18 French regions, each with its ARS, by INSEE code (the code the SAE directory uses)."""

REGIONS = [
    ("01", "Guadeloupe", "guadeloupe"),
    ("02", "Martinique", "martinique"),
    ("03", "Guyane", "guyane"),
    ("04", "La Réunion", "la-reunion"),
    ("06", "Mayotte", "mayotte"),
    ("11", "Île-de-France", "ile-de-france"),
    ("24", "Centre-Val de Loire", "centre-val-de-loire"),
    ("27", "Bourgogne-Franche-Comté", "bourgogne-franche-comte"),
    ("28", "Normandie", "normandie"),
    ("32", "Hauts-de-France", "hauts-de-france"),
    ("44", "Grand Est", "grand-est"),
    ("52", "Pays de la Loire", "pays-de-la-loire"),
    ("53", "Bretagne", "bretagne"),
    ("75", "Nouvelle-Aquitaine", "nouvelle-aquitaine"),
    ("76", "Occitanie", "occitanie"),
    ("84", "Auvergne-Rhône-Alpes", "auvergne-rhone-alpes"),
    ("93", "Provence-Alpes-Côte d'Azur", "provence-alpes-cote-d-azur"),
    ("94", "Corse", "corse"),
]


def ensure_regions(region_model=None) -> None:
    """Create or update the 18 regions (used by the data migration, and by tests that flush the database)."""
    if region_model is None:
        from .models import Region as region_model
    for code, name, slug in REGIONS:
        region_model.objects.update_or_create(code=code, defaults={"name": name, "slug": slug})
