"""Users and their roles.

Everyone signs in with an e-mail address. A user is an applicant (*déposant*) unless given an
ARS role: instructor (*gestionnaire instructeur*) or ARS administrator, each attached to one
region. A platform superuser (``is_superuser``) sees every region. The national reader (the ministry,
*lecteur national*) reads every region's aggregated statistics and nothing else: no dossier, no
establishment, no person (``guichet.accounts.middleware.NationalReaderMiddleware`` keeps it there).
"""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class Role(models.TextChoices):
    APPLICANT = "applicant", "Déposant"
    INSTRUCTOR = "instructor", "Gestionnaire instructeur"
    ADMIN = "admin", "Administrateur ARS"
    NATIONAL = "national", "Lecteur national (ministère)"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField("adresse électronique", unique=True)
    role = models.CharField("rôle", max_length=20, choices=Role.choices, default=Role.APPLICANT)
    region = models.ForeignKey(
        "establishments.Region", verbose_name="région (ARS)", null=True, blank=True, on_delete=models.PROTECT
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = "utilisateur"

    def __str__(self):
        return self.email

    @property
    def is_ars_staff(self) -> bool:
        """Instructor or ARS administrator of a region (or platform superuser)."""
        return self.is_superuser or (self.role in (Role.INSTRUCTOR, Role.ADMIN) and self.region_id is not None)

    @property
    def is_national_reader(self) -> bool:
        """The ministry's read-only account: every region's figures, never a dossier nor a name."""
        return not self.is_superuser and self.role == Role.NATIONAL

    @property
    def is_ars_admin(self) -> bool:
        return self.is_superuser or (self.role == Role.ADMIN and self.region_id is not None)

    def save(self, *args, **kwargs):
        # An ARS role gives access to the admin site, restricted there to the user's region.
        if self.role in (Role.INSTRUCTOR, Role.ADMIN):
            self.is_staff = True
        super().save(*args, **kwargs)
