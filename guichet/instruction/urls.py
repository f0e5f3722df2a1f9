"""URLs of the ARS side: the workspace (lists per call) and the instructor's dossier page."""

from .urls_dossier import urlpatterns as dossier_urls
from .urls_labels import urlpatterns as label_urls
from .urls_preferences import urlpatterns as preference_urls
from .urls_workspace import urlpatterns as workspace_urls

app_name = "instruction"
urlpatterns = workspace_urls + dossier_urls
urlpatterns += preference_urls + label_urls
