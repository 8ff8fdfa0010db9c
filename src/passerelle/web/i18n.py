"""French and English message catalogues, chosen from Accept-Language or the `lang` cookie."""

from __future__ import annotations

LANGUAGES = ("en", "fr")

_FR: dict[str, str] = {
    "Archive": "Archive",
    "Spaces": "Espaces",
    "Log in": "Se connecter",
    "Log out": "Se déconnecter",
    "Login": "Identifiant",
    "Password": "Mot de passe",
    "Wrong login or password.": "Identifiant ou mot de passe incorrect.",
    "Too many attempts, try again in a minute.": "Trop d'essais, réessayez dans une minute.",
    "This link is invalid or was already used.": "Ce lien est invalide ou a déjà servi.",
    "Newest first": "Plus récents d'abord",
    "Oldest first": "Plus anciens d'abord",
    "Older": "Plus anciens",
    "Newer": "Plus récents",
    "Next": "Suivant",
    "replies": "réponses",
    "reply": "réponse",
    "Thread": "Fil",
    "Search": "Rechercher",
    "No results.": "Aucun résultat.",
    "messages": "messages",
    "members": "membres",
    "private": "privé",
    "public": "public",
    "edited": "modifié",
    "pinned": "épinglé",
    "Revisions": "Révisions",
    "Compare": "Comparer",
    "Files": "Fichiers",
    "Written by": "Écrit par",
    "Most active people": "Personnes les plus actives",
    "Biggest spaces": "Plus grands espaces",
    "Activity": "Activité",
    "Nothing here.": "Rien ici.",
    "Language": "Langue",
    "Space": "Espace",
    "Author": "Auteur",
    "From": "Du",
    "To": "Au",
    "All": "Tous",
    "deleted": "supprimé",
    "Too many failed logins from your address, try again in a few minutes.": (
        "Trop d'échecs de connexion depuis votre adresse, réessayez dans quelques minutes."
    ),
    "Account": "Compte",
    "Name": "Nom",
    "Role": "Rôle",
    "administrator": "administrateur",
    "member": "membre",
    "Change password": "Changer le mot de passe",
    "Current password": "Mot de passe actuel",
    "New password": "Nouveau mot de passe",
    "New password, again": "Nouveau mot de passe, à nouveau",
    "At least %d characters.": "Au moins %d caractères.",
    "Password changed. Your other sessions are logged out.": (
        "Mot de passe changé. Vos autres sessions sont déconnectées."
    ),
    "Wrong current password.": "Mot de passe actuel incorrect.",
    "The two new passwords differ.": "Les deux nouveaux mots de passe diffèrent.",
    "a password has at least 12 characters": "un mot de passe a au moins 12 caractères",
    "a password has at most 1024 characters": "un mot de passe a au plus 1024 caractères",
    "a password is not only spaces": "un mot de passe n'est pas fait que d'espaces",
    "Audit log": "Journal d'audit",
    "Every view of private content by an administrator, newest first.": (
        "Chaque consultation de contenu privé par un administrateur, les plus récentes d'abord."
    ),
    "Administrator": "Administrateur",
    "Filter": "Filtrer",
    "When (UTC)": "Quand (UTC)",
    "Action": "Action",
    "Target": "Cible",
    "view space": "espace consulté",
    "view thread": "fil consulté",
    "view item": "élément consulté",
    "view diff": "différence consultée",
    "view person's item": "élément d'une personne consulté",
    "download file": "fichier téléchargé",
    "search result": "résultat de recherche",
    "api space items": "éléments d'un espace (API)",
    "api search result": "résultat de recherche (API)",
}

CATALOGUES: dict[str, dict[str, str]] = {"en": {}, "fr": _FR}


def translate(lang: str, message: str) -> str:
    return CATALOGUES.get(lang, {}).get(message, message)
