"""What a question asks for, and whether a sentence holds it: a number or amount for
"how many" and "how much", a date for "when", a named body or person for "who", a place
for "where"."""

from __future__ import annotations

import re

QUESTION_TYPES = {
    "frequency": re.compile(r"\bhow often\b|\bhow frequently\b|\bwhat frequency\b",
                            re.IGNORECASE),
    # "what happens if the clinician doesn't reply": the answer is a rule that opens
    # with its condition
    "condition": re.compile(r"\bwhat (?:happens|will happen|should happen|if)\b.*\b(?:if|when|"
                            r"where|unless)\b|\bwhat if\b", re.IGNORECASE),
    "amount": re.compile(r"\bhow (?:many|much|big|large|long)\b|"
                         r"\b(?:what|which) (?:is the |was the )?(?:percentage|proportion|"
                         r"share|number|amount|size|sum|budget|cost|value|total|rate|ratio)\b|"
                         r"\bnumber of\b|\bhow .* cost\b|"
                         r"\bper ?cent", re.IGNORECASE),
    "date": re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|month|day|deadline|time ?scale|"
                       r"timeframe)\b|\bby what (?:year|date|time)\b|\bwhat time\b",
                       re.IGNORECASE),
    "who": re.compile(r"\bwho(?:m|se)?\b|\b(?:which|what) (?:[\w'’-]+ ){0,2}(?:"
                      r"organi[sz]ations?|bod(?:y|ies)|universit(?:y|ies)|trusts?|partners?|compan(?:y|ies)|groups?|boards?|"
                      r"committees?|teams?|providers?|councils?|charit(?:y|ies)|agenc(?:y|ies)|"
                      r"person|people|staff|professionals?|clinicians?|institutions?)\b",
                      re.IGNORECASE),
    "where": re.compile(r"\bwhere\b|\b(?:which|what) (?:[\w'’-]+ ){0,2}(?:hospitals?|sites?|"
                        r"locations?|towns?|cit(?:y|ies)|places?|buildings?|venues?|premises|"
                        r"countr(?:y|ies)|count(?:y|ies)|regions?)\b", re.IGNORECASE),
}
# asked without a question word: "total WTE of vacancies", "projected shortfall by 2030"
IMPLIED_TYPES = {
    "amount": re.compile(r"\b(?:total|shortfall|threshold|funding(?! requests?\b)|funded|budget|"
                         r"costs?|savings?|save|target|gap|deficit|spend|investment|invested|figures?|amount|"
                         r"rates?|percentage|proportion|number|numbers|wte|size|value|price)\b",
                         re.IGNORECASE),
    "date": re.compile(r"\b(?:deadline|timescales?|timeline|date|dates|year)\b", re.IGNORECASE),
}
YEAR = r"\b(?:19|20)\d\d\b"
MONTH = (r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
         r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b")
NUMBER_WORDS = (r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                r"thirty|forty|fifty|hundred|thousand|million|billion|half|third|quarter|"
                r"dozen|double|twice)\b")
ANSWER_SIGNALS = {
    "frequency": re.compile(r"\b(?:(?:every|each)(?: \w+)? (?:day|week|fortnight|month|quarter|"
                            r"year)|daily|weekly|fortnightly|monthly|quarterly|annually|yearly|"
                            r"twice|once a|times a|times per|per (?:day|week|month|year|annum))\b",
                            re.IGNORECASE),
    "condition": re.compile(r"^\W*(?:If|Where|When|Unless|Should|In the event|Failure to|"
                            r"Otherwise)\b|\b(?:if|unless|otherwise|will be closed|will be "
                            r"declined|will not)\b"),
    # a year alone is a date, not an amount, and so is a day ("17 January", "1st March");
    # a number next to a unit or a £ is an amount
    "amount": re.compile(rf"£\s?\d|\d\s?(?:%|per ?cent)|\b\d[\d,.]*\s?(?:m|bn|k|million|"
                         rf"billion)\b|(?!{YEAR})\b\d[\d,.]*\b(?!(?:st|nd|rd|th)?\s+"
                         rf"(?-i:{MONTH}))|{NUMBER_WORDS}", re.IGNORECASE),
    "date": re.compile(rf"{YEAR}|{MONTH}|\b(?:Q[1-4]|quarter|spring|summer|autumn|winter)\b"),
    # a body's name ends in one of these nouns; searching for the noun is enough
    "who": re.compile(r"\b(?:Trust|Council|"
                      r"University|CCG|Board|Partnership|Commission|England|Group|Committee|"
                      r"Alliance|Authority|Foundation|Network|Institute|Society|Agency|"
                      r"Department|College|Ltd|Limited|Forum|Panel|Team|Service|Association)\b"
                      r"|\b(?:Dr|Professor|Prof|Mr|Mrs|Ms|Cllr|Councillor|Sir|Dame)\.?\s+[A-Z]"
                      r"|\b[A-Z]{2,6}s?\b(?<!\bI)"),
    "where": re.compile(r"\b(?:in|at|from|across|near|around|within|closer to)\s+(?:the\s+)?"
                        r"(?:[A-Z][a-z]|north|south|east|west)|\b(?:Hospital|Centre|Center|"
                        r"Street|Road|Park|House|Clinic|Campus|Infirmary|Surgery|Practice|"
                        r"Building)\b|(?i:\b(?:in|at|into|closer to|near|outside)\s+(?:the\s+|"
                        r"a\s+|an\s+|local\s+|their\s+|people['’]s\s+|patients['’]\s+)*"
                        r"(?:community|communities|homes?|hospitals?|practices?|surger(?:y|ies)|"
                        r"pharmac(?:y|ies)|clinics?|centres?|hubs?|settings?|neighbourhoods?|"
                        r"schools?)\b)"),
}


def question_type(question: str) -> str | None:
    """What the question asks for: "frequency", "condition", "amount", "date", "who",
    "where", or None."""
    for patterns in (QUESTION_TYPES, IMPLIED_TYPES):
        found = [(m.start(), kind) for kind, pattern in patterns.items()
                 if (m := pattern.search(question))]
        if found:
            return min(found)[1]  # "when ... how many" asks for the first
    return None


def holds_answer(kind: str | None, sentence: str) -> bool:
    """The sentence holds the kind of thing the question asks for."""
    signal = ANSWER_SIGNALS.get(kind or "")
    return signal is not None and bool(signal.search(sentence))
