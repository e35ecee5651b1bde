# ruff: noqa: E501 - prose, one text per line reads better than split strings
"""The fixed texts families get from the system itself, in the contact's language. Template
texts are data (backend/maler/seed); these are part of the program, like the UI."""

from __future__ import annotations

SENDER = {
    "nb": "Kontaktpunktet, Barneavdelingen",
    "nn": "Kontaktpunktet, Barneavdelinga",
    "en": "The contact point, Children's Department",
}

# A sensitive template's SMS: no content, no names, only the link.
SECURE_NOTICE = {
    "nb": "Du har fått en melding fra {sender}. Les den trygt her: {link} (lenken virker i {days} dager)",
    "nn": "Du har fått ei melding frå {sender}. Les ho trygt her: {link} (lenka verkar i {days} dagar)",
    "en": "You have a message from {sender}. Read it securely here: {link} (the link works for {days} days)",
}

OPTED_OUT = {
    "nb": "Du får ikke flere SMS fra {sender}. Send START for å få SMS igjen. Ved akutt sykdom: ring avdelingen eller 113.",
    "nn": "Du får ikkje fleire SMS frå {sender}. Send START for å få SMS igjen. Ved akutt sjukdom: ring avdelinga eller 113.",
    "en": "You will get no more text messages from {sender}. Send START to get them again. In an emergency: call the ward or 113.",
}

OPTED_IN = {
    "nb": "Du får SMS fra {sender} igjen. Send STOPP for å avslutte.",
    "nn": "Du får SMS frå {sender} igjen. Send STOPP for å avslutte.",
    "en": "You will get text messages from {sender} again. Send STOP to end them.",
}

# The secure page (/m/<token>). Short, plain words: it is read on a phone, often in a hurry.
PAGE = {
    "nb": {
        "title": "Melding fra Barneavdelingen",
        "ask": "Skriv inn barnets fødselsdato for å lese meldingen.",
        "birth_date": "Barnets fødselsdato",
        "day": "Dag",
        "month": "Måned",
        "year": "År",
        "open": "Vis meldingen",
        "wrong": "Fødselsdatoen stemmer ikke. Du har {left} forsøk igjen.",
        "locked": "Lenken er sperret etter for mange feil forsøk. Ring kontaktpunktet, så hjelper vi deg:",
        "expired": "Lenken er utløpt eller finnes ikke. Ring kontaktpunktet hvis du trenger meldingen:",
        "no_such_date": "Den datoen finnes ikke. Sjekk dag, måned og år (forsøket er ikke talt med).",
        "sent_at": "Sendt",
        "reply": "Svar til kontaktpunktet",
        "send": "Send svar",
        "replied": "Takk, svaret ditt er sendt til kontaktpunktet.",
        "empty": "Skriv et svar før du sender.",
        "emergency": "Ved akutt sykdom eller feber under behandling: ring avdelingen eller 113.",
    },
    "nn": {
        "title": "Melding frå Barneavdelinga",
        "ask": "Skriv inn fødselsdatoen til barnet for å lese meldinga.",
        "birth_date": "Fødselsdatoen til barnet",
        "day": "Dag",
        "month": "Månad",
        "year": "År",
        "open": "Vis meldinga",
        "wrong": "Fødselsdatoen stemmer ikkje. Du har {left} forsøk att.",
        "locked": "Lenka er sperra etter for mange feil forsøk. Ring kontaktpunktet, så hjelper vi deg:",
        "expired": "Lenka er gått ut eller finst ikkje. Ring kontaktpunktet om du treng meldinga:",
        "no_such_date": "Den datoen finst ikkje. Sjekk dag, månad og år (forsøket er ikkje talt med).",
        "sent_at": "Sendt",
        "reply": "Svar til kontaktpunktet",
        "send": "Send svar",
        "replied": "Takk, svaret ditt er sendt til kontaktpunktet.",
        "empty": "Skriv eit svar før du sender.",
        "emergency": "Ved akutt sjukdom eller feber under behandling: ring avdelinga eller 113.",
    },
    "en": {
        "title": "Message from the Children's Department",
        "ask": "Enter the child's date of birth to read the message.",
        "birth_date": "The child's date of birth",
        "day": "Day",
        "month": "Month",
        "year": "Year",
        "open": "Show the message",
        "wrong": "The date of birth does not match. You have {left} attempts left.",
        "locked": "The link is locked after too many wrong attempts. Call the contact point and we will help you:",
        "expired": "The link has expired or does not exist. Call the contact point if you need the message:",
        "no_such_date": "That date does not exist. Check the day, month and year (this attempt was not counted).",
        "sent_at": "Sent",
        "reply": "Reply to the contact point",
        "send": "Send reply",
        "replied": "Thank you, your reply has been sent to the contact point.",
        "empty": "Write a reply before sending.",
        "emergency": "In an emergency or with fever during treatment: call the ward or 113.",
    },
}


def text(table: dict[str, str], language: str, **values: str) -> str:
    template = table.get(language) or table["nb"]
    return template.format(sender=SENDER.get(language, SENDER["nb"]), **values)
