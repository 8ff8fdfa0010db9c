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
}

CATALOGUES: dict[str, dict[str, str]] = {"en": {}, "fr": _FR}


def translate(lang: str, message: str) -> str:
    return CATALOGUES.get(lang, {}).get(message, message)
