"""The portal's words in English, French and Dutch."""

from __future__ import annotations

from datetime import date, datetime

from conso.domain.cycle import CYCLE_TZ

LANGUAGES = {"en": "English", "fr": "Français", "nl": "Nederlands"}

_WORDS: dict[str, dict[str, str]] = {
    "skip": {"en": "Skip to content", "fr": "Aller au contenu", "nl": "Naar de inhoud"},
    "title": {"en": "My consumption", "fr": "Ma consommation", "nl": "Mijn verbruik"},
    "login": {"en": "Log in", "fr": "Se connecter", "nl": "Aanmelden"},
    "logout": {"en": "Log out", "fr": "Se déconnecter", "nl": "Afmelden"},
    "username": {"en": "Login", "fr": "Identifiant", "nl": "Gebruikersnaam"},
    "password": {"en": "Password", "fr": "Mot de passe", "nl": "Wachtwoord"},
    "bad_login": {"en": "Wrong login or password.", "fr": "Identifiant ou mot de passe incorrect.",
                  "nl": "Verkeerde gebruikersnaam of wachtwoord."},
    "err_too_many_rules": {"en": "Choose at most five notifications.",
                           "fr": "Choisissez au maximum cinq notifications.",
                           "nl": "Kies hoogstens vijf meldingen."},
    "err_rule": {"en": "That notification is not available for this line.",
                 "fr": "Cette notification n'est pas disponible pour cette ligne.",
                 "nl": "Die melding is niet beschikbaar voor deze lijn."},
    "err_second_number": {"en": "The second number must be an international number such as "
                                "+32470000099.",
                          "fr": "Le second numéro doit être un numéro international comme "
                                "+32470000099.",
                          "nl": "Het tweede nummer moet een internationaal nummer zijn, zoals "
                                "+32470000099."},
    "err_email": {"en": "That is not an e-mail address.",
                  "fr": "Ce n'est pas une adresse e-mail.",
                  "nl": "Dat is geen e-mailadres."},
    "err_text": {"en": "must not contain control characters.",
                 "fr": "ne doit pas contenir de caractères de contrôle.",
                 "nl": "mag geen stuurtekens bevatten."},
    "err_sms": {"en": "An internet line cannot receive SMS.",
                "fr": "Une ligne internet ne peut pas recevoir de SMS.",
                "nl": "Een internetlijn kan geen sms ontvangen."},
    "too_many": {"en": "Too many failed attempts. Try again in 15 minutes.",
                 "fr": "Trop de tentatives échouées. Réessayez dans 15 minutes.",
                 "nl": "Te veel mislukte pogingen. Probeer het over 15 minuten opnieuw."},
    "demo_logins": {"en": "Demo logins", "fr": "Comptes de démonstration",
                    "nl": "Demo-aanmeldingen"},
    "fleet": {"en": "Lines of the account", "fr": "Lignes du compte",
              "nl": "Lijnen van de account"},
    "choose_user": {"en": "Choose the user", "fr": "Choisir l'utilisateur",
                    "nl": "Kies de gebruiker"},
    "search": {"en": "Search", "fr": "Rechercher", "nl": "Zoeken"},
    "line": {"en": "Line", "fr": "Ligne", "nl": "Lijn"},
    "user": {"en": "User", "fr": "Utilisateur", "nl": "Gebruiker"},
    "plan": {"en": "Plan", "fr": "Forfait", "nl": "Abonnement"},
    "voice": {"en": "Calls", "fr": "Appels", "nl": "Bellen"},
    "sms": {"en": "SMS", "fr": "SMS", "nl": "Sms"},
    "data": {"en": "Mobile data", "fr": "Données mobiles", "nl": "Mobiele data"},
    "extra": {"en": "Extra spend", "fr": "Hors forfait", "nl": "Extra verbruik"},
    "used": {"en": "used", "fr": "utilisé", "nl": "gebruikt"},
    "of": {"en": "of", "fr": "sur", "nl": "van"},
    "left": {"en": "left", "fr": "restant", "nl": "over"},
    "unlimited": {"en": "unlimited", "fr": "illimité", "nl": "onbeperkt"},
    "payg": {"en": "pay per use", "fr": "à l'usage", "nl": "per gebruik"},
    "runs_out": {"en": "At this pace it runs out on", "fr": "À ce rythme, épuisé le",
                 "nl": "Aan dit tempo op op"},
    "cycle": {"en": "Cycle", "fr": "Période", "nl": "Periode"},
    "until": {"en": "until", "fr": "jusqu'au", "nl": "tot"},
    "daily": {"en": "Daily data use this cycle", "fr": "Données par jour sur la période",
              "nl": "Data per dag in deze periode"},
    "details": {"en": "Details", "fr": "Détails", "nl": "Details"},
    "back": {"en": "All lines", "fr": "Toutes les lignes", "nl": "Alle lijnen"},
    "notifications": {"en": "Usage notifications", "fr": "Notifications de consommation",
                      "nl": "Verbruiksmeldingen"},
    "notif_help": {"en": "At most five. Percentages apply to each allowance.",
                   "fr": "Cinq au maximum. Les pourcentages valent pour chaque forfait.",
                   "nl": "Hoogstens vijf. Percentages gelden per bundel."},
    "of_bundle": {"en": "of the bundle", "fr": "du forfait", "nl": "van de bundel"},
    "extra_reaches": {"en": "extra spend reaches", "fr": "hors forfait atteint",
                      "nl": "extra verbruik bereikt"},
    "spend_reaches": {"en": "spend reaches", "fr": "dépenses atteignent",
                      "nl": "uitgaven bereiken"},
    "channels": {"en": "Send them by", "fr": "Les envoyer par", "nl": "Versturen via"},
    "sms_to_line": {"en": "SMS to this line (from 8644)", "fr": "SMS à cette ligne (du 8644)",
                    "nl": "Sms naar deze lijn (van 8644)"},
    "second_number": {"en": "SMS to a second number", "fr": "SMS à un autre numéro",
                      "nl": "Sms naar een tweede nummer"},
    "email": {"en": "E-mail", "fr": "E-mail", "nl": "E-mail"},
    "save": {"en": "Save", "fr": "Enregistrer", "nl": "Opslaan"},
    "saved": {"en": "Saved.", "fr": "Enregistré.", "nl": "Opgeslagen."},
    "barring": {"en": "Blocked functions", "fr": "Fonctions bloquées",
                "nl": "Geblokkeerde functies"},
    "barring_readonly": {"en": "Only an admin of the account can change these.",
                         "fr": "Seul un administrateur du compte peut les modifier.",
                         "nl": "Alleen een beheerder van de account kan dit wijzigen."},
    "set_by": {"en": "Last changed by", "fr": "Modifié en dernier par",
               "nl": "Laatst gewijzigd door"},
    "b_data": {"en": "Mobile data", "fr": "Données mobiles", "nl": "Mobiele data"},
    "b_voice_out": {"en": "Outgoing calls", "fr": "Appels sortants", "nl": "Uitgaande oproepen"},
    "b_voice_in": {"en": "Incoming calls", "fr": "Appels entrants", "nl": "Inkomende oproepen"},
    "b_voice_out_roaming": {"en": "Outgoing calls abroad", "fr": "Appels sortants à l'étranger",
                            "nl": "Uitgaande oproepen in het buitenland"},
    "b_voice_in_roaming": {"en": "Incoming calls abroad", "fr": "Appels entrants à l'étranger",
                           "nl": "Inkomende oproepen in het buitenland"},
    "b_sms_out": {"en": "Sending SMS", "fr": "Envoi de SMS", "nl": "Sms versturen"},
    "b_premium": {"en": "Paid content", "fr": "Contenus payants", "nl": "Betalende inhoud"},
    "blocked": {"en": "blocked", "fr": "bloqué", "nl": "geblokkeerd"},
    "allowed": {"en": "allowed", "fr": "autorisé", "nl": "toegestaan"},
    "limit": {"en": "Spending limit", "fr": "Limite de dépenses", "nl": "Uitgavenlimiet"},
    "no_limit": {"en": "No limit", "fr": "Pas de limite", "nl": "Geen limiet"},
    "limit_help": {"en": "SMS at 50, 90 and 100 %. At the limit paid services stop; free "
                         "'call me' messages still work.",
                   "fr": "SMS à 50, 90 et 100 %. À la limite, les services payants s'arrêtent ; "
                         "les messages « rappelle-moi » gratuits restent possibles.",
                   "nl": "Sms bij 50, 90 en 100 %. Aan de limiet stoppen betalende diensten; "
                         "gratis 'bel me'-berichten blijven werken."},
    "spent": {"en": "spent", "fr": "dépensé", "nl": "uitgegeven"},
    "messages": {"en": "Messages sent", "fr": "Messages envoyés", "nl": "Verzonden berichten"},
    "status_queued": {"en": "waiting to be sent", "fr": "en attente d'envoi",
                      "nl": "wacht op verzending"},
    "status_sent": {"en": "sent", "fr": "envoyé", "nl": "verzonden"},
    "status_delivered": {"en": "delivered", "fr": "reçu", "nl": "afgeleverd"},
    "status_undeliverable": {"en": "could not be delivered", "fr": "non distribuable",
                             "nl": "kon niet worden afgeleverd"},
    "status_expired": {"en": "expired before delivery", "fr": "expiré avant réception",
                       "nl": "verlopen voor aflevering"},
    "status_deleted": {"en": "deleted by the network", "fr": "supprimé par le réseau",
                       "nl": "verwijderd door het netwerk"},
    "status_failed": {"en": "failed", "fr": "échec de l'envoi", "nl": "verzending mislukt"},
    "no_messages": {"en": "No message yet this cycle.", "fr": "Aucun message pour l'instant.",
                    "nl": "Nog geen berichten."},
    "language": {"en": "Language", "fr": "Langue", "nl": "Taal"},
    "no_lines": {"en": "No line.", "fr": "Aucune ligne.", "nl": "Geen lijn."},
    "forbidden": {"en": "Only an admin of the account may do this.",
                  "fr": "Seul un administrateur du compte peut faire cela.",
                  "nl": "Alleen een beheerder van de account mag dit."},
    "sort_by": {"en": "Sort by", "fr": "Trier par", "nl": "Sorteren op"},
    "live": {"en": "Updates live", "fr": "Mise à jour en direct", "nl": "Live bijgewerkt"},
}


def translator(language: str) -> dict[str, str]:
    lang = language if language in LANGUAGES else "en"
    return {key: words.get(lang, words["en"]) for key, words in _WORDS.items()}


# -- the line, login, records and account pages (issue #16) ---------------------------
# Words and formatters of those pages; every date and time they show goes through
# `day`, `when` and `euros` below (in Europe/Brussels, in the page's language), so no
# page mixes ISO and local formats.

_LINE_WORDS: dict[str, dict[str, str]] = {
    "cycle_until": {"en": "Cycle until {date}", "fr": "Cycle jusqu'au {date}",
                    "nl": "Cyclus tot {date}"},
    "runs_out_on": {"en": "At this pace it runs out on {date}",
                    "fr": "À ce rythme, le forfait sera épuisé le {date}",
                    "nl": "Bij dit tempo is de bundel uitgeput op {date}"},
    "daily_cycle": {"en": "Daily data use this cycle", "fr": "Données par jour de ce cycle",
                    "nl": "Data per dag in deze cyclus"},
    "day_values": {"en": "Values per day", "fr": "Valeurs par jour", "nl": "Waarden per dag"},
    "day": {"en": "Day", "fr": "Jour", "nl": "Dag"},
    "chart_peak": {"en": "Busiest day: {day}, {value}",
                   "fr": "Jour le plus chargé : {day}, {value}",
                   "nl": "Drukste dag: {day}, {value}"},
    "spend_cycle": {"en": "Spend this cycle", "fr": "Dépenses du cycle",
                    "nl": "Verbruik deze cyclus"},
    "limit_amount": {"en": "Spending limit {amount}", "fr": "Limite de dépenses : {amount}",
                     "nl": "Uitgavenlimiet: {amount}"},
    "limit_reached": {"en": "Limit reached: paid services are blocked until the next cycle "
                            "starts on {date}. Free 'call me' messages and incoming calls at "
                            "home still work.",
                      "fr": "Limite atteinte : les services payants sont bloqués jusqu'au début "
                            "du prochain cycle, le {date}. Les messages « rappelle-moi » "
                            "gratuits et les appels reçus en Belgique restent possibles.",
                      "nl": "Limiet bereikt: betalende diensten zijn geblokkeerd tot de "
                            "volgende cyclus begint op {date}. Gratis 'bel me'-berichten en "
                            "inkomende oproepen in België blijven werken."},
    "limit_countries": {"en": "While a limit is set, roaming is refused in:",
                        "fr": "Tant qu'une limite est fixée, l'itinérance est refusée dans ces "
                              "pays :",
                        "nl": "Zolang er een limiet is, is roaming geweigerd in:"},
    "overshoot": {"en": "Over the limit by {amount}: usage reported after the limit was "
                        "reached is still owed.",
                  "fr": "Dépassement de {amount} : la consommation signalée après que la "
                        "limite a été atteinte reste due.",
                  "nl": "{amount} boven de limiet: verbruik dat gemeld werd nadat de limiet "
                        "bereikt was, blijft verschuldigd."},
    "network_overshoot": {"en": "Of this spend, {amount} was used by the network beyond what "
                                "it was granted.",
                          "fr": "Dont {amount} consommés par le réseau au-delà de ce qui lui "
                                "était accordé.",
                          "nl": "Daarvan verbruikte het netwerk {amount} boven wat het "
                                "toegekend kreeg."},
    "of_volume": {"en": "% of the volume", "fr": "% du volume", "nl": "% van het volume"},
    "of_heavy": {"en": "% of the heavy-user threshold ({amount})",
                 "fr": "% du seuil d'usage intensif ({amount})",
                 "nl": "% van de drempel voor intensief gebruik ({amount})"},
    "heavy_reminder": {"en": "Reminder near the heavy-user threshold of {amount} a cycle: "
                             "{pct} % reached.",
                       "fr": "Rappel à l'approche du seuil d'usage intensif de {amount} par "
                             "cycle : {pct} % atteint.",
                       "nl": "Herinnering bij de drempel voor intensief gebruik van {amount} "
                             "per cyclus: {pct} % bereikt."},
    "times_local": {"en": "Times in Brussels time.", "fr": "Heures de Bruxelles.",
                    "nl": "Tijden in Brusselse tijd."},
    "brussels_time": {"en": "Brussels time", "fr": "heure de Bruxelles",
                      "nl": "Brusselse tijd"},
    "channel_sms": {"en": "SMS", "fr": "SMS", "nl": "sms"},
    "channel_email": {"en": "E-mail", "fr": "E-mail", "nl": "E-mail"},
    "colon": {"en": ": ", "fr": " : ", "nl": ": "},
    "set_by_at": {"en": "Last changed by {actor}, {when}",
                  "fr": "Modifié en dernier par {actor}, le {when}",
                  "nl": "Laatst gewijzigd door {actor}, op {when}"},
    # -- history: the cycle picker, the records page and the account page
    "cycle_pick": {"en": "Cycle", "fr": "Cycle", "nl": "Cyclus"},
    "show": {"en": "Show", "fr": "Afficher", "nl": "Tonen"},
    "current": {"en": "current", "fr": "en cours", "nl": "huidige"},
    "cycle_range": {"en": "{start} to {end}", "fr": "du {start} au {end}",
                    "nl": "{start} tot {end}"},
    "past_cycle": {"en": "A past cycle: {range}.", "fr": "Un cycle passé : {range}.",
                   "nl": "Een vorige cyclus: {range}."},
    "records": {"en": "Itemised records", "fr": "Détail des consommations",
                "nl": "Gespecificeerd verbruik"},
    "records_link": {"en": "Itemised records of this cycle",
                     "fr": "Détail des consommations de ce cycle",
                     "nl": "Gespecificeerd verbruik van deze cyclus"},
    "service": {"en": "Service", "fr": "Service", "nl": "Dienst"},
    "all_services": {"en": "All services", "fr": "Tous les services", "nl": "Alle diensten"},
    "premium": {"en": "Paid content", "fr": "Contenus payants", "nl": "Betalende inhoud"},
    "callme": {"en": "Call-me message", "fr": "Message « rappelle-moi »",
               "nl": "Bel-me-bericht"},
    "when_col": {"en": "When", "fr": "Quand", "nl": "Wanneer"},
    "direction": {"en": "Direction", "fr": "Sens", "nl": "Richting"},
    "dir_out": {"en": "outgoing", "fr": "sortant", "nl": "uitgaand"},
    "dir_in": {"en": "incoming", "fr": "entrant", "nl": "inkomend"},
    "quantity": {"en": "Quantity", "fr": "Quantité", "nl": "Hoeveelheid"},
    "country_col": {"en": "Country", "fr": "Pays", "nl": "Land"},
    "charge": {"en": "Charge", "fr": "Montant", "nl": "Kosten"},
    "no_records": {"en": "No record in this cycle.", "fr": "Aucune consommation dans ce cycle.",
                   "nl": "Geen verbruik in deze cyclus."},
    "next_page": {"en": "Next page", "fr": "Page suivante", "nl": "Volgende pagina"},
    "first_page": {"en": "First page", "fr": "Première page", "nl": "Eerste pagina"},
    "csv": {"en": "Download this cycle as CSV", "fr": "Télécharger ce cycle en CSV",
            "nl": "Deze cyclus downloaden als CSV"},
    "back_line": {"en": "Back to the line", "fr": "Retour à la ligne", "nl": "Terug naar de lijn"},
    "err_cycle": {"en": "That is not a cycle of this line.",
                  "fr": "Ce n'est pas un cycle de cette ligne.",
                  "nl": "Dat is geen cyclus van deze lijn."},
    "err_records": {"en": "That page of records does not exist; start again from the first.",
                    "fr": "Cette page de consommations n'existe pas ; recommencez à la première.",
                    "nl": "Die pagina bestaat niet; begin opnieuw bij de eerste."},
    "account": {"en": "My account", "fr": "Mon compte", "nl": "Mijn account"},
    "change_password": {"en": "Change my password", "fr": "Changer mon mot de passe",
                        "nl": "Mijn wachtwoord wijzigen"},
    "current_password": {"en": "Current password", "fr": "Mot de passe actuel",
                         "nl": "Huidig wachtwoord"},
    "new_password": {"en": "New password", "fr": "Nouveau mot de passe",
                     "nl": "Nieuw wachtwoord"},
    "confirm_password": {"en": "New password again", "fr": "Confirmer le nouveau mot de passe",
                         "nl": "Nieuw wachtwoord herhalen"},
    "password_help": {"en": "8 to 256 characters. Your other sessions are signed out.",
                      "fr": "De 8 à 256 caractères. Vos autres sessions seront fermées.",
                      "nl": "8 tot 256 tekens. Uw andere sessies worden afgemeld."},
    "password_changed": {"en": "Password changed. Your other sessions are signed out.",
                         "fr": "Mot de passe modifié. Vos autres sessions ont été fermées.",
                         "nl": "Wachtwoord gewijzigd. Uw andere sessies zijn afgemeld."},
    "err_current": {"en": "The current password is wrong.",
                    "fr": "Le mot de passe actuel est incorrect.",
                    "nl": "Het huidige wachtwoord is onjuist."},
    "err_confirm": {"en": "The two new passwords differ.",
                    "fr": "Les deux nouveaux mots de passe sont différents.",
                    "nl": "De twee nieuwe wachtwoorden verschillen."},
    "err_new": {"en": "The new password must be 8 to 256 characters.",
                "fr": "Le nouveau mot de passe doit compter de 8 à 256 caractères.",
                "nl": "Het nieuwe wachtwoord moet 8 tot 256 tekens lang zijn."},
    "role_admin": {"en": "admin", "fr": "administrateur", "nl": "beheerder"},
    "role_user": {"en": "user", "fr": "utilisateur", "nl": "gebruiker"},
}
_WORDS.update(_LINE_WORDS)

# Whole-word states, agreeing in French with what they qualify: (service, plural) -> word.
_USED = {"en": "used", "nl": "gebruikt"}
_LEFT = {"en": "left", "nl": "over"}
_FR_FEMININE = {"voice"}          # "minutes"; SMS and bytes (octets) are masculine


def used_word(service: str, amount: str, language: str, *, left: bool = False) -> str:
    """"used" or "left" after a quantity ("284 min utilisées", "1 SMS restant"): French
    agrees in gender with the unit and is plural from 2 on."""
    if language != "fr":
        return (_LEFT if left else _USED).get(language, "left" if left else "used")
    word = "restant" if left else "utilisé"
    if service in _FR_FEMININE:
        word += "e"
    number = amount.split(" ", 1)[0].replace(",", ".")
    try:
        plural = abs(float(number)) >= 2
    except ValueError:
        plural = True
    return word + "s" if plural else word


_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
    "nl": ("jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.",
           "nov.", "dec."),
}
_AT = {"en": "{date}, {time}", "fr": "{date} à {time}", "nl": "{date} om {time}"}


def day(value: date | datetime, language: str, *, year: bool = True) -> str:
    """A day as the page's language writes it ("1 Dec 2026", "1er déc. 2026",
    "1 dec. 2026"); a datetime is taken in Brussels first."""
    lang = language if language in LANGUAGES else "en"
    if isinstance(value, datetime):
        value = value.astimezone(CYCLE_TZ).date()
    number = "1er" if lang == "fr" and value.day == 1 else str(value.day)
    text = f"{number} {_MONTHS[lang][value.month - 1]}"
    return f"{text} {value.year}" if year else text


def when(value: datetime, language: str) -> str:
    """A moment in Brussels time, in the page's language ("1 Dec 2026, 04:14")."""
    lang = language if language in LANGUAGES else "en"
    local = value.astimezone(CYCLE_TZ)
    return _AT[lang].format(date=day(local, lang), time=local.strftime("%H:%M"))


def euros(amount: int, language: str) -> str:
    """Whole euros the way `notify.templates.money` writes cents: "€5", "5 €", "€ 5"."""
    if language == "fr":
        return f"{amount} €"
    return f"€ {amount}" if language == "nl" else f"€{amount}"


_COUNTRIES = {
    "BE": ("Belgium", "Belgique", "België"),
    "NL": ("Netherlands", "Pays-Bas", "Nederland"),
    "FR": ("France", "France", "Frankrijk"),
    "DE": ("Germany", "Allemagne", "Duitsland"),
    "LU": ("Luxembourg", "Luxembourg", "Luxemburg"),
    "GB": ("United Kingdom", "Royaume-Uni", "Verenigd Koninkrijk"),
    "CH": ("Switzerland", "Suisse", "Zwitserland"),
    "US": ("United States", "États-Unis", "Verenigde Staten"),
    "CA": ("Canada", "Canada", "Canada"),
    "TR": ("Turkey", "Turquie", "Turkije"),
    "MA": ("Morocco", "Maroc", "Marokko"),
    "CN": ("China", "Chine", "China"),
    "JP": ("Japan", "Japon", "Japan"),
    "AU": ("Australia", "Australie", "Australië"),
    "BR": ("Brazil", "Brésil", "Brazilië"),
    "IN": ("India", "Inde", "India"),
    "RU": ("Russia", "Russie", "Rusland"),
}


def country(code: str, language: str) -> str:
    """A country's name in the page's language (its ISO code when not known here)."""
    names = _COUNTRIES.get(code)
    if names is None:
        return code
    return names[("en", "fr", "nl").index(language if language in LANGUAGES else "en")]


def accepted_language(header: str | None) -> str | None:
    """The first of the portal's languages an Accept-Language header asks for, by its
    q-values (RFC 9110); None when it asks for none of them."""
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-", 1)[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if code in LANGUAGES and quality > 0 and (
                best is None or (quality, -index) > (best[0], best[1])):
            best = (quality, -index, code)
    return None if best is None else best[2]


# -- the fleet pages: totals, filters, bulk changes, the audit trail (issue #16) ------

_FLEET_WORDS: dict[str, dict[str, str]] = {
    "fl_totals": {"en": "This cycle", "fr": "Ce cycle", "nl": "Deze cyclus"},
    "fl_payg_spend": {"en": "Pay-per-use spend", "fr": "Dépenses des lignes à l'usage",
                      "nl": "Uitgaven van lijnen per gebruik"},
    "fl_near": {"en": "Bundle nearly used up (90 % or more)",
                "fr": "Forfait presque épuisé (90 % ou plus)",
                "nl": "Bundel bijna opgebruikt (90 % of meer)"},
    "fl_over": {"en": "Bundle used up (100 % or more)", "fr": "Forfait épuisé (100 % ou plus)",
                "nl": "Bundel opgebruikt (100 % of meer)"},
    "fl_barred": {"en": "At least one function blocked",
                  "fr": "Au moins une fonction bloquée",
                  "nl": "Minstens één functie geblokkeerd"},
    "fl_at_limit": {"en": "Spending limit reached", "fr": "Limite de dépenses atteinte",
                    "nl": "Uitgavenlimiet bereikt"},
    "fl_line_one": {"en": "{n} line", "fr": "{n} ligne", "nl": "{n} lijn"},
    "fl_line_many": {"en": "{n} lines", "fr": "{n} lignes", "nl": "{n} lijnen"},
    "fl_showing": {"en": "Only the lines in this state are shown:",
                   "fr": "Seules les lignes dans cet état sont affichées :",
                   "nl": "Alleen de lijnen in deze toestand worden getoond:"},
    "fl_show_all": {"en": "Show every line", "fr": "Afficher toutes les lignes",
                    "nl": "Alle lijnen tonen"},
    "fl_sort_extra": {"en": "Sort the lines by spend", "fr": "Trier les lignes par dépenses",
                      "nl": "Lijnen sorteren op uitgaven"},
    "fl_spend": {"en": "Spend", "fr": "Dépenses", "nl": "Uitgaven"},
    "fl_order": {"en": "Order", "fr": "Ordre", "nl": "Volgorde"},
    "fl_asc": {"en": "ascending", "fr": "croissant", "nl": "oplopend"},
    "fl_desc": {"en": "descending", "fr": "décroissant", "nl": "aflopend"},
    "fl_sort": {"en": "Sort", "fr": "Trier", "nl": "Sorteren"},
    "fl_spend_payg": {"en": "spend, pay per use", "fr": "dépenses, à l'usage",
                      "nl": "uitgaven, per gebruik"},
    "fl_na": {"en": "not applicable", "fr": "sans objet", "nl": "niet van toepassing"},
    "fl_limit_reached": {"en": "reached", "fr": "atteinte", "nl": "bereikt"},
    "fl_of_limit": {"en": "{pct} % of it spent", "fr": "{pct} % dépensés",
                    "nl": "{pct} % ervan uitgegeven"},
    "fl_blocked": {"en": "Blocked: {functions}", "fr": "Bloqué : {functions}",
                   "nl": "Geblokkeerd: {functions}"},
    "fl_select": {"en": "Select line {line}", "fr": "Sélectionner la ligne {line}",
                  "nl": "Lijn {line} selecteren"},
    "fl_select_all": {"en": "Select every line shown", "fr": "Sélectionner toutes les lignes "
                      "affichées", "nl": "Alle getoonde lijnen selecteren"},
    "fl_audit": {"en": "Changes made (audit trail)", "fr": "Modifications (journal d'audit)",
                 "nl": "Wijzigingen (auditlogboek)"},
    "fl_bulk": {"en": "Change the selected lines", "fr": "Modifier les lignes sélectionnées",
                "nl": "Geselecteerde lijnen wijzigen"},
    "fl_bulk_help": {"en": "Tick lines in the table, then apply one change. Each line is "
                           "changed as on its own page and recorded in the audit trail; "
                           "lines the change does not apply to are skipped.",
                     "fr": "Cochez des lignes dans le tableau, puis appliquez une "
                           "modification. Chaque ligne est modifiée comme sur sa propre page "
                           "et inscrite au journal d'audit ; les lignes auxquelles la "
                           "modification ne s'applique pas sont ignorées.",
                     "nl": "Vink lijnen aan in de tabel en pas dan één wijziging toe. Elke "
                           "lijn wordt gewijzigd zoals op haar eigen pagina en komt in het "
                           "auditlogboek; lijnen waarop de wijziging niet van toepassing is, "
                           "worden overgeslagen."},
    "fl_rules_help": {"en": "Replaces the notifications of each line; where they are sent "
                            "stays as it is.",
                      "fr": "Remplace les notifications de chaque ligne ; leurs destinataires "
                            "restent inchangés.",
                      "nl": "Vervangt de meldingen van elke lijn; waar ze heen gaan, blijft "
                            "ongewijzigd."},
    "fl_eur_legend": {"en": "Extra spend reaches (pay per use: spend)",
                      "fr": "Le hors forfait atteint (à l'usage : les dépenses)",
                      "nl": "Extra verbruik bereikt (per gebruik: de uitgaven)"},
    "fl_apply_rules": {"en": "Apply these notifications", "fr": "Appliquer ces notifications",
                       "nl": "Deze meldingen toepassen"},
    "fl_bar_or_allow": {"en": "Block or allow", "fr": "Bloquer ou autoriser",
                        "nl": "Blokkeren of toestaan"},
    "fl_bar": {"en": "Block", "fr": "Bloquer", "nl": "Blokkeren"},
    "fl_unbar": {"en": "Allow again", "fr": "Autoriser à nouveau", "nl": "Opnieuw toestaan"},
    "fl_functions": {"en": "These functions", "fr": "Ces fonctions", "nl": "Deze functies"},
    "fl_apply_barring": {"en": "Apply blocking", "fr": "Appliquer le blocage",
                         "nl": "Blokkering toepassen"},
    "fl_limit_help": {"en": "Pay-per-use lines only; other lines are skipped.",
                      "fr": "Lignes à l'usage uniquement ; les autres lignes sont ignorées.",
                      "nl": "Alleen lijnen met betalen per gebruik; andere lijnen worden "
                            "overgeslagen."},
    "fl_apply_limit": {"en": "Apply this limit", "fr": "Appliquer cette limite",
                       "nl": "Deze limiet toepassen"},
    "fl_result": {"en": "Result of the change", "fr": "Résultat de la modification",
                  "nl": "Resultaat van de wijziging"},
    "fl_changed": {"en": "Changed", "fr": "Modifiées", "nl": "Gewijzigd"},
    "fl_unchanged": {"en": "Unchanged (already so)", "fr": "Inchangées (déjà ainsi)",
                     "nl": "Ongewijzigd (was al zo)"},
    "fl_skipped": {"en": "Skipped", "fr": "Ignorées", "nl": "Overgeslagen"},
    "fl_o_changed": {"en": "changed", "fr": "modifiée", "nl": "gewijzigd"},
    "fl_o_unchanged": {"en": "unchanged", "fr": "inchangée", "nl": "ongewijzigd"},
    "fl_o_skipped": {"en": "skipped", "fr": "ignorée", "nl": "overgeslagen"},
    "fl_outcome": {"en": "Result", "fr": "Résultat", "nl": "Resultaat"},
    "fl_why": {"en": "Why", "fr": "Pourquoi", "nl": "Waarom"},
    "fl_r_not_mobile": {"en": "Blocking is for mobile lines only.",
                        "fr": "Le blocage ne concerne que les lignes mobiles.",
                        "nl": "Blokkeren kan alleen op mobiele lijnen."},
    "fl_r_not_payg": {"en": "A spending limit is for pay-per-use lines only.",
                      "fr": "Une limite de dépenses ne concerne que les lignes à l'usage.",
                      "nl": "Een uitgavenlimiet kan alleen op lijnen met betalen per "
                            "gebruik."},
    "fl_r_no_line": {"en": "No such line in this account.",
                     "fr": "Cette ligne n'appartient pas au compte.",
                     "nl": "Deze lijn hoort niet bij de account."},
    "fl_none_selected": {"en": "Select at least one line.",
                         "fr": "Sélectionnez au moins une ligne.",
                         "nl": "Selecteer minstens één lijn."},
    "fl_no_change": {"en": "Choose a change to apply.",
                     "fr": "Choisissez une modification à appliquer.",
                     "nl": "Kies een wijziging om toe te passen."},
    "fl_no_function": {"en": "Choose at least one function.",
                       "fr": "Choisissez au moins une fonction.",
                       "nl": "Kies minstens één functie."},
    "au_title": {"en": "Changes made", "fr": "Modifications effectuées",
                 "nl": "Uitgevoerde wijzigingen"},
    "au_line_title": {"en": "Changes to line {line}", "fr": "Modifications de la ligne {line}",
                      "nl": "Wijzigingen aan lijn {line}"},
    "au_line_link": {"en": "Changes to this line", "fr": "Modifications de cette ligne",
                     "nl": "Wijzigingen aan deze lijn"},
    "au_when": {"en": "When (Brussels time)", "fr": "Quand (heure de Bruxelles)",
                "nl": "Wanneer (Brusselse tijd)"},
    "au_who": {"en": "Who", "fr": "Qui", "nl": "Wie"},
    "au_what": {"en": "What changed", "fr": "Modification", "nl": "Wijziging"},
    "au_none": {"en": "No change recorded.", "fr": "Aucune modification enregistrée.",
                "nl": "Geen wijzigingen geregistreerd."},
    "au_pages": {"en": "Pages", "fr": "Pages", "nl": "Pagina's"},
    "au_newer": {"en": "Newer changes", "fr": "Modifications plus récentes",
                 "nl": "Recentere wijzigingen"},
    "au_older": {"en": "Older changes", "fr": "Modifications plus anciennes",
                 "nl": "Oudere wijzigingen"},
    "au_page": {"en": "Page {n}", "fr": "Page {n}", "nl": "Pagina {n}"},
    "au_to_line": {"en": "Back to line {line}", "fr": "Retour à la ligne {line}",
                   "nl": "Terug naar lijn {line}"},
    "au_roaming_cap": {"en": "Data roaming cap outside the EU",
                       "fr": "Plafond des données en itinérance hors UE",
                       "nl": "Limiet voor dataroaming buiten de EU"},
    "au_continued": {"en": "Data roaming past the cap this cycle",
                     "fr": "Itinérance des données au-delà du plafond pour ce cycle",
                     "nl": "Dataroaming voorbij de limiet in deze cyclus"},
    "au_on": {"en": "on", "fr": "activé", "nl": "aan"},
    "au_off": {"en": "off", "fr": "désactivé", "nl": "uit"},
}
_WORDS.update(_FLEET_WORDS)


# -- the roaming data cap's section of the line page (rules.md, "Roaming data cap") ----------
_ROAMING_WORDS: dict[str, dict[str, str]] = {
    "rc_title": {"en": "Data roaming outside the EU", "fr": "Données en itinérance hors UE",
                 "nl": "Mobiele data buiten de EU"},
    "rc_help": {"en": "To protect you from bill shock, data used outside the EU/EEA stops "
                      "when it has cost {cap} this cycle. You get an SMS at 80 % and when it "
                      "stops.",
                "fr": "Pour vous éviter une facture surprise, les données utilisées hors de "
                      "l'UE/EEE s'arrêtent quand elles ont coûté {cap} sur ce cycle. Vous "
                      "recevez un SMS à 80 % et à l'arrêt.",
                "nl": "Om u te beschermen tegen een onverwacht hoge factuur, stopt mobiele data "
                      "buiten de EU/EER zodra die deze cyclus {cap} heeft gekost. U krijgt een "
                      "sms bij 80 % en wanneer ze stopt."},
    "rc_spent": {"en": "Spent on data outside the EU this cycle: {spent} of {cap}.",
                 "fr": "Dépensé en données hors UE sur ce cycle : {spent} sur {cap}.",
                 "nl": "Uitgegeven aan mobiele data buiten de EU deze cyclus: {spent} van "
                       "{cap}."},
    "rc_reached": {"en": "Data roaming outside the EU is stopped: the cap is reached. Calls "
                         "and SMS still work.",
                   "fr": "Les données en itinérance hors UE sont bloquées : le plafond est "
                         "atteint. Les appels et les SMS fonctionnent toujours.",
                   "nl": "Mobiele data buiten de EU is gestopt: het plafond is bereikt. Bellen "
                         "en sms'en werken nog."},
    "rc_continued": {"en": "You chose to go on past the cap until {end}; it applies again "
                           "next cycle.",
                     "fr": "Vous avez choisi de continuer au-delà du plafond jusqu'au {end} ; "
                           "il s'appliquera de nouveau au prochain cycle.",
                     "nl": "U koos ervoor om na het plafond door te gaan tot en met {end}; het "
                           "geldt opnieuw vanaf de volgende cyclus."},
    "rc_off": {"en": "The cap is switched off on this line: data outside the EU is not "
                     "stopped.",
               "fr": "Le plafond est désactivé sur cette ligne : les données hors UE ne sont "
                     "pas bloquées.",
               "nl": "Het plafond staat uit op deze lijn: mobiele data buiten de EU wordt niet "
                     "gestopt."},
    "rc_continue": {"en": "Go on using data abroad this cycle",
                    "fr": "Continuer à utiliser les données à l'étranger ce cycle-ci",
                    "nl": "Deze cyclus mobiele data in het buitenland blijven gebruiken"},
    "rc_continue_sms": {"en": "Or text CONTINUE to 1921.",
                        "fr": "Ou envoyez CONTINUE au 1921.",
                        "nl": "Of sms CONTINUE naar 1921."},
    "rc_switch_off": {"en": "Switch the cap off", "fr": "Désactiver le plafond",
                      "nl": "Plafond uitzetten"},
    "rc_switch_on": {"en": "Switch the cap on again", "fr": "Réactiver le plafond",
                     "nl": "Plafond weer aanzetten"},
}
_WORDS.update(_ROAMING_WORDS)


# -- an admin resets the password of a user of the account (the account page) ------------
_RESET_WORDS: dict[str, dict[str, str]] = {
    "reset_title": {"en": "Reset a user's password", "fr": "Réinitialiser un mot de passe",
                    "nl": "Wachtwoord van een gebruiker opnieuw instellen"},
    "reset_help": {"en": "Give a user of your account a new password: they are signed out "
                         "everywhere and sign in again with it.",
                   "fr": "Donnez un nouveau mot de passe à un utilisateur de votre compte : "
                         "il est déconnecté partout et se reconnecte avec celui-ci.",
                   "nl": "Geef een gebruiker van uw account een nieuw wachtwoord: hij wordt "
                         "overal afgemeld en meldt zich daarmee opnieuw aan."},
    "reset_user": {"en": "User", "fr": "Utilisateur", "nl": "Gebruiker"},
    "reset_button": {"en": "Reset the password", "fr": "Réinitialiser le mot de passe",
                     "nl": "Wachtwoord opnieuw instellen"},
    "reset_done": {"en": "The password of {login} was reset; they are signed out everywhere.",
                   "fr": "Le mot de passe de {login} a été réinitialisé ; cet utilisateur est "
                         "déconnecté partout.",
                   "nl": "Het wachtwoord van {login} is opnieuw ingesteld; deze gebruiker is "
                         "overal afgemeld."},
}
_WORDS.update(_RESET_WORDS)


# -- a cycle whose itemised records were pruned (conso prune) ----------------------------
_WORDS.update({
    "records_pruned": {
        "en": "The itemised records of this cycle are no longer kept (older cycles are "
              "pruned); its totals still show on the line page.",
        "fr": "Le détail des consommations de ce cycle n'est plus conservé (les cycles "
              "anciens sont purgés) ; ses totaux restent visibles sur la page de la ligne.",
        "nl": "De afzonderlijke verbruiksgegevens van deze cyclus worden niet meer bewaard "
              "(oudere cycli worden opgeschoond); de totalen staan nog op de lijnpagina."},
})
