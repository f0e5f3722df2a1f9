"""The per-dossier messagerie between the applicant's members and the ARS instructors of the call's region."""
